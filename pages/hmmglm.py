"""HMM-GLM page: hidden states of switching functional connectivity (Li et al., ICLR 2024)."""

from __future__ import annotations

import streamlit as st

from neurotools.analyses.hmmglm import Params
from neurotools.figures import hmmglm as figs
from neurotools.jobs import AnalysisTask
from pages._shared import (
    current_job_id,
    figure_downloads,
    job_panel,
    loaded_recordings,
    params_form,
    show_error,
    start_job,
)

st.title("HMM-GLM: state-switching functional connectivity")
st.caption("A hidden Markov model whose states each hold a GLM of coupled neurons; the one-hot "
           "prior learns a state-constant connectome (Li et al., ICLR 2024).")
files = [f for f in loaded_recordings() if f.recording.n_units > 0]
if not files:
    st.info("Load a recording with sorted units first (Load page).")
    st.stop()

chosen = st.selectbox("Recording", range(len(files)), format_func=lambda i: files[i].name,
                      key="hmmglm_file")
loaded = files[chosen]
with st.form("hmmglm_form"):
    params = params_form(Params, key="hmmglm", exclude=("source",))
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="hmmglm_seed")
    submitted = st.form_submit_button("Run", type="primary")
if submitted and params is not None:
    try:
        st.session_state["hmmglm_job"] = start_job(AnalysisTask(
            "hmmglm", [str(loaded.path)], params.to_dict(), int(seed)))
    except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
        show_error(exc)

job_id = st.session_state.get("hmmglm_job") or current_job_id()
if not job_id:
    st.stop()
result = job_panel(job_id)
if result is None or result.analysis != "hmmglm":
    st.stop()

rec = loaded.recording
m = result.metrics
c1, c2, c3 = st.columns(3)
c1.metric("Test bits/spike", f"{m.get('test_bits_per_spike', float('nan')):.4f}")
c2.metric("1-state GLM", f"{m.get('glm_test_bits_per_spike', float('nan')):.4f}")
c3.metric("Train bits/spike", f"{m.get('train_bits_per_spike', float('nan')):.4f}")

tabs = st.tabs(["States", "Weights", "Connectome", "Transitions", "K curve"])
bt = result.arrays["bin_times"]
with tabs[0]:
    lo, hi = float(bt.min()), float(bt.max())
    start = st.slider("Window start (s)", lo, max(lo, hi - 1.0), lo, key="hmmglm_t0")
    width = st.number_input("Window (s)", 1.0, 3600.0, 60.0, key="hmmglm_width")
    for name, fig in (("hmmglm_states", figs.states_raster_figure(result, rec, (start, start + width))),
                      ("hmmglm_psth", figs.state_psth_figure(result, rec)),
                      ("hmmglm_rates", figs.state_rate_figure(result, rec)),
                      ("hmmglm_dwell", figs.dwell_time_figure(result))):
        st.plotly_chart(fig, use_container_width=True, key=name)
        figure_downloads(fig, name, key=f"{name}_dl")
with tabs[1]:
    rel = st.toggle("Difference from the learned prior", key="hmmglm_rel")
    fig = figs.weights_figure(result, relative_to_prior=rel)
    st.plotly_chart(fig, use_container_width=True, key="hmmglm_weights")
    figure_downloads(fig, "hmmglm_weights", key="hmmglm_weights_dl")
with tabs[2]:
    fig = figs.connectome_figure(result)
    st.plotly_chart(fig, use_container_width=True, key="hmmglm_graph")
    figure_downloads(fig, "hmmglm_connectome", key="hmmglm_graph_dl")
with tabs[3]:
    for name, fig in (("hmmglm_transition", figs.transition_figure(result)),
                      ("hmmglm_objective", figs.objective_figure(result))):
        st.plotly_chart(fig, use_container_width=True, key=name)
        figure_downloads(fig, name, key=f"{name}_dl")
with tabs[4]:
    fig = figs.k_curve_figure(result)
    st.plotly_chart(fig, use_container_width=True, key="hmmglm_kcurve")
    figure_downloads(fig, "hmmglm_kcurve", key="hmmglm_kcurve_dl")
