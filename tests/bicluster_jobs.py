"""Helpers for job tests on a small simulated bi-clustering recording: the file, and a long job
to stop (cancel, a killed process)."""

from __future__ import annotations

import time
from concurrent.futures import Executor
from pathlib import Path

from neurotools.analyses.live import latest_x
from neurotools.jobs import AnalysisTask, JobStore
from tests.conftest import wait_until

#: Far more sweeps than a test waits for: the chains only end if something stops them.
LONG_ITERATIONS = 100_000


def bicluster_file(tmp_path: Path, n_bins: int = 100) -> Path:
    """The bi-clustering simulation with 9 neurons and ``n_bins`` bins (seed 1), as NWB."""
    from neurotools.analyses.biclustering import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    return write_nwb(simulate(SimParams(n_neurons=9, n_bins=n_bins), seed=1),
                     tmp_path / "sim.nwb")


def chain_iterations(store: JobStore, job: str) -> list[int]:
    """The last iteration each chain's live trace reports (0 before its first write)."""
    return latest_x(store.live(job))


def start_long_bicluster_job(tmp_path: Path, executor: Executor) -> tuple[JobStore, str]:
    """Submit a 2-chain bi-clustering job with 2 workers; return once both chains iterate."""
    path = bicluster_file(tmp_path, n_bins=300)
    store = JobStore(tmp_path / "jobs")
    params = {"iterations": LONG_ITERATIONS, "burn_in": 10, "chains": 2, "max_states": 3}
    job = store.submit(AnalysisTask("bicluster", [str(path)], params, workers=2), executor)
    wait_until(lambda: len(chain_iterations(store, job)) == 2
               and min(chain_iterations(store, job)) >= 5, 120)
    return store, job


def assert_chains_stopped(store: JobStore, job: str, settle_s: float = 2.0) -> None:
    """After ``settle_s``, the chains' live traces (rewritten every second while a chain
    runs) stay the same for 3 s, short of the last iteration."""
    time.sleep(settle_s)
    stopped = chain_iterations(store, job)
    time.sleep(3)
    assert chain_iterations(store, job) == stopped
    assert max(stopped) < LONG_ITERATIONS
