"""A corpus of hostile NWB files built from the real recordings, and a runner with a time limit.

Used by ``tests/data/test_fuzz.py`` and ``bench/bench_fuzz.py``. Every case is a damaged or odd
copy of a shared recording (never stored in the repository): truncations at many offsets, flipped
bytes (superblock, metadata, data), removed datasets and attributes, wrong dtypes and ranks, NaNs
and infinities, empty tables, zero-length series and huge declared shapes.

Each case is run in a forked child under a time limit (:func:`run_corpus`): ``summarize``,
``read_nwb`` and ``neural_matrix`` must each return a consistent result or raise
:class:`~neurotools.errors.UserError` with one clear sentence. Outcomes:

- ``ok``: the summary and the recording were read and agree (``neural_matrix`` may still refuse
  with a clear error, e.g. a file without neural data);
- ``error``: a clear ``UserError`` was raised;
- ``crash``: another exception, an unclear message, an inconsistent result, an expectation of
  the case not met, or the worker died;
- ``timeout``: the case ran past its time limit.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import random
import re
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

OUTCOMES = ("ok", "error", "crash", "timeout")

#: Short names of the base recordings (files of ``$NEUROTOOLS_TEST_DATA/nwb``).
BASES = {
    "units": "pynapple_A8604-211122.nwb",  # 3 units, 21,354 spikes, epochs
    "unsorted": "dandicli_sub-anm369963_ses-20170228.nwb",  # 1 unit, no index, trials, licks
    "behaviour": "osb_KatoEtAl2018.WT_Stim.0.nwb",  # behaviour only
    "ophys": "converted_triplett2018_zf_20170215-f3.nwb",  # DfOverF 5660 x 75, rate 1 Hz
    "stack": "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb",  # 57 TimeSeries
}
HUGE = 10**12
#: Bin width (s) of the neurons x time matrix each case is binned to.
BIN_S = 0.25


@dataclass
class Case:
    """One hostile file.

    Attributes
    ----------
    name : str
        ``family/base/detail``.
    path : Path
        The file.
    family : str
        ``truncate``, ``flip``, ``remove``, ``dtype``, ``nonfinite``, ``empty`` or ``huge``.
    expect : dict
        What must hold: ``outcome`` (``ok`` or ``error``), ``n_units``, ``n_spikes``,
        ``n_traces``, ``warning`` (regex in ``recording.warnings``), ``message`` (regex of an
        error). Empty: any clear outcome.
    """

    name: str
    path: Path
    family: str
    expect: dict[str, Any] = field(default_factory=dict)


# -- building -------------------------------------------------------------------------------------
def _data_ranges(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges ``[start, stop)`` of the raw data of every dataset, by dataset name."""
    out: dict[str, list[tuple[int, int]]] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        ranges = []
        off = obj.id.get_offset()
        if off is not None:
            ranges.append((off, off + obj.id.get_storage_size()))
        elif obj.chunks is not None:
            for i in range(obj.id.get_num_chunks()):
                info = obj.id.get_chunk_info(i)
                ranges.append((info.byte_offset, info.byte_offset + info.size))
        if ranges:
            out[name] = ranges

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)
    return dst


def _edit(src: Path, dst: Path, fn: Callable[[h5py.File], None]) -> Path:
    _copy(src, dst)
    with h5py.File(dst, "r+") as f:
        fn(f)
    return dst


def _replace(f: h5py.File, path: str, data: Any = None, **kwargs: Any) -> h5py.Dataset:
    """Replace a dataset by a new one (same attributes)."""
    attrs = dict(f[path].attrs)
    del f[path]
    ds = f.create_dataset(path, data=data, **kwargs)
    for k, v in attrs.items():
        ds.attrs[k] = v
    return ds


def _flip(src: Path, dst: Path, offset: int, mask: int) -> Path:
    _copy(src, dst)
    with open(dst, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ mask]))
    return dst


def _counts(path: Path) -> dict[str, int]:
    from neurotools.data import summarize

    s = summarize(path)
    return {"n_units": s["n_units"], "n_spikes": s["n_spikes"], "n_traces": len(s["trace_series"])}


def build_corpus(nwb_dir: Path, out: Path) -> list[Case]:
    """Write the corpus under ``out`` from the recordings in ``nwb_dir``; return its cases."""
    out.mkdir(parents=True, exist_ok=True)
    src = {k: Path(nwb_dir) / v for k, v in BASES.items()}
    rng = random.Random(20261127)
    cases: list[Case] = []
    n = 0

    def dst(tag: str) -> Path:
        nonlocal n
        n += 1
        return out / f"{n:03d}_{re.sub(r'[^A-Za-z0-9]+', '_', tag)}.nwb"

    def add(family: str, base: str, detail: str, path: Path, **expect: Any) -> None:
        cases.append(Case(f"{family}/{base}/{detail}", path, family, expect))

    base_counts = {k: _counts(p) for k, p in src.items()}

    # -- truncations: always a clear error
    for base in ("units", "unsorted", "behaviour", "ophys", "stack"):
        size = src[base].stat().st_size
        offsets = [1, 8, 100, 600, 2100, 5000] + [int(size * q) for q in (0.1, 0.3, 0.5, 0.7, 0.9, 0.99)]
        for off in offsets + [size - 1]:
            p = dst(f"trunc_{base}_{off}")
            with open(src[base], "rb") as fi, open(p, "wb") as fo:
                fo.write(fi.read(off))
            add("truncate", base, f"at {off} of {size} bytes", p, outcome="error")

    # -- flipped bytes: superblock, metadata (outside any dataset's data), data
    targets = {"units": "units/spike_times", "unsorted": "units/spike_times",
               "behaviour": "acquisition/States/timestamps",
               "ophys": "processing/ophys/DfOverF/RoiResponseSeries/data"}
    for base, target in targets.items():
        size = src[base].stat().st_size
        ranges = _data_ranges(src[base])
        is_meta = np.ones(size, dtype=bool)
        is_meta[:96] = False
        for a, b in (r for rs in ranges.values() for r in rs):
            is_meta[a:b] = False
        for off in (0, 8, 9, 13, 24, 40, 56, 72):
            add("flip", base, f"superblock byte {off}", _flip(src[base], dst(f"sb_{base}_{off}"), off, 0xFF))
        meta = np.flatnonzero(is_meta).tolist()
        for off in sorted(rng.sample(meta, 8)):
            mask = rng.randrange(1, 256)
            add("flip", base, f"metadata byte {off} ^ {mask:#x}", _flip(src[base], dst(f"meta_{base}_{off}"), off, mask))
        a, b = ranges[target][0]
        for k in range(6):
            off = rng.randrange(a, b)
            if k < 3:  # the high byte of a float64: sign and exponent
                off = a + ((off - a) // 8) * 8 + 7 if target != targets["ophys"] else off
            mask = rng.randrange(1, 256)
            add("flip", base, f"data byte {off} of {target} ^ {mask:#x}", _flip(src[base], dst(f"data_{base}_{off}"), off, mask))

    # regressions found by wider random sweeps (``bench/bench_fuzz.py --sweep``)
    for base, off, mask in (("units", 9433, 223), ("units", 263290, 100), ("behaviour", 37352, 90)):
        add("flip", base, f"byte {off} ^ {mask:#x} (sweep regression)", _flip(src[base], dst(f"rg_{base}_{off}"), off, mask))

    # -- removed datasets and attributes
    u, un, uo = src["units"], base_counts["units"]["n_units"], base_counts["units"]["n_spikes"]
    oph = "processing/ophys/DfOverF/RoiResponseSeries"

    def remove(base: str, what: str, fn: Callable[[h5py.File], None], **expect: Any) -> None:
        add("remove", base, what, _edit(src[base], dst(f"rm_{base}_{what}"), fn), **expect)

    def rm(path: str) -> Callable[[h5py.File], None]:
        return lambda f: f.__delitem__(path)

    def rm_attr(path: str, attr: str) -> Callable[[h5py.File], None]:
        return lambda f: f[path].attrs.__delitem__(attr)

    remove("units", "units/spike_times", rm("units/spike_times"), outcome="ok", n_units=0, n_spikes=0)
    remove("units", "units/spike_times_index", rm("units/spike_times_index"), outcome="error",
           message="without an index")
    remove("units", "units/id", rm("units/id"), outcome="ok", n_units=un, n_spikes=uo)
    remove("units", "units neurodata_type", rm_attr("units", "neurodata_type"), outcome="ok", n_units=0)
    remove("units", "units colnames", rm_attr("units", "colnames"), outcome="ok", n_units=un, n_spikes=uo)
    remove("units", "root nwb_version", rm_attr("/", "nwb_version"), outcome="error", message="not an NWB file")
    remove("units", "session_description", rm("session_description"), outcome="ok", n_units=un)
    remove("units", "intervals/epochs/stop_time", rm("intervals/epochs/stop_time"), outcome="ok", n_units=un)
    remove("units", "intervals", rm("intervals"), outcome="ok", n_units=un, n_spikes=uo)
    remove("units", "general", rm("general"), outcome="ok", n_units=un, n_spikes=uo)
    remove("unsorted", "units/spike_times", rm("units/spike_times"), outcome="ok", n_units=0)
    remove("unsorted", "intervals/trials/start_time", rm("intervals/trials/start_time"), outcome="ok", n_units=1)
    remove("unsorted", "lick timestamps", rm("acquisition/lick_times/lick_left_times/timestamps"), outcome="ok")
    remove("ophys", "data", rm(f"{oph}/data"), outcome="ok", n_traces=0)
    remove("ophys", "starting_time", rm(f"{oph}/starting_time"), outcome="ok", n_traces=0)
    remove("ophys", "rate attribute", rm_attr(f"{oph}/starting_time", "rate"), outcome="error",
           message="sampling rate")
    remove("ophys", "rois", rm(f"{oph}/rois"), outcome="ok", n_traces=1)
    remove("ophys", "series neurodata_type", rm_attr(oph, "neurodata_type"), outcome="ok", n_traces=0)
    remove("ophys", "DfOverF neurodata_type", rm_attr("processing/ophys/DfOverF", "neurodata_type"),
           outcome="ok", n_traces=1)
    remove("ophys", "PlaneSegmentation id", rm("processing/ophys/ImageSegmentation/PlaneSegmentation/id"))
    remove("behaviour", "States timestamps", rm("acquisition/States/timestamps"), outcome="ok")
    remove("behaviour", "root nwb_version", rm_attr("/", "nwb_version"), outcome="error")
    remove("stack", "Activity_0000 timestamps", rm("acquisition/Activity_0000/timestamps"), outcome="ok")
    remove("stack", "Activity_0010 data", rm("acquisition/Activity_0010/data"), outcome="ok", n_traces=1)

    # -- wrong dtypes and ranks
    def dtype(base: str, what: str, fn: Callable[[h5py.File], None], **expect: Any) -> None:
        add("dtype", base, what, _edit(src[base], dst(f"dt_{base}_{what}"), fn), **expect)

    def as_strings(path: str) -> Callable[[h5py.File], None]:
        return lambda f: _replace(f, path, np.char.mod("%.6g", f[path][()]).astype("S"))

    def as_2d(path: str) -> Callable[[h5py.File], None]:
        return lambda f: _replace(f, path, np.stack([f[path][()], f[path][()]], axis=1))

    def set_attr(path: str, attr: str, value: Any) -> Callable[[h5py.File], None]:
        return lambda f: f[path].attrs.__setitem__(attr, value)

    dtype("units", "spike_times strings", as_strings("units/spike_times"))
    dtype("units", "spike_times 2-D", as_2d("units/spike_times"), outcome="error")
    dtype("units", "spike_times scalar", lambda f: _replace(f, "units/spike_times", 1.5), outcome="error")
    dtype("units", "spike_times int", lambda f: _replace(f, "units/spike_times", f["units/spike_times"][()].astype(np.int64)),
          outcome="ok", n_units=un, n_spikes=uo)
    dtype("units", "spike_times_index float", lambda f: _replace(f, "units/spike_times_index", f["units/spike_times_index"][()].astype(float)),
          outcome="ok", n_units=un, n_spikes=uo)
    dtype("units", "spike_times_index strings", as_strings("units/spike_times_index"))
    dtype("units", "spike_times_index 2-D", as_2d("units/spike_times_index"), outcome="error")
    dtype("units", "spike_times_index decreasing",
          lambda f: _replace(f, "units/spike_times_index", f["units/spike_times_index"][()][::-1].copy()), outcome="error")
    dtype("units", "spike_times_index negative",
          lambda f: _replace(f, "units/spike_times_index", np.array([-5, 10, uo])), outcome="error")
    dtype("units", "spike_times group", lambda f: (f.__delitem__("units/spike_times"), f.create_group("units/spike_times")),
          outcome="ok", n_units=0)
    dtype("units", "id strings", as_strings("units/id"), outcome="ok", n_units=un, n_spikes=uo)
    dtype("units", "epochs start_time strings", lambda f: _replace(f, "intervals/epochs/start_time", np.array([b"wake"])))
    dtype("units", "nwb_version 1.0.5", set_attr("/", "nwb_version", "1.0.5"), outcome="error", message="NWB 1.x")
    dtype("units", "nwb_version int", set_attr("/", "nwb_version", 2), outcome="ok", n_units=un)
    dtype("units", "nwb_version array", set_attr("/", "nwb_version", np.array([b"2.4.0", b"x"])), outcome="ok", n_units=un)
    dtype("units", "nwb_version empty array", set_attr("/", "nwb_version", np.array([], dtype="S1")))
    dtype("units", "session_start_time int", lambda f: _replace(f, "session_start_time", 7), outcome="ok", n_units=un)
    dtype("units", "neurodata_type int", set_attr("units", "neurodata_type", 5), outcome="ok", n_units=0)
    dtype("ophys", "data strings", as_strings(f"{oph}/data"))
    dtype("ophys", "data 3-D", lambda f: _replace(f, f"{oph}/data", f[f"{oph}/data"][()][:, :, None]), outcome="error")
    dtype("ophys", "rate string", set_attr(f"{oph}/starting_time", "rate", "fast"), outcome="error")
    dtype("ophys", "rate zero", set_attr(f"{oph}/starting_time", "rate", 0.0), outcome="error", message="sampling rate")
    dtype("ophys", "rate negative", set_attr(f"{oph}/starting_time", "rate", -2.0), outcome="error")
    dtype("ophys", "starting_time string", lambda f: _replace(f, f"{oph}/starting_time", b"zero"), outcome="error")
    dtype("ophys", "rois strings", as_strings(f"{oph}/rois"), outcome="ok", n_traces=1)
    dtype("ophys", "rois past table", lambda f: _replace(f, f"{oph}/rois", np.full(75, 10**6)), outcome="ok", n_traces=1)
    dtype("behaviour", "data strings", as_strings("acquisition/States/data"), outcome="ok")
    dtype("behaviour", "timestamps 2-D", as_2d("acquisition/States/timestamps"))
    dtype("stack", "Activity_0000 data 2-D", as_2d("acquisition/Activity_0000/data"), outcome="ok")
    dtype("unsorted", "trials stop_time strings", as_strings("intervals/trials/stop_time"))

    # -- NaNs and infinities
    def nonfinite(base: str, what: str, fn: Callable[[h5py.File], None], **expect: Any) -> None:
        add("nonfinite", base, what, _edit(src[base], dst(f"nf_{base}_{what}"), fn), **expect)

    def poke(path: str, values: list[float], seed: int) -> Callable[[h5py.File], None]:
        def fn(f: h5py.File) -> None:
            data = f[path][()].astype(float)
            r = np.random.default_rng(seed)
            flat = data.reshape(-1)
            flat[r.choice(flat.size, len(values), replace=False)] = values
            _replace(f, path, data)
        return fn

    bad8 = [np.nan] * 5 + [np.inf] * 2 + [-np.inf]
    nonfinite("units", "8 nan/inf spike times", poke("units/spike_times", bad8, 1), outcome="ok",
              n_units=un, n_spikes=uo - 8, warning="not finite")
    nonfinite("units", "one nan spike time", poke("units/spike_times", [np.nan], 2), outcome="ok",
              n_units=un, n_spikes=uo - 1, warning="not finite")

    def unit0_nan(f: h5py.File) -> None:
        data = f["units/spike_times"][()]
        end0 = int(f["units/spike_times_index"][0])
        data[:end0] = np.nan
        _replace(f, "units/spike_times", data)

    with h5py.File(u, "r") as f:
        end0 = int(f["units/spike_times_index"][0])
    nonfinite("units", "unit 0 all nan", unit0_nan, outcome="ok", n_units=un, n_spikes=uo - end0, warning="not finite")
    nonfinite("units", "all spike times inf", lambda f: _replace(f, "units/spike_times", np.full(uo, np.inf)),
              outcome="ok", n_units=un, n_spikes=0, warning="not finite")
    nonfinite("unsorted", "nan spike times", poke("units/spike_times", [np.nan, np.inf], 3), outcome="ok",
              n_units=1, n_spikes=base_counts["unsorted"]["n_spikes"] - 2, warning="not finite")
    nonfinite("units", "nan epoch start", lambda f: _replace(f, "intervals/epochs/start_time", np.array([np.nan])),
              outcome="ok", n_units=un, n_spikes=uo)
    nonfinite("unsorted", "nan trial times", poke("intervals/trials/start_time", [np.nan, np.inf], 4), outcome="ok", n_units=1)
    nonfinite("ophys", "100 nan in data", poke(f"{oph}/data", [np.nan] * 100, 5), outcome="ok", n_traces=1)
    nonfinite("ophys", "inf in data", poke(f"{oph}/data", [np.inf, -np.inf, 1e308, -1e308], 6), outcome="ok", n_traces=1)
    nonfinite("ophys", "channel 3 all nan", lambda f: f[f"{oph}/data"].__setitem__((slice(None), 3), np.nan), n_traces=1)
    nonfinite("ophys", "rate nan", set_attr(f"{oph}/starting_time", "rate", np.nan), outcome="error", message="sampling rate")
    nonfinite("ophys", "rate inf", set_attr(f"{oph}/starting_time", "rate", np.inf), outcome="error", message="sampling rate")
    nonfinite("ophys", "starting_time nan", lambda f: f[f"{oph}/starting_time"].__setitem__((), np.nan), outcome="error")
    nonfinite("ophys", "starting_time inf", lambda f: f[f"{oph}/starting_time"].__setitem__((), np.inf), outcome="error")
    nonfinite("stack", "nan in timestamps", poke("acquisition/Activity_0000/timestamps", [np.nan], 7), outcome="error")
    nonfinite("stack", "inf in timestamps", poke("acquisition/Activity_0000/timestamps", [np.inf], 8), outcome="error")
    nonfinite("stack", "nan in one neuron's data", poke("acquisition/Activity_0005/data", [np.nan] * 50, 9), outcome="ok", n_traces=1)
    nonfinite("behaviour", "nan timestamps", poke("acquisition/States/timestamps", [np.nan] * 3, 10), outcome="ok")
    nonfinite("behaviour", "inf data", poke("acquisition/States/data", [np.inf] * 3, 11), outcome="ok")

    # -- empty tables, zero-length series
    def empty(base: str, what: str, fn: Callable[[h5py.File], None], **expect: Any) -> None:
        add("empty", base, what, _edit(src[base], dst(f"em_{base}_{what}"), fn), **expect)

    def empty_units(f: h5py.File) -> None:
        for name in ("spike_times", "spike_times_index", "id"):
            dt = f[f"units/{name}"].dtype
            _replace(f, f"units/{name}", np.zeros(0, dtype=dt))
        for name in list(f["units"]):
            if name not in ("spike_times", "spike_times_index", "id") and isinstance(f[f"units/{name}"], h5py.Dataset):
                del f[f"units/{name}"]

    def no_spikes(f: h5py.File) -> None:
        _replace(f, "units/spike_times", np.zeros(0))
        _replace(f, "units/spike_times_index", np.zeros(un, dtype=np.int64))

    def zero_series(f: h5py.File) -> None:
        _replace(f, f"{oph}/data", np.zeros((0, 75), dtype=np.float32))

    def zero_stack(f: h5py.File) -> None:
        for name in list(f["acquisition"]):
            if name.startswith("Activity_"):
                _replace(f, f"acquisition/{name}/data", np.zeros(0))
                _replace(f, f"acquisition/{name}/timestamps", np.zeros(0))

    empty("units", "0-row units table", empty_units, outcome="ok", n_units=0, n_spikes=0)
    empty("units", "units without spikes", no_spikes, outcome="ok", n_units=un, n_spikes=0)
    empty("unsorted", "1 unit, 0 spikes", lambda f: (_replace(f, "units/spike_times", np.zeros(0)),
                                                    _replace(f, "units/spike_times_index", np.zeros(1, dtype=np.int64))),
          outcome="ok", n_units=1, n_spikes=0)
    empty("units", "0-row epochs", lambda f: (_replace(f, "intervals/epochs/start_time", np.zeros(0)),
                                             _replace(f, "intervals/epochs/stop_time", np.zeros(0))), outcome="ok", n_units=un)
    empty("ophys", "zero-length series", zero_series, outcome="ok", n_traces=1)
    empty("ophys", "zero ROIs", lambda f: _replace(f, f"{oph}/data", np.zeros((5660, 0), dtype=np.float32)), outcome="ok", n_traces=1)
    empty("stack", "zero-length neurons", zero_stack, outcome="ok", n_traces=1)
    empty("behaviour", "zero-length States", lambda f: (_replace(f, "acquisition/States/data", np.zeros(0)),
                                                       _replace(f, "acquisition/States/timestamps", np.zeros(0))), outcome="ok")
    empty("units", "empty file body", lambda f: [f.__delitem__(k) for k in list(f) if k != "specifications"],
          outcome="ok", n_units=0, n_traces=0)

    # -- huge declared shapes (chunked, almost nothing written)
    def huge(base: str, what: str, fn: Callable[[h5py.File], None], **expect: Any) -> None:
        add("huge", base, what, _edit(src[base], dst(f"hg_{base}_{what}"), fn), **expect)

    def huge_spikes(f: h5py.File) -> None:
        data = f["units/spike_times"][()]
        ds = _replace(f, "units/spike_times", shape=(HUGE,), maxshape=(None,), chunks=(4096,), dtype="f8")
        ds[: len(data)] = data

    def huge_index(f: h5py.File) -> None:
        idx = f["units/spike_times_index"][()].astype(np.int64)
        idx[-1] = HUGE
        _replace(f, "units/spike_times_index", idx)

    huge("units", "spike_times declared 1e12", huge_spikes, outcome="error", message="declares shape")
    huge("units", "index points past the end", huge_index, outcome="error", message="points past")
    huge("units", "spike_times 1e12 and index to 1e12", lambda f: (huge_spikes(f), huge_index(f)), outcome="error")
    huge("units", "index declared 1e12", lambda f: _replace(f, "units/spike_times_index", shape=(HUGE,), chunks=(4096,), dtype="i8"),
         outcome="error")
    huge("units", "id declared 1e12", lambda f: _replace(f, "units/id", shape=(HUGE,), chunks=(4096,), dtype="i8"))
    huge("units", "epochs declared 1e12", lambda f: (_replace(f, "intervals/epochs/start_time", shape=(HUGE,), chunks=(4096,), dtype="f8"),
                                                    _replace(f, "intervals/epochs/stop_time", shape=(HUGE,), chunks=(4096,), dtype="f8")))
    huge("ophys", "data declared 1e12 x 75", lambda f: _replace(f, f"{oph}/data", shape=(HUGE, 75), chunks=(1024, 75), dtype="f4"))
    huge("stack", "timestamps declared 1e12", lambda f: _replace(f, "acquisition/Activity_0000/timestamps", shape=(HUGE,), chunks=(4096,), dtype="f8"))
    huge("behaviour", "data declared 1e12", lambda f: _replace(f, "acquisition/States/data", shape=(HUGE,), chunks=(4096,), dtype="f8"))
    return cases


def random_flips(nwb_dir: Path, out: Path, per_file: int, seed: int) -> list[Case]:
    """``per_file`` single-byte flips in each base recording at random offsets (2 in 3 in metadata)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cases = []
    for base, fname in BASES.items():
        src = Path(nwb_dir) / fname
        size = src.stat().st_size
        is_meta = np.ones(size, dtype=bool)
        for a, b in (r for rs in _data_ranges(src).values() for r in rs):
            is_meta[a:b] = False
        meta = np.flatnonzero(is_meta)
        for k in range(per_file):
            off = int(meta[rng.randrange(len(meta))]) if k % 3 else rng.randrange(size)
            mask = rng.randrange(1, 256)
            path = _flip(src, out / f"sweep_{base}_{off}_{mask}.nwb", off, mask)
            cases.append(Case(f"sweep/{base}/byte {off} ^ {mask:#x}", path, "sweep"))
    return cases


# -- checking one case ----------------------------------------------------------------------------
def clear_message(msg: str) -> bool:
    """Whether an error message is one clear line: no traceback, not too long, a full stop."""
    return bool(msg) and "\n" not in msg and "Traceback" not in msg and 10 <= len(msg) <= 400 and msg.endswith(".")


class _Bad(Exception):
    """An inconsistency found by the checks."""


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise _Bad(what)


def check_case(path: str | os.PathLike, expect: dict[str, Any] | None = None) -> tuple[str, str]:
    """Run summarize, read_nwb and neural_matrix on one file; return ``(outcome, detail)``."""
    from neurotools.data import read_nwb, summarize
    from neurotools.data.binning import neural_matrix
    from neurotools.errors import UserError

    expect = expect or {}
    errors: list[str] = []
    step = "summarize"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                s = summarize(path)
            except UserError as exc:
                s, _ = None, errors.append(exc.message)
            step = "read_nwb"
            try:
                rec = read_nwb(path)
            except UserError as exc:
                rec, _ = None, errors.append(exc.message)
            step = "neural_matrix"
            nm = None
            if rec is not None:
                try:
                    nm = neural_matrix(rec, bin_size=BIN_S)
                except UserError as exc:
                    errors.append(exc.message)
        step = "checks"
        for msg in errors:
            _require(clear_message(msg), f"unclear message {msg!r}")
        if s is not None:  # infinite only when the file holds times near +-1e308
            _require(not np.isnan(s["duration_s"]), f"summary duration {s['duration_s']}")
        if rec is not None:
            for i, t in enumerate(rec.spike_times or []):
                _require(t.ndim == 1 and bool(np.all(np.isfinite(t))), f"unit {i} keeps non-finite spike times")
                _require(bool(np.all(np.diff(t) >= 0)), f"unit {i} unsorted")
            for t in rec.traces:
                _require(t.data.ndim == 2 and len(t.timestamps) == t.data.shape[0], f"trace {t.path} shape {t.data.shape}")
                _require(bool(np.all(np.isfinite(t.timestamps))), f"trace {t.path} non-finite timestamps")
                _require(len(t.channel_labels) == t.data.shape[1], f"trace {t.path} labels")
            _require(not np.isnan(rec.duration_s), f"recording duration {rec.duration_s}")
        if s is not None and rec is not None:
            _require(s["n_units"] == rec.n_units, f"n_units {s['n_units']} != {rec.n_units}")
            _require(s["n_spikes"] == rec.n_spikes, f"n_spikes {s['n_spikes']} != {rec.n_spikes}")
            shapes = [(t["n_samples"], t["n_channels"]) for t in s["trace_series"]]
            _require(shapes == [t.data.shape for t in rec.traces], f"trace shapes {shapes}")
            _require(s["intervals"] == {k: v.n_rows for k, v in rec.intervals.items()}, "interval rows")
            _require(s["duration_s"] == rec.duration_s
                     or abs(s["duration_s"] - rec.duration_s) <= 1e-6 * max(1.0, abs(rec.duration_s)),
                     f"duration {s['duration_s']} != {rec.duration_s}")
        if nm is not None:
            v = nm.values
            _require(v.ndim == 2 and v.shape[0] == len(nm.bin_times) >= 1, f"matrix shape {v.shape}")
            _require(v.shape[1] == len(nm.labels) == len(nm.neuron_indices), "matrix neurons")
            _require(bool(np.all(np.isfinite(v))), "matrix holds non-finite values")
            _require(bool(np.all(np.diff(nm.bin_times) > 0)), "bin times not increasing")
            if nm.is_counts:
                _require(int(v.min(initial=0)) >= 0 and int(v.sum()) <= rec.n_spikes, "counts exceed spikes")
        outcome = "ok" if s is not None and rec is not None else "error"
        # the case's own expectations
        if "outcome" in expect:
            _require(outcome == expect["outcome"], f"expected {expect['outcome']}, got {outcome}: {errors}")
        if "message" in expect:
            _require(any(re.search(expect["message"], m) for m in errors), f"no error matching {expect['message']!r}: {errors}")
        got = {"n_units": rec.n_units if rec else None, "n_spikes": rec.n_spikes if rec else None,
               "n_traces": len(rec.traces) if rec else None}
        for key in ("n_units", "n_spikes", "n_traces"):
            if key in expect and rec is not None:
                _require(got[key] == expect[key], f"{key} {got[key]} != expected {expect[key]}")
        if "warning" in expect and rec is not None:
            _require(any(re.search(expect["warning"], w) for w in rec.warnings), f"no warning {expect['warning']!r}")
    except _Bad as exc:
        return "crash", f"inconsistent: {exc}"
    except Exception as exc:  # noqa: BLE001 - exactly what the corpus hunts for
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        return "crash", f"{step}: {type(exc).__name__}: {first}"
    return outcome, "; ".join(errors)


# -- running under a time limit --------------------------------------------------------------------
def _child(conn: Any, check: Callable[..., tuple[str, str]], path: str, expect: dict[str, Any], mem_bytes: int) -> None:
    try:  # address space: what the parent already maps plus ``mem_bytes`` (a MemoryError, not an OOM kill)
        import resource

        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + mem_bytes, mapped + mem_bytes))
    except (ImportError, ValueError, OSError):
        pass
    try:
        conn.send(check(path, expect))
    finally:
        conn.close()


def run_corpus(cases: list[Case], timeout_s: float = 20.0, workers: int = 2, mem_bytes: int = 6 << 30,
               check: Callable[..., tuple[str, str]] = check_case) -> list[tuple[Case, str, str, float]]:
    """Run every case in a forked child (``workers`` at a time) with a time and memory limit.

    Each child may map ``mem_bytes`` more than the parent did when it forked.

    ``check(path, expect)`` (default :func:`check_case`) runs in the child; a child that dies or
    runs past ``timeout_s`` is killed and reported as ``crash`` or ``timeout``.

    Returns
    -------
    list of (Case, outcome, detail, seconds)
        In the order of ``cases``.
    """
    import neurotools.data  # noqa: F401 - imported once, before forking
    import neurotools.data.binning  # noqa: F401

    ctx = mp.get_context("fork")
    results: list[Any] = [None] * len(cases)
    pending = list(enumerate(cases))
    running: dict[Any, tuple[int, Any, float]] = {}
    while pending or running:
        while pending and len(running) < workers:
            i, case = pending.pop(0)
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(w, check, str(case.path), case.expect, mem_bytes), daemon=True)
            p.start()
            w.close()
            running[r] = (i, p, time.monotonic())
        for r in multiprocessing.connection.wait(list(running), timeout=0.05):
            i, p, t0 = running.pop(r)
            try:
                outcome, detail = r.recv()
            except EOFError:
                p.join(5)
                outcome, detail = "crash", f"the worker died (exit code {p.exitcode})"
            results[i] = (cases[i], outcome, detail, time.monotonic() - t0)
            p.join(5)
            r.close()
        now = time.monotonic()
        for r, (i, p, t0) in list(running.items()):
            if now - t0 > timeout_s:
                p.kill()
                p.join(5)
                running.pop(r)
                r.close()
                results[i] = (cases[i], "timeout", f"over {timeout_s:g} s", now - t0)
    return results


def outcome_counts(results: list[tuple[Case, str, str, float]]) -> dict[str, int]:
    """How many cases ended in each outcome."""
    return {o: sum(1 for r in results if r[1] == o) for o in OUTCOMES}
