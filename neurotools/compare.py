"""Compare analyses on one recording: state sequences, neuron partitions and their agreement.

Everything here is plain numpy/scipy (no Streamlit, no plotly):

- :func:`result_tracks` turns a :class:`~neurotools.analyses.base.Result` into label sequences on
  the recording's clock (bi-clustering ``state_sequence``, HMM-GLM ``states``, connectome
  component activity thresholded into epochs; neuroformer has none);
- :func:`reference_tracks` does the same for the file itself: interval tables (trials, epochs,
  one track per categorical column), behavioural state labels (integer-coded time series such as
  the C. elegans ``States``) and simulated ground truth;
- :func:`result_partitions` / :func:`reference_partitions` give neuron partitions (bi-clustering
  ``neuron_clusters``, connectome ``communities`` per component; integer unit/ROI table columns);
- :func:`common_grid` and :func:`resample` put label sequences on one time grid (a time outside
  every segment of a track is *missing*, ``-1``, and excluded from agreement);
- :func:`adjusted_rand_index`, :func:`normalized_mutual_info`, :func:`matched_accuracy` and the
  tables :func:`state_agreement` / :func:`partition_agreement`;
- :func:`state_occupancy`: time in each inferred state per group of an interval table.

A label sequence is a :class:`LabelTrack`: segments ``[start, stop)`` in seconds with one integer
label each. Binned results become one segment per bin (bin centre +- half the bin width), so
"the bin containing t" is also "the nearest bin" while the bins tile time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from neurotools.analyses.base import Result
from neurotools.data.recording import BehaviorSeries, IntervalTable, Recording
from neurotools.errors import UserError

#: Label of a time (or neuron) without a label: outside a result's range, between intervals.
MISSING = -1
#: Connectome epochs: a bin belongs to the component with the largest z-scored activity when that
#: z-score is at least this (0: above the component's mean); see :func:`connectome_epochs`.
EPOCH_THRESHOLD = 0.0
#: Most distinct values for an interval column, behaviour series or unit column to count as labels.
MAX_LEVELS = 20
#: Units (lower case, spaces removed) that name no physical quantity: a whole-number series in one
#: of them may hold codes; a series in metres, cm/s, degrees... is a quantity even when rounded.
CODE_UNITS = frozenset({"", "none", "na", "n/a", "nan", "a.u.", "au", "arb", "arbitrary",
                        "arbitraryunits", "nounit", "unitless", "dimensionless", "1", "code",
                        "codes", "label", "labels", "state", "states", "id", "ids", "index"})
#: Most points of a common grid (the step grows to stay below it).
MAX_GRID_POINTS = 200_000
#: Analyses whose results hold state sequences or neuron partitions.
OVERLAY_ANALYSES = ("bicluster", "hmmglm", "connectome")
METRICS = ("ari", "nmi", "accuracy")
METRIC_TITLES = {"ari": "ARI", "nmi": "NMI", "accuracy": "matched accuracy"}


@dataclass
class LabelTrack:
    """A label sequence on the recording's clock.

    Attributes
    ----------
    name : str
        Row name, e.g. ``"hmmglm states"`` or ``"trials: type"``.
    starts, stops : ndarray of float, shape (S,)
        Segment bounds in seconds, sorted by start.
    labels : ndarray of int, shape (S,)
        Code of each segment, ``0..len(categories)-1`` (or :data:`MISSING`).
    categories : list of str
        Name of each code.
    origin : str
        ``"result"`` (an analysis) or ``"reference"`` (the file's own labels).
    """

    name: str
    starts: np.ndarray
    stops: np.ndarray
    labels: np.ndarray
    categories: list[str]
    origin: str = "result"

    @property
    def span(self) -> tuple[float, float]:
        """First start and last stop (s)."""
        if len(self.starts) == 0:
            return 0.0, 0.0
        return float(self.starts[0]), float(np.max(self.stops))

    @property
    def typical_width(self) -> float:
        """Median segment length (s)."""
        if len(self.starts) == 0:
            return 0.0
        return float(np.median(self.stops - self.starts))


@dataclass
class Partition:
    """A partition of neurons into groups.

    Attributes
    ----------
    name : str
        E.g. ``"bicluster neuron clusters"`` or ``"connectome communities C2"``.
    neurons : list of str
        Neuron labels (unit ids or ROI/neuron names) in the order of ``labels``.
    labels : ndarray of int, shape (N,)
        Group of each neuron.
    source : str
        ``"units"``, ``"rois"`` or ``"acquisition"``: which neurons the labels name.
    origin : str
        ``"result"`` or ``"reference"``.
    group_names : list of str
        Name of each group code (default ``"<prefix> k"``).
    """

    name: str
    neurons: list[str]
    labels: np.ndarray
    source: str
    origin: str = "result"
    group_names: list[str] = field(default_factory=list)


# -- building tracks ------------------------------------------------------------------------------
def bins_to_track(name: str, times: np.ndarray, labels: np.ndarray, width_s: float,
                  categories: Sequence[str] | None = None, origin: str = "result",
                  prefix: str = "state") -> LabelTrack:
    """A track of time bins: bin centre ``times`` (s) +- ``width_s / 2``, one label each.

    Parameters
    ----------
    name : str
        Row name.
    times : ndarray, shape (T,)
        Bin centres in seconds (any order; sorted here).
    labels : ndarray of int, shape (T,)
        Label of each bin (negative: missing).
    width_s : float
        Bin width in seconds (> 0).
    categories : sequence of str, optional
        Names of the codes; default ``f"{prefix} {k}"`` for ``k = 0..max``.
    """
    times = np.asarray(times, dtype=float).ravel()
    labels = np.asarray(labels).astype(np.int64).ravel()
    if times.shape != labels.shape:
        raise ValueError(f"times {times.shape} and labels {labels.shape} differ in length")
    if not width_s > 0:
        raise ValueError(f"bin width must be positive; got {width_s}")
    order = np.argsort(times, kind="stable")
    times, labels = times[order], np.where(labels[order] < 0, MISSING, labels[order])
    if categories is None:
        top = int(labels.max()) + 1 if len(labels) else 0
        categories = [f"{prefix} {k}" for k in range(top)]
    return LabelTrack(name, times - width_s / 2, times + width_s / 2, labels, list(categories),
                      origin)


def _width(result: Result, times: np.ndarray, *keys: str) -> float:
    for k in keys:
        v = result.info.get(k, result.params.get(k))
        if isinstance(v, (int, float)) and v > 0:
            return float(v)
    d = np.diff(np.unique(times))
    return float(np.median(d)) if len(d) else 1.0


def _input_index(result: Result, sha256: str | Collection[str] | None) -> list[int]:
    """Indices of the result's inputs that are this file (all when ``sha256`` is None).

    ``sha256`` may be a set of digests that all stand for the shown recording (a file and the
    original it is an NWB-export copy of).
    """
    idx = list(range(len(result.inputs)))
    if sha256 is None:
        return idx
    wanted = {sha256} if isinstance(sha256, str) else set(sha256)
    return [i for i in idx if result.inputs[i].get("sha256") in wanted]


def _session_mask(result: Result, sha256: str | Collection[str] | None, n: int) -> np.ndarray:
    """Which time-indexed entries come from the file ``sha256``."""
    keep = _input_index(result, sha256)
    if "session_index" in result.arrays:
        return np.isin(np.asarray(result.arrays["session_index"]), keep)
    return np.full(n, bool(keep) or not result.inputs)


def connectome_epochs(activity: np.ndarray, threshold: float = EPOCH_THRESHOLD) -> np.ndarray:
    """Label each time bin with the most active connectome component, or "none".

    Rule: each component's activity is z-scored over the bins given (its mean and standard
    deviation), so components of different scales compete fairly and a single sharp peak does
    not set the scale; a bin belongs to the component with the largest z-score when that z-score
    is at least ``threshold`` (default 0: above the component's own mean), else to no component
    (label ``R``, named "none").

    Parameters
    ----------
    activity : ndarray, shape (R, T)
        Activity of each component (time factor x slice loading x weight).
    threshold : float
        z-score (in standard deviations of the component's activity) a component must reach.

    Returns
    -------
    ndarray of int, shape (T,)
        Component index ``0..R-1`` or ``R`` (none).
    """
    a = np.asarray(activity, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"activity must be [R, T]; got shape {a.shape}")
    if not np.isfinite(threshold):
        raise UserError(f"The epoch threshold must be a finite z-score; got {threshold}.")
    if a.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    sd = a.std(axis=1, keepdims=True)
    z = (a - a.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    best = np.argmax(z, axis=0)
    top = z[best, np.arange(a.shape[1])]
    return np.where(top >= threshold, best, a.shape[0]).astype(np.int64)


def _connectome_track(result: Result, sha256: str | Collection[str] | None, threshold: float) -> LabelTrack | None:
    a = result.arrays
    tf = np.asarray(a["time_factors"], dtype=float)
    bt = np.asarray(a["bin_times"], dtype=float)
    R, T = tf.shape
    weights = np.asarray(a.get("component_weights", np.ones(R)), dtype=float)
    slices = np.asarray(a.get("animal_factors", np.ones((R, 1))), dtype=float)
    starts = np.asarray(a.get("slice_starts", np.zeros(slices.shape[1])), dtype=float)
    if result.info.get("third_mode") == "trials":
        use = list(range(slices.shape[1])) if _input_index(result, sha256) else []
    else:
        use = [w for w in _input_index(result, sha256) if w < slices.shape[1]]
    if not use:
        return None
    times = np.concatenate([starts[w] + bt - starts[0] for w in use])
    act = np.concatenate([tf * (weights * slices[:, w])[:, None] for w in use], axis=1)
    labels = connectome_epochs(act, threshold)
    cats = [f"C{r + 1}" for r in range(R)] + ["none"]
    width = _width(result, bt, "bin_s")
    return bins_to_track("connectome epochs", times, labels, width, cats)


def result_tracks(result: Result, sha256: str | Collection[str] | None = None,
                  epoch_threshold: float = EPOCH_THRESHOLD) -> list[LabelTrack]:
    """State sequences of a result on the file's clock.

    Parameters
    ----------
    result : Result
        A ``bicluster``, ``hmmglm`` or ``connectome`` result (others have none).
    sha256 : str, optional
        Keep only the bins of this input file (multi-file results); None keeps all.
    epoch_threshold : float
        Connectome epochs rule, see :func:`connectome_epochs`.

    Returns
    -------
    list of LabelTrack
        Empty when the result holds no state sequence for this file.
    """
    a = result.arrays
    if result.analysis == "bicluster" and "state_sequence" in a and "bin_times" in a:
        z, t = np.asarray(a["state_sequence"]), np.asarray(a["bin_times"], dtype=float)
        m = _session_mask(result, sha256, len(t))
        if not m.any():
            return []
        return [bins_to_track("bicluster states", t[m], z[m], _width(result, t, "bin_size_s", "bin_size"))]
    if result.analysis == "hmmglm" and "states" in a and "bin_times" in a:
        z, t = np.asarray(a["states"]), np.asarray(a["bin_times"], dtype=float)
        m = _session_mask(result, sha256, len(t))
        if not m.any():
            return []
        k = int(np.asarray(a["state_posterior"]).shape[1]) if "state_posterior" in a else None
        cats = [f"state {j}" for j in range(k)] if k else None
        return [bins_to_track("hmmglm states", t[m], z[m], _width(result, t, "bin_size_s", "bin_size"), cats)]
    if result.analysis == "connectome" and "time_factors" in a and "bin_times" in a:
        track = _connectome_track(result, sha256, epoch_threshold)
        return [track] if track is not None else []
    return []


def _codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    text = np.asarray(values).astype(str)
    cats, codes = np.unique(text, return_inverse=True)
    return codes.astype(np.int64), [str(c) for c in cats]


def stops_or_next_start(start: np.ndarray, stop: np.ndarray,
                        t_range: tuple[float, float] | None = None) -> tuple[np.ndarray, bool]:
    """Stop times (s), with a missing one (NaN) replaced by the next row's start.

    Some files store only when each trial began (every stop NaN). A row without a stop then
    runs until the next row starts; the last such row ends at ``t_range``'s end, or one median
    row length after its start.

    Parameters
    ----------
    start, stop : ndarray of float, shape (rows,)
        The table's start and stop times (s); a stop may be NaN.
    t_range : (float, float), optional
        The recording's span (s).

    Returns
    -------
    stop : ndarray of float, shape (rows,)
        The stops, missing ones filled in.
    filled : bool
        Whether any stop was filled in.
    """
    stop = np.array(stop, dtype=float)
    missing = np.isfinite(start) & ~np.isfinite(stop)
    if not missing.any():
        return stop, False
    starts = np.unique(start[np.isfinite(start)])
    nxt = np.searchsorted(starts, start, side="right")
    following = np.where(nxt < len(starts), starts[np.minimum(nxt, len(starts) - 1)], np.nan)
    if t_range is not None:
        last_end = float(t_range[1])
    else:
        steps = np.diff(starts)
        last_end = float(starts[-1] + (np.median(steps) if len(steps) else 1.0))
    stop[missing] = np.where(np.isfinite(following[missing]), following[missing], last_end)
    return stop, True


def interval_track(table: IntervalTable, column: str | None = None,
                   t_range: tuple[float, float] | None = None) -> LabelTrack | None:
    """One reference track of an interval table (None when the table has no valid row).

    With a ``column``, each row is a segment labelled by the row's value (``"trials: type"``; time
    between rows is missing). Without, the track ``"<name>"`` has two labels, inside a row and
    outside (over ``t_range``, default the table's own span). Rows without stop times run to the
    next start (:func:`stops_or_next_start`) and the name says so; a table of start times only
    and no column gives no track (its rows are events, not intervals).
    """
    start = np.asarray(table.start, dtype=float)
    stop, filled = stops_or_next_start(start, np.asarray(table.stop, dtype=float), t_range)
    ok = np.isfinite(start) & np.isfinite(stop) & (stop > start)
    order = np.flatnonzero(ok)[np.argsort(start[ok], kind="stable")]
    if len(order) == 0:
        return None
    if column is not None:
        codes, cats = _codes(np.asarray(table.columns[column])[order])
        suffix = " (starts only)" if filled else ""
        return LabelTrack(f"{table.name}: {column}{suffix}", start[order], stop[order], codes, cats,
                          "reference")
    if filled:  # start times only and no categories: events (licks, rewards), not intervals
        return None
    lo, hi = t_range if t_range is not None else (start[order][0], stop[order].max())
    edges_s, edges_e, labs = [], [], []
    cursor = lo
    for s, e in zip(start[order], stop[order]):
        if s > cursor:
            edges_s.append(cursor), edges_e.append(s), labs.append(1)
        edges_s.append(s), edges_e.append(e), labs.append(0)
        cursor = max(cursor, e)
    if hi > cursor:
        edges_s.append(cursor), edges_e.append(hi), labs.append(1)
    return LabelTrack(table.name, np.array(edges_s), np.array(edges_e), np.array(labs, np.int64),
                      [f"in {table.name}", "outside"], "reference")


def interval_tracks(table: IntervalTable, t_range: tuple[float, float] | None = None
                    ) -> list[LabelTrack]:
    """Reference tracks of one interval table.

    One track per categorical column; a table without categorical columns gives the single
    inside/outside track (see :func:`interval_track`).
    """
    columns = table.categorical_columns(MAX_LEVELS) or [None]
    tracks = [interval_track(table, col, t_range) for col in columns]
    return [t for t in tracks if t is not None]


def _sample_track(name: str, times: np.ndarray, values: np.ndarray) -> LabelTrack:
    """Track of labels sampled at ``times``: each sample holds until halfway to its neighbours
    (at most one median sample step either side)."""
    times = np.asarray(times, dtype=float)
    order = np.argsort(times, kind="stable")
    times = times[order]
    codes, cats = _codes(_level_text(np.asarray(values)[order]))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    gaps = np.diff(times)
    half_next = np.minimum(np.append(gaps, step) / 2, step / 2 if step > 0 else np.inf)
    half_prev = np.minimum(np.insert(gaps, 0, step) / 2, step / 2 if step > 0 else np.inf)
    return LabelTrack(name, times - half_prev, times + half_next, codes, cats, "reference")


def _level_text(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype.kind == "f" and np.all(v == np.round(v)):
        return v.astype(np.int64).astype(str)
    return v.astype(str)


def is_state_series(data: np.ndarray) -> bool:
    """Whether a behaviour signal looks like state labels: 1-D, finite integer codes, 2 to
    :data:`MAX_LEVELS` distinct values."""
    v = np.asarray(data)
    if v.ndim != 1 or len(v) < 2 or v.dtype.kind not in "iuf":
        return False
    if v.dtype.kind == "f" and not (np.all(np.isfinite(v)) and np.all(v == np.round(v))):
        return False
    return 2 <= len(np.unique(v)) <= MAX_LEVELS


def may_hold_codes(unit: str) -> bool:
    """Whether a unit string leaves room for integer codes (no unit, ``none``, ``n/a``, ``a.u.``,
    ``code``...; see :data:`CODE_UNITS`), as opposed to a physical unit such as ``cm``."""
    return "".join(str(unit).lower().split()) in CODE_UNITS


def is_label_series(series: BehaviorSeries) -> bool:
    """Whether a behaviour series holds state labels or event codes, not a quantity.

    True for a non-event series of integer codes (:func:`is_state_series`) whose unit names no
    physical quantity (:func:`may_hold_codes`): ``States`` (unit ``none``) of the C. elegans
    recordings, ``events`` (``NA``) of the human recording. A position rounded to whole
    centimetres is a quantity.
    """
    return (series.kind != "events" and may_hold_codes(series.unit)
            and is_state_series(series.data))


def reference_tracks(recording: Recording) -> list[LabelTrack]:
    """The file's own labels as tracks: interval tables, behavioural state series, ground truth.

    Returns
    -------
    list of LabelTrack
        Interval tables (see :func:`interval_tracks`), each behaviour series of integer state
        codes (:func:`is_label_series`, e.g. ``States`` of the C. elegans recordings), the
        simulated true states (``ground_truth["states"]`` at ``ground_truth["state_times"]``) and
        a connectome simulation's true motif epochs.
    """
    out: list[LabelTrack] = []
    t_range = recording.time_range()
    for table in recording.intervals.values():
        out.extend(interval_tracks(table, t_range))
    for b in recording.behavior:
        if is_label_series(b) and len(b.timestamps) == len(b.data):
            out.append(_sample_track(b.name, b.timestamps, b.data))
    gt = recording.ground_truth
    if "states" in gt and "state_times" in gt and len(gt["states"]) == len(gt["state_times"]):
        t = np.asarray(gt["state_times"], dtype=float)
        d = np.diff(np.unique(t))
        width = float(np.median(d)) if len(d) else 1.0
        out.append(bins_to_track("true states (simulation)", t, gt["states"], width,
                                 origin="reference"))
    motifs = _motif_track(recording)
    if motifs is not None:
        out.append(motifs)
    return out


def _motif_track(recording: Recording) -> LabelTrack | None:
    """True motif epochs of a connectome simulation: motif m's window (s from each trial's
    start) in every trial (animal) where it is present, "none" elsewhere within the trials."""
    gt = recording.ground_truth
    trials = recording.intervals.get("trials")
    if "motif_windows_s" not in gt or trials is None:
        return None
    windows = np.asarray(gt["motif_windows_s"], dtype=float)
    present = np.asarray(gt.get("motif_animals", np.ones((len(windows), trials.n_rows))), dtype=bool)
    if windows.ndim != 2 or present.shape != (len(windows), trials.n_rows):
        return None
    none = len(windows)
    segs: list[tuple[float, float, int]] = []
    for w in np.argsort(trials.start, kind="stable"):
        t0, t1 = float(trials.start[w]), float(trials.stop[w])
        cursor = t0
        for m in sorted(np.flatnonzero(present[:, w]), key=lambda m: windows[m, 0]):
            a, b = max(t0 + windows[m, 0], cursor), min(t0 + windows[m, 1], t1)
            if b <= a:
                continue
            if a > cursor:
                segs.append((cursor, a, none))
            segs.append((a, b, int(m)))
            cursor = b
        if t1 > cursor:
            segs.append((cursor, t1, none))
    if not segs:
        return None
    s, e, z = (np.array(v) for v in zip(*segs))
    return LabelTrack("true motifs (simulation)", s.astype(float), e.astype(float),
                      z.astype(np.int64), [f"motif {m + 1}" for m in range(none)] + ["none"],
                      "reference")


# -- neuron partitions ----------------------------------------------------------------------------
def _source(result: Result) -> str:
    return str(result.inputs[0].get("source", "units")) if result.inputs else "units"


def result_partitions(result: Result) -> list[Partition]:
    """Neuron partitions of a result: bi-clustering clusters, connectome communities per component.

    HMM-GLM and neuroformer results give none (their weights are not a partition).
    """
    a = result.arrays
    src = _source(result)
    if result.analysis == "bicluster" and "neuron_clusters" in a:
        z = np.asarray(a["neuron_clusters"]).astype(np.int64)
        names = result.info.get("neuron_labels") or [str(i) for i in range(len(z))]
        return [Partition("bicluster neuron clusters", [str(n) for n in names], z, src,
                          group_names=[f"cluster {k}" for k in range(int(z.max()) + 1 if len(z) else 0)])]
    if result.analysis == "connectome" and "communities" in a:
        comm = np.asarray(a["communities"]).astype(np.int64)
        names = [str(n) for n in a.get("neuron_labels", np.arange(comm.shape[1]))]
        return [Partition(f"connectome communities C{r + 1}", names, comm[r], src,
                          group_names=[f"community {k}" for k in range(int(comm[r].max()) + 1)])
                for r in range(comm.shape[0])]
    return []


def reference_partitions(recording: Recording) -> list[Partition]:
    """Unit-table and ROI-table columns with 2 to :data:`MAX_LEVELS` scalar values (e.g. a
    simulation's ``true_cluster``) as reference partitions."""
    out = []
    tables = []
    if recording.n_units:
        tables.append(("units", recording.unit_table, recording.neuron_labels("units")))
    for src in ("rois", "acquisition"):
        if src in recording.available_sources():
            s = recording.trace_for(src)
            tables.append((src, s.channel_table, recording.neuron_labels(src)))
    for src, table, labels in tables:
        for col, values in table.items():
            v = np.asarray(values)
            if col == "id" or v.ndim != 1 or len(v) != len(labels) or v.dtype == object:
                continue
            if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                continue
            if 2 <= len(np.unique(v)) <= MAX_LEVELS:
                codes, cats = _codes(_level_text(v))
                out.append(Partition(f"{src} table: {col}", list(labels), codes, src, "reference",
                                     [f"{col} {c}" for c in cats]))
    return out


def unit_groups(partition: Partition, recording: Recording, source: str) -> np.ndarray:
    """A partition's group of every neuron of ``source`` in file order (:data:`MISSING` where
    the partition does not cover a neuron, or for another source)."""
    labels = recording.neuron_labels(source)
    out = np.full(len(labels), MISSING, dtype=np.int64)
    if partition.source != source:
        return out
    where = {lab: i for i, lab in enumerate(partition.neurons)}
    for i, lab in enumerate(labels):
        j = where.get(str(lab))
        if j is not None:
            out[i] = int(partition.labels[j])
    return out


# -- one time grid --------------------------------------------------------------------------------
def common_grid(tracks: Sequence[LabelTrack], bin_s: float | None = None,
                max_points: int = MAX_GRID_POINTS) -> np.ndarray:
    """Bin centres (s) of one grid over the tracks.

    The grid spans the result tracks (all tracks when none is a result); its step is ``bin_s``
    or, by default, the finest typical segment length among the result tracks (1/2000 of the
    span without results), enlarged so that at most ``max_points`` points remain.
    """
    tracks = [t for t in tracks if len(t.starts)]
    if not tracks:
        return np.zeros(0)
    main = [t for t in tracks if t.origin == "result"] or tracks
    lo = min(t.span[0] for t in main)
    hi = max(t.span[1] for t in main)
    if not hi > lo:
        return np.array([lo])
    if bin_s is None:
        widths = [t.typical_width for t in main if t.origin == "result" and t.typical_width > 0]
        bin_s = min(widths) if widths else (hi - lo) / 2000
    elif not bin_s > 0:
        raise UserError(f"The comparison grid step must be positive; got {bin_s:g} s.")
    bin_s = max(float(bin_s), (hi - lo) / max_points)
    n = max(int(np.floor((hi - lo) / bin_s + 1e-6)), 1)  # tolerate rounding of the widths
    return lo + (np.arange(n) + 0.5) * bin_s


def resample(track: LabelTrack, times: np.ndarray) -> np.ndarray:
    """The track's label at each time (s): the segment holding it, else :data:`MISSING`.

    Segments are searched by start; where segments overlap, the latest-starting one that holds the
    time wins.
    """
    times = np.asarray(times, dtype=float)
    if len(track.starts) == 0:
        return np.full(times.shape, MISSING, dtype=np.int64)
    i = np.searchsorted(track.starts, times, side="right") - 1
    ok = i >= 0
    j = np.clip(i, 0, None)
    ok &= times < track.stops[j]
    return np.where(ok, track.labels[j], MISSING).astype(np.int64)


# -- time in each state per group of intervals ---------------------------------------------------
#: Group of the bins that lie in no interval of the table.
OUTSIDE = "outside"


@dataclass
class StateOccupancy:
    """Time spent in each state by each group of intervals.

    Attributes
    ----------
    groups : list of str
        Group names (levels of the column, or ``"in <table>"``), then ``"outside"`` if any bin is
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
    """Time in each inferred state per group of a file's intervals.

    Every bin goes to the interval holding its centre (:func:`resample`: the latest-starting one
    where intervals overlap); bins in no interval form the group ``"outside"``.

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
        Column of ``table`` grouping the intervals; ``None``: all intervals together.

    Raises
    ------
    UserError
        When the column is not in the table, lengths differ, or no interval overlaps the bins.
    """
    t = np.asarray(bin_times, dtype=float)
    s = np.asarray(states, dtype=np.int64)
    if t.shape != s.shape:
        raise UserError(f"{len(t)} bin times but {len(s)} states: they must match.")
    if column is not None and column not in table.columns:
        raise UserError(f"The interval table '{table.name}' has no column '{column}' "
                        f"(columns: {', '.join(table.columns) or 'none'}).")
    lo, hi = float(t[0] - bin_size / 2), float(t[-1] + bin_size / 2)
    track = interval_track(table, column, (lo, hi))
    if track is None:
        raise UserError(f"The interval table '{table.name}' has no interval with a valid start "
                        "and stop.")
    # group name of every bin (the track of a whole table already names its gaps "outside")
    names = np.array(track.categories + [OUTSIDE], dtype=object)
    codes = resample(track, t)
    group = names[np.where(codes == MISSING, len(names) - 1, codes)]
    if (group == OUTSIDE).all():
        raise UserError(f"No interval of '{table.name}' contains an analysed bin "
                        f"({lo:.1f}-{hi:.1f} s); pick another table or analyse that time range.")
    present = sorted(set(group) - {OUTSIDE}, key=_natural)
    present += [OUTSIDE] if (group == OUTSIDE).any() else []
    state_ids = np.unique(s)
    seconds = np.array([[bin_size * np.count_nonzero((group == g) & (s == k)) for k in state_ids]
                        for g in present])
    seg_group = names[track.labels]
    seg_in_range = (track.stops > lo) & (track.starts < hi)
    n_intervals = np.array([0 if g == OUTSIDE else int((seg_in_range & (seg_group == g)).sum())
                            for g in present])
    return StateOccupancy(present, state_ids, seconds, seconds / seconds.sum(1, keepdims=True),
                          n_intervals)


def _natural(v: str) -> tuple:
    """Sort key: numbers by value, then text."""
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


# -- agreement ------------------------------------------------------------------------------------
def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of each (label of a, label of b) pair; labels may be any integers."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in length: {a.shape} vs {b.shape}")
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1 if len(ia) else 0, ib.max() + 1 if len(ib) else 0), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def matched_labels(reference: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Relabel ``labels`` so that its clusters take the reference's label they overlap most.

    One-to-one matching (Hungarian, on the overlap counts); clusters left without a partner get
    new labels from ``reference.max() + 1`` upwards.
    """
    reference, labels = np.asarray(reference, int), np.asarray(labels, int)
    conf = np.zeros((labels.max() + 1, reference.max() + 1))
    np.add.at(conf, (labels, reference), 1)
    rows, cols = linear_sum_assignment(-conf)
    mapping = dict(zip(rows.tolist(), cols.tolist()))
    nxt = reference.max() + 1
    for k in range(labels.max() + 1):
        if k not in mapping:
            mapping[k], nxt = nxt, nxt + 1
    return np.array([mapping[k] for k in labels], dtype=int)


def _pairs(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.sum(x * (x - 1) / 2))


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings (1: same partition, ~0: chance; Hubert & Arabie 1985).

    Two labelings that each put everything in one group count as identical (1.0).
    """
    c = contingency(a, b)
    n = c.sum()
    if n < 2:
        return float("nan")
    index = _pairs(c)
    ra, rb = _pairs(c.sum(1)), _pairs(c.sum(0))
    expected = ra * rb / _pairs(n)
    top = 0.5 * (ra + rb)
    if top == expected:
        return 1.0
    return float((index - expected) / (top - expected))


def _entropy(counts: np.ndarray) -> float:
    p = np.asarray(counts, dtype=float)
    p = p[p > 0] / p.sum()
    return float(-np.sum(p * np.log(p)))


def normalized_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information divided by the mean of the two entropies (0 to 1).

    1.0 when both labelings are constant; 0.0 when only one is.
    """
    c = contingency(a, b).astype(float)
    n = c.sum()
    if n == 0:
        return float("nan")
    ha, hb = _entropy(c.sum(1)), _entropy(c.sum(0))
    if ha == 0 and hb == 0:
        return 1.0
    if ha == 0 or hb == 0:
        return 0.0
    pa, pb = c.sum(1) / n, c.sum(0) / n
    p = c / n
    nz = p > 0
    mi = float(np.sum(p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])))
    return float(np.clip(mi / (0.5 * (ha + hb)), 0.0, 1.0))


def matched_accuracy(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of entries that agree after the best one-to-one matching of labels (Hungarian
    algorithm on the contingency table; labels left unmatched count as errors)."""
    c = contingency(a, b)
    if c.sum() == 0:
        return float("nan")
    rows, cols = linear_sum_assignment(-c)
    return float(c[rows, cols].sum() / c.sum())


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """ARI, NMI and matched accuracy of two labelings, over entries where neither is missing.

    Returns
    -------
    dict
        ``ari``, ``nmi``, ``accuracy`` (NaN with fewer than two shared entries) and ``n``.
    """
    a, b = np.asarray(a), np.asarray(b)
    keep = (a != MISSING) & (b != MISSING)
    n = int(keep.sum())
    if n < 2:
        return {"ari": float("nan"), "nmi": float("nan"), "accuracy": float("nan"), "n": n}
    a, b = a[keep], b[keep]
    return {"ari": adjusted_rand_index(a, b), "nmi": normalized_mutual_info(a, b),
            "accuracy": matched_accuracy(a, b), "n": n}


def state_agreement(tracks: Sequence[LabelTrack], grid: np.ndarray) -> list[dict]:
    """Pairwise agreement of every two tracks on ``grid`` (bin centres, s).

    Returns
    -------
    list of dict
        One row per pair: ``a``, ``b`` (track names), ``ari``, ``nmi``, ``accuracy``, ``n_bins``
        (grid bins where both have a label) and ``overlap_s`` (their duration in seconds).
    """
    step = float(np.median(np.diff(grid))) if len(grid) > 1 else 0.0
    sampled = [resample(t, grid) for t in tracks]
    rows = []
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            m = agreement(sampled[i], sampled[j])
            rows.append({"a": tracks[i].name, "b": tracks[j].name, "ari": m["ari"],
                         "nmi": m["nmi"], "accuracy": m["accuracy"], "n_bins": m["n"],
                         "overlap_s": round(m["n"] * step, 9)})
    return rows


def partition_agreement(partitions: Sequence[Partition]) -> list[dict]:
    """Pairwise agreement of neuron partitions that cover the same neurons of the same source.

    Pairs over different sources or different neuron sets are left out.

    Returns
    -------
    list of dict
        ``a``, ``b``, ``ari``, ``nmi``, ``accuracy``, ``n_neurons``.
    """
    rows = []
    for i in range(len(partitions)):
        for j in range(i + 1, len(partitions)):
            p, q = partitions[i], partitions[j]
            if p.source != q.source or set(p.neurons) != set(q.neurons):
                continue
            where = {lab: k for k, lab in enumerate(q.neurons)}
            b = np.asarray([q.labels[where[lab]] for lab in p.neurons])
            m = agreement(np.asarray(p.labels), b)
            rows.append({"a": p.name, "b": q.name, "ari": m["ari"], "nmi": m["nmi"],
                         "accuracy": m["accuracy"], "n_neurons": m["n"]})
    return rows


def agreement_matrix(rows: Sequence[dict], names: Sequence[str], metric: str = "ari") -> np.ndarray:
    """Symmetric [n, n] matrix of one metric from :func:`state_agreement` rows (1 on the
    diagonal, NaN for pairs without a row)."""
    if metric not in METRICS:
        raise UserError(f"Unknown agreement metric '{metric}'; choose one of {', '.join(METRICS)}.")
    idx = {n: k for k, n in enumerate(names)}
    m = np.full((len(names), len(names)), np.nan)
    np.fill_diagonal(m, 1.0)
    for r in rows:
        if r["a"] in idx and r["b"] in idx:
            m[idx[r["a"]], idx[r["b"]]] = m[idx[r["b"]], idx[r["a"]]] = r[metric]
    return m


def rows_to_csv(rows: Sequence[dict]) -> str:
    """Agreement rows as CSV text (header from the first row's keys)."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def segments(track: LabelTrack, t_start: float | None = None, t_stop: float | None = None
             ) -> list[tuple[float, float, int]]:
    """Runs of one label as ``(start, stop, label)``, merging touching segments, clipped to
    ``[t_start, t_stop]`` (s); missing labels are left out."""
    if len(track.starts) == 0:
        return []
    lo = -np.inf if t_start is None else float(t_start)
    hi = np.inf if t_stop is None else float(t_stop)
    keep = (track.stops > lo) & (track.starts < hi) & (track.labels != MISSING)
    s, e, z = track.starts[keep], track.stops[keep], track.labels[keep]
    out: list[tuple[float, float, int]] = []
    tol = 1e-9 * max(1.0, float(np.max(np.abs(e)))) if len(e) else 0.0
    for a, b, k in zip(s, e, z):
        a, b = max(float(a), lo), min(float(b), hi)
        if out and out[-1][2] == k and a <= out[-1][1] + tol:
            out[-1] = (out[-1][0], max(out[-1][1], b), int(k))
        else:
            out.append((a, b, int(k)))
    return out
