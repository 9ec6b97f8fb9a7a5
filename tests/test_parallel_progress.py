"""Progress of work fanned out through an executor: finished items, polled live traces, cancel."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from neurotools.analyses.base import parallel_map
from neurotools.analyses.live import LiveTraceSink
from neurotools.errors import Cancelled


class Recorder:
    """A progress callback that keeps every report (and may carry a live-trace sink)."""

    def __init__(self, live_dir=None):
        self.reports: list[tuple[float, str]] = []
        self.live = LiveTraceSink(str(live_dir)) if live_dir else None

    def __call__(self, fraction, message=""):
        self.reports.append((fraction, message))


def _slow_square(x):
    time.sleep(0.05 * (x % 3))
    return x * x


def test_finished_items_are_reported_and_results_keep_their_order():
    progress = Recorder()
    with ThreadPoolExecutor(2) as ex:
        out = parallel_map(_slow_square, range(6), ex, progress, "restarts")
    assert out == [x * x for x in range(6)]
    shares = [f for f, _ in progress.reports]
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert progress.reports[-1][1] == "6/6 restarts finished"
    assert all(f in {k / 6 for k in range(1, 7)} for f in shares)


def test_a_poll_reports_the_share_of_running_items():
    progress = Recorder()
    with ThreadPoolExecutor(1) as ex:
        out = parallel_map(time.sleep, [0.4, 0.4], ex, progress, "chains",
                           poll=lambda: (0.25, "iterations 5/10, 0/10"), poll_s=0.05)
    assert out == [None, None]
    polled = [r for r in progress.reports if r[1].endswith("; iterations 5/10, 0/10")]
    assert polled and polled[0] == (0.25, "0/2 chains finished; iterations 5/10, 0/10")
    assert (0.5, "1/2 chains finished; iterations 5/10, 0/10") in progress.reports
    assert progress.reports[-1][0] == 1.0


def test_a_cancel_stops_the_items_not_started():
    started, release = [], threading.Event()

    def work(i):
        started.append(i)
        release.wait(5)
        return i

    def cancel(fraction, message=""):
        raise Cancelled()

    ex = ThreadPoolExecutor(1)
    try:
        with pytest.raises(Cancelled):
            parallel_map(work, range(4), ex, cancel, poll=lambda: (0.0, ""), poll_s=0.05)
    finally:
        release.set()
        ex.shutdown(wait=True)
    assert started == [0]


def test_without_an_executor_the_items_run_here_in_order():
    progress = Recorder()
    assert parallel_map(_slow_square, range(3), None, progress) == [0, 1, 4]
    assert progress.reports == []          # the caller reports inline work itself


def test_bicluster_chains_report_their_iterations_from_live_traces(tmp_path):
    from neurotools.analyses.biclustering import Params, SimParams, run, simulate
    from neurotools.analyses.biclustering.fit import _live_iterations
    from neurotools.analyses.live import read_live_traces

    sink = LiveTraceSink(str(tmp_path / "probe"))
    for key, n in (("chain_001", 30), ("chain_002", 10)):
        writer = sink.writer(key, key, 100)
        for it in range(1, n + 1):
            writer.add(it, log_joint=-float(it))
        writer.flush()
    assert _live_iterations(sink.directory, 100, 2)() == (0.2, "iterations 30/100, 10/100")
    # chains not started yet have no trace: they count as 0 of the total
    assert _live_iterations(sink.directory, 100, 4)() == (0.1, "iterations 30/100, 10/100, "
                                                               "0/100, 0/100")
    assert _live_iterations(str(tmp_path / "none"), 100, 2)() == (0.0, "")

    rec = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=60), seed=2)
    params = Params(iterations=12, burn_in=4, chains=2, max_states=3)
    progress = Recorder(tmp_path / "live")
    with ThreadPoolExecutor(2) as ex:
        res = run([rec], params, progress=progress, seed=5, executor=ex)
    messages = [m for _, m in progress.reports]
    assert any(m.startswith("2/2 chains finished; iterations 12/12, 12/12") for m in messages)
    assert progress.reports[-1] == (1.0, "summarising the posterior")
    traces = read_live_traces(tmp_path / "live")
    assert [t["x"][-1] for t in traces] == [12, 12]
    inline = run([rec], params, seed=5)
    assert np.array_equal(inline.arrays["logjoint_traces"], res.arrays["logjoint_traces"])


def _fail_fast_or_sleep(x):
    if x == 1:
        raise ValueError("bad item")
    time.sleep(3.0)
    return x


def test_a_failing_item_raises_without_waiting_for_the_others():
    ex = ThreadPoolExecutor(2)
    t0 = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="bad item"):
            parallel_map(_fail_fast_or_sleep, [0, 1, 2], ex)
        assert time.perf_counter() - t0 < 2.0
    finally:
        ex.shutdown(wait=True)
