"""Plotly figures built from a Recording and/or a Result (pure functions, no Streamlit)."""

from neurotools.figures.recording import (
    aligned_figure,
    alignment_columns,
    event_times,
    sort_options,
    timeline_figure,
    unit_order,
)

__all__ = [
    "aligned_figure",
    "alignment_columns",
    "event_times",
    "sort_options",
    "timeline_figure",
    "unit_order",
]
