"""A 1 GB+ NWB file: time, peak memory and bytes read for its summary and for subset analyses.

Writes the file of :func:`bench_foundation.write_large` (400 units x 164k spikes, 500 ROIs x 131k
samples, about 1.05 GB), then runs each measure in a fresh Python process and reports its wall
time, its peak RSS (``ru_maxrss`` of that child from ``os.wait4``, and the child's own ``VmHWM``;
the file is written by another process so the parent stays small) and the bytes it read from
files (``rchar`` of ``/proc/self/io``, which includes the sha256 of the input that ``neurotools
run`` computes for provenance):

- ``neurotools info`` (summarize) of the file;
- ``neurotools run connectome`` and ``neurotools run hmmglm`` on 20 units x 60 s of it
  (``--set units=0,...,19 --set t_start=1000 --set t_stop=1060``);
- ``read_nwb`` of that subset alone (without the sha256);
- the summary and the subset read over HTTP (a Range-capable server on 127.0.0.1, in the same
  process; its bytes sent are in the note);
- for contrast, reading the whole file with ``read_nwb``.

Run::

    .venv/bin/python bench/bench_large.py [--keep PATH] [--skip-full]

``NEUROTOOLS_BENCH_TMP`` picks the folder of the temporary file (needs about 1.1 GB free).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = ",".join(str(i) for i in range(20))
SUBSET = ["--set", f"units={UNITS}", "--set", "t_start=1000", "--set", "t_stop=1060"]


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return -1


def child(kind: str, path: str, out: str) -> None:
    """Run one measure in this (fresh) process and print ``{seconds, rchar, note}`` as JSON."""
    warnings.simplefilter("ignore")
    from neurotools.cli import main as cli

    t0, r0 = time.perf_counter(), _rchar()
    note = ""
    if kind == "summary":
        from neurotools.data import summarize

        s = summarize(path)
        note = f"{s['n_units']} units, {s['n_spikes']} spikes, {s['duration_s']:.0f} s"
    elif kind in ("connectome", "hmmglm"):
        extra = ["--set", "restarts=2", "--set", "max_rank=3", "--set", "iterations=100"] if kind == "connectome" \
            else ["--set", "restarts=2", "--set", "epochs=5", "--set", "warmup_epochs=2"]
        rc = cli(["run", kind, path, "--out", out, *SUBSET, *extra])
        if rc != 0:
            raise SystemExit(rc)
        m = json.loads((Path(out) / "result.json").read_text())
        note = f"result arrays {', '.join(f'{k}{tuple(v)}' for k, v in list(m['arrays'].items())[:2])}"
    elif kind == "subset_read":
        from neurotools.data import read_nwb

        rec = read_nwb(path, sha256="-", units=list(range(20)), t_start=1000.0, t_stop=1060.0)
        note = f"{rec.n_spikes} spikes of 20 units, traces {rec.traces[0].data.shape}"
    elif kind in ("remote_summary", "remote_subset"):
        with _serve(Path(path).parent) as (base, sent):
            url = f"{base}/{Path(path).name}"
            if kind == "remote_summary":
                from neurotools.data import summarize

                s = summarize(url)
                note = f"{s['n_units']} units, {s['n_spikes']} spikes"
            else:
                from neurotools.data import read_nwb

                rec = read_nwb(url, units=list(range(20)), t_start=1000.0, t_stop=1060.0)
                note = f"{rec.n_spikes} spikes, traces {rec.traces[0].data.shape}"
            note += f"; {sum(sent) / 1e6:.1f} MB sent by the server"
    elif kind == "full":
        from neurotools.data import read_nwb

        rec = read_nwb(path, sha256="-")
        note = f"{rec.n_spikes} spikes, traces {rec.traces[0].data.shape}"
    hwm = [int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
    print(json.dumps({"seconds": time.perf_counter() - t0, "rchar": _rchar() - r0, "note": note,
                      "vmhwm_mb": hwm / 1024}))


@contextlib.contextmanager
def _serve(folder: Path):
    """A Range-capable HTTP server on 127.0.0.1 for ``folder`` (the tests' handler); yields
    ``(base URL, list of byte counts sent)``."""
    sys.path.insert(0, str(ROOT))
    from tests.data.test_subset_and_remote import _RangeHandler

    sent: list[int] = []
    handler = type("H", (_RangeHandler,), {"root": folder, "sent": sent})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", sent
    finally:
        httpd.shutdown()
        httpd.server_close()


def measure(kind: str, path: Path, workdir: Path) -> dict:
    """Run :func:`child` in a fresh process; add its peak RSS (MB) from ``os.wait4``."""
    out = workdir / f"out_{kind}"
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, str(path), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    t0 = time.perf_counter()
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed ({proc.returncode}): {stderr[-2000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    res.update(process_s=wall, peak_rss_mb=usage.ru_maxrss / 1024)
    return res


def baseline_rss_mb() -> float:
    """Peak RSS (MB) of a process that only imports the CLI and the reader."""
    proc = subprocess.Popen([sys.executable, "-c", "import neurotools.cli, neurotools.data"])
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--keep", type=Path, help="write (or reuse) the large file here and keep it")
    ap.add_argument("--skip-full", action="store_true", help="skip the whole-file read (needs ~1.2 GB RAM)")
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("NEUROTOOLS_BENCH_TMP")) as d:
        big = args.keep or Path(d) / "large.nwb"
        t_write = 0.0
        if not big.exists():  # in its own process, so this one stays small (ru_maxrss is inherited by fork)
            t0 = time.perf_counter()
            code = (f"import sys,warnings;warnings.simplefilter('ignore');sys.path.insert(0,{str(ROOT / 'bench')!r});"
                    f"from bench_foundation import write_large;from pathlib import Path;write_large(Path({str(big)!r}))")
            subprocess.run([sys.executable, "-c", code], check=True)
            t_write = time.perf_counter() - t0
        size = big.stat().st_size
        kinds = ["summary", "subset_read", "connectome", "hmmglm", "remote_summary", "remote_subset"] + (
            [] if args.skip_full else ["full"])
        labels = {
            "summary": "`neurotools info` (summarize) of the whole file",
            "subset_read": "read_nwb of 20 units x 60 s (no sha256)",
            "connectome": "`neurotools run connectome`, 20 units x 60 s",
            "hmmglm": "`neurotools run hmmglm`, 20 units x 60 s",
            "remote_summary": "summarize over HTTP (local Range server, remfile)",
            "remote_subset": "read_nwb over HTTP of 20 units x 60 s",
            "full": "read_nwb of the whole file (no selection), for contrast",
        }
        rows = [(k, measure(k, big, Path(d))) for k in kinds]
        base = baseline_rss_mb()
    print(f"file: {size / 1e9:.2f} GB (written in {t_write:.0f} s); imports alone: peak RSS {base:.0f} MB")
    print("| measure | time in process (s) | whole process (s) | peak RSS (MB) | bytes read (MB) | note |")
    print("|---|---|---|---|---|---|")
    for k, r in rows:
        print(f"| {labels[k]} | {r['seconds']:.2f} | {r['process_s']:.2f} | {r['peak_rss_mb']:.0f} "
              f"(VmHWM {r['vmhwm_mb']:.0f}) | {r['rchar'] / 1e6:.0f} | {r['note']} |")


if __name__ == "__main__":
    main()
