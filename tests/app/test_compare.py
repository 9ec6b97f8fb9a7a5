"""Compare page and Explore overlays (AppTest) with finished jobs on a simulated recording.

The jobs go through the real job store and the inline executor; their task returns a prepared
result whose states and clusters are the simulation's truth under other label names, so every
agreement with the file's own labels is exactly 1 and every band and colour is known.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.data import read_nwb
from neurotools.figures.recording import PALETTE
from neurotools.jobs import InlineExecutor, JobStore
from tests.app.conftest import ROOT, decode, figures, upload

SAMPLE = ROOT / "sample_data" / "bicluster_states.nwb"
STATE_PERM = np.array([2, 0, 1, 3, 4, 5, 6, 7])
CLUSTER_PERM = np.array([1, 2, 0, 3, 4, 5, 6, 7])


@dataclass
class SavedResultTask:
    """A job whose work is done: it hands back a result saved beforehand."""

    result_dir: str
    paths: list[str]
    analysis: str
    kind: str = "analysis"

    @property
    def label(self) -> str:
        return f"{self.analysis} on {Path(self.paths[0]).name}"

    def run(self, progress) -> Result:
        progress(1.0, "done")
        return Result.load(self.result_dir)


@pytest.fixture(scope="module")
def sim():
    """The bundled bi-clustering sample: 30 units, 500 bins of 0.1 s, known states and clusters."""
    rec = read_nwb(SAMPLE)
    return rec, np.asarray(rec.ground_truth["state_sequence"]), np.asarray(rec.ground_truth["neuron_clusters"])


@pytest.fixture
def jobs(sim, tmp_path):
    """Two finished jobs on the sample: bi-clustering (then) and HMM-GLM (newest)."""
    rec, states, clusters = sim
    bs = rec.time_range()[1] / len(states)
    times = (np.arange(len(states)) + 0.5) * bs
    inputs = [{"name": SAMPLE.name, "sha256": rec.source.sha256, "source": "units"}]
    labels = rec.neuron_labels("units")
    bic = Result("bicluster", {"bin_size": bs}, 0, inputs,
                 {"state_sequence": STATE_PERM[states], "neuron_clusters": CLUSTER_PERM[clusters],
                  "bin_times": times}, info={"neuron_labels": labels, "bin_size_s": bs})
    k = int(states.max()) + 1
    hmm = Result("hmmglm", {"bin_size": bs}, 0, inputs,
                 {"states": states, "bin_times": times, "state_posterior": np.eye(k)[states]},
                 info={"bin_size_s": bs})
    store = JobStore(os.environ["NEUROTOOLS_JOBS_DIR"])
    ids = []
    for r in (bic, hmm):
        r.save(tmp_path / r.analysis)
        ids.append(store.submit(SavedResultTask(str(tmp_path / r.analysis), [str(SAMPLE)], r.analysis),
                                InlineExecutor()))
        assert store.status(ids[-1]).state == "done"
    return ids


def _row(df, a: str, b: str):
    sel = df[((df["a"] == a) & (df["b"] == b)) | ((df["a"] == b) & (df["b"] == a))]
    assert len(sel) == 1, f"no row {a} vs {b} in {list(zip(df['a'], df['b']))}"
    return sel.iloc[0]


def test_compare_page_aligns_results_with_the_files_labels(app, jobs):
    app.session_state["nt_jobs"] = list(jobs)  # this session started them
    upload(app, SAMPLE)
    app.switch_page("pages/compare.py").run()
    assert not app.exception and not app.error
    assert len(app.multiselect(key="compare_results").value) == 2  # newest of each analysis
    rows_fig, heat = figures(app)
    rows = {t["y"][0] for t in rows_fig["data"]}
    assert rows == {"bicluster states", "hmmglm states", "states: state (file)"}
    assert rows_fig["layout"]["xaxis"]["title"]["text"] == "time (s)"
    states_df, parts_df = app.dataframe[0].value, app.dataframe[1].value
    for a, b in [("bicluster states", "hmmglm states"), ("bicluster states", "states: state"),
                 ("hmmglm states", "states: state")]:
        r = _row(states_df, a, b)
        assert (r["ari"], r["nmi"], r["accuracy"], r["n_bins"]) == (1.0, 1.0, 1.0, 500)
    r = _row(parts_df, "bicluster neuron clusters", "units table: true_cluster")
    assert (r["ari"], r["accuracy"], r["n_neurons"]) == (1.0, 1.0, 30)
    assert heat["layout"]["title"]["text"] == "Pairwise agreement: ARI"
    labels = [b.proto.label for b in app.get("download_button")]
    assert "Download agreement table (CSV)" in labels
    # the accuracy heatmap, and one result only
    app.selectbox(key="compare_metric").set_value("accuracy").run()
    assert figures(app)[1]["layout"]["title"]["text"] == "Pairwise agreement: matched accuracy"
    app.multiselect(key="compare_results").set_value([app.multiselect(key="compare_results").options[0]]).run()
    assert not app.exception
    assert len(app.dataframe[0].value) == 1  # hmmglm vs the file's states


def test_compare_page_without_results_compares_the_files_labels(app):
    upload(app, SAMPLE)
    app.switch_page("pages/compare.py").run()
    assert not app.exception and not app.error
    assert any("No finished" in i.value for i in app.info)
    assert {t["y"][0] for t in figures(app)[0]["data"]} == {"states: state (file)"}


def test_explore_overlays_states_and_clusters_of_a_finished_job(app, jobs, sim):
    app.session_state["nt_jobs"] = list(jobs)  # this session started them
    rec, states, clusters = sim
    upload(app, SAMPLE)
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    plain = figures(app)[0]
    assert not plain["layout"].get("shapes")
    box = app.selectbox(key="explore_overlay")
    assert box.options[0] == "(none)" and box.options[1].startswith("hmmglm · job ")
    assert box.options[2].startswith("bicluster · job ")
    app.selectbox(key="explore_overlay").set_value(box.options[2]).run()  # the bi-clustering job
    assert not app.exception and not app.error
    fig = figures(app)[0]
    bands = [s for s in fig["layout"]["shapes"] if s.get("name", "").startswith("bicluster states")]
    table = rec.intervals["states"]  # the true state segments, written by the simulator
    np.testing.assert_allclose([(b["x0"], b["x1"]) for b in bands], np.c_[table.start, table.stop])
    assert [b["name"] for b in bands] == [f"bicluster states: state {STATE_PERM[s]}"
                                         for s in table.columns["state"]]
    ids = np.asarray(rec.unit_table["id"])
    groups = [t for t in fig["data"] if t["name"].startswith("bicluster neuron clusters: cluster")]
    assert len(groups) == len(set(clusters.tolist()))
    for t in groups:
        k = int(t["name"].rsplit(" ", 1)[1])
        assert t["marker"]["color"] == PALETTE[k]
        assert set(decode(t["customdata"]).tolist()) == set(ids[CLUSTER_PERM[clusters] == k].tolist())
    # the trial-aligned figure shows the states under the PSTH
    psth = figures(app)[1]
    assert psth["data"][0]["type"] == "heatmap"
    assert psth["layout"]["yaxis3"]["title"]["text"] == "fraction of trials"


def test_another_session_is_not_offered_these_jobs_results(app, jobs):
    upload(app, SAMPLE)  # the same file, in a session that did not start the jobs
    app.switch_page("pages/compare.py").run()
    assert not app.exception
    assert any("No finished" in i.value for i in app.info)
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    assert not [s for s in app.selectbox if s.key == "explore_overlay"]
