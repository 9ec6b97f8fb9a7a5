"""Live traces: writer thinning and files, the sink on job progress, the bi-clustering chains."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from neurotools.analyses.base import sub_progress
from neurotools.analyses.live import LiveTraceSink, live_sink, read_live_traces


def test_writer_thins_keeps_the_last_point_and_reads_back(tmp_path):
    sink = LiveTraceSink(str(tmp_path / "live"))
    w = sink.writer("chain 1/a", "chain 1", total=1000, units={"v": "nats"})
    w.max_points = 50
    for x in range(1, 1001):
        w.add(x, v=-x)
    w.flush()
    (f,) = list((tmp_path / "live").glob("*.json"))
    assert f.name == "chain_1_a.json"                   # filename-safe key
    (t,) = read_live_traces(tmp_path / "live")
    assert t["label"] == "chain 1" and t["total"] == 1000 and t["units"] == {"v": "nats"}
    assert len(t["x"]) <= 51 and t["x"][0] == 1 and t["x"][-1] == 1000
    assert t["y"]["v"] == [-x for x in t["x"]]
    assert t["x"] == sorted(set(t["x"]))
    # memory stays bounded however long the run
    w2 = sink.writer("long", "long", total=200_000)
    for x in range(1, 200_001):
        w2.add(x, v=float(x))
    assert len(w2._x) <= 2 * w2.max_points + 1
    w2.flush()
    long = [t for t in read_live_traces(tmp_path / "live") if t["label"] == "long"][0]
    assert long["x"][-1] == 200_000 and len(long["x"]) <= 401
    assert np.all(np.diff(long["x"]) > 0)


def test_unreadable_files_and_unwritable_folders_are_skipped(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "broken.json").write_text("{half")
    assert read_live_traces(tmp_path / "live") == []
    assert read_live_traces(tmp_path / "nowhere") == []
    blocker = tmp_path / "file"
    blocker.write_text("")
    w = LiveTraceSink(str(blocker / "live")).writer("c", "c", 1)
    w.add(1, v=0.0)                                     # cannot create a folder under a file
    w.flush()
    assert not (blocker / "live").exists()


def test_the_sink_travels_through_sub_progress():
    def progress(fraction, message=""):
        pass

    progress.live = LiveTraceSink("/tmp/x")
    assert live_sink(sub_progress(progress, 0.2, 0.8)) == progress.live
    assert live_sink(sub_progress(None, 0.0, 1.0)) is None
    assert live_sink(print) is None


def _bicluster_live(tmp_path, executor):
    from neurotools.analyses.biclustering import Params, SimParams, run, simulate

    rec = simulate(SimParams(n_neurons=9, n_bins=120), seed=2)

    def progress(fraction, message=""):
        pass

    progress.live = LiveTraceSink(str(tmp_path / "live"))
    res = run([rec], Params(iterations=30, burn_in=10, chains=2, max_states=3), progress,
              seed=4, executor=executor)
    return res, read_live_traces(tmp_path / "live")


def test_every_chain_writes_its_log_joint_while_it_runs(tmp_path):
    res, traces = _bicluster_live(tmp_path, None)
    assert [t["label"] for t in traces] == ["chain 1", "chain 2"]
    lj = res.arrays["logjoint_traces"]
    for c, t in enumerate(traces):
        assert t["total"] == 30 and t["x"] == [float(x) for x in range(1, 31)]
        assert np.allclose(t["y"]["log_joint"], lj[c])
        assert np.allclose(t["y"]["log_lik"], res.arrays["loglik_traces"][c])
        assert t["y"]["clusters"] == [float(k) for k in res.arrays["n_clusters_trace"][c]]
        assert t["units"]["log_joint"] == "nats"


def test_chains_in_worker_processes_write_their_traces_too(tmp_path):
    with ProcessPoolExecutor(2) as ex:
        res, traces = _bicluster_live(tmp_path, ex)
    assert len(traces) == 2
    for c, t in enumerate(traces):
        assert np.allclose(t["y"]["log_joint"], res.arrays["logjoint_traces"][c])
    assert json.loads((tmp_path / "live" / "chain_002.json").read_text())["label"] == "chain 2"


def test_a_writer_stops_its_fit_once_the_stop_file_exists(tmp_path):
    import pytest

    from neurotools.errors import Cancelled

    stop = tmp_path / "cancel"
    w = LiveTraceSink(str(tmp_path / "live"), stop_files=(str(stop),)).writer("c", "chain 1", 10)
    w.min_interval_s = 0.0
    w.add(1, v=1.0)
    w.add(2, v=2.0)
    stop.touch()
    with pytest.raises(Cancelled):
        w.add(3, v=3.0)
    (t,) = read_live_traces(tmp_path / "live")
    assert t["x"][-1] == 3                  # the last point was still written
