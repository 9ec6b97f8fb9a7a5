"""Jobs per minute with 1 vs 2 workers: local processes and a Dask LocalCluster.

Submits ``--jobs`` independent analysis jobs (``--analysis``, default hmmglm on the bundled
``sample_data/hmmglm_states.nwb``, a different seed each) through :class:`neurotools.jobs.JobStore`
to each executor, after one warm-up job per worker (worker start-up and imports are not timed), and
prints a table: wall time for all jobs, jobs/minute, speed-up over 1 worker.

Run::

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_scale.py [--jobs 8] [--workers 1,2]

Each worker uses one thread (``OMP_NUM_THREADS=1``), so the speed-up measures the fan-out alone;
it needs at least as many free CPU cores as workers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from neurotools.jobs import AnalysisTask, JobStore, make_executor  # noqa: E402

SETTINGS = {
    "hmmglm": ("hmmglm_states.nwb", dict(n_states=2, epochs=6, restarts=1, warmup_epochs=2, k_values="")),
    "connectome": ("connectome_motifs.nwb", dict(rank=3, restarts=2, iterations=150)),
    "bicluster": ("bicluster_states.nwb", dict(iterations=60, burn_in=20, chains=1)),
}


def run_batch(spec: str, workers: int, n_jobs: int, analysis: str) -> tuple[float, int]:
    """Seconds for ``n_jobs`` jobs on a fresh executor (after warm-up) and how many finished done."""
    name, params = SETTINGS[analysis]
    path = str(ROOT / "sample_data" / name)
    ex = make_executor(spec, max_workers=workers)
    try:
        with tempfile.TemporaryDirectory() as d:
            store = JobStore(d)
            warm = [store.submit(AnalysisTask(analysis, [path], params, seed=100 + i), ex)
                    for i in range(workers)]
            for j in warm:
                store.wait(j, timeout_s=900)
            t0 = time.perf_counter()
            jobs = [store.submit(AnalysisTask(analysis, [path], params, seed=i), ex) for i in range(n_jobs)]
            states = [store.wait(j, timeout_s=1800, poll_s=0.05).state for j in jobs]
            return time.perf_counter() - t0, states.count("done")
    finally:
        ex.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--analysis", default="hmmglm", choices=sorted(SETTINGS))
    ap.add_argument("--no-dask", action="store_true", help="only the process executor")
    ap.add_argument("--repeats", type=int, default=1,
                    help="rounds over all configurations (interleaved); the median wall time is kept")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    specs = ["process"] + ([] if args.no_dask else ["dask-local"])
    load = os.getloadavg()[0]
    times: dict[tuple[str, int], list[float]] = {}
    dones: dict[tuple[str, int], int] = {}
    for _ in range(args.repeats):  # interleaved, so a change in machine load hits every configuration
        for spec in specs:
            for w in workers:
                secs, done = run_batch(spec, w, args.jobs, args.analysis)
                times.setdefault((spec, w), []).append(secs)
                dones[(spec, w)] = min(dones.get((spec, w), done), done)
                print(f"  {spec} x{w}: {secs:.1f} s", file=sys.stderr, flush=True)
    rows = []
    for spec in specs:
        base = statistics.median(times[(spec, workers[0])])
        for w in workers:
            secs = statistics.median(times[(spec, w)])
            rows.append((spec, w, secs, dones[(spec, w)], 60 * args.jobs / secs, base / secs))
    print(f"{args.jobs} {args.analysis} jobs on {Path(SETTINGS[args.analysis][0]).name}, "
          f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"median of {args.repeats}, load average at start {load:.1f}")
    print("| executor | workers | wall (s) | jobs done | jobs/minute | speed-up vs 1 worker |")
    print("|---|---|---|---|---|---|")
    for spec, w, secs, done, jpm, speed in rows:
        print(f"| {spec} | {w} | {secs:.1f} | {done}/{args.jobs} | {jpm:.1f} | {speed:.2f}x |")


if __name__ == "__main__":
    main()
