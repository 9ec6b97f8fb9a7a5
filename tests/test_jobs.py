"""Job store: progress, results, cancel, failure messages, finding a job again from its id."""

from __future__ import annotations

import time

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.jobs import JobStore, RateSweepTask, make_executor
from tests.bicluster_jobs import assert_chains_stopped, bicluster_file, start_long_bicluster_job
from tests.conftest import wait_until

HUMAN = "pynapple_sub-4_ses-4_ecephys+image.nwb"


def test_inline_job_finishes_with_result(nwb_dir, tmp_path):
    store = JobStore(tmp_path)
    job = store.submit(RateSweepTask(str(nwb_dir / HUMAN), [0.01, 0.1, 1.0]), make_executor("inline"))
    st = store.status(job)
    assert st.state == "done" and st.progress == 1.0
    res = store.result(job)
    assert res.arrays["mean_rate_hz"].shape == (3, 35)
    # mean rate is independent of the bin width: total spikes / duration
    np.testing.assert_allclose(res.arrays["mean_rate_hz"][0], res.arrays["mean_rate_hz"][1], rtol=0.02)
    # a second store on the same folder (a browser refresh, another tab) finds the job again
    again = JobStore(tmp_path)
    assert again.status(job).state == "done" and again.result(job).arrays.keys() == res.arrays.keys()
    assert [j.job_id for j in again.list_jobs()] == [job]


def test_bad_file_job_fails_with_the_user_message(bad_dir, tmp_path):
    store = JobStore(tmp_path)
    job = store.submit(RateSweepTask(str(bad_dir / "table.csv"), [0.1]), make_executor("inline"))
    st = store.status(job)
    assert st.state == "failed" and "text file" in st.error
    assert store.result(job) is None


@pytest.mark.timeout(120)
def test_process_job_reports_progress_and_cancels(nwb_dir, tmp_path):
    store = JobStore(tmp_path)
    ex = make_executor("process", max_workers=1)
    try:
        job = store.submit(RateSweepTask(str(nwb_dir / HUMAN)), ex)
        seen = []
        t_end = time.monotonic() + 90
        while time.monotonic() < t_end:
            st = store.status(job)
            seen.append(st.progress)
            if st.state == "running" and st.progress > 0.05:
                break
            time.sleep(0.1)
        assert 0 < max(seen) < 1
        store.cancel(job)
        st = store.wait(job, timeout_s=60)
        assert st.state == "cancelled"
        assert not (tmp_path / job / "result").exists()
    finally:
        ex.shutdown()


def test_unknown_job_id(tmp_path):
    from neurotools.errors import UserError

    store = JobStore(tmp_path)
    with pytest.raises(UserError, match="No job"):
        store.status("20260101-000000-deadbeef")
    with pytest.raises(UserError, match="not a job id"):
        store.status("../etc")


def test_result_save_is_atomic_and_bit_for_bit(tmp_path):
    arrays = {"a": np.random.default_rng(0).normal(size=(5, 3)), "labels": np.array(["x", "y"])}
    r = Result("demo", {"k": 1}, 7, [{"name": "f.nwb", "sha256": "0", "source": "units"}], arrays, {"m": 1.5})
    r.save(tmp_path / "out")
    back = Result.load(tmp_path / "out")
    assert back.seed == 7 and back.metrics == {"m": 1.5} and back.params == {"k": 1}
    for k in arrays:
        assert np.array_equal(back.arrays[k], arrays[k]) and back.arrays[k].dtype == arrays[k].dtype
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(TypeError):
        Result("demo", {}, 0, [], {"bad": np.array([object()])}).save(tmp_path / "bad")
    assert not (tmp_path / "bad").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_bicluster_job_shows_each_chain_live(tmp_path):
    from neurotools.jobs import AnalysisTask

    path = bicluster_file(tmp_path)
    store = JobStore(tmp_path / "jobs")
    params = {"iterations": 12, "burn_in": 4, "chains": 2, "max_states": 3}
    job = store.submit(AnalysisTask("bicluster", [str(path)], params), make_executor("inline"))
    assert store.status(job).state == "done"
    traces = store.live(job)
    assert [t["label"] for t in traces] == ["chain 1", "chain 2"]
    res = store.result(job)
    for c, t in enumerate(traces):
        assert t["x"][-1] == 12 and t["total"] == 12
        np.testing.assert_allclose(t["y"]["log_joint"], res.arrays["logjoint_traces"][c])
    assert store.live(JobStore(tmp_path / "jobs").submit(
        RateSweepTask(str(path), [0.1]), make_executor("inline"))) == []


# -- a job's own worker processes (chains side by side) -------------------------------------------
@pytest.mark.timeout(120)
def test_a_job_pool_ends_work_already_running_on_cancel(tmp_path):
    from neurotools.errors import Cancelled
    from neurotools.jobs import job_worker_pool

    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        with job_worker_pool(2, tmp_path, poll_s=0.1) as pool:
            futures = [pool.submit(time.sleep, 300) for _ in range(2)]
            wait_until(lambda: all(f.running() for f in futures))
            (tmp_path / "cancel").touch()
            futures[0].result(timeout=60)   # the pool breaks when its processes end
    assert time.monotonic() - t0 < 60       # not the 300 s of the sleeps


@pytest.mark.timeout(120)
def test_a_job_pool_stops_its_processes_when_the_job_fails(tmp_path):
    from neurotools.jobs import STOP_WORKERS, job_worker_pool

    t0 = time.monotonic()
    with pytest.raises(ValueError, match="another chain failed"):
        with job_worker_pool(1, tmp_path, poll_s=0.1) as pool:
            future = pool.submit(time.sleep, 300)
            wait_until(future.running)
            raise ValueError("another chain failed")
    assert (tmp_path / STOP_WORKERS).exists()
    assert time.monotonic() - t0 < 60       # the exit did not wait for the sleep


@pytest.mark.timeout(120)
def test_a_job_pool_process_that_dies_is_one_clear_error(tmp_path):
    import os

    from neurotools.errors import UserError
    from neurotools.jobs import job_worker_pool

    with pytest.raises(UserError, match="worker process of this job stopped unexpectedly"):
        with job_worker_pool(1, tmp_path) as pool:
            pool.submit(os._exit, 3).result(timeout=60)


@pytest.mark.timeout(300)
def test_bicluster_chains_in_the_jobs_own_processes_match_the_inline_job(tmp_path):
    from neurotools.jobs import AnalysisTask

    path = bicluster_file(tmp_path)
    store = JobStore(tmp_path / "jobs")
    params = {"iterations": 12, "burn_in": 4, "chains": 2, "max_states": 3}
    inline = store.submit(AnalysisTask("bicluster", [str(path)], params, seed=3),
                          make_executor("inline"))
    parallel = store.submit(AnalysisTask("bicluster", [str(path)], params, seed=3, workers=2),
                            make_executor("inline"))
    assert store.status(parallel).state == "done", store.status(parallel).error
    assert store.task(parallel)["workers"] == 2
    a, b = store.result(inline), store.result(parallel)
    for name in ("neuron_clusters", "state_sequence", "logjoint_traces", "neuron_coclustering"):
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
    # the chains, in other processes, still wrote their live traces into the job's folder
    traces = store.live(parallel)
    assert [t["label"] for t in traces] == ["chain 1", "chain 2"]
    assert [t["x"][-1] for t in traces] == [12, 12]
    # with workers > 1 the chains go through the executor (progress counts finished chains)
    messages = []
    AnalysisTask("bicluster", [str(path)], params, seed=3, workers=2).run(
        lambda fraction, message="": messages.append(message))
    assert any("2/2 chains finished" in m for m in messages), messages


@pytest.mark.timeout(300)
def test_the_jobs_processes_end_when_the_job_process_is_killed(tmp_path):
    import os
    import signal

    ex = make_executor("process", max_workers=1)
    try:
        store, job = start_long_bicluster_job(tmp_path, ex)
        # a store without the job's future (the app after a restart or a code reload) checks
        # the worker process the job recorded: alive, so still running
        fresh = JobStore(store.root)
        assert fresh.status(job).state == "running"
        pid = store.status(job).pid
        os.kill(pid, signal.SIGKILL)                        # no flag can be set now
        assert_chains_stopped(store, job, settle_s=3.0)     # the orphaned chains ended too
        st = fresh.status(job)
        assert st.state == "failed" and f"worker process ({pid}) ended" in st.error, st.error
        assert store.status(job).state == "failed"
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


@pytest.mark.timeout(300)
def test_a_bicluster_job_with_parallel_chains_reports_and_cancels_mid_chain(tmp_path):
    ex = make_executor("process", max_workers=1)
    try:
        store, job = start_long_bicluster_job(tmp_path, ex)
        wait_until(lambda: "iterations" in store.status(job).message, 30)
        st = store.status(job)
        assert st.state == "running" and 0 < st.progress < 0.01
        assert "0/2 chains finished" in st.message, st.message
        store.cancel(job)
        st = store.wait(job, timeout_s=60)
        assert st.state == "cancelled"
        assert store.result(job) is None
        assert_chains_stopped(store, job, settle_s=0.0)   # the chains' processes are gone
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


@pytest.mark.timeout(120)
def test_a_job_queued_by_an_app_that_has_stopped_is_failed(tmp_path):
    """A job still queued in a local process pool when the app process that owned the pool
    dies never runs; a store in the restarted app says so instead of showing it queued."""
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from neurotools.jobs import JobStore, RateSweepTask, make_executor\n"
        "ex = make_executor('process', max_workers=1)\n"
        "ex.submit(time.sleep, 20)\n"                      # the only worker is busy
        f"job = JobStore({str(tmp_path / 'jobs')!r}).submit(RateSweepTask('x.nwb'), ex)\n"
        "print(job, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        job = proc.stdout.readline().strip()
        fresh = JobStore(tmp_path / "jobs")
        assert fresh.status(job).state == "queued"        # its app is alive: it may still run
        proc.kill()
        proc.wait(10)
        st = fresh.status(job)
        assert st.state == "failed" and f"app process ({proc.pid}) that queued" in st.error, st
    finally:
        proc.kill()     # its pool's worker ends by itself once the sleep is over
