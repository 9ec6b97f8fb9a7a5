"""Context modalities other than spikes: stimulus intervals and behaviour time series.

Each modality is sampled at the time steps of every current window and becomes ``n_dt`` context
tokens of ``F`` features each, so the cost grows linearly with the number of modalities. Features
are z-scored with training-range statistics only (no normalisation of a single feature to a
constant, unlike a LayerNorm over one feature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotools.compare import is_label_series
from neurotools.data.recording import BehaviorSeries, IntervalTable, Recording
from neurotools.errors import UserError

#: Fourier harmonics of the within-interval phase used as stimulus features.
N_HARMONICS = 4


@dataclass
class Modality:
    """One context modality sampled on the token clock.

    Attributes
    ----------
    name : str
        ``"interval:<table>"`` or ``"behavior:<name>"``.
    values : ndarray, shape (T, F)
        Features at every time step of the analysed range (z-scored).
    """

    name: str
    values: np.ndarray


def interval_features(table: IntervalTable, times: np.ndarray) -> np.ndarray:
    """Stimulus features of an interval table at the given times.

    Parameters
    ----------
    table : IntervalTable
    times : ndarray, shape (T,)
        Times in seconds.

    Returns
    -------
    ndarray, shape (T, 2 + 2 * N_HARMONICS)
        Inside-an-interval indicator, elapsed time since the interval start divided by the mean
        interval length, and sin/cos of the within-interval phase for harmonics 1..N_HARMONICS.
    """
    order = np.argsort(table.start)
    start, stop = np.asarray(table.start, float)[order], np.asarray(table.stop, float)[order]
    k = np.searchsorted(start, times, side="right") - 1
    ok = k >= 0
    ks = np.maximum(k, 0)
    inside = ok & (times < stop[ks])
    length = float(np.mean(np.maximum(stop - start, 1e-9)))
    elapsed = np.where(inside, (times - start[ks]) / length, 0.0)
    cols = [inside.astype(float), elapsed]
    for h in range(1, N_HARMONICS + 1):
        cols.append(np.where(inside, np.sin(2 * np.pi * h * elapsed), 0.0))
        cols.append(np.where(inside, np.cos(2 * np.pi * h * elapsed), 0.0))
    return np.stack(cols, axis=1)


def behavior_values(series: BehaviorSeries, times: np.ndarray) -> np.ndarray:
    """A behaviour series linearly interpolated at ``times`` (s), shape (T, D)."""
    data = np.asarray(series.data, float)
    if data.ndim == 1:
        data = data[:, None]
    ts = np.asarray(series.timestamps, float)
    order = np.argsort(ts)
    ts, data = ts[order], data[order]
    out = np.empty((len(times), data.shape[1]))
    for d in range(data.shape[1]):
        col = data[:, d]
        good = np.isfinite(col)
        out[:, d] = np.interp(times, ts[good], col[good]) if good.any() else 0.0
    return out


def is_coded(series: BehaviorSeries) -> bool:
    """Whether a behaviour series holds integer codes (event codes, state labels), not a quantity.

    Such a series (e.g. ``events`` with codes 0-61, or ``States``) has no meaningful mean or
    distance between values, so regressing on it and scoring R^2 says nothing; ``auto`` skips it.
    A whole-number series in a physical unit (a position rounded to cm) is a quantity; see
    :func:`neurotools.compare.is_label_series`.
    """
    return is_label_series(series)


def find_behavior(recording: Recording, name: str) -> BehaviorSeries | None:
    """The behaviour series to predict: by name or path, the first usable quantity for ``auto``.

    ``auto`` takes the first numeric time series with at least 10 samples that is not an event
    train nor integer-coded (:func:`is_coded`); a coded series can still be named explicitly.

    Raises
    ------
    UserError
        When ``name`` names no behaviour series of the recording.
    """
    usable = [b for b in recording.behavior if b.kind != "events" and b.n_samples >= 10
              and np.issubdtype(np.asarray(b.data).dtype, np.number)]
    if name in ("", "none"):
        return None
    if name == "auto":
        quantities = [b for b in usable if not is_coded(b)]
        return quantities[0] if quantities else None
    for b in recording.behavior:
        if name in (b.name, b.path):
            if b not in usable:
                raise UserError(f"The behaviour series '{name}' is not a numeric time series with "
                                "at least 10 samples; choose another one or behavior=none.")
            return b
    names = ", ".join(b.name for b in usable) or "none"
    raise UserError(f"{recording.source.name} has no behaviour series '{name}'; available: {names}.")


def context_modalities(recording: Recording, step_times: np.ndarray, train_mask: np.ndarray,
                       exclude: BehaviorSeries | None) -> list[Modality]:
    """All context modalities of a recording on the token clock.

    Parameters
    ----------
    recording : Recording
    step_times : ndarray, shape (T,)
        Centre of every time step (s).
    train_mask : ndarray of bool, shape (T,)
        Steps of the training range (normalisation statistics come from these only).
    exclude : BehaviorSeries or None
        The behaviour to be predicted, kept out of the inputs.
    """
    mods: list[Modality] = []
    for name, table in sorted(recording.intervals.items()):
        if table.n_rows >= 2:
            mods.append(Modality(f"interval:{name}", interval_features(table, step_times)))
    for series in recording.behavior:
        if series is exclude or series.kind == "events" or series.n_samples < 10:
            continue
        if not np.issubdtype(np.asarray(series.data).dtype, np.number):
            continue
        mods.append(Modality(f"behavior:{series.name}", behavior_values(series, step_times)))
    for m in mods:
        ref = m.values[train_mask] if train_mask.any() else m.values
        mu, sd = ref.mean(0), ref.std(0)
        sd = np.where(sd > 1e-9, sd, 1.0)
        m.values = ((m.values - mu) / sd).astype(np.float32)
    return mods


def window_features(mods: list[Modality], starts: np.ndarray, n_dt: int) -> list[np.ndarray]:
    """Features of each modality at the steps of each window: a list of [W, n_dt, F] arrays."""
    idx = np.asarray(starts)[:, None] + np.arange(n_dt)[None, :]
    return [m.values[idx] for m in mods]
