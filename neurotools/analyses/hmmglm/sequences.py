"""Cut binned recordings into sequences (trials, interval-table rows, or contiguous blocks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotools.data.binning import NeuralMatrix
from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Fewest bins a sequence needs to be kept.
MIN_BINS = 3


@dataclass
class Sequences:
    """Binned sequences of one or more recordings.

    Attributes
    ----------
    counts : list of ndarray, each (T_s, N)
        Spike counts of each sequence.
    bin_index : list of ndarray, each (T_s,)
        Position of each bin in its session's binned matrix.
    session : ndarray of int, shape (S,)
        Input recording of each sequence.
    origin : str
        How the sequences were cut (e.g. ``"table trials"`` or ``"blocks of 20 s"``).
    """

    counts: list[np.ndarray]
    bin_index: list[np.ndarray]
    session: np.ndarray
    origin: str


def _table_intervals(recording: Recording, table: str) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Start/stop times from the chosen table(s), or None for contiguous blocks."""
    tabs = recording.intervals
    if table == "blocks":
        return None
    if table != "auto":
        if table not in tabs:
            raise UserError(
                f"{recording.source.name} has no interval table '{table}'; available: "
                f"{', '.join(tabs) or 'none'} (or use auto or blocks)."
            )
        chosen = [tabs[table]]
    elif "trials" in tabs and tabs["trials"].n_rows >= 2:
        chosen = [tabs["trials"]]
    else:
        chosen = [t for t in tabs.values() if t.n_rows >= 2]
    if not chosen:
        return None
    start = np.concatenate([np.asarray(t.start, float) for t in chosen])
    stop = np.concatenate([np.asarray(t.stop, float) for t in chosen])
    order = np.argsort(start, kind="stable")
    start, stop = start[order], stop[order]
    bad = ~np.isfinite(stop) | (stop <= start)
    if bad.any():  # missing stop times (e.g. DANDI 000006): a trial lasts until the next one
        nxt = np.append(start[1:], start[-1] + (np.median(np.diff(start)) if len(start) > 1 else 0))
        stop = np.where(bad, nxt, stop)
    return start, stop, "table " + ", ".join(t.name for t in chosen)


def cut_sequences(recording: Recording, matrix: NeuralMatrix, table: str = "auto",
                  block_s: float | None = None) -> tuple[list[np.ndarray], str]:
    """Indices of the bins of each sequence of one recording.

    Parameters
    ----------
    recording : Recording
        Source of the interval tables.
    matrix : NeuralMatrix
        The binned data (bins of width ``matrix.bin_size`` s).
    table : str
        ``"auto"`` (the ``trials`` table, else every table with 2+ rows, else blocks),
        ``"blocks"``, or a table name.
    block_s : float or None
        Block length in seconds for contiguous blocks (None: 20 equal blocks).

    Returns
    -------
    index : list of ndarray of int
        Bin positions (into ``matrix.values``) of each sequence; bins whose centre lies in
        [start, stop) of the interval.
    origin : str
        Description of where the sequences came from.
    """
    centres = matrix.bin_times
    n_bins = len(centres)
    found = _table_intervals(recording, table)
    out: list[np.ndarray] = []
    if found is not None:
        start, stop, origin = found
        taken = 0  # overlapping rows: a bin belongs to the first sequence that holds it
        for a, b in zip(start, stop):
            lo = max(int(np.searchsorted(centres, a, side="left")), taken)
            hi = int(np.searchsorted(centres, b, side="left"))
            if hi - lo >= MIN_BINS:
                out.append(np.arange(lo, hi))
                taken = hi
        if not out:
            raise UserError(
                f"No row of the {origin} of {recording.source.name} holds {MIN_BINS} or more bins "
                f"of {matrix.bin_size:g} s; use a smaller bin_size or sequence_table=blocks."
            )
        return out, origin
    if block_s is None:
        per = max(MIN_BINS, n_bins // 20)
    else:
        per = max(MIN_BINS, int(round(block_s / matrix.bin_size)))
    for lo in range(0, n_bins, per):
        idx = np.arange(lo, min(lo + per, n_bins))
        if len(idx) >= MIN_BINS:
            out.append(idx)
    if len(out) < 2:
        raise UserError(
            f"{recording.source.name} gives fewer than 2 blocks of {per} bins; use a shorter "
            "block_s, a smaller bin_size or a longer time range."
        )
    return out, f"blocks of {per * matrix.bin_size:g} s"


def split_sequences(n: int, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out sequences: ``round(test_fraction * n)`` of them, chosen at random.

    At least one sequence stays for training; none is held out when ``test_fraction`` is 0.
    """
    n_test = int(round(test_fraction * n))
    n_test = min(max(n_test, 1 if test_fraction > 0 and n > 1 else 0), n - 1)
    test = np.zeros(n, bool)
    test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return test
