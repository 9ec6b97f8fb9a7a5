"""Read NWB 2 files into :class:`~neurotools.data.recording.Recording`, and summarise them.

What is found, wherever it lives in the file:

- Units tables (``/units`` first, else any Units in a processing module);
- ophys series (RoiResponseSeries in DfOverF first, else Fluorescence), time x ROIs, on ``rate``
  or ``timestamps``;
- per-neuron TimeSeries in ``acquisition`` (the C. elegans layout: ``Activity_0000`` ...), stacked
  as neurons of one trace series whose path is their container;
- behaviour: any other TimeSeries, SpatialSeries and BehavioralEvents series;
- every interval table (trials, epochs and others) with its columns;
- ground truth written by ``neurotools simulate`` (scratch data).

:func:`summarize` gives exact counts without reading whole datasets, so it opens files of any size
in bounded memory.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from neurotools.data.recording import (
    BehaviorSeries,
    IntervalTable,
    Recording,
    SourceFile,
    TraceSeries,
)
from neurotools.data.validate import check_nwb_file, sha256_file
from neurotools.errors import UserError

#: Columns of ROI tables that hold masks, not per-ROI metadata.
_MASK_COLUMNS = {"pixel_mask", "image_mask", "voxel_mask"}
#: Columns naming a neuron, searched in this order.
LABEL_COLUMNS = ("label", "neuron_name", "name")
_CHUNK = 1 << 20


@contextlib.contextmanager
def open_nwb(path: str | os.PathLike) -> Iterator[tuple[Any, str]]:
    """Open an NWB 2 file with pynwb after :func:`check_nwb_file`; yield ``(nwbfile, version)``.

    Raises
    ------
    UserError
        When the file is not a readable NWB 2 file.
    """
    import pynwb

    version = check_nwb_file(path)
    name = Path(path).name
    io = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
            nwbfile = io.read()
    except UserError:
        raise
    except Exception as exc:  # pynwb raises many types on malformed files
        if io is not None:
            with contextlib.suppress(Exception):
                io.close()
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(
            f"{name} (NWB {version}) could not be read by pynwb: {detail}; "
            "check the file with nwbinspector."
        ) from None
    try:
        yield nwbfile, version
    finally:
        with contextlib.suppress(Exception):
            io.close()


# -- finding things ---------------------------------------------------------------------------
def _path_of(obj: Any) -> str:
    parts = []
    node = obj
    while node is not None and getattr(node, "parent", None) is not None:
        parts.append(node.name)
        node = node.parent
    return "/".join(reversed(parts))


def _find_units(nwbfile: Any) -> Any | None:
    from pynwb.misc import Units

    if nwbfile.units is not None:
        return nwbfile.units
    for obj in nwbfile.objects.values():
        if isinstance(obj, Units):
            return obj
    return None


def _ophys_series(nwbfile: Any) -> list[tuple[Any, str]]:
    """RoiResponseSeries with their kind, best first."""
    from pynwb.ophys import DfOverF, Fluorescence, RoiResponseSeries

    found = []
    for obj in nwbfile.objects.values():
        if not isinstance(obj, RoiResponseSeries):
            continue
        parent = obj.parent
        kind = "dff" if isinstance(parent, DfOverF) else "fluorescence"
        rank = (
            0 if kind == "dff" else 1,
            0 if isinstance(parent, Fluorescence) and parent.name in ("Fluorescence", "DfOverF") else 1,
            1 if "neuropil" in obj.name.lower() else 0,
            _path_of(obj),
        )
        found.append((rank, obj, kind))
    found.sort(key=lambda t: t[0])
    return [(obj, kind) for _, obj, kind in found]


def _stem(name: str) -> str | None:
    m = re.match(r"^(.*?)[_\-. ]?(\d+)$", name)
    return m.group(1) if m and m.group(1) else None


def _acquisition_stack(nwbfile: Any) -> list[Any]:
    """Plain TimeSeries in acquisition that form numbered per-neuron series of equal length."""
    from pynwb.base import TimeSeries

    groups: dict[str, list[Any]] = {}
    for name, obj in nwbfile.acquisition.items():
        if type(obj) is not TimeSeries:
            continue
        shape = obj.data.shape
        if len(shape) != 1 and not (len(shape) == 2 and shape[1] == 1):
            continue
        stem = _stem(name)
        if stem is not None:
            groups.setdefault(stem, []).append(obj)
    best: list[Any] = []
    for members in groups.values():
        lengths = {m.data.shape[0] for m in members}
        if len(members) >= 2 and len(lengths) == 1 and len(members) > len(best):
            best = members
    return sorted(best, key=lambda m: m.name)


def _behaviour_series(nwbfile: Any, exclude: set[int]) -> list[tuple[Any, str]]:
    from pynwb.base import TimeSeries
    from pynwb.behavior import BehavioralEvents, SpatialSeries
    from pynwb.ecephys import ElectricalSeries, SpikeEventSeries
    from pynwb.image import ImageSeries
    from pynwb.ophys import RoiResponseSeries

    skip = (RoiResponseSeries, ElectricalSeries, SpikeEventSeries, ImageSeries)
    out = []
    for obj in nwbfile.objects.values():
        if not isinstance(obj, TimeSeries) or isinstance(obj, skip) or id(obj) in exclude:
            continue
        if isinstance(obj, SpatialSeries):
            kind = "spatial"
        elif isinstance(obj.parent, BehavioralEvents):
            kind = "events"
        else:
            kind = "timeseries"
        out.append((obj, kind))
    out.sort(key=lambda t: _path_of(t[0]))
    return out


def _interval_tables(nwbfile: Any) -> list[Any]:
    from pynwb.epoch import TimeIntervals

    tables = {id(t): t for t in (nwbfile.intervals or {}).values()}
    for obj in nwbfile.objects.values():
        if isinstance(obj, TimeIntervals):
            tables[id(obj)] = obj
    return sorted(tables.values(), key=lambda t: t.name)


# -- reading values -----------------------------------------------------------------------------
def _timestamps(ts: Any, n: int) -> np.ndarray:
    if ts.timestamps is not None:
        return np.asarray(ts.timestamps[:], dtype=float)
    rate = float(ts.rate)
    return float(ts.starting_time or 0.0) + np.arange(n) / rate


def _time_bounds(ts: Any) -> tuple[float, float] | None:
    n = ts.data.shape[0] if ts.data is not None and hasattr(ts.data, "shape") else 0
    if ts.timestamps is not None:
        tsd = ts.timestamps
        m = tsd.shape[0] if hasattr(tsd, "shape") else len(tsd)
        if m == 0:
            return None
        return float(tsd[0]), float(tsd[m - 1])
    if n == 0 or not ts.rate:
        return None
    t0 = float(ts.starting_time or 0.0)
    return t0, t0 + (n - 1) / float(ts.rate)


def _rate_hz(ts: Any) -> float | None:
    if ts.rate is not None:
        return float(ts.rate)
    t = ts.timestamps
    if t is not None and t.shape[0] > 1:
        head = np.asarray(t[: min(t.shape[0], 1000)], dtype=float)
        d = np.diff(head)
        if len(d) and np.all(d > 0):
            return float(1.0 / np.median(d))
    return None


def _column_values(col: Any) -> np.ndarray:
    """A DynamicTable column as a numpy array (ragged columns as an object array of arrays)."""
    from hdmf.common import DynamicTableRegion, VectorIndex

    if isinstance(col, VectorIndex):
        rows = col[:]
        out = np.empty(len(rows), dtype=object)
        for i, r in enumerate(rows):
            out[i] = np.asarray(r) if not isinstance(r, str) else r
        return out
    if isinstance(col, DynamicTableRegion):
        return np.asarray(col.data[:])
    data = col.data[:] if hasattr(col.data, "shape") else np.asarray(col.data)
    arr = np.asarray(data)
    if arr.dtype.kind in ("S", "O") and arr.ndim == 1:
        arr = np.array([v.decode() if isinstance(v, bytes) else v for v in arr], dtype=object)
        if all(isinstance(v, str) for v in arr):
            arr = arr.astype(str)
    return arr


def _table_columns(table: Any, skip: set[str]) -> dict[str, np.ndarray]:
    from hdmf.common import VectorIndex

    out: dict[str, np.ndarray] = {}
    for name in table.colnames:
        if name in skip:
            continue
        try:
            col = table[name]
            if not isinstance(col, VectorIndex) and getattr(col, "data", None) is None:
                continue
            values = _column_values(col)
        except Exception:  # an unreadable or exotic column is skipped, not fatal
            continue
        if values.dtype == object and values.ndim == 1 and len(values) and not isinstance(values[0], np.ndarray):
            # references to other objects (e.g. electrode groups): keep their names
            values = np.array([getattr(v, "name", str(v)) for v in values], dtype=str)
        out[name] = values
    return out


def _spike_datasets(units: Any) -> tuple[Any, Any]:
    """The flat spike-time dataset and its index of row ends (both lazy)."""
    from hdmf.common import VectorIndex

    col = units["spike_times"]
    if isinstance(col, VectorIndex):
        return col.target.data, col.data
    raise UserError("The Units table has a spike_times column without an index; the file is malformed.")


def _spike_trains(units: Any, name: str, warn_list: list[str]) -> list[np.ndarray]:
    flat_ds, ends_ds = _spike_datasets(units)
    flat = np.asarray(flat_ds[:], dtype=float)
    ends = np.asarray(ends_ds[:], dtype=np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    trains = []
    n_unsorted = 0
    for a, b in zip(starts, ends):
        t = flat[a:b]
        if len(t) > 1 and np.any(np.diff(t) < 0):
            t = np.sort(t)
            n_unsorted += 1
        trains.append(np.ascontiguousarray(t))
    if n_unsorted:
        msg = f"{name}: spike times of {n_unsorted} unit(s) were not sorted; they were sorted on reading."
        warnings.warn(msg, stacklevel=3)
        warn_list.append(msg)
    return trains


def _labels(columns: dict[str, np.ndarray], ids: np.ndarray) -> list[str]:
    for key in LABEL_COLUMNS:
        col = columns.get(key)
        if col is not None and col.dtype.kind in ("U", "S", "O") and col.ndim == 1:
            return [str(v) for v in col]
    return [str(i) for i in ids]


def read_nwb(path: str | os.PathLike, *, sha256: str | None = None) -> Recording:
    """Read one NWB 2 file into a :class:`Recording`.

    Parameters
    ----------
    path : str or PathLike
        The ``.nwb`` file.
    sha256 : str, optional
        The file's digest when already known (saves reading the file twice).

    Returns
    -------
    Recording

    Raises
    ------
    UserError
        One sentence for any file that is not a readable NWB 2 file.

    Warns
    -----
    UserWarning
        When spike times were unsorted (they are sorted, and the warning is also stored in
        ``recording.warnings``).
    """
    p = Path(path)
    with open_nwb(p) as (nwbfile, version):
        rec = Recording(
            source=SourceFile(p.name, sha256 or sha256_file(p), str(p)),
            nwb_version=version,
            session_description=str(nwbfile.session_description or ""),
            session_start_time=str(nwbfile.session_start_time or ""),
        )
        if nwbfile.subject is not None:
            for key in ("subject_id", "species", "sex", "age", "genotype", "description", "strain"):
                value = getattr(nwbfile.subject, key, None)
                if value is not None:
                    rec.subject[key] = str(value)
        try:
            _read_into(nwbfile, rec)
        except UserError:
            raise
        except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise UserError(
                f"{p.name} could not be read completely ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:120] if str(exc) else ''}); the file may be damaged."
            ) from None
    return rec


def _read_into(nwbfile: Any, rec: Recording) -> None:
    name = rec.source.name
    units = _find_units(nwbfile)
    if units is not None and "spike_times" in units.colnames:
        rec.spike_times = _spike_trains(units, name, rec.warnings)
        rec.unit_table = {"id": np.asarray(units.id.data[:])}
        rec.unit_table.update(
            _table_columns(units, {"spike_times", "spike_times_index", "obs_intervals", "waveforms", "waveform_mean", "waveform_sd", "electrodes"})
        )

    used: set[int] = set()
    for series, kind in _ophys_series(nwbfile):
        used.add(id(series))
        data = np.asarray(series.data[:], dtype=float)
        if data.ndim == 1:
            data = data[:, None]
        ts = _timestamps(series, data.shape[0])
        columns: dict[str, np.ndarray] = {}
        ids = np.arange(data.shape[1])
        rois = getattr(series, "rois", None)
        if rois is not None:
            rows = np.asarray(rois.data[:], dtype=int)
            table = rois.table
            ids = np.asarray(table.id.data[:])[rows]
            all_cols = _table_columns(table, _MASK_COLUMNS)
            columns = {k: v[rows] for k, v in all_cols.items() if len(v) == len(table.id)}
        rec.traces.append(
            TraceSeries(
                path=_path_of(series), data=data, timestamps=ts, rate_hz=_rate_hz(series),
                kind=kind, channel_labels=_labels(columns, ids), channel_table=columns,
                unit=str(series.unit or ""),
            )
        )

    stack = _acquisition_stack(nwbfile)
    if stack:
        used.update(id(s) for s in stack)
        data = np.column_stack([np.asarray(s.data[:], dtype=float).reshape(-1) for s in stack])
        rec.traces.append(
            TraceSeries(
                path="acquisition", data=data, timestamps=_timestamps(stack[0], data.shape[0]),
                rate_hz=_rate_hz(stack[0]), kind="acquisition",
                channel_labels=[s.name for s in stack], unit=str(stack[0].unit or ""),
            )
        )

    for series, kind in _behaviour_series(nwbfile, used):
        data = np.asarray(series.data[:])
        if data.dtype.kind not in "biuf":
            continue
        rec.behavior.append(
            BehaviorSeries(
                path=_path_of(series), data=data.astype(float),
                timestamps=_timestamps(series, data.shape[0]), kind=kind,
                unit=str(series.unit or ""),
            )
        )

    for table in _interval_tables(nwbfile):
        cols = _table_columns(table, {"start_time", "stop_time"})
        rec.intervals[table.name] = IntervalTable(
            name=table.name,
            start=np.asarray(table["start_time"].data[:], dtype=float),
            stop=np.asarray(table["stop_time"].data[:], dtype=float),
            columns=cols,
        )

    for key, item in (nwbfile.scratch or {}).items():
        data = getattr(item, "data", None)
        if data is not None:
            arr = np.asarray(data[:] if hasattr(data, "shape") else data)
            if arr.dtype.kind in "biufUS":
                rec.ground_truth[key] = arr


# -- summary --------------------------------------------------------------------------------------
def _streamed_min_max(dataset: Any) -> tuple[float, float] | None:
    n = dataset.shape[0]
    if n == 0:
        return None
    lo, hi = np.inf, -np.inf
    for a in range(0, n, _CHUNK):
        block = np.asarray(dataset[a : a + _CHUNK], dtype=float)
        lo, hi = min(lo, float(np.nanmin(block))), max(hi, float(np.nanmax(block)))
    return lo, hi


def summarize(path: str | os.PathLike) -> dict[str, Any]:
    """Exact counts of what a file holds, read without loading whole datasets.

    Returns
    -------
    dict
        ``nwb_version``, ``session_description``, ``duration_s``, ``t_start_s``, ``t_stop_s``,
        ``n_units``, ``n_spikes``, ``trace_series`` (list of ``{path, n_channels, n_samples,
        rate_hz, kind}``), ``behavior_series`` (list of ``{path, n_samples, kind}``),
        ``intervals`` (table name -> rows), ``file`` (name), ``size_bytes``, ``sources``.

    Raises
    ------
    UserError
        When the file is not a readable NWB 2 file.
    """
    p = Path(path)
    with open_nwb(p) as (nwbfile, version):
        try:
            return _summarize_open(nwbfile, version, p)
        except UserError:
            raise
        except (OSError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise UserError(
                f"{p.name} could not be read completely ({type(exc).__name__}); the file may be damaged."
            ) from None


def _summarize_open(nwbfile: Any, version: str, p: Path) -> dict[str, Any]:
    bounds: list[tuple[float, float]] = []
    n_units = n_spikes = 0
    units = _find_units(nwbfile)
    if units is not None and "spike_times" in units.colnames:
        n_units = len(units.id)
        st, _ = _spike_datasets(units)
        n_spikes = int(st.shape[0])
        mm = _streamed_min_max(st)
        if mm:
            bounds.append(mm)

    traces = []
    used: set[int] = set()
    for series, kind in _ophys_series(nwbfile):
        used.add(id(series))
        shape = series.data.shape
        traces.append(dict(path=_path_of(series), n_channels=int(shape[1]) if len(shape) > 1 else 1,
                           n_samples=int(shape[0]), rate_hz=_rate_hz(series), kind=kind))
        if (b := _time_bounds(series)) is not None:
            bounds.append(b)
    stack = _acquisition_stack(nwbfile)
    if stack:
        used.update(id(s) for s in stack)
        traces.append(dict(path="acquisition", n_channels=len(stack),
                           n_samples=int(stack[0].data.shape[0]), rate_hz=_rate_hz(stack[0]),
                           kind="acquisition"))
        if (b := _time_bounds(stack[0])) is not None:
            bounds.append(b)

    behaviour = []
    behaviour_bounds: list[tuple[float, float]] = []
    for series, kind in _behaviour_series(nwbfile, used):
        n = int(series.data.shape[0]) if hasattr(series.data, "shape") else len(series.data)
        behaviour.append(dict(path=_path_of(series), n_samples=n, kind=kind))
        if (b := _time_bounds(series)) is not None:
            behaviour_bounds.append(b)

    intervals = {}
    for table in _interval_tables(nwbfile):
        intervals[table.name] = len(table.id)
        if len(table.id):
            bounds.append((float(np.min(table["start_time"].data[:])), float(np.max(table["stop_time"].data[:]))))

    if not bounds:  # no neural data and no intervals: the behaviour sets the time range
        bounds = behaviour_bounds
    t0 = min((b[0] for b in bounds), default=0.0)
    t1 = max((b[1] for b in bounds), default=0.0)
    sources = (["units"] if n_units else []) + (
        ["rois"] if any(t["kind"] != "acquisition" for t in traces) else []
    ) + (["acquisition"] if stack else [])
    return {
        "file": p.name,
        "size_bytes": p.stat().st_size,
        "nwb_version": version,
        "session_description": str(nwbfile.session_description or ""),
        "session_start_time": str(nwbfile.session_start_time or ""),
        "duration_s": float(t1 - t0),
        "t_start_s": float(t0),
        "t_stop_s": float(t1),
        "n_units": int(n_units),
        "n_spikes": int(n_spikes),
        "trace_series": traces,
        "behavior_series": behaviour,
        "intervals": intervals,
        "sources": sources,
        "ground_truth": sorted((nwbfile.scratch or {}).keys()),
    }
