"""Inferred states against a file's interval table: how much time each kind of interval spends in
each state.

A state sequence on time bins (any analysis that labels bins) is compared with an NWB interval
table (trials, epochs, stimulus blocks, ...): every bin is assigned to the interval that contains
its centre (the first one when intervals overlap), grouped by a column of the table (or all
intervals together), and bins in no interval form the group ``"outside"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotools.data.recording import IntervalTable
from neurotools.errors import UserError

#: Group name of the bins that lie in no interval of the table.
OUTSIDE = "outside"


@dataclass
class StateOccupancy:
    """Time spent in each state by each group of intervals.

    Attributes
    ----------
    groups : list of str
        Group names (levels of the column, or the table name), then ``"outside"`` if any bin is
        outside every interval.
    states : ndarray of int, shape (S,)
        State labels present in the sequence, ascending.
    seconds : ndarray, shape (G, S)
        Time (s) that bins of each group spend in each state.
    fraction : ndarray, shape (G, S)
        ``seconds`` normalised per group (rows sum to 1).
    n_intervals : ndarray of int, shape (G,)
        Intervals of the table in each group that overlap the analysed bins (0 for ``"outside"``).
    """

    groups: list[str]
    states: np.ndarray
    seconds: np.ndarray
    fraction: np.ndarray
    n_intervals: np.ndarray


def state_occupancy(bin_times: np.ndarray, bin_size: float, states: np.ndarray,
                    table: IntervalTable, column: str | None = None) -> StateOccupancy:
    """Time in each state per group of intervals.

    Parameters
    ----------
    bin_times : ndarray, shape (T,)
        Bin centres (s, file clock).
    bin_size : float
        Bin width (s).
    states : ndarray of int, shape (T,)
        State of every bin.
    table : IntervalTable
        The file's interval table.
    column : str, optional
        Column of ``table`` whose values group the intervals; ``None`` puts every interval in one
        group named after the table.

    Returns
    -------
    StateOccupancy

    Raises
    ------
    UserError
        When the column is not in the table, lengths differ, or no interval overlaps the bins.
    """
    t = np.asarray(bin_times, float)
    s = np.asarray(states, np.int64)
    if t.shape != s.shape:
        raise UserError(f"{len(t)} bin times but {len(s)} states: they must match.")
    if column is not None and column not in table.columns:
        raise UserError(f"The interval table '{table.name}' has no column '{column}' "
                        f"(columns: {', '.join(table.columns) or 'none'}).")
    start = np.asarray(table.start, float)
    stop = np.asarray(table.stop, float)
    stop = np.where(np.isfinite(stop), stop, start)
    if column is None:
        labels = np.full(table.n_rows, table.name, dtype=object)
    else:
        labels = np.asarray(table.columns[column]).astype(str)
    # interval index of every bin centre (first interval that contains it), -1 for none
    which = np.full(len(t), -1, np.int64)
    for k in np.argsort(start, kind="stable")[::-1]:
        inside = (t >= start[k]) & (t < stop[k])
        which[inside] = k
    if (which < 0).all():
        raise UserError(f"No interval of '{table.name}' contains an analysed bin "
                        f"({t[0] - bin_size / 2:.1f}-{t[-1] + bin_size / 2:.1f} s); "
                        "pick another table or analyse that time range.")
    overlapping = (stop > t[0] - bin_size / 2) & (start < t[-1] + bin_size / 2)
    groups = sorted(set(labels[which[which >= 0]]), key=_natural)
    bin_group = np.array([labels[k] if k >= 0 else OUTSIDE for k in which], dtype=object)
    n_intervals = [int((overlapping & (labels == g)).sum()) for g in groups]
    if (which < 0).any():
        groups.append(OUTSIDE)
        n_intervals.append(0)
    state_ids = np.unique(s)
    seconds = np.zeros((len(groups), len(state_ids)))
    for gi, g in enumerate(groups):
        m = bin_group == g
        seconds[gi] = [bin_size * np.count_nonzero(s[m] == k) for k in state_ids]
    fraction = seconds / seconds.sum(1, keepdims=True)
    return StateOccupancy(groups, state_ids, seconds, fraction, np.asarray(n_intervals))


def _natural(v: str) -> tuple:
    """Sort key: numbers by value, then text."""
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)
