"""Dask fan-out: restarts, rank sweeps, chains and K sweeps give the inline arrays, bit for bit.

One ``distributed.LocalCluster`` (2 worker processes, 1 thread each) serves the whole module.
"""

from __future__ import annotations

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from neurotools.jobs import DaskExecutor, make_executor  # noqa: E402


@pytest.fixture(scope="module")
def dask_executor():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    ex = DaskExecutor(client, cluster)
    try:
        yield ex
    finally:
        ex.shutdown()


def _same_arrays(a, b) -> None:
    assert a.arrays.keys() == b.arrays.keys()
    for k in a.arrays:
        assert np.array_equal(a.arrays[k], b.arrays[k], equal_nan=a.arrays[k].dtype.kind == "f"), k


def test_work_runs_on_two_worker_processes(dask_executor):
    import os

    pids = {dask_executor.submit(os.getpid).result() for _ in range(8)}
    assert os.getpid() not in pids
    assert len(dask_executor.client.scheduler_info()["workers"]) == 2


def test_connectome_restarts_and_rank_sweep_match_inline(dask_executor):
    from neurotools.analyses.connectome import Params, SimParams, run, simulate_animals

    animals = simulate_animals(SimParams(n_animals=3, n_neurons=12, n_samples=300, n_motifs=2,
                                         motif_size=4), seed=0)
    p = Params(rank="auto", max_rank=3, restarts=2, iterations=25, community="leiden")
    inline = run(animals, p, seed=5)
    dask = run(animals, p, seed=5, executor=dask_executor)
    _same_arrays(inline, dask)
    assert inline.arrays["rank_errors"].size >= 3


def test_bicluster_chains_match_inline(dask_executor):
    from neurotools.analyses.biclustering import Params, SimParams, run, simulate

    rec = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=60), seed=2)
    p = Params(iterations=6, burn_in=2, chains=2, max_states=3)
    _same_arrays(run([rec], p, seed=5), run([rec], p, seed=5, executor=dask_executor))


def test_hmmglm_restarts_and_k_sweep_match_inline(dask_executor):
    from neurotools.analyses.hmmglm import Params, SimParams, run, simulate

    rec = simulate(SimParams(n_states=2, n_neurons=4, n_sequences=6, sequence_bins=150), seed=1)
    p = Params(n_states=2, link="sigmoid", epochs=3, m_steps=3, restarts=2, warmup_epochs=1,
               k_values="1,2")
    _same_arrays(run([rec], p, seed=3), run([rec], p, seed=3, executor=dask_executor))


def test_dask_local_executor_closes_its_cluster():
    ex = make_executor("dask-local", max_workers=1)
    assert ex.submit(sum, [1, 2, 3]).result() == 6
    cluster = ex.cluster
    ex.shutdown(cancel_futures=True)
    assert ex.client.status == "closed"
    assert cluster.status.name == "closed"


def test_unreachable_scheduler_is_a_user_error(monkeypatch):
    import socket

    import neurotools.jobs
    from neurotools.errors import UserError

    monkeypatch.setattr(neurotools.jobs, "DASK_CONNECT_TIMEOUT_S", 2)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError, match="Cannot reach the Dask scheduler"):
        make_executor(f"dask://127.0.0.1:{port}")


def test_a_bicluster_job_on_dask_sends_its_chains_to_the_cluster(dask_executor, tmp_path):
    from neurotools.jobs import AnalysisTask, JobStore
    from tests.bicluster_jobs import bicluster_file

    path = bicluster_file(tmp_path, n_bins=60)
    store = JobStore(tmp_path / "jobs")
    params = {"iterations": 6, "burn_in": 2, "chains": 2, "max_states": 3}
    on_dask = store.submit(AnalysisTask("bicluster", [str(path)], params, seed=5, workers=2),
                           dask_executor)
    assert store.wait(on_dask, timeout_s=120).state == "done", store.status(on_dask).error
    inline = store.submit(AnalysisTask("bicluster", [str(path)], params, seed=5),
                          make_executor("inline"))
    _same_arrays(store.result(inline), store.result(on_dask))
    # the job task and its two chains ran as separate tasks on the cluster
    tasks = dask_executor.client.run_on_scheduler(
        lambda dask_scheduler: sorted(k if isinstance(k, str) else k[0]
                                      for k in dask_scheduler.task_prefixes))
    assert any("execute_job" in t for t in tasks) and any("run_chain_item" in t for t in tasks), tasks


@pytest.mark.timeout(300)
def test_a_bicluster_job_on_dask_cancels_its_running_chains(dask_executor, tmp_path):
    from tests.bicluster_jobs import assert_chains_stopped, start_long_bicluster_job
    from tests.conftest import wait_until

    store, job = start_long_bicluster_job(tmp_path, dask_executor)
    wait_until(lambda: "chains finished" in store.status(job).message, 30)
    store.cancel(job)
    # the job was running: not "cancelled before it started", though Dask's future cancels
    assert "before it started" not in store.status(job).message
    wait_until(lambda: store.status(job).message == "cancelled by the user", 60)
    assert store.status(job).state == "cancelled"
    assert_chains_stopped(store, job)        # the chains on the workers have stopped too


def test_a_job_store_job_runs_on_the_cluster(dask_executor, nwb_dir, tmp_path):
    from neurotools.jobs import JobStore, RateSweepTask

    store = JobStore(tmp_path / "jobs")
    job = store.submit(RateSweepTask(str(nwb_dir / "pynapple_A8604-211122.nwb"), [0.1, 1.0]),
                       dask_executor)
    st = store.wait(job, timeout_s=60)
    assert st.state == "done", st.error
    assert store.result(job).arrays

