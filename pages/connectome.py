"""Connectome page: affinity tensor, non-negative CP and weighted communities (Dyballa 2024)."""

from __future__ import annotations

import streamlit as st

from neurotools.analyses.connectome import Params
from neurotools.figures import connectome as figs
from pages._shared import (
    analysis_run_section,
    download_name,
    export_section,
    figure_downloads,
    follow_job,
    kept,
    loaded_recordings,
    metric_text,
    stop_without_recordings,
)

st.title("Dynamic functional connectome")
st.caption("Differential affinities between every pair of neurons over time, stacked over animals "
           "(files) or trials, factorised by non-negative CP (HALS); each component's pair pattern "
           "is split into communities by a weighted SBM or Leiden (Dyballa et al., ICLR 2024).")
files = [f for f in loaded_recordings() if f.recording.has_neural_data]
if not files:
    stop_without_recordings("Load a recording with calcium traces or sorted units first (Load page).", "connectome")

follow_job(files, "connectome", "connectome", "connectome_files", multiple=True)
chosen = st.multiselect("Recordings (several = animals; one with trials = trials)",
                        range(len(files)), default=None if "connectome_files" in st.session_state else [0], format_func=lambda i: files[i].name,
                        key=kept("connectome_files", ids=[f.sha256 for f in files]))
result = analysis_run_section("connectome", Params, [files[i] for i in chosen], "connectome")
if result is None:
    st.stop()

by_name = {f.name: f.recording for f in loaded_recordings()}
rec = by_name.get(result.inputs[0]["name"]) if result.inputs else None
m = result.metrics
for warning in result.info.get("warnings", []):
    st.warning(warning)
c1, c2, c3, c4 = st.columns(4)
c1.metric(*figs.rank_metric(result))
c2.metric("Relative error", metric_text(m.get('rel_error')))
c3.metric("Restart similarity", metric_text(m.get('restart_similarity')))
c4.metric("Neurons / pairs", f"{m.get('n_neurons')} / {m.get('n_pairs')}")

tabs = st.tabs(["Rank selection", "Components", "Timeline"])
with tabs[0]:
    fig = figs.rank_selection_figure(result)
    st.plotly_chart(fig, width="stretch", key="connectome_fig_rank")
    figure_downloads(fig, download_name(result, "connectome_rank"), key="connectome_fig_rank_dl")
with tabs[1]:
    comp = st.selectbox("Component", range(figs.n_components(result)),
                        format_func=lambda r: f"component {r + 1}",
                        key=kept("connectome_component", range(figs.n_components(result))))
    gallery = [
        ("time", figs.component_time_figure(result, comp, rec)),
        ("animals", figs.animal_loadings_figure(result, comp)),
        ("matrix", figs.affinity_matrix_figure(result, comp)),
        ("graph", figs.community_graph_figure(result, comp)),
    ]
    left, right = st.columns(2)
    for k, (name, fig) in enumerate(gallery):
        with (left if k % 2 == 0 else right):
            st.plotly_chart(fig, width="stretch", key=f"connectome_fig_{name}")
            figure_downloads(fig, download_name(result, f"connectome_c{comp + 1}_{name}"), key=f"connectome_fig_{name}_dl")
with tabs[2]:
    fig = figs.activity_timeline_figure(result, rec)
    st.plotly_chart(fig, width="stretch", key="connectome_fig_timeline")
    figure_downloads(fig, download_name(result, "connectome_timeline"), key="connectome_fig_timeline_dl")

export_section(result, rec, "connectome_export")
