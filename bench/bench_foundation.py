"""Foundation benchmark: `neurotools info` time, spike-train reading vs pynapple, 1 GB summary memory.

Run:  .venv/bin/python bench/bench_foundation.py [--skip-large]
Needs the shared recordings (NEUROTOOLS_TEST_DATA, default ../shared/data) and, for the pynapple
comparison, `pip install pynapple` (the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NEUROTOOLS_TEST_DATA", ROOT.parent / "shared" / "data"))
HUMAN = DATA / "nwb" / "pynapple_sub-4_ses-4_ecephys+image.nwb"


def best_of(fn, repeats: int = 5) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def read_ours() -> int:
    from neurotools.data import read_nwb

    rec = read_nwb(HUMAN, sha256="skip")
    return rec.n_spikes


def read_pynapple() -> int:
    import pynapple as nap

    data = nap.load_file(str(HUMAN))
    units = data["units"]
    return int(sum(len(units[i]) for i in units.keys()))


def write_large(path: Path, target_bytes: float = 1.05e9) -> None:
    """Write an NWB file of about ``target_bytes``: half spike times, half a calcium movie of traces."""
    from datetime import datetime

    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel

    rng = np.random.default_rng(0)
    nwb = NWBFile(session_description="large benchmark file", identifier="large",
                  session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    n_units = 400
    spikes_per_unit = int(target_bytes / 2 / 8 / n_units)
    duration = 36000.0
    # build the ragged column from arrays (add_unit would hold 65 M Python floats)
    flat = np.sort(rng.uniform(0, duration, (n_units, spikes_per_unit)), axis=1).reshape(-1)
    times = VectorData(name="spike_times", description="spike times (s)", data=flat)
    index = VectorIndex(name="spike_times_index", target=times,
                        data=np.arange(1, n_units + 1, dtype=np.int64) * spikes_per_unit)
    nwb.units = Units(name="units", id=ElementIdentifiers(name="id", data=np.arange(n_units)),
                      columns=[times, index], colnames=["spike_times"])
    n_rois = 500
    n_t = int(target_bytes / 2 / 8 / n_rois)
    ophys = nwb.create_processing_module("ophys", "traces")
    dev = nwb.create_device("scope")
    plane = nwb.create_imaging_plane("plane", OpticalChannel("g", "g", 525.0), "plane", dev, 920.0,
                                     "GCaMP", "cortex")
    seg = ImageSegmentation()
    ophys.add(seg)
    ps = seg.create_plane_segmentation("rois", plane, "PlaneSegmentation")
    for i in range(n_rois):
        m = np.zeros((8, 8), bool)
        m[i % 8, (i // 8) % 8] = True
        ps.add_roi(image_mask=m)
    region = ps.create_roi_table_region("all", region=list(range(n_rois)))

    dff = DfOverF(name="DfOverF")
    dff.create_roi_response_series(name="RoiResponseSeries", rois=region, unit="a.u.", rate=30.0,
                                   data=rng.normal(size=(n_t, n_rois)))
    ophys.add(dff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)


def summary_peak_memory(path: Path) -> tuple[float, float, dict]:
    """Run `summarize` in a fresh process; return (seconds, peak RSS in MB, summary).

    Peak RSS is the kernel's VmHWM of that process (reset at exec, unlike ru_maxrss).
    """
    code = (
        "import json,sys,time,warnings;warnings.simplefilter('ignore');"
        "from neurotools.data import summarize;t=time.perf_counter();s=summarize(sys.argv[1]);"
        "d=time.perf_counter()-t;"
        "hwm=[int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0]/1024;"
        "print(json.dumps([d,hwm,s]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def baseline_memory() -> float:
    """Peak RSS (MB) of a process that only imports the reader (h5py, numpy, scipy)."""
    code = ("import warnings;warnings.simplefilter('ignore');import neurotools.data;"
            "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0]/1024)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-large", action="store_true", help="skip the 1 GB file")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rows = []

    t_cli = best_of(lambda: subprocess.run([sys.executable, "-m", "neurotools", "info", str(HUMAN), "--json"],
                                           capture_output=True, check=True), 3)
    from neurotools.data import summarize

    t_sum = best_of(lambda: summarize(HUMAN), 5)
    rows.append(("`neurotools info --json` (35-unit file, whole process)", f"{t_cli:.2f} s", ""))
    rows.append(("summarize() in process (35-unit file)", f"{t_sum * 1000:.0f} ms", ""))

    assert read_ours() == 214278
    t_ours = best_of(read_ours, 5)
    try:
        n_nap = read_pynapple()
        t_nap = best_of(read_pynapple, 5)
        rows.append(("read all spike trains: neurotools read_nwb", f"{t_ours * 1000:.0f} ms",
                     f"{t_nap / t_ours:.2f}x faster than pynapple"))
        rows.append(("read all spike trains: pynapple load_file + units", f"{t_nap * 1000:.0f} ms",
                     f"({n_nap} spikes)"))
    except ImportError:
        rows.append(("read all spike trains: neurotools read_nwb", f"{t_ours * 1000:.0f} ms",
                     "pynapple not installed"))

    if not args.skip_large:
        with tempfile.TemporaryDirectory(dir=os.environ.get("NEUROTOOLS_BENCH_TMP")) as d:
            big = Path(d) / "large.nwb"
            t0 = time.perf_counter()
            write_large(big)
            t_write = time.perf_counter() - t0
            size = big.stat().st_size
            secs, peak, s = summary_peak_memory(big)
            base = baseline_memory()
            rows.append((f"write {size / 1e9:.2f} GB NWB file (benchmark set-up)", f"{t_write:.1f} s", ""))
            rows.append(("summary of the 1 GB file", f"{secs:.2f} s",
                         f"peak RSS {peak:.0f} MB (imports alone {base:.0f} MB); target < 200 MB"))
            rows.append(("  counts found", f"{s['n_units']} units, {s['n_spikes']} spikes",
                         f"traces {s['trace_series'][0]['n_samples']} x {s['trace_series'][0]['n_channels']}"))

    w = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(w)} | value | note")
    print(f"{'-' * w}-|-------|-----")
    for name, val, note in rows:
        print(f"{name.ljust(w)} | {val} | {note}")


if __name__ == "__main__":
    main()
