"""Analysis results inside NWB files: write them into a copy of the input file, read them back.

A copy of the analysed file gets one processing module, ``neurotools``, holding each result under a
key (``hmmglm``, ``hmmglm_2``, ... when a file holds several) as standard NWB containers:

``<key>_provenance`` (DynamicTable, one row)
    analysis, neurotools version, seed, device, runtime, and the complete ``result.json`` as JSON
    text (what neurotools reads back); ``<key>_parameters``, ``<key>_inputs`` (name, sha256, data
    source) and ``<key>_metrics`` spell the same out one row per item.
``<key>_states`` (TimeIntervals)
    the state sequence (bi-clustering ``state_sequence``, HMM-GLM ``states``) as one interval per
    run of equal states, with columns ``state`` and ``session_index``; bin edges are the bin centres
    ``bin_times`` +- half a bin.
``<key>_component_activity`` (TimeSeries)
    the connectome's component time courses (``time_factors`` transposed), time x component.
``<key>_neurons`` (DynamicTable, one row per analysed neuron)
    ``neuron_index`` (row of the file's units table / ROI table / neuron stack), a ``units`` or
    ``rois`` region into that table where it exists, and the per-neuron results: ``cluster`` and
    ``coclustering`` (bi-clustering), ``community`` per component (connectome), ``weights``,
    ``connection_type`` (HMM-GLM; row = receiving neuron), ``attention_connectivity``
    (Neuroformer; row = target neuron). Each column's description says what it means.
``<key>_arrays`` (DynamicTable, one row)
    every array of the Result verbatim (one column per array, the array as the single row), so the
    app reloads the result exactly, without recomputing.

The original file's contents are untouched: the copy is the original bytes plus this module.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurotools.analyses.base import Result
from neurotools.errors import UserError

#: Name of the processing module that holds neurotools results.
MODULE = "neurotools"

_STATE_ARRAYS = {"bicluster": "state_sequence", "hmmglm": "states"}


@dataclass(frozen=True)
class StoredResult:
    """A result found inside an NWB file.

    Attributes
    ----------
    key : str
        Its key in the ``neurotools`` module (``hmmglm``, ``hmmglm_2``...).
    result : Result
        The result, exactly as it was exported.
    path : str
        The NWB file it was read from.
    """

    key: str
    result: Result
    path: str


# -- helpers ---------------------------------------------------------------------------------------
def neuron_indices(result: Result) -> np.ndarray | None:
    """Indices into the input file's neurons of the rows of a result's per-neuron arrays.

    Uses the ``neuron_indices`` array when the analysis stores one, else the ``units`` parameter,
    else all neurons in order (when the number of neurons is known). None when it cannot be told.
    """
    a = result.arrays
    if "neuron_indices" in a:
        return np.asarray(a["neuron_indices"], dtype=np.int64)
    n = _n_neurons(result)
    if n is None:
        return None
    units = str(result.params.get("units") or "").strip()
    if units:
        idx = np.array([int(v) for v in units.split(",") if v.strip()], dtype=np.int64)
        return idx if len(idx) == n else None
    return np.arange(n, dtype=np.int64)


def _n_neurons(result: Result) -> int | None:
    a = result.arrays
    for name, axis in (("neuron_clusters", 0), ("connection_type", 0), ("attention_connectivity", 0),
                       ("neuron_labels", 0), ("communities", 1)):
        if name in a:
            return int(np.shape(a[name])[axis])
    return None


def _bin_size(result: Result, times: np.ndarray) -> float:
    bs = result.params.get("bin_size")
    if isinstance(bs, (int, float)) and bs > 0:
        return float(bs)
    d = np.diff(times)
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1.0


def state_runs(states: np.ndarray, times: np.ndarray, bin_size: float,
               session: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run-length encode a state sequence into intervals.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
        State per bin.
    times : ndarray, shape (T,)
        Bin centres (s).
    bin_size : float
        Bin width (s); a bin spans its centre +- half a bin.
    session : ndarray of int, shape (T,), optional
        Session/sequence index per bin; a run never crosses a session boundary.

    Returns
    -------
    dict
        ``start_time``, ``stop_time`` (s), ``state``, ``session_index``: one entry per run. A run
        also ends where consecutive bins are more than 1.5 bins apart (gaps between sequences).
    """
    states = np.asarray(states)
    times = np.asarray(times, dtype=float)
    session = np.zeros(len(states), np.int64) if session is None else np.asarray(session)
    if len(states) == 0:
        empty = np.zeros(0)
        return {"start_time": empty, "stop_time": empty, "state": empty.astype(np.int64),
                "session_index": empty.astype(np.int64)}
    brk = (np.diff(states) != 0) | (np.diff(session) != 0) | (np.abs(np.diff(times)) > 1.5 * bin_size)
    starts = np.r_[0, np.flatnonzero(brk) + 1]
    ends = np.r_[starts[1:], len(states)] - 1
    return {
        "start_time": times[starts] - bin_size / 2,
        "stop_time": times[ends] + bin_size / 2,
        "state": states[starts].astype(np.int64),
        "session_index": session[starts].astype(np.int64),
    }


def _to_h5(arr: np.ndarray) -> Any:
    """An array in a form hdmf writes: unicode becomes variable-length text."""
    if arr.dtype.kind == "U":
        return arr.astype(object)
    return arr


def _from_h5(data: np.ndarray, dtype: str) -> np.ndarray:
    if np.dtype(dtype).kind == "U":
        flat = [v.decode() if isinstance(v, bytes) else str(v) for v in data.reshape(-1)]
        return np.array(flat, dtype=dtype).reshape(data.shape)
    return np.asarray(data).astype(dtype, copy=False)


# -- writing ---------------------------------------------------------------------------------------
def _unique_key(module: Any, analysis: str) -> str:
    names = set(module.data_interfaces) if module is not None else set()
    key, n = analysis, 1
    while f"{key}_provenance" in names:
        n += 1
        key = f"{analysis}_{n}"
    return key


def _column(name: str, description: str, data: Any) -> Any:
    from hdmf.common import VectorData

    return VectorData(name=name, description=description, data=data)


def _provenance_tables(key: str, result: Result) -> list[Any]:
    """The provenance table (one row) and the parameter, input and metric tables (a row each)."""
    from hdmf.common import DynamicTable

    manifest = result.manifest()
    manifest["array_dtypes"] = {k: np.asarray(v).dtype.str for k, v in result.arrays.items()}
    prov = DynamicTable(
        name=f"{key}_provenance",
        description=f"How the neurotools {result.analysis} result '{key}' was computed: rerun it with "
                    f"`neurotools run {result.analysis}`, the parameters in {key}_parameters and this seed.",
        columns=[
            _column("analysis", "neurotools analysis name", [result.analysis]),
            _column("neurotools_version", "package version that computed the result",
                    [result.neurotools_version or ""]),
            _column("seed", "random seed of the run", [int(result.seed)]),
            _column("device", "cpu or cuda", [result.device]),
            _column("runtime_s", "wall time of the run (s)", [float(result.runtime_s)]),
            _column("manifest", "the complete result.json of the run as JSON text (with the arrays' "
                                "dtypes), read back by neurotools", [json.dumps(manifest)]),
        ])
    params = manifest["params"]
    tables = [prov, DynamicTable(
        name=f"{key}_parameters", description=f"Parameters of the neurotools {result.analysis} result '{key}'",
        columns=[_column("parameter", "parameter name (as in `neurotools run --set`)", list(params) or [""]),
                 _column("value", "parameter value, JSON text", [json.dumps(v) for v in params.values()] or [""])],
    ) if params else None]
    inputs = manifest["inputs"]
    if inputs:
        tables.append(DynamicTable(
            name=f"{key}_inputs", description=f"Input files of the neurotools {result.analysis} result '{key}'",
            columns=[_column(c, d, [str(i.get("name" if c == "file" else c, "")) for i in inputs])
                     for c, d in (("file", "file name"), ("sha256", "SHA-256 of the file's bytes"),
                                  ("source", "neural data used: units, rois or acquisition"))]))
    metrics = manifest["metrics"]
    if metrics:
        tables.append(DynamicTable(
            name=f"{key}_metrics", description=f"Scalar summaries of the neurotools {result.analysis} result '{key}'",
            columns=[_column("metric", "metric name", list(metrics)),
                     _column("value", "metric value, JSON text", [json.dumps(v) for v in metrics.values()])]))
    return [t for t in tables if t is not None]


def _arrays_table(key: str, result: Result) -> Any:
    from hdmf.backends.hdf5 import H5DataIO
    from hdmf.common import DynamicTable

    cols = []
    for name, arr in result.arrays.items():
        arr = np.asarray(arr)
        data = _to_h5(arr[None, ...])
        if arr.size > 10_000 and arr.dtype.kind in "biuf":
            data = H5DataIO(data, compression="gzip", shuffle=True)
        cols.append(_column(name, f"{result.analysis} array '{name}' of shape {list(arr.shape)} "
                                  "(stored as the table's only row)", data))
    return DynamicTable(name=f"{key}_arrays",
                        description=f"Every array of the neurotools {result.analysis} result '{key}', "
                                    "verbatim; see the provenance table for its meaning.",
                        columns=cols)


def _states_table(key: str, result: Result) -> Any | None:
    from pynwb.epoch import TimeIntervals

    name = _STATE_ARRAYS.get(result.analysis)
    a = result.arrays
    if name not in a or "bin_times" not in a:
        return None
    times = np.asarray(a["bin_times"], dtype=float)
    session = a.get("session_index", a.get("sequence_index"))
    runs = state_runs(a[name], times, _bin_size(result, times), session)
    table = TimeIntervals(name=f"{key}_states",
                          description=f"{result.analysis} state sequence ('{name}'): one interval per "
                                      "run of equal states (bin centres +- half a bin, s)")
    table.add_column("state", "state label (integer, 0-based)")
    table.add_column("session_index", "input session / sequence of the run (0-based)")
    for i in range(len(runs["state"])):
        table.add_row(start_time=float(runs["start_time"][i]), stop_time=float(runs["stop_time"][i]),
                      state=int(runs["state"][i]), session_index=int(runs["session_index"][i]))
    return table


def _activity_series(key: str, result: Result) -> Any | None:
    from pynwb import TimeSeries

    a = result.arrays
    if result.analysis != "connectome" or "time_factors" not in a or "bin_times" not in a:
        return None
    tf = np.asarray(a["time_factors"], dtype=float)
    times = np.asarray(a["bin_times"], dtype=float)
    if tf.ndim != 2 or tf.shape[1] != len(times):
        return None
    timing: dict[str, Any] = {"timestamps": times}
    d = np.diff(times)
    if len(times) > 1 and np.allclose(d, d[0], rtol=1e-9, atol=0) and d[0] > 0:
        timing = {"starting_time": float(times[0]), "rate": float(1.0 / d[0])}  # regular bins
    return TimeSeries(name=f"{key}_component_activity", data=tf.T, unit="a.u.", **timing,
                      description="connectome component time courses (NTF time factors), "
                                  "time x component")


def _neuron_table(key: str, result: Result, nwb: Any) -> Any | None:
    from hdmf.common import DynamicTable, DynamicTableRegion

    idx = neuron_indices(result)
    if idx is None:
        return None
    n = len(idx)
    a = result.arrays
    cols = [_column("neuron_index", "row of the analysed neuron in the file's units table, ROI table "
                                    "or neuron stack (0-based)", idx)]
    source = (result.inputs[0].get("source") if result.inputs else "") or ""
    target = _neuron_source_table(nwb, source)
    if target is not None and len(idx) and int(idx.max()) < len(target):
        cols.append(DynamicTableRegion(name="units" if source == "units" else "rois", data=idx,
                                       description=f"the analysed neuron in {target.name}", table=target))
    if "neuron_labels" in a and len(a["neuron_labels"]) == n:
        cols.append(_column("label", "neuron name in the analysis", np.asarray(a["neuron_labels"]).astype(object)))
    per_neuron = {
        "neuron_clusters": ("cluster", "neuron cluster (posterior point partition, maxPEAR), 0-based", None),
        "neuron_coclustering": ("coclustering", "posterior probability that this neuron shares a "
                                "cluster with each analysed neuron (row of the similarity matrix)", None),
        "communities": ("community", "community of this neuron in each connectome component "
                        "(one entry per component)", 1),
        "connection_type": ("connection_type", "one-hot prior's MAP connection from each analysed "
                            "neuron onto this one: -1 inhibitory, 0 none, +1 excitatory", None),
        "weights": ("weights", "GLM coupling weights onto this neuron (receiving) from each analysed "
                    "neuron, one row per hidden state (state x sending neuron, log-rate units)", 1),
        "attention_connectivity": ("attention_connectivity", "attention-derived directed "
                                   "connectivity onto this neuron (target) from each analysed neuron (a.u.)", None),
    }
    for name, (col, desc, axis) in per_neuron.items():
        if name not in a:
            continue
        arr = np.asarray(a[name])
        if axis is not None:
            arr = np.moveaxis(arr, axis, 0)
        if arr.shape[0] != n:
            continue
        cols.append(_column(col, desc, arr))
    return DynamicTable(name=f"{key}_neurons",
                        description=f"Per-neuron results of the neurotools {result.analysis} result '{key}'",
                        columns=cols, id=np.arange(n))


def _neuron_source_table(nwb: Any, source: str) -> Any | None:
    if source == "units":
        return nwb.units
    if source == "rois":
        for module in nwb.processing.values():
            for iface in module.data_interfaces.values():
                if type(iface).__name__ == "ImageSegmentation":
                    segs = list(iface.plane_segmentations.values())
                    return segs[0] if segs else None
    return None


def add_result(nwb: Any, result: Result) -> str:
    """Add one result to an open, writable pynwb ``NWBFile``; returns its key in the module."""
    module = nwb.processing.get(MODULE)
    if module is None:
        module = nwb.create_processing_module(MODULE, "Results of neurotools analyses; each result's "
                                              "*_provenance table says how it was computed")
    key = _unique_key(module, result.analysis)
    for table in _provenance_tables(key, result):
        module.add(table)
    for container in (_states_table(key, result), _activity_series(key, result),
                      _neuron_table(key, result, nwb), _arrays_table(key, result)):
        if container is not None:
            module.add(container)
    return key


def write_results_copy(source: str | os.PathLike, results: list[Result], out: str | os.PathLike) -> Path:
    """Copy an NWB file and add results to the copy's ``neurotools`` module.

    Parameters
    ----------
    source : str or PathLike
        The analysed NWB file (read only; never modified).
    results : list of Result
        Results to add, in order (keys ``hmmglm``, ``hmmglm_2``...).
    out : str or PathLike
        The copy; written under a temporary name and renamed when complete.

    Returns
    -------
    Path
        The written copy.

    Raises
    ------
    UserError
        When the source is not a readable NWB file or the copy cannot be written.
    """
    from pynwb import NWBHDF5IO

    from neurotools.data.validate import check_nwb_file

    source, out = Path(source), Path(out)
    check_nwb_file(source)
    if source.resolve() == out.resolve():
        raise UserError(f"--out {out} is the input file itself; choose another path for the copy.")
    if not out.parent.is_dir():
        raise UserError(f"The folder {out.parent} does not exist; create it or choose another --out.")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(tmp), "a") as io:
                nwb = io.read()
                for r in results:
                    add_result(nwb, r)
                io.write(nwb)
        os.replace(tmp, out)
    except UserError:
        raise
    except Exception as exc:  # pynwb cannot write into this file: say so in one sentence
        raise UserError(f"Could not write the results into a copy of {source.name} "
                        f"({type(exc).__name__}: {exc}).") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


# -- reading ---------------------------------------------------------------------------------------
def _cell(ds: h5py.Dataset) -> Any:
    v = ds[0]
    return v.decode() if isinstance(v, bytes) else v


def read_results(path: str | os.PathLike) -> list[StoredResult]:
    """Every neurotools result stored in an NWB file (none when it has no ``neurotools`` module).

    Reads with h5py only (fast; the file's other contents are not touched).

    Raises
    ------
    UserError
        When a stored result is damaged (its provenance or arrays cannot be read).
    """
    out: list[StoredResult] = []
    with h5py.File(path, "r") as f:
        module = f.get(f"processing/{MODULE}")
        if not isinstance(module, h5py.Group):
            return out
        keys = sorted(name[: -len("_provenance")] for name in module if name.endswith("_provenance"))
        for key in keys:
            try:
                manifest = json.loads(_cell(module[f"{key}_provenance/manifest"]))
                dtypes = manifest.get("array_dtypes", {})
                table = module.get(f"{key}_arrays")
                arrays = {}
                for name in manifest.get("arrays", {}):
                    data = table[name][()]
                    arrays[name] = _from_h5(np.asarray(data)[0], dtypes.get(name, np.asarray(data).dtype.str))
            except (KeyError, TypeError, ValueError, OSError) as exc:
                raise UserError(f"The stored neurotools result '{key}' in {Path(path).name} is damaged "
                                f"({type(exc).__name__}); export it again.") from None
            result = Result(
                analysis=manifest["analysis"], params=manifest["params"], seed=manifest["seed"],
                inputs=manifest["inputs"], arrays=arrays, metrics=manifest.get("metrics", {}),
                info=manifest.get("info", {}), runtime_s=manifest.get("runtime_s", 0.0),
                device=manifest.get("device", "cpu"),
                neurotools_version=manifest.get("neurotools_version", ""),
            )
            out.append(StoredResult(key=key, result=result, path=str(path)))
    return out
