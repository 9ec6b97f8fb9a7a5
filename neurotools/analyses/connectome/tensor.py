"""The pairs x time x slices affinity tensor from one or several recordings.

Slices (the third mode) are animals (one recording each, neurons matched by label) or the trials
of one recording. A neuron missing in an animal leaves its pairs missing there: they are masked,
never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurotools.analyses.base import Progress, null_progress
from neurotools.analyses.connectome.affinity import AFFINITIES, _bin_average
from neurotools.analyses.connectome.params import Params
from neurotools.data.binning import NeuralMatrix, firing_rates, neural_matrix
from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Label columns searched, in order, in the unit/ROI table to match neurons across animals.
LABEL_COLUMNS = ("label", "neuron_name", "name")
#: Spikes are binned at this width (s) when ``bin_size`` is none.
SPIKE_BIN_S = 0.05
#: Largest tensor (entries) built in memory.
MAX_ENTRIES = 250_000_000


@dataclass
class AffinityTensor:
    """The NTF input.

    Attributes
    ----------
    X : ndarray, shape (P, T', W)
        Non-negative affinities (0 where masked).
    mask : ndarray of bool, shape (P, 1, W), or None
        Observed pairs per slice; None when every pair is observed everywhere.
    labels : list of str
        The N neurons (union over animals), pairs are ``numpy.triu_indices(N, 1)``.
    present : ndarray of bool, shape (N, W)
        Which neuron exists in which slice.
    bin_times : ndarray, shape (T',)
        Bin centres (s) on the clock of the first slice.
    bin_s : float
        Bin width of T' in seconds.
    mode : str
        ``"animals"`` or ``"trials"``.
    slice_names : list of str
        Name of each slice (file name or ``trial k``).
    sources : list of str
        Data source used in each recording.
    slice_starts : ndarray, shape (W,)
        Start time (s) of each slice on its own file's clock.
    warnings : list of str
        What the user should know about how the tensor was built (e.g. slices cut to a common
        length), one sentence each.
    """

    X: np.ndarray
    mask: np.ndarray | None
    labels: list[str]
    present: np.ndarray
    bin_times: np.ndarray
    bin_s: float
    mode: str
    slice_names: list[str]
    sources: list[str]
    slice_starts: np.ndarray
    warnings: list[str] = field(default_factory=list)


def resolve_mode(recordings: list[Recording], third_mode: str) -> str:
    """``"animals"`` or ``"trials"`` from the parameter and the inputs (auto: trials for one file
    with a trials table of two or more rows, animals otherwise)."""
    if third_mode == "trials":
        if len(recordings) != 1:
            raise UserError(
                f"third_mode=trials takes exactly one recording; got {len(recordings)}. Use "
                "third_mode=animals for several files."
            )
        tab = recordings[0].intervals.get("trials")
        if tab is None or tab.n_rows < 2:
            raise UserError(
                f"{recordings[0].source.name} has no trials table with at least two trials; use "
                "third_mode=animals."
            )
        return "trials"
    if third_mode == "auto" and len(recordings) == 1:
        tab = recordings[0].intervals.get("trials")
        if tab is not None and tab.n_rows >= 2:
            return "trials"
    return "animals"


def _matrix(rec: Recording, p: Params) -> tuple[np.ndarray, NeuralMatrix]:
    source = rec.choose_source(p.source)
    bin_size = p.bin_size if p.bin_size is not None else (SPIKE_BIN_S if source == "units" else None)
    nm = neural_matrix(rec, source, bin_size, p.t_start, p.t_stop, p.unit_indices())
    values = firing_rates(nm.values, nm.bin_size) if nm.is_counts else np.asarray(nm.values, float)
    return values, nm


def _label_column(rec: Recording, nm: NeuralMatrix) -> list[str] | None:
    table = rec.unit_table if nm.source == "units" else rec.trace_for(nm.source).channel_table
    for col in LABEL_COLUMNS:
        if col in table and len(table[col]) > int(np.max(nm.neuron_indices)):
            vals = [str(v) for v in np.asarray(table[col])[nm.neuron_indices]]
            if len(set(vals)) == len(vals):
                return vals
    return None


def _step(bin_s: float, window_s: float) -> int:
    return max(1, int(round(0.5 * window_s / bin_s)))


def cut_to_common_length_note(
    names: list[str], lengths_s: list[float], n_bins: list[int], kept_s: list[float], T: int
) -> str | None:
    """The sentence that says recordings (animals) were cut to a common length, or None.

    Parameters
    ----------
    names : list of str
        File name of each recording.
    lengths_s : list of float
        Analysed length of each recording (s).
    n_bins : list of int
        Tensor bins each recording would give on its own.
    kept_s : list of float
        Length kept from each recording (s): ``T`` bins at its own bin width.
    T : int
        The common number of tensor bins (the shortest recording's).

    Returns
    -------
    str or None
        None when no recording lost a whole bin.
    """
    if all(n <= T for n in n_bins):
        return None
    parts = []
    for name, length, n, kept in zip(names, lengths_s, n_bins, kept_s):
        lost = f", first {kept:.1f} s kept ({100 * (1 - kept / length):.0f}% left out)" if n > T else ""
        parts.append(f"{name}: {length:.1f} s ({n} bins){lost}")
    return ("The recordings differ in length and the tensor needs one common length, so each was cut "
            f"to the shortest, {T} bins ({min(kept_s):.1f} s); " + "; ".join(parts) + ".")


def cut_trials_note(lengths_s: list[float], n_bins: list[int], kept_s: float, T: int) -> str | None:
    """The sentence that says trials were cut to the shortest trial's length, or None.

    Parameters
    ----------
    lengths_s : list of float
        Length of each trial in the analysed range (s).
    n_bins : list of int
        Tensor bins each trial would give on its own.
    kept_s : float
        Length kept from every trial (s).
    T : int
        The common number of tensor bins (the shortest trial's).

    Returns
    -------
    str or None
        None when no trial lost a whole bin.
    """
    cut = [k for k, n in enumerate(n_bins) if n > T]
    if not cut:
        return None
    lost = 1 - kept_s * len(lengths_s) / float(np.sum(lengths_s))
    return (f"The trials differ in length ({min(lengths_s):.1f}-{max(lengths_s):.1f} s), so each "
            f"was cut to the shortest, {T} bins ({kept_s:.1f} s) from its start; {len(cut)} of "
            f"{len(lengths_s)} trials lost time, {100 * lost:.0f}% of the trial time was left out.")


def _check_size(P: int, T: int, W: int) -> None:
    if P * T * W > MAX_ENTRIES:
        raise UserError(
            f"The affinity tensor would hold {P} pairs x {T} bins x {W} slices = {P * T * W:.3g} "
            f"values (limit {MAX_ENTRIES:.3g}); select fewer neurons with 'units', a shorter range "
            "with 't_start'/'t_stop', or a larger 'window_s'."
        )


def build_tensor(
    recordings: list[Recording], p: Params, progress: Progress | None = None
) -> AffinityTensor:
    """Compute every slice's affinities and stack them into the masked tensor.

    Parameters
    ----------
    recordings : list of Recording
        One or several recordings (animals), or one with a trials table.
    p : Params
    progress : callable or None

    Returns
    -------
    AffinityTensor

    Raises
    ------
    UserError
        Neurons that cannot be matched across animals, too few samples, no trials, too large.
    """
    progress = progress or null_progress
    if not recordings:
        raise UserError("Give at least one recording.")
    mode = resolve_mode(recordings, p.third_mode)
    fn = AFFINITIES[p.affinity]
    mats = [_matrix(r, p) for r in recordings]
    if mode == "trials":
        return _trials_tensor(recordings[0], mats[0], p, fn, progress)

    n_each = [nm.values.shape[1] for _, nm in mats]
    label_sets = [_label_column(r, nm) for r, (_, nm) in zip(recordings, mats)]
    if len(recordings) == 1:
        labels = list(mats[0][1].labels)
        index = [np.arange(n_each[0])]
    elif all(ls is not None for ls in label_sets):
        labels = []
        seen: dict[str, int] = {}
        for ls in label_sets:
            for lab in ls:
                if lab not in seen:
                    seen[lab] = len(labels)
                    labels.append(lab)
        index = [np.array([seen[lab] for lab in ls]) for ls in label_sets]
    elif len(set(n_each)) == 1:
        labels = list(mats[0][1].labels)
        index = [np.arange(n_each[0]) for _ in recordings]
    else:
        raise UserError(
            "The recordings have different numbers of neurons (" + ", ".join(map(str, n_each))
            + ") and no neuron label column (label, neuron_name or name) to match them; select the "
            "same neurons in every file with 'units'."
        )
    N = len(labels)
    if N < 2:
        raise UserError("The connectome needs at least two neurons; select more with 'units'.")
    P = N * (N - 1) // 2
    W = len(recordings)
    bin_s = [nm.bin_size for _, nm in mats]
    steps = [_step(b, p.window_s) for b in bin_s]
    T = min(v.shape[0] // s for (v, _), s in zip(mats, steps))
    if T < 2:
        raise UserError(
            f"The recordings are too short for window_s={p.window_s:g} s (fewer than two bins); "
            "lower window_s or widen the time range."
        )
    _check_size(P, T, W)
    X = np.zeros((P, T, W))
    present = np.zeros((N, W), bool)
    mask = np.zeros((P, 1, W), bool)
    gi_all = np.zeros((N, N), int)
    gi_all[np.triu_indices(N, 1)] = np.arange(P)
    for w, ((values, nm), idx, step) in enumerate(zip(mats, index, steps)):
        progress(w / W, f"affinities of {recordings[w].source.name}")
        A = fn(values, 1.0 / nm.bin_size, p.smooth_s, p.window_s, step)[:, :T]
        li, lj = np.triu_indices(len(idx), 1)
        a, b = idx[li], idx[lj]
        gpair = gi_all[np.minimum(a, b), np.maximum(a, b)]
        X[gpair, :, w] = A
        mask[gpair, 0, w] = True
        present[idx, w] = True
    nm0 = mats[0][1]
    times = _bin_average(nm0.bin_times[:, None], steps[0])[:T, 0]
    note = cut_to_common_length_note(
        [r.source.name for r in recordings],
        [v.shape[0] * b for (v, _), b in zip(mats, bin_s)],
        [v.shape[0] // s for (v, _), s in zip(mats, steps)],
        [T * s * b for s, b in zip(steps, bin_s)],
        T,
    )
    return AffinityTensor(
        X=X,
        mask=None if mask.all() else mask,
        labels=labels,
        present=present,
        bin_times=times,
        bin_s=steps[0] * bin_s[0],
        mode="animals",
        slice_names=[r.source.name for r in recordings],
        sources=[nm.source for _, nm in mats],
        slice_starts=np.array([nm.bin_times[0] - nm.bin_size / 2 for _, nm in mats]),
        warnings=[note] if note else [],
    )


def _trials_tensor(rec: Recording, mat, p: Params, fn, progress: Progress) -> AffinityTensor:
    values, nm = mat
    tab = rec.intervals["trials"]
    order = np.argsort(tab.start, kind="stable")
    segs = []
    for k in order:
        sel = np.flatnonzero((nm.bin_times >= tab.start[k]) & (nm.bin_times < tab.stop[k]))
        if len(sel):
            segs.append((int(k), sel))
    if len(segs) < 2:
        raise UserError(
            f"Fewer than two trials of {rec.source.name} fall in the analysed time range; widen "
            "t_start/t_stop or use third_mode=animals."
        )
    L = min(len(s) for _, s in segs)
    step = _step(nm.bin_size, p.window_s)
    T = L // step
    if T < 2:
        raise UserError(
            f"The shortest trial holds fewer than two bins of {0.5 * p.window_s:g} s; lower window_s."
        )
    N = values.shape[1]
    if N < 2:
        raise UserError("The connectome needs at least two neurons; select more with 'units'.")
    P = N * (N - 1) // 2
    W = len(segs)
    _check_size(P, T, W)
    X = np.zeros((P, T, W))
    for w, (_, sel) in enumerate(segs):
        progress(w / W, f"affinities of trial {w + 1}/{W}")
        X[:, :, w] = fn(values[sel[:L]], 1.0 / nm.bin_size, p.smooth_s, p.window_s, step)[:, :T]
    first = segs[0][1][:L]
    times = _bin_average(nm.bin_times[first][:, None], step)[:T, 0]
    note = cut_trials_note([len(sel) * nm.bin_size for _, sel in segs],
                           [len(sel) // step for _, sel in segs], T * step * nm.bin_size, T)
    return AffinityTensor(
        X=X,
        mask=None,
        labels=list(nm.labels),
        present=np.ones((N, W), bool),
        bin_times=times,
        bin_s=step * nm.bin_size,
        mode="trials",
        slice_names=[f"trial {k}" for k, _ in segs],
        sources=[nm.source],
        slice_starts=np.array([float(tab.start[k]) for k, _ in segs]),
        warnings=[note] if note else [],
    )
