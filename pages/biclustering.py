"""Bi-clustering page: neuron clusters x population states by MCMC (Wei 2024)."""

from __future__ import annotations

import streamlit as st

from neurotools.analyses.biclustering import Params
from neurotools.figures import biclustering as figs
from pages._shared import (
    analysis_run_section,
    download_name,
    export_section,
    figure_downloads,
    follow_job,
    kept,
    loaded_recordings,
    state_interval_section,
    stop_without_recordings,
)

st.title("Bi-clustering: neuron clusters x population states")
st.caption("Bayesian bi-clustering of spike counts (Wei, ICLR 2024): an MFM over neuron clusters, "
           "a sticky HDP-HMM over states of the clusters' latent dynamics, sampled by MCMC.")
files = [f for f in loaded_recordings() if f.recording.n_units > 1]
if not files:
    stop_without_recordings("Load a recording with at least two sorted units first (Load page).", "bicluster")

follow_job(files, "bicluster", "bicluster", "bicluster_file")
chosen = st.selectbox("Recording", range(len(files)), format_func=lambda i: files[i].name,
                      key=kept("bicluster_file", ids=[f.sha256 for f in files]))
loaded = files[chosen]
result = analysis_run_section("bicluster", Params, [loaded], "bicluster",
                              exclude=("source",), parallel="chains")
if result is None:
    st.stop()

rec = loaded.recording
m = result.metrics
for warning in result.info.get("convergence_warnings", []):
    st.warning(warning)
for note in ("start_note", "frozen_clusters_note"):
    if result.info.get(note):
        st.caption(result.info[note])
c1, c2, c3, c4 = st.columns(4)
c1.metric("Neuron clusters (point)", m.get("n_clusters_point"))
c2.metric("Occupied states (mode)", m.get("n_states_mode"),
          help="States that hold at least one bin in a draw; the mode over the kept draws.")
if "n_major_states_mode" in m:
    c3.metric("States with >= 1% of bins (mode)", m["n_major_states_mode"],
              help="States that hold at least "
                   f"{result.info.get('major_state_min_bins', '?')} bins in a draw: chains often "
                   "differ only in short states of a few bins.")
c4.metric("R-hat (log-lik)", figs.format_rhat(m.get("rhat_loglik")),
          help="Split R-hat of the log-likelihood across the chains (< 1.05: the chains agree); "
               "not defined with too few kept draws.")

tabs = st.tabs(["Neurons", "States", "Posteriors", "Latents", "Diagnostics"])
with tabs[0]:
    cols = figs.region_columns(rec)
    region = st.selectbox("Side bar (units table column)", [None, *cols], key=kept("bicluster_region", [None, *cols]))
    fig = figs.coclustering_figure(result, rec, region)
    st.plotly_chart(fig, width="stretch", key="bicluster_psm")
    figure_downloads(fig, download_name(result, "bicluster_coclustering"), key="bicluster_psm_dl")
with tabs[1]:
    estimate = st.radio(
        "Point estimate of the states",
        [k for k, (name, _) in figs.STATE_ESTIMATES.items() if name in result.arrays],
        format_func=lambda k: figs.STATE_ESTIMATES[k][1], horizontal=True,
        key="bicluster_state_estimate",
        help="maxPEAR maximises the posterior expected adjusted Rand index with the sampled "
             "state sequences; short stretches the chains disagree on can form states of their "
             "own. Dahl's estimate is the sampled sequence closest to the posterior similarity "
             "matrix (least squares).")
    table, column = state_interval_section(rec, "bicluster", result.arrays["bin_times"],
                                           float(result.params["bin_size"]),
                                           figs.state_estimate(result, estimate),
                                           download_name(result, "bicluster_state_intervals"))
    fig = figs.state_raster_figure(result, rec, table, column, estimate)
    st.plotly_chart(fig, width="stretch", key="bicluster_states")
    figure_downloads(fig, download_name(result, "bicluster_states"), key="bicluster_states_dl")
with tabs[2]:
    fig = figs.posterior_counts_figure(result)
    st.plotly_chart(fig, width="stretch", key="bicluster_counts")
    figure_downloads(fig, download_name(result, "bicluster_counts"), key="bicluster_counts_dl")
with tabs[3]:
    names = result.info.get("latent_components", ["baseline"])
    comp = st.selectbox("Component", range(len(names)), format_func=lambda i: names[i],
                        key=kept("bicluster_component", range(len(names))))
    fig = figs.latent_figure(result, comp)
    st.plotly_chart(fig, width="stretch", key="bicluster_latent")
    figure_downloads(fig, download_name(result, "bicluster_latents"), key="bicluster_latent_dl")
with tabs[4]:
    st.dataframe(figs.diagnostics_rows(result), hide_index=True)
    st.caption("The log-joint includes the density of the latent paths (bins x clusters x "
               "(1 + latent_dim) values), so chains with different numbers of clusters have "
               "log-joints of different dimension: compare such chains on the log-likelihood.")
    fig = figs.trace_figure(result)
    st.plotly_chart(fig, width="stretch", key="bicluster_traces")
    figure_downloads(fig, download_name(result, "bicluster_traces"), key="bicluster_traces_dl")
    fig = figs.chain_partitions_figure(result)
    st.plotly_chart(fig, width="stretch", key="bicluster_chain_partitions")
    figure_downloads(fig, download_name(result, "bicluster_chain_partitions"), key="bicluster_chain_partitions_dl")
    fig = figs.ppc_figure(result)
    st.plotly_chart(fig, width="stretch", key="bicluster_ppc")
    figure_downloads(fig, download_name(result, "bicluster_ppc"), key="bicluster_ppc_dl")

export_section(result, rec, "bicluster_export")
