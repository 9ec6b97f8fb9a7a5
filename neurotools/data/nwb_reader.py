"""Read NWB 2 files into :class:`~neurotools.data.recording.Recording`, and summarise them.

The reader walks the HDF5 layout of NWB 2 directly with h5py, guided by each group's
``neurodata_type`` attribute: it builds no pynwb objects, so it opens files fast and reads only
the datasets it needs (:func:`summarize` reads shapes and time bounds only, in bounded memory).
The tests check its counts against pynwb's on every shared file. What is found, wherever it lives:

- Units tables (``/units`` first, else any ``Units`` group);
- ophys series (``RoiResponseSeries`` in ``DfOverF`` first, else ``Fluorescence``), time x ROIs,
  on ``rate`` or ``timestamps``, with their ROI table's columns;
- per-neuron TimeSeries in ``/acquisition`` (the C. elegans layout: ``Activity_0000`` ...), stacked
  as the neurons of one trace series whose path is their container (``acquisition``);
- behaviour: every other numeric TimeSeries, SpatialSeries and BehavioralEvents series;
- every ``TimeIntervals`` table (trials, epochs and others) with its columns;
- ground truth written by ``neurotools simulate`` (``/scratch`` datasets).
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurotools.data.recording import (
    BehaviorSeries,
    IntervalTable,
    Recording,
    SourceFile,
    TraceSeries,
)
from neurotools.data.remote import RemoteFile, is_url, nwb_version, open_remote, probe
from neurotools.data.selection import Selection, read_unit, trace_rows, unit_bounds, unit_ends
from neurotools.data.validate import check_declared_sizes, check_nwb_file, file_identity
from neurotools.errors import UserError

#: Columns of ROI tables that hold masks, not per-ROI metadata.
_MASK_COLUMNS = {"pixel_mask", "image_mask", "voxel_mask"}
#: Columns naming a neuron, searched in this order.
LABEL_COLUMNS = ("label", "neuron_name", "name")
#: TimeSeries types that are not behaviour.
_NOT_BEHAVIOUR = {
    "RoiResponseSeries", "ElectricalSeries", "SpikeEventSeries", "ImageSeries", "TwoPhotonSeries",
    "OnePhotonSeries", "ImageMaskSeries", "OpticalSeries", "IndexSeries", "AnnotationSeries",
    "PatchClampSeries", "CurrentClampSeries", "VoltageClampSeries", "DecompositionSeries",
}
_CHUNK = 1 << 20


# -- opening --------------------------------------------------------------------------------------
@contextlib.contextmanager
def open_h5(path: str | os.PathLike) -> Iterator[tuple[h5py.File, str]]:
    """Check ``path`` (:func:`check_nwb_file`) and open it read-only; yield ``(file, version)``.

    ``path`` may also be an ``http(s)://`` URL, streamed with remfile (:mod:`neurotools.data.remote`).
    """
    with _open_any(path) as (f, version, _):
        yield f, version


@contextlib.contextmanager
def _open_any(path: str | os.PathLike, partial: bool = False) -> Iterator[tuple[h5py.File, str, RemoteFile | None]]:
    """Open a local path or a URL; yield ``(file, version, remote info or None)``.

    ``partial``: no HDF5 chunk cache, so reading a few values of a large chunk reads just those
    bytes, not the whole chunk (for selections and remote summaries).
    """
    cache = {"rdcc_nbytes": 0} if partial else {}
    if is_url(path):
        info = probe(str(path))
        f = open_remote(info, **cache)
        try:
            yield f, nwb_version(f, info.name), info
        finally:
            f.close()
        return
    version = check_nwb_file(path)
    try:
        f = h5py.File(path, "r", **cache)
    except OSError:
        raise UserError(f"{Path(path).name} cannot be opened as HDF5; copy it again in full.") from None
    try:
        yield f, version, None
    finally:
        f.close()


@contextlib.contextmanager
def open_nwb(path: str | os.PathLike) -> Iterator[tuple[Any, str]]:
    """Open with pynwb after :func:`check_nwb_file`; yield ``(nwbfile, version)`` (for writers)."""
    import pynwb

    version = check_nwb_file(path)
    io = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
            nwbfile = io.read()
    except Exception as exc:  # pynwb raises many types on malformed files
        if io is not None:
            with contextlib.suppress(Exception):
                io.close()
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(f"{Path(path).name} (NWB {version}) could not be read by pynwb: {detail}.") from None
    try:
        yield nwbfile, version
    finally:
        with contextlib.suppress(Exception):
            io.close()


# -- small helpers ---------------------------------------------------------------------------------
def _type(obj: Any) -> str:
    t = obj.attrs.get("neurodata_type", "")
    return t.decode() if isinstance(t, bytes) else str(t)


def _text(value: Any) -> str:
    if isinstance(value, h5py.Dataset):
        value = value[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _decode(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "S" or (arr.dtype == object and arr.size and isinstance(arr.flat[0], bytes)):
        return np.array([v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in arr.reshape(-1)]).reshape(arr.shape)
    if arr.dtype == object and arr.size and all(isinstance(v, str) for v in arr.reshape(-1)):
        return arr.astype(str)
    return arr


#: Groups the recording reader ignores: cached schemas, and stored neurotools results (read by
#: :mod:`neurotools.results_nwb`, not part of the recording).
_SKIPPED_PREFIXES = ("specifications", "processing/neurotools")


def _walk(f: h5py.File) -> list[tuple[str, h5py.Group]]:
    """Every group with a neurodata_type, as (path, group), in file order (no link following)."""
    found: list[tuple[str, h5py.Group]] = []

    def visit(name: str, obj: Any) -> None:
        if (isinstance(obj, h5py.Group) and not name.startswith(_SKIPPED_PREFIXES)
                and "neurodata_type" in obj.attrs):
            found.append((name, obj))

    f.visititems(visit)
    return found


def _parent_type(f: h5py.File, path: str) -> str:
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return _type(f[parent]) if parent else ""


def _is_series(g: h5py.Group) -> bool:
    return isinstance(g.get("data"), h5py.Dataset) and (
        isinstance(g.get("timestamps"), h5py.Dataset) or isinstance(g.get("starting_time"), h5py.Dataset)
    )


def _rate(g: h5py.Group) -> float | None:
    st = g.get("starting_time")
    if isinstance(st, h5py.Dataset) and "rate" in st.attrs:
        r = float(st.attrs["rate"])
        return r if r > 0 and np.isfinite(r) else None
    return None


def _timestamps(g: h5py.Group, n: int) -> np.ndarray:
    ts = g.get("timestamps")
    if isinstance(ts, h5py.Dataset):
        return np.asarray(ts[:], dtype=float).reshape(-1)
    rate = _rate(g)
    if rate is None:
        raise UserError(f"The series {g.name} has neither timestamps nor a valid sampling rate.")
    return float(g["starting_time"][()]) + np.arange(n) / rate


def _rate_hz(g: h5py.Group) -> float | None:
    rate = _rate(g)
    if rate is not None:
        return rate
    ts = g.get("timestamps")
    if isinstance(ts, h5py.Dataset) and ts.shape and ts.shape[0] > 1:
        d = np.diff(np.asarray(ts[: min(ts.shape[0], 1000)], dtype=float))
        if len(d) and np.all(d > 0):
            return float(1.0 / np.median(d))
    return None


def _time_bounds(g: h5py.Group) -> tuple[float, float] | None:
    ts = g.get("timestamps")
    if isinstance(ts, h5py.Dataset):
        n = ts.shape[0] if ts.shape else 0
        if n == 0:
            return None
        return float(ts[0]), float(ts[n - 1])
    n = g["data"].shape[0] if g["data"].shape else 0
    rate = _rate(g)
    if n == 0 or rate is None:
        return None
    t0 = float(g["starting_time"][()])
    return t0, t0 + (n - 1) / rate


def _n_samples(g: h5py.Group) -> int:
    shape = g["data"].shape
    return int(shape[0]) if shape else 0


def _column(table: h5py.Group, name: str) -> np.ndarray | None:
    """A DynamicTable column (ragged ones as an object array of per-row arrays); None if exotic."""
    ds = table.get(name)
    if not isinstance(ds, h5py.Dataset) or ds.dtype.names is not None or ds.dtype.kind == "O" and ds.dtype.metadata and ds.dtype.metadata.get("ref"):
        return None
    values = _decode(np.asarray(ds[:]))
    index = table.get(f"{name}_index")
    if isinstance(index, h5py.Dataset):
        ends = np.asarray(index[:], dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        out = np.empty(len(ends), dtype=object)
        for i, (a, b) in enumerate(zip(starts, ends)):
            out[i] = values[a:b]
        return out
    return values


def _table_columns(table: h5py.Group, skip: set[str]) -> dict[str, np.ndarray]:
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in table.attrs.get("colnames", [])]
    n_rows = table["id"].shape[0] if isinstance(table.get("id"), h5py.Dataset) else None
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name in skip:
            continue
        try:
            values = _column(table, name)
        except (OSError, ValueError, TypeError):
            continue
        if values is not None and (n_rows is None or len(values) == n_rows):
            out[name] = values
    return out


def _labels(columns: dict[str, np.ndarray], ids: np.ndarray) -> list[str]:
    for key in LABEL_COLUMNS:
        col = columns.get(key)
        if col is not None and col.dtype.kind in ("U", "S") and col.ndim == 1:
            return [str(v) for v in col]
    return [str(i) for i in ids]


# -- finding things ----------------------------------------------------------------------------------
def _find_units(groups: list[tuple[str, h5py.Group]]) -> h5py.Group | None:
    units = [g for p, g in groups if _type(g) == "Units" and isinstance(g.get("spike_times"), h5py.Dataset)]
    for g in units:
        if g.name == "/units":
            return g
    return units[0] if units else None


def _ophys_series(f: h5py.File, groups: list[tuple[str, h5py.Group]]) -> list[tuple[str, h5py.Group, str]]:
    found = []
    for path, g in groups:
        if _type(g) != "RoiResponseSeries" or not _is_series(g):
            continue
        ptype = _parent_type(f, path)
        kind = "dff" if ptype == "DfOverF" else "fluorescence"
        container = path.rsplit("/", 2)[-2] if path.count("/") >= 1 else ""
        rank = (0 if kind == "dff" else 1, 0 if container in ("Fluorescence", "DfOverF") else 1,
                1 if "neuropil" in path.rsplit("/", 1)[-1].lower() else 0, path)
        found.append((rank, path, g, kind))
    found.sort(key=lambda t: t[0])
    return [(p, g, k) for _, p, g, k in found]


def _stem(name: str) -> str | None:
    m = re.match(r"^(.*?)[_\-. ]?(\d+)$", name)
    return m.group(1) if m and m.group(1) else None


def _acquisition_stack(f: h5py.File) -> list[h5py.Group]:
    """Plain TimeSeries in /acquisition that form numbered per-neuron series of equal length."""
    acq = f.get("acquisition")
    if not isinstance(acq, h5py.Group):
        return []
    groups: dict[str, list[h5py.Group]] = {}
    for name, g in acq.items():
        if not isinstance(g, h5py.Group) or _type(g) != "TimeSeries" or not _is_series(g):
            continue
        shape = g["data"].shape
        if g["data"].dtype.kind not in "biuf" or not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            continue
        stem = _stem(name)
        if stem is not None:
            groups.setdefault(stem, []).append(g)
    best: list[h5py.Group] = []
    for members in groups.values():
        if len(members) >= 2 and len({m["data"].shape[0] for m in members}) == 1 and len(members) > len(best):
            best = members
    return sorted(best, key=lambda g: g.name)


def _behaviour_series(f: h5py.File, groups: list[tuple[str, h5py.Group]], exclude: set[str]) -> list[tuple[str, h5py.Group, str]]:
    out = []
    for path, g in groups:
        t = _type(g)
        if t in _NOT_BEHAVIOUR or path in exclude or not _is_series(g) or g["data"].dtype.kind not in "biuf":
            continue
        if not (t.endswith("Series") or t == "TimeSeries"):
            continue
        if t == "SpatialSeries":
            kind = "spatial"
        elif _parent_type(f, path) == "BehavioralEvents":
            kind = "events"
        else:
            kind = "timeseries"
        out.append((path, g, kind))
    return sorted(out, key=lambda t: t[0])


def _display_path(path: str) -> str:
    """Path shown to users: processing module names are dropped for behaviour, as pynwb names them."""
    parts = path.split("/")
    if parts[0] in ("acquisition", "stimulus") and len(parts) > 1:
        return "/".join(parts[1:]) if parts[0] == "acquisition" else path
    if parts[0] == "processing" and len(parts) > 1:
        return "/".join(parts[1:])
    return path


def _interval_tables(groups: list[tuple[str, h5py.Group]]) -> list[h5py.Group]:
    tables = [g for _, g in groups if _type(g) == "TimeIntervals"
              and isinstance(g.get("start_time"), h5py.Dataset) and isinstance(g.get("stop_time"), h5py.Dataset)]
    return sorted(tables, key=lambda g: g.name.rsplit("/", 1)[-1])


# -- spike trains ----------------------------------------------------------------------------------
def _spike_datasets(units: h5py.Group) -> tuple[h5py.Dataset, np.ndarray]:
    flat = units["spike_times"]
    idx = units.get("spike_times_index")
    n_units = units["id"].shape[0] if isinstance(units.get("id"), h5py.Dataset) else None
    if isinstance(idx, h5py.Dataset):
        ends = np.asarray(idx[:], dtype=np.int64)
    elif n_units == 1:
        ends = np.array([flat.shape[0]], dtype=np.int64)
    else:
        raise UserError(f"The Units table {units.name} has spike_times without an index; the file is malformed.")
    if flat.ndim != 1 or ends.ndim != 1:
        raise UserError(f"The spike_times of {units.name} or its index is not a 1-D list; the file is malformed.")
    if len(ends) and (ends[-1] > flat.shape[0] or ends[0] < 0 or np.any(np.diff(ends) < 0)):
        raise UserError(f"The spike_times index of {units.name} points past its data; the file is damaged.")
    return flat, ends


def _drop_nonfinite(trains: list[np.ndarray], name: str, warn_list: list[str], stacklevel: int = 4) -> list[np.ndarray]:
    """Spike trains without NaN or infinite times; what was dropped is reported as a warning."""
    n_bad = n_units = 0
    out = []
    for t in trains:
        ok = np.isfinite(t)
        if not ok.all():
            n_bad, n_units = n_bad + int((~ok).sum()), n_units + 1
            t = np.ascontiguousarray(t[ok])
        out.append(t)
    if n_bad:
        msg = (f"{name}: {n_bad} spike time(s) of {n_units} unit(s) were not finite (NaN or infinite); "
               "they were dropped on reading.")
        warnings.warn(msg, UserWarning, stacklevel=stacklevel)
        warn_list.append(msg)
    return out


def read_spike_trains(units: h5py.Group, name: str, warn_list: list[str]) -> list[np.ndarray]:
    """Per-unit spike times (s), sorted; unsorted units are sorted with a warning."""
    flat_ds, ends = _spike_datasets(units)
    flat = np.asarray(flat_ds[: int(ends[-1]) if len(ends) else 0], dtype=float)
    starts = np.concatenate([[0], ends[:-1]])
    finite = _drop_nonfinite([flat[a:b] for a, b in zip(starts, ends)], name, warn_list)
    trains, n_unsorted = [], 0
    for t in finite:
        if len(t) > 1 and np.any(np.diff(t) < 0):
            t = np.sort(t)
            n_unsorted += 1
        trains.append(np.ascontiguousarray(t))
    if n_unsorted:
        msg = f"{name}: spike times of {n_unsorted} unit(s) were not sorted; they were sorted on reading."
        warnings.warn(msg, UserWarning, stacklevel=3)
        warn_list.append(msg)
    return trains


def _unit_locations(f: h5py.File, units: h5py.Group, n_units: int) -> np.ndarray | None:
    """Each unit's brain location, through its (first) electrode in the electrodes table."""
    region = units.get("electrodes")
    if not isinstance(region, h5py.Dataset) or "table" not in region.attrs:
        return None
    try:
        rows = np.asarray(region[:], dtype=np.int64)
        index = units.get("electrodes_index")
        if isinstance(index, h5py.Dataset):
            ends = np.asarray(index[:], dtype=np.int64)
            starts = np.concatenate([[0], ends[:-1]])
            if np.any(ends <= starts):
                return None
            rows = rows[starts]
        table = f[region.attrs["table"]]
        location = _column(table, "location")
    except (OSError, KeyError, ValueError, TypeError, IndexError):
        return None
    if location is None or location.dtype.kind not in "US" or len(rows) != n_units or rows.max(initial=0) >= len(location):
        return None
    return location[rows]


# -- reading -----------------------------------------------------------------------------------------
def read_nwb(path: str | os.PathLike, *, sha256: str | None = None, units: list[int] | None = None,
             t_start: float | None = None, t_stop: float | None = None, source: str = "auto") -> Recording:
    """Read one NWB 2 file (or part of it) into a :class:`Recording`.

    Parameters
    ----------
    path : str or PathLike
        The ``.nwb`` file, or an ``http(s)://`` URL (streamed; see :mod:`neurotools.data.remote`,
        whose identity replaces the sha256 of a remote file).
    sha256 : str, optional
        The file's digest when already known (saves reading the file twice).
    units, t_start, t_stop, source : optional
        Read only these units (file indices) and this time range (s) of this data source; see
        :mod:`neurotools.data.selection`. ``neural_matrix`` with the same selection then gives the
        same matrix as after a full read. Default: everything.

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
        When spike times were unsorted (they are sorted, and the warning is also kept in
        ``recording.warnings``).
    """
    sel = Selection(None if units is None else tuple(int(u) for u in units), t_start, t_stop, source or "auto")
    p = Path(path)
    with _open_any(path, partial=sel.active) as (f, version, remote):
        if remote is not None:
            p, ident = Path(remote.name), sha256 or remote.identity
            src = SourceFile(remote.name, ident, remote.url)
        else:
            src = SourceFile(p.name, sha256 or file_identity(p), str(p))
        try:
            rec = Recording(
                source=src,
                nwb_version=version,
                session_description=_text(f["session_description"]) if "session_description" in f else "",
                session_start_time=_text(f["session_start_time"]) if "session_start_time" in f else "",
            )
            _read_into(f, rec, sel)
        except UserError as exc:
            raise _named(exc, p.name) from None
        except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise UserError(
                f"{p.name} could not be read completely ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:120] if str(exc) else 'no detail'}); the file may be damaged."
            ) from None
    return rec


def _read_into(f: h5py.File, rec: Recording, sel: Selection = Selection()) -> None:
    check_declared_sizes(f, rec.source.name)
    groups = _walk(f)
    spike_ends: list[np.ndarray] = []
    subject = f.get("general/subject")
    if isinstance(subject, h5py.Group):
        for key, ds in subject.items():
            if isinstance(ds, h5py.Dataset) and ds.shape == ():
                rec.subject[key] = _text(ds)

    units = _find_units(groups)
    if units is not None:
        if sel.active:
            rec.spike_times, spike_ends = _selected_spike_trains(units, sel, rec.source.name, rec.warnings)
        else:
            rec.spike_times = read_spike_trains(units, rec.source.name, rec.warnings)
        ids = np.asarray(units["id"][:]) if isinstance(units.get("id"), h5py.Dataset) else np.arange(len(rec.spike_times))
        rec.unit_table = {"id": ids}
        skip = {"spike_times", "obs_intervals", "waveforms", "waveform_mean", "waveform_sd", "electrodes"}
        rec.unit_table.update(_table_columns(units, skip))
        if "location" not in rec.unit_table and (loc := _unit_locations(f, units, len(ids))) is not None:
            rec.unit_table["location"] = loc

    used: set[str] = set()
    for path, g, kind in _ophys_series(f, groups):
        used.add(path)
        data, ts, interval = _series_samples(g, path, sel)
        if data.ndim == 1:
            data = data[:, None]
        _check_trace(path, data, ts)
        if len(ts) != data.shape[0]:
            raise UserError(f"{path} has {data.shape[0]} samples but {len(ts)} timestamps; the file is inconsistent.")
        columns: dict[str, np.ndarray] = {}
        ids = np.arange(data.shape[1])
        rois = g.get("rois")
        if isinstance(rois, h5py.Dataset) and "table" in rois.attrs:
            rows = np.asarray(rois[:], dtype=int)
            table = f[rois.attrs["table"]]
            table_ids = np.asarray(table["id"][:])
            if len(rows) == data.shape[1] and (len(rows) == 0 or rows.max() < len(table_ids)):
                ids = table_ids[rows]
                all_cols = _table_columns(table, _MASK_COLUMNS)
                columns = {k: v[rows] for k, v in all_cols.items()}
        rec.traces.append(TraceSeries(
            path=path.removeprefix("processing/"), data=data, timestamps=ts, rate_hz=_rate_hz(g),
            kind=kind, channel_labels=_labels(columns, ids), channel_table=columns,
            unit=_text(g["data"].attrs.get("unit", "")), sample_interval=interval,
        ))

    stack = _acquisition_stack(f)
    if stack:
        used.update(g.name.lstrip("/") for g in stack)
        rows, stack_ts, interval = slice(None), None, None
        if sel.trace_window is not None:
            rows, stack_ts, interval = trace_rows(stack[0], _n_samples(stack[0]), sel.trace_window)
        data = np.column_stack([np.asarray(g["data"][rows], dtype=float).reshape(-1) for g in stack])
        stack_ts = _timestamps(stack[0], data.shape[0]) if stack_ts is None else stack_ts
        _check_trace("acquisition", data, stack_ts)
        rec.traces.append(TraceSeries(
            path="acquisition", data=data,
            timestamps=stack_ts,
            rate_hz=_rate_hz(stack[0]), kind="acquisition",
            channel_labels=[g.name.rsplit("/", 1)[-1] for g in stack],
            unit=_text(stack[0]["data"].attrs.get("unit", "")), sample_interval=interval,
        ))

    for path, g, kind in _behaviour_series(f, groups, used):
        data = np.asarray(g["data"][:], dtype=float)
        ts = _timestamps(g, data.shape[0])
        if len(ts) != data.shape[0]:
            continue
        rec.behavior.append(BehaviorSeries(path=_display_path(path), data=data, timestamps=ts, kind=kind,
                                           unit=_text(g["data"].attrs.get("unit", ""))))

    for table in _interval_tables(groups):
        name = table.name.rsplit("/", 1)[-1]
        rec.intervals[name] = IntervalTable(
            name=name,
            start=np.asarray(table["start_time"][:], dtype=float),
            stop=np.asarray(table["stop_time"][:], dtype=float),
            columns=_table_columns(table, {"start_time", "stop_time", "timeseries"}),
        )

    scratch = f.get("scratch")
    if isinstance(scratch, h5py.Group):
        for key, item in scratch.items():
            ds = item.get("data") if isinstance(item, h5py.Group) else item
            if isinstance(ds, h5py.Dataset) and ds.dtype.kind in "biufSU":
                rec.ground_truth[key] = _decode(np.asarray(ds[()]))

    if sel.active:
        trace_groups = [g for _, g, _ in _ophys_series(f, groups)] + stack[:1]
        rec.time_bounds = _file_time_bounds(rec, spike_ends, trace_groups)


# -- partial reading (neurotools.data.selection) --------------------------------------------------
def _selected_spike_trains(units: h5py.Group, sel: Selection, name: str,
                           warn_list: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One train per unit of the file: the chosen units within the range, others empty."""
    flat, ends = _spike_datasets(units)
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    n = len(ends)
    if sel.source in ("rois", "acquisition"):
        keep: list[int] = []
    elif sel.units is None:
        keep = list(range(n))
    else:
        keep = sorted({u for u in sel.units if 0 <= u < n})
    trains = [np.zeros(0) for _ in range(n)]
    n_unsorted = 0
    for i in keep:
        trains[i], unsorted = read_unit(flat, int(starts[i]), int(ends[i]), sel.t_start, sel.t_stop)
        n_unsorted += unsorted
    for i, t in zip(keep, _drop_nonfinite([trains[i] for i in keep], name, warn_list, stacklevel=5)):
        trains[i] = t
    if n_unsorted:
        msg = f"{name}: spike times of {n_unsorted} unit(s) were not sorted; they were sorted on reading."
        warnings.warn(msg, UserWarning, stacklevel=4)
        warn_list.append(msg)
    if sel.t_start is not None and sel.t_stop is not None:  # the range is given: no full-file bounds
        return trains, trains  # (each unit's first/last spike would touch every chunk of spike_times)
    return trains, unit_ends(flat, ends)


def _series_samples(g: h5py.Group, path: str, sel: Selection) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Samples, times (s) and, for a window, the whole series' sample interval (s) of a series."""
    n = _n_samples(g)
    ts_ds = g.get("timestamps")
    if sel.trace_window is None or (isinstance(ts_ds, h5py.Dataset) and ts_ds.shape[:1] != (n,)):
        data = np.asarray(g["data"][:], dtype=float)
        ts = _timestamps(g, data.shape[0])
        if len(ts) != data.shape[0]:
            raise UserError(f"{path} has {data.shape[0]} samples but {len(ts)} timestamps; the file is inconsistent.")
        return data, ts, None
    if not isinstance(ts_ds, h5py.Dataset) and _rate(g) is None:
        raise UserError(f"The series {g.name} has neither timestamps nor a valid sampling rate.")
    rows, ts, interval = trace_rows(g, n, sel.trace_window)
    return np.asarray(g["data"][rows], dtype=float), ts, interval


def _file_time_bounds(rec: Recording, spike_ends: list[np.ndarray],
                      trace_groups: list[h5py.Group]) -> tuple[float, float]:
    """The file's time range as :meth:`Recording.time_range` gives it after a full read.

    A stand-in recording holds each unit's first and last spike and each trace series' first and
    last time (read without the data), with the intervals and behaviour as read. When the selection
    gives both ``t_start`` and ``t_stop``, ``spike_ends`` are the spikes read (analyses then use the
    given range, not the file's).
    """
    traces = []
    for g in trace_groups:
        if (b := _time_bounds(g)) is not None:
            traces.append(TraceSeries(g.name, np.zeros((2, 0)), np.array(b, dtype=float), None, "dff"))
    shadow = Recording(source=rec.source, spike_times=spike_ends or None, traces=traces,
                       intervals=rec.intervals, behavior=rec.behavior)
    return shadow.time_range()


def _named(exc: UserError, name: str) -> UserError:
    """The error with the file's name in front, unless the message already names the file."""
    return exc if name in exc.message else UserError(f"{name}: {exc.message}")


def _check_trace(path: str, data: np.ndarray, ts: np.ndarray) -> None:
    """Refuse neural traces that are not time x channels or whose sample times are not finite."""
    if data.ndim != 2:
        raise UserError(f"The series {path} has {data.ndim}-D data where time x channels (2-D) is expected; "
                        "the file is malformed.")
    if not np.all(np.isfinite(ts)):
        raise UserError(f"The series {path} has {int((~np.isfinite(ts)).sum())} sample time(s) that are not "
                        "finite (NaN or infinite); the file is damaged.")


def _finite_trace_bounds(g: h5py.Group, path: str) -> tuple[float, float] | None:
    """First and last sample time of a neural trace series; UserError when they are not finite."""
    b = _time_bounds(g)
    if b is not None and not np.all(np.isfinite(b)):
        raise UserError(f"The series {path} has sample times that are not finite (NaN or infinite); "
                        "the file is damaged.")
    return b


def _finite_min_max(values: np.ndarray) -> tuple[float, float] | None:
    """Smallest and largest finite value, or None when there is none."""
    v = np.asarray(values, dtype=float).reshape(-1)
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else None


# -- summary ----------------------------------------------------------------------------------------
def _spike_stats(flat: h5py.Dataset, stop: int) -> tuple[tuple[float, float] | None, int]:
    """Finite min and max of ``flat[:stop]`` and how many of its values are not finite, streamed."""
    lo, hi, n_bad = np.inf, -np.inf, 0
    for a in range(0, stop, _CHUNK):
        block = np.asarray(flat[a: min(a + _CHUNK, stop)], dtype=float)
        ok = np.isfinite(block)
        n_bad += int(block.size - ok.sum())
        if ok.any():
            lo, hi = min(lo, float(block[ok].min())), max(hi, float(block[ok].max()))
    return ((lo, hi) if np.isfinite(lo) else None), n_bad


def _streamed_min_max(dataset: h5py.Dataset) -> tuple[float, float] | None:
    n = dataset.shape[0] if dataset.shape else 0
    if n == 0:
        return None
    lo, hi = np.inf, -np.inf
    for a in range(0, n, _CHUNK):
        block = np.asarray(dataset[a: a + _CHUNK], dtype=float)
        block = block[np.isfinite(block)]
        if block.size:
            lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
    return (lo, hi) if np.isfinite(lo) else None


def summarize(path: str | os.PathLike) -> dict[str, Any]:
    """Exact counts of what a file holds, read without loading whole datasets.

    Returns
    -------
    dict
        ``nwb_version``, ``session_description``, ``duration_s``, ``t_start_s``, ``t_stop_s``,
        ``n_units``, ``n_spikes``, ``trace_series`` (list of ``{path, n_channels, n_samples,
        rate_hz, kind}``), ``behavior_series`` (list of ``{path, n_samples, kind}``),
        ``intervals`` (table name -> rows), ``file``, ``size_bytes``, ``sources``,
        ``ground_truth`` (names of stored ground-truth arrays).

    Raises
    ------
    UserError
        When the file is not a readable NWB 2 file.
    """
    p = Path(path)
    with _open_any(path, partial=is_url(path)) as (f, version, remote):
        try:
            if remote is not None:
                p = Path(remote.name)
                return _summarize_open(f, version, remote.name, remote.size, remote=True)
            return _summarize_open(f, version, p.name, p.stat().st_size)
        except UserError as exc:
            raise _named(exc, p.name) from None
        except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise UserError(f"{p.name} could not be read completely ({type(exc).__name__}); the file may be damaged.") from None


def _summarize_open(f: h5py.File, version: str, name: str, size: int, remote: bool = False) -> dict[str, Any]:
    check_declared_sizes(f, name)
    groups = _walk(f)
    bounds: list[tuple[float, float]] = []
    n_units = n_spikes = 0
    units = _find_units(groups)
    if units is not None:
        flat, ends = _spike_datasets(units)
        n_units, n_spikes = len(ends), int(ends[-1]) if len(ends) else 0
        # a remote file is not downloaded whole: each unit's first and last (sorted) spike
        if remote:
            mm = unit_bounds(flat, ends)
        else:  # non-finite spike times are dropped by the reader: not counted
            mm, n_bad = _spike_stats(flat, n_spikes)
            n_spikes -= n_bad
        if mm is not None:
            bounds.append(mm)

    traces, used = [], set()
    for path, g, kind in _ophys_series(f, groups):
        used.add(path)
        shape = g["data"].shape
        traces.append(dict(path=path.removeprefix("processing/"), n_channels=int(shape[1]) if len(shape) > 1 else 1,
                           n_samples=int(shape[0]), rate_hz=_rate_hz(g), kind=kind))
        if (b := _finite_trace_bounds(g, path)) is not None:
            bounds.append(b)
    stack = _acquisition_stack(f)
    if stack:
        used.update(g.name.lstrip("/") for g in stack)
        traces.append(dict(path="acquisition", n_channels=len(stack), n_samples=_n_samples(stack[0]),
                           rate_hz=_rate_hz(stack[0]), kind="acquisition"))
        if (b := _finite_trace_bounds(stack[0], "acquisition")) is not None:
            bounds.append(b)

    behaviour, behaviour_bounds = [], []
    for path, g, kind in _behaviour_series(f, groups, used):
        ts = g.get("timestamps")  # finite min and max, as Recording.time_range takes them
        if isinstance(ts, h5py.Dataset) and int(np.prod(ts.shape)) != _n_samples(g):
            continue  # one time per sample or the reader skips the series
        behaviour.append(dict(path=_display_path(path), n_samples=_n_samples(g), kind=kind))
        b = _streamed_min_max(ts) if isinstance(ts, h5py.Dataset) else _time_bounds(g)
        if b is not None and np.all(np.isfinite(b)):
            behaviour_bounds.append(b)

    intervals = {}
    for table in _interval_tables(groups):
        start, stop = table["start_time"], table["stop_time"]
        intervals[table.name.rsplit("/", 1)[-1]] = int(start.shape[0])
        if start.shape[0] and (span := _finite_min_max(np.concatenate([start[:], stop[:]]))):
            bounds.append(span)  # finite start and stop times (missing stops leave the starts)

    if not bounds:  # no neural data and no intervals: the behaviour sets the time range
        bounds = behaviour_bounds
    t0 = min((b[0] for b in bounds), default=0.0)
    t1 = max((b[1] for b in bounds), default=0.0)
    sources = (["units"] if n_units else []) + (["rois"] if any(t["kind"] != "acquisition" for t in traces) else []) + (
        ["acquisition"] if stack else [])
    scratch = f.get("scratch")
    return {
        "file": name,
        "size_bytes": int(size),
        "nwb_version": version,
        "session_description": _text(f["session_description"]) if "session_description" in f else "",
        "session_start_time": _text(f["session_start_time"]) if "session_start_time" in f else "",
        "duration_s": float(t1 - t0),
        "t_start_s": float(t0),
        "t_stop_s": float(t1),
        "n_units": int(n_units),
        "n_spikes": int(n_spikes),
        "trace_series": traces,
        "behavior_series": behaviour,
        "intervals": intervals,
        "sources": sources,
        "ground_truth": sorted(scratch.keys()) if isinstance(scratch, h5py.Group) else [],
    }
