"""Explore page: the timeline of a recording and trial-aligned rasters + PSTHs."""

from __future__ import annotations

import streamlit as st

from neurotools.compare import EPOCH_THRESHOLD, result_partitions, result_tracks, unit_groups
from neurotools.errors import UserError
from neurotools.figures.recording import (
    aligned_figure,
    alignment_columns,
    sort_options,
    timeline_figure,
)
from pages._shared import (
    available_results,
    figure_downloads,
    forget_setting,
    kept,
    pick_recording,
    show_error,
)

st.title("Explore")
loaded = pick_recording("explore_file")
try:
    rec = loaded.recording
    sources = rec.available_sources()
except UserError as exc:
    show_error(exc)
    st.stop()
lo, hi = rec.time_range()
if st.session_state.get("explore_shown") != loaded.sha256:  # a new file: reset its window
    st.session_state.explore_shown = loaded.sha256
    st.session_state.explore_t_start = float(lo)
    st.session_state.explore_t_stop = float(hi)
    st.session_state.explore_behavior = [] if sources else [b.path for b in rec.behavior][:4]
    st.session_state.explore_intervals = []
    # options differ between files: give each selector the new file's first option explicitly
    # (a selector whose key is only dropped can keep showing the old file's choice in the browser)
    first_table = next(iter(rec.intervals), None)
    st.session_state.explore_source = sources[0] if sources else "none"
    st.session_state.explore_sort = sort_options(rec)[0]
    st.session_state.explore_overlay = "(none)"
    st.session_state.psth_unit = 0
    st.session_state.psth_group = "(none)"
    if first_table is not None:
        st.session_state.psth_table = first_table
        st.session_state.psth_align = alignment_columns(rec.intervals[first_table])[0]
    forget_setting("explore_overlay_groups")

# -- timeline ---------------------------------------------------------------------------------------
st.subheader("Timeline")
if not sources and not rec.behavior:
    st.info(f"{loaded.name} holds no neural data, behaviour or intervals to show.")
    st.stop()
c1, c2, c3, c4 = st.columns(4)
source = c1.selectbox("Neural data", sources or ["none"], key=kept("explore_source", sources or ["none"]))
st.session_state.setdefault(kept("explore_t_start"), float(lo))
st.session_state.setdefault(kept("explore_t_stop"), float(hi))
t_start = c2.number_input("From (s)", format="%.3f", key="explore_t_start")
t_stop = c3.number_input("To (s)", format="%.3f", key="explore_t_stop")
if source == "units":
    sort_by = c4.selectbox("Sort units by", sort_options(rec), key=kept("explore_sort", sort_options(rec)))
    normalize = False
else:
    sort_by = "index"
    normalize = c4.checkbox("z-score each channel", key=kept("explore_zscore"))
c5, c6 = st.columns(2)
behavior = c5.multiselect(
    "Behaviour (rows under the neural panel)",
    [b.path for b in rec.behavior],
    key=kept("explore_behavior", [b.path for b in rec.behavior]),
)
intervals = c6.multiselect("Shade interval tables", list(rec.intervals),
                           key=kept("explore_intervals", list(rec.intervals)))

# -- overlay of a finished result: its states as bands, its neuron groups as raster order/colours --
overlay_track, groups, group_names, groups_title = None, None, None, "group"
results = [(lab, r) for lab, r in available_results(loaded)
           if result_tracks(r, loaded.recording_sha256s) or result_partitions(r)]
if results:
    o1, o2 = st.columns(2)
    by_label = dict(results)
    pick = o1.selectbox(
        "Overlay a result", ["(none)"] + list(by_label),
        key=kept("explore_overlay", ["(none)"] + list(by_label)),
        help="States are drawn as coloured bands over the raster and under the PSTH; neuron "
             "clusters or communities reorder and colour the raster.",
    )
    if pick in by_label:
        res = by_label[pick]
        tracks = result_tracks(res, loaded.recording_sha256s)
        overlay_track = tracks[0] if tracks else None
        if res.analysis == "connectome" and overlay_track is not None:
            st.caption(f"Connectome epochs: each bin goes to the component with the largest "
                       f"z-scored activity, when that z-score is at least {EPOCH_THRESHOLD:g}; "
                       "else to 'none'.")
        parts = result_partitions(res)
        if parts:
            by_name = {p.name: p for p in parts}
            g = o2.selectbox("Neuron groups", ["(none)"] + list(by_name), index=1,
                             key=kept("explore_overlay_groups", ["(none)"] + list(by_name)))
            if g in by_name:
                part = by_name[g]
                if part.source != source:
                    st.caption(f"{part.name} groups {part.source}, not the {source} shown.")
                else:
                    groups = unit_groups(part, rec, source)
                    group_names, groups_title = part.group_names, part.name

if sources or behavior:
    try:
        fig = timeline_figure(
            rec, source=source, t_start=t_start, t_stop=t_stop, sort_by=sort_by,
            behavior=behavior, intervals=intervals, normalize=normalize,
            state_bands=overlay_track, unit_groups=groups, group_names=group_names,
            groups_title=groups_title,
        )
    except UserError as exc:
        show_error(exc)
    else:
        st.plotly_chart(fig, key="explore_timeline", config={"displaylogo": False})
        figure_downloads(fig, f"{loaded.name.removesuffix('.nwb')}_timeline", key="dl_timeline")
else:
    st.info(f"{loaded.name} has no neural data; pick behaviour series to plot.")

# -- trial-aligned raster + PSTH ----------------------------------------------------------------------
st.subheader("Trial-aligned raster and PSTH")
if rec.n_units == 0 or not rec.intervals:
    st.info("This needs spike-sorted units and an interval table (trials, epochs, ...).")
    st.stop()
labels = rec.neuron_labels("units")
a1, a2, a3, a4 = st.columns(4)
table_name = a1.selectbox("Trials from", list(rec.intervals), key=kept("psth_table", list(rec.intervals)))
table = rec.intervals[table_name]
align = a2.selectbox("Align to", alignment_columns(table), key=kept("psth_align", alignment_columns(table)))
unit = a3.selectbox("Unit", range(rec.n_units), format_func=lambda i: f"{labels[i]} (#{i})",
                    key=kept("psth_unit", range(rec.n_units)))
groups = ["(none)"] + table.categorical_columns()
group_by = a4.selectbox("Group trials by", groups, key=kept("psth_group", groups))
b1, b2, b3, b4 = st.columns(4)
for _key, _default in (("psth_w0", -1.0), ("psth_w1", 2.0), ("psth_bin", 0.05), ("psth_sigma", 0.0)):
    st.session_state.setdefault(kept(_key), _default)  # a kept value, else the default
w0 = b1.number_input("Window from (s)", format="%g", key="psth_w0")
w1 = b2.number_input("Window to (s)", format="%g", key="psth_w1")
bin_size = b3.number_input("Bin (s)", min_value=0.0005, format="%g", key="psth_bin")
sigma = b4.number_input("Smoothing sigma (s)", min_value=0.0, format="%g", key="psth_sigma")
try:
    afig = aligned_figure(
        rec, unit, table_name, align=align, window=(w0, w1), bin_size=bin_size, sigma_s=sigma,
        group_by=None if group_by == "(none)" else group_by, state_bands=overlay_track,
    )
except UserError as exc:
    show_error(exc)
else:
    st.plotly_chart(afig, key="explore_psth", config={"displaylogo": False})
    figure_downloads(afig, f"{loaded.name.removesuffix('.nwb')}_unit{labels[unit]}_psth", key="dl_psth")
