"""Read part of an NWB file: chosen units and a time range, with h5py slicing.

:func:`neurotools.data.read_nwb` takes a :class:`Selection` so that an analysis of a few units over
a short range of a large (or remote) file reads only those bytes. The recording keeps the file's
indices: ``spike_times`` still holds one array per unit of the file (empty for units not read),
``unit_table`` is complete and ``recording.time_bounds`` is the file's full time range, so
:func:`neurotools.data.binning.neural_matrix` with the same ``units``/``t_start``/``t_stop`` gives
the same matrix as after reading everything.

What is read:

- spike times: for each chosen unit (all units when none are chosen), its slice of
  ``spike_times`` (located through ``spike_times_index``) and only the spikes within
  ``[t_start, t_stop]``. A unit of up to 65536 spikes is read whole (its order is checked and
  repaired as in a full read); in a larger unit the range is found by binary search, which
  assumes the unit's spikes are sorted, as NWB asks (a unit found unsorted inside the range is
  read whole and sorted, with a warning);
- trace series (ophys ROIs, per-neuron acquisition series): only the samples within
  ``[t_start, t_stop]`` when both are given (all channels); otherwise all samples;
- behaviour, interval tables, metadata and ground truth: in full (they are small).

With ``source`` set to a trace source (``rois``/``acquisition``) no spike times are read at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np

#: Below this many elements a binary search reads the block and searches in memory.
_BLOCK = 1 << 16


@dataclass(frozen=True)
class Selection:
    """What part of a file to read.

    Attributes
    ----------
    units : tuple of int or None
        Indices (in the file's order) of the neurons to keep; None keeps all.
    t_start, t_stop : float or None
        Time range in seconds on the file's clock; None leaves that end open.
    source : str
        The analysis' data source (``auto``, ``units``, ``rois``, ``acquisition``): ``units``
        applies to spike trains only when the source is (or resolves to) units.
    """

    units: tuple[int, ...] | None = None
    t_start: float | None = None
    t_stop: float | None = None
    source: str = "auto"

    @property
    def active(self) -> bool:
        """Whether anything less than the whole file is asked for."""
        return (self.units is not None or self.t_start is not None or self.t_stop is not None
                or self.source in ("rois", "acquisition"))

    @property
    def trace_window(self) -> tuple[float, float] | None:
        """``(t_start, t_stop)`` when both are set (trace samples are then cut to it), else None."""
        if self.t_start is None or self.t_stop is None:
            return None
        return float(self.t_start), float(self.t_stop)

    @classmethod
    def from_params(cls, params: object) -> Selection:
        """The selection of an analysis' :class:`~neurotools.params.Params` (its data fields)."""
        units = params.unit_indices() if hasattr(params, "unit_indices") else None
        return cls(units=None if units is None else tuple(int(u) for u in units),
                   t_start=getattr(params, "t_start", None), t_stop=getattr(params, "t_stop", None),
                   source=getattr(params, "source", "auto") or "auto")


def _bisect(ds: h5py.Dataset, lo: int, hi: int, x: float, right: bool) -> int:
    """First index in ``[lo, hi)`` whose value is ``> x`` (right) or ``>= x`` (left); sorted data."""
    side = "right" if right else "left"
    while hi - lo > _BLOCK:
        mid = (lo + hi) // 2
        v = float(ds[mid])
        if v < x or (right and v == x):
            lo = mid + 1
        else:
            hi = mid
    block = np.asarray(ds[lo:hi], dtype=float)
    return lo + int(np.searchsorted(block, x, side=side))


def read_unit(flat: h5py.Dataset, a: int, b: int, t0: float | None, t1: float | None) -> tuple[np.ndarray, bool]:
    """Spike times of one unit (slice ``[a, b)`` of ``flat``) within ``[t0, t1]``, sorted.

    Returns
    -------
    times : ndarray
        Spike times in seconds.
    was_unsorted : bool
        Whether the spikes read were out of order (they were then read whole and sorted).
    """
    if b - a <= _BLOCK:  # a small unit is read whole: its order is checked, as in a full read
        return _window(np.asarray(flat[a:b], dtype=float), t0, t1)
    lo = a if t0 is None else _bisect(flat, a, b, t0, right=False)
    hi = b if t1 is None else _bisect(flat, lo, b, t1, right=True)
    t = np.asarray(flat[lo:hi], dtype=float)
    if len(t) > 1 and np.any(np.diff(t) < 0):
        return _window(np.asarray(flat[a:b], dtype=float), t0, t1)
    return np.ascontiguousarray(t), False


def _window(t: np.ndarray, t0: float | None, t1: float | None) -> tuple[np.ndarray, bool]:
    unsorted = len(t) > 1 and bool(np.any(np.diff(t) < 0))
    if unsorted:
        t = np.sort(t)
    keep = np.ones(len(t), bool)
    if t0 is not None:
        keep &= t >= t0
    if t1 is not None:
        keep &= t <= t1
    return np.ascontiguousarray(t[keep]), unsorted


def unit_bounds(flat: h5py.Dataset, ends: np.ndarray) -> tuple[float, float] | None:
    """Earliest and latest spike over all units from each unit's first and last stored spike."""
    vals = np.concatenate([e for e in unit_ends(flat, ends)] + [np.zeros(0)])
    vals = vals[np.isfinite(vals)]
    return (float(vals.min()), float(vals.max())) if vals.size else None


def unit_ends(flat: h5py.Dataset, ends: np.ndarray) -> list[np.ndarray]:
    """Each unit's first and last stored spike time (s) (its bounds when sorted); empty if none."""
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    nonempty = ends > starts
    idx = np.unique(np.concatenate([starts[nonempty], ends[nonempty] - 1]))
    if not len(idx):
        return [np.zeros(0) for _ in ends]
    vals = np.asarray(flat[idx], dtype=float) if len(idx) < 4096 else np.asarray(flat[:], float)[idx]
    first = vals[np.searchsorted(idx, starts[nonempty])]
    last = vals[np.searchsorted(idx, ends[nonempty] - 1)]
    out = [np.zeros(0) for _ in ends]
    for j, i in enumerate(np.flatnonzero(nonempty)):
        pair = np.array([first[j], last[j]])
        out[i] = pair[np.isfinite(pair)]
    return out


def trace_rows(g: h5py.Group, n: int, window: tuple[float, float]) -> tuple[slice, np.ndarray, float]:
    """Rows of a series (``n`` samples) whose times lie in ``window``, their times, the interval.

    Times are computed exactly as for the whole series (``starting_time + i / rate`` or the
    stored ``timestamps``), so they equal the corresponding entries of a full read. The interval is
    the median sample interval (s) of the whole series, as :func:`neural_matrix` computes it from a
    full read (this needs the series' times, 8 bytes per sample, but none of its data).
    """
    t0, t1 = window
    ts_ds = g.get("timestamps")
    if isinstance(ts_ds, h5py.Dataset):
        full = np.asarray(ts_ds[:], dtype=float).reshape(-1)
        i0, ts = 0, full
    else:
        st = g["starting_time"]
        rate = float(st.attrs["rate"])
        start = float(st[()])
        full = start + np.arange(n) / rate
        i0 = int(min(max(np.floor((t0 - start) * rate) - 2, 0), n))
        i1 = int(min(max(np.ceil((t1 - start) * rate) + 3, i0), n))
        ts = full[i0:i1]
    dt = float(np.median(np.diff(full))) if len(full) > 1 else 1.0
    inside = np.flatnonzero((ts >= t0) & (ts <= t1))
    if not inside.size:
        return slice(0, 0), ts[:0], dt
    a, b = int(inside[0]), int(inside[-1]) + 1
    return slice(i0 + a, i0 + b), ts[a:b], dt


def read_kwargs(params: object) -> dict:
    """Keyword arguments of :func:`neurotools.data.read_nwb` reading only what ``params`` analyse.

    ``read_nwb(path, **read_kwargs(params))`` then ``module.run`` gives the same result as reading
    the whole file.
    """
    sel = Selection.from_params(params)
    return dict(units=None if sel.units is None else list(sel.units), t_start=sel.t_start,
                t_stop=sel.t_stop, source=sel.source)
