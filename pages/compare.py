"""Compare page: the state sequences of every analysis of one recording on one time axis, with
the file's own intervals and state labels as reference rows, and their pairwise agreement."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from neurotools.compare import (
    EPOCH_THRESHOLD,
    METRIC_TITLES,
    METRICS,
    common_grid,
    partition_agreement,
    reference_partitions,
    reference_tracks,
    result_partitions,
    result_tracks,
    rows_to_csv,
    state_agreement,
)
from neurotools.errors import UserError
from neurotools.figures.compare import agreement_heatmap, state_rows_figure
from pages._shared import available_results, figure_downloads, kept, pick_recording, show_error

st.title("Compare")
loaded = pick_recording("compare_file")
stem = loaded.name.removesuffix(".nwb")
try:
    rec = loaded.recording
except UserError as exc:
    show_error(exc)
    st.stop()

results = [(lab, r) for lab, r in available_results(loaded)
           if result_tracks(r, loaded.recording_sha256s) or result_partitions(r)]
labels = [lab for lab, _ in results]
newest: dict[str, str] = {}
for lab, r in results:  # newest first: keep the first of each analysis
    newest.setdefault(r.analysis, lab)
picked = st.multiselect("Results", labels, default=list(newest.values()), key="compare_results",
                        help="Finished bi-clustering, HMM-GLM and connectome jobs on this recording.")
if not results:
    st.info(f"No finished bi-clustering, HMM-GLM or connectome result of {loaded.name} yet; run one "
            "from its page. The file's own labels are compared below.")
refs = reference_tracks(rec)
ref_names = st.multiselect("Reference rows from the file", [t.name for t in refs],
                           default=[t.name for t in refs][:6],
                           key=kept("compare_refs", [t.name for t in refs]),
                           help="Interval tables (one row per categorical column), behavioural "
                                "state labels and simulated true states.")
c1, c2 = st.columns(2)
threshold = c1.number_input("Connectome epoch threshold (z-score)", -5.0, 5.0,
                            EPOCH_THRESHOLD, 0.25, key=kept("compare_threshold"),
                            help="A bin belongs to the component whose z-scored activity is largest, "
                                 "when that is at least this (0: above the component's mean); else "
                                 "'none'.")
bin_s = c2.number_input("Grid step (s, 0 = finest result bin)", 0.0, value=0.0, format="%g",
                        key=kept("compare_bin"))

by_label = dict(results)
chosen_results = [(lab, by_label[lab]) for lab in picked if lab in by_label]
counts: dict[str, int] = {}
for _, r in chosen_results:
    counts[r.analysis] = counts.get(r.analysis, 0) + 1
tracks, parts = [], []
for lab, r in chosen_results:
    job = lab.split(" · ")[1] if " · " in lab else lab
    for t in result_tracks(r, loaded.recording_sha256s, threshold):
        if counts[r.analysis] > 1:
            t.name = f"{t.name} · {job}"
        tracks.append(t)
    for p in result_partitions(r):
        if counts[r.analysis] > 1:
            p.name = f"{p.name} · {job}"
        parts.append(p)
rows_tracks = tracks + [t for t in refs if t.name in ref_names]
if not rows_tracks:
    st.info("Nothing to compare: choose results or reference rows with state labels.")
    st.stop()

# -- state sequences on one time axis ---------------------------------------------------------------
st.subheader("State sequences")
try:
    grid = common_grid(rows_tracks, bin_s or None)
except UserError as exc:
    show_error(exc)
    st.stop()
step = float(grid[1] - grid[0]) if len(grid) > 1 else 0.0
fig = state_rows_figure(rows_tracks, t_range=(float(grid[0]) - step / 2, float(grid[-1]) + step / 2),
                        title=f"{loaded.name}: state sequences")
st.plotly_chart(fig, key="compare_rows", config={"displaylogo": False})
figure_downloads(fig, f"{stem}_states", key="dl_compare_rows")

st.subheader("Agreement of state sequences")
rows = state_agreement(rows_tracks, grid)
st.caption(f"On a grid of {len(grid):,} bins of {step:.4g} s over {grid[0] - step / 2:.3f}-"
           f"{grid[-1] + step / 2:.3f} s (nearest bin); bins where a sequence has no label (outside a "
           "result's range, between intervals) are left out of each pair.")
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.download_button("Download agreement table (CSV)", rows_to_csv(rows),
                       file_name=f"{stem}_state_agreement.csv", mime="text/csv",
                       key="compare_csv", on_click="ignore")
    metric = st.selectbox("Heatmap of", METRICS, format_func=lambda m: METRIC_TITLES[m],
                          key=kept("compare_metric", METRICS))
    heat = agreement_heatmap(rows, [t.name for t in rows_tracks], metric)
    st.plotly_chart(heat, key="compare_heatmap", config={"displaylogo": False})
    figure_downloads(heat, f"{stem}_agreement_{metric}", key="dl_compare_heat")
else:
    st.info("Pick at least two sequences to compare.")

st.subheader("Agreement of neuron partitions")
all_parts = parts + reference_partitions(rec)
prows = partition_agreement(all_parts)
if prows:
    st.dataframe(pd.DataFrame(prows), hide_index=True)
    st.download_button("Download partition agreement (CSV)", rows_to_csv(prows),
                       file_name=f"{stem}_partition_agreement.csv", mime="text/csv",
                       key="compare_part_csv", on_click="ignore")
elif all_parts:
    st.info("No two neuron partitions cover the same neurons (" +
            ", ".join(p.name for p in all_parts) + ").")
else:
    st.info("No neuron partitions: bi-clustering clusters and connectome communities appear here.")
