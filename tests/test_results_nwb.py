"""Results into NWB copies, recipes, `neurotools rerun` and export bundles, for every analysis.

Each analysis runs once (small settings) on a bundled sample file through the CLI; the tests then
write the result into a copy of that file, read it back, rerun it from its recipe and bundle it.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.cli import main
from neurotools.data import read_nwb, sha256_file
from neurotools.results_nwb import read_results, state_runs, write_results_copy

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"

#: analysis -> (sample file, --set values): small, fast runs.
RUNS = {
    "connectome": ("connectome_motifs.nwb", ["rank=3", "restarts=1", "iterations=50"]),
    "bicluster": ("bicluster_states.nwb", ["iterations=30", "burn_in=10", "chains=2"]),
    "hmmglm": ("hmmglm_states.nwb", ["epochs=4", "restarts=1"]),
    "neuroformer": ("spikes_trials.nwb", ["steps=8", "preset=tiny", "finetune_repeats=1",
                                          "finetune_steps=8"]),
}


def assert_same_result(a: Result, b: Result) -> None:
    """Identical arrays (names, dtypes, shapes, bytes) and identical manifests."""
    assert sorted(a.arrays) == sorted(b.arrays)
    for name in a.arrays:
        x, y = np.asarray(a.arrays[name]), np.asarray(b.arrays[name])
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name
    assert a.manifest() == b.manifest()


@pytest.fixture(scope="module")
def inputs_dir(tmp_path_factory) -> Path:
    """The sample files copied to a private folder (so tests may move them)."""
    d = tmp_path_factory.mktemp("inputs")
    for name, _ in RUNS.values():
        shutil.copy(SAMPLES / name, d / name)
    return d


@pytest.fixture(scope="module")
def result_dirs(inputs_dir, tmp_path_factory) -> dict[str, Path]:
    """One result directory per analysis, written by `neurotools run`."""
    import torch

    torch.set_num_threads(1)
    out = {}
    root = tmp_path_factory.mktemp("results")
    for analysis, (name, settings) in RUNS.items():
        d = root / analysis
        argv = ["run", analysis, str(inputs_dir / name), "--out", str(d), "--seed", "3"]
        for s in settings:
            argv += ["--set", s]
        assert main(argv) == 0
        out[analysis] = d
    return out


@pytest.mark.parametrize("analysis", list(RUNS))
def test_nwb_copy_round_trips_every_array_and_the_provenance(analysis, result_dirs, inputs_dir, tmp_path):
    from pynwb import NWBHDF5IO

    result = Result.load(result_dirs[analysis])
    source = inputs_dir / RUNS[analysis][0]
    digest = sha256_file(source)
    out = tmp_path / "copy.nwb"
    assert main(["export", str(result_dirs[analysis]), "--format", "nwb", "--out", str(out)]) == 0
    assert sha256_file(source) == digest  # the original is untouched

    stored = read_results(out)
    assert [s.key for s in stored] == [analysis]
    assert_same_result(result, stored[0].result)
    assert stored[0].result.inputs[0]["sha256"] == digest and stored[0].result.seed == 3

    # pynwb opens the copy; the module holds the provenance, parameters and per-neuron tables
    with NWBHDF5IO(str(out), "r") as io_:
        nwb = io_.read()
        module = nwb.processing["neurotools"]
        prov = module[f"{analysis}_provenance"]
        assert prov["analysis"][0] == analysis and int(prov["seed"][0]) == 3
        params = module[f"{analysis}_parameters"]
        recorded = dict(zip(params["parameter"][:], (json.loads(v) for v in params["value"][:])))
        assert recorded == result.params
        neurons = module[f"{analysis}_neurons"]
        assert len(neurons) == len(neurons["neuron_index"][:]) > 0
        if "units" in neurons.colnames:  # a region into the file's own units table
            np.testing.assert_array_equal(neurons["units"].data[:], neurons["neuron_index"][:])
            assert neurons["units"].table is nwb.units

    # the copy is still the same recording for the reader (the results are not mistaken for data)
    a, b = read_nwb(source), read_nwb(out)
    assert (a.n_units, a.n_spikes, len(a.behavior), sorted(a.intervals)) == \
           (b.n_units, b.n_spikes, len(b.behavior), sorted(b.intervals))


def test_state_sequences_are_time_intervals_that_rebuild_the_states(result_dirs, tmp_path):
    from pynwb import NWBHDF5IO

    for analysis, name in (("hmmglm", "states"), ("bicluster", "state_sequence")):
        result = Result.load(result_dirs[analysis])
        out = tmp_path / f"{analysis}.nwb"
        assert main(["export", str(result_dirs[analysis]), "--format", "nwb", "--out", str(out)]) == 0
        with NWBHDF5IO(str(out), "r") as io_:
            table = io_.read().processing["neurotools"][f"{analysis}_states"]
            start, stop = table["start_time"][:], table["stop_time"][:]
            state = table["state"][:]
        times = result.arrays["bin_times"]
        # every bin centre lies in exactly one interval, whose state is the bin's state
        inside = (times[:, None] > start[None, :]) & (times[:, None] < stop[None, :])
        assert np.all(inside.sum(axis=1) == 1)
        np.testing.assert_array_equal(state[inside.argmax(axis=1)], result.arrays[name])
        assert len(state) < len(times)  # runs, not bins


def test_state_runs_split_at_state_changes_sessions_and_gaps():
    times = np.array([0.5, 1.5, 2.5, 3.5, 10.5, 11.5])
    runs = state_runs(np.array([0, 0, 1, 1, 1, 1]), times, 1.0, np.array([0, 0, 0, 1, 1, 1]))
    np.testing.assert_array_equal(runs["start_time"], [0.0, 2.0, 3.0, 10.0])
    np.testing.assert_array_equal(runs["stop_time"], [2.0, 3.0, 4.0, 12.0])
    np.testing.assert_array_equal(runs["state"], [0, 1, 1, 1])
    np.testing.assert_array_equal(runs["session_index"], [0, 0, 1, 1])


def test_a_copy_holds_several_results_and_nwbinspector_finds_nothing_critical(result_dirs, inputs_dir, tmp_path):
    from nwbinspector import Importance, inspect_nwbfile

    first = Result.load(result_dirs["hmmglm"])
    second = Result.load(result_dirs["hmmglm"])
    second.seed = 99
    out = write_results_copy(inputs_dir / RUNS["hmmglm"][0], [first, second], tmp_path / "two.nwb")
    stored = read_results(out)
    assert [s.key for s in stored] == ["hmmglm", "hmmglm_2"]
    assert [s.result.seed for s in stored] == [3, 99]
    for analysis in RUNS:
        out = tmp_path / f"{analysis}_inspected.nwb"
        assert main(["export", str(result_dirs[analysis]), "--format", "nwb", "--out", str(out)]) == 0
        messages = list(inspect_nwbfile(nwbfile_path=str(out)))
        # CRITICAL and worse (pynwb validation errors, inspector errors)
        critical = [m for m in messages if m.importance.value >= Importance.CRITICAL.value]
        assert not critical, [m.message for m in critical]
        assert not [m for m in messages if "/processing/neurotools" in (m.location or "")
                    and m.importance.value >= Importance.BEST_PRACTICE_VIOLATION.value
                    and m.check_function_name != "check_table_values_for_dict"]


@pytest.mark.parametrize("analysis", list(RUNS))
def test_rerun_reproduces_every_array_bit_for_bit(analysis, result_dirs, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["rerun", str(result_dirs[analysis]), "--out", str(out), "--check"]) == 0
    original, again = Result.load(result_dirs[analysis]), Result.load(out)
    for name in original.arrays:
        x, y = np.asarray(original.arrays[name]), np.asarray(again.arrays[name])
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name
    assert sorted(original.arrays) == sorted(again.arrays)
    assert (again.params, again.seed, again.inputs) == (original.params, original.seed, original.inputs)
    assert "arrays identical to the original" in capsys.readouterr().err


def test_rerun_finds_moved_inputs_only_when_given_and_refuses_other_files(result_dirs, inputs_dir, tmp_path, capsys):
    moved = tmp_path / "moved"
    moved.mkdir()
    result_copy = tmp_path / "res"
    shutil.copytree(result_dirs["hmmglm"], result_copy)
    manifest = json.loads((result_copy / "result.json").read_text())
    manifest["inputs"][0]["path"] = str(tmp_path / "gone" / "hmmglm_states.nwb")
    (result_copy / "result.json").write_text(json.dumps(manifest))
    assert main(["rerun", str(result_copy), "--out", str(tmp_path / "o1")]) == 2
    assert "pass it with --input FILE" in capsys.readouterr().err
    # a different file under the right name is refused by its SHA-256
    assert main(["rerun", str(result_copy), "--out", str(tmp_path / "o2"),
                 "--input", str(inputs_dir / "bicluster_states.nwb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not the file the result was computed from" in err
    shutil.copy(inputs_dir / "hmmglm_states.nwb", moved / "hmmglm_states.nwb")
    assert main(["rerun", str(result_copy), "--out", str(tmp_path / "o3"), "--check",
                 "--input", str(moved / "hmmglm_states.nwb")]) == 0


def test_export_errors_are_one_line(result_dirs, tmp_path, capsys):
    assert main(["export", str(result_dirs["hmmglm"]), "--format", "nwb", "--out", str(tmp_path / "x.h5")]) == 2
    assert "--out must end in .nwb" in capsys.readouterr().err
    assert main(["rerun", str(tmp_path)]) == 2
    assert "holds no recipe.json or result.json" in capsys.readouterr().err


def test_bundle_holds_figures_result_recipe_and_nwb_copy_and_reruns(result_dirs, inputs_dir, tmp_path, capsys):
    from neurotools.bundle import build_bundle
    from neurotools.figures.catalog import standard_figures

    result = Result.load(result_dirs["hmmglm"])
    rec = read_nwb(inputs_dir / RUNS["hmmglm"][0])
    figs = standard_figures(result, rec)
    assert {"states_over_raster", "weights", "transition_matrix"} <= set(figs)
    bundle = build_bundle(result, {k: figs[k] for k in ("weights", "transition_matrix")}, ["html", "svg"],
                          nwb_source=inputs_dir / RUNS["hmmglm"][0])
    names = set(zipfile.ZipFile(io.BytesIO(bundle.data)).namelist())
    expected = {"README.txt", "recipe.json", "rerun.sh", "result/result.json", "result/arrays.npz",
                "figures/weights.html", "figures/transition_matrix.html", "hmmglm_states.neurotools.nwb"}
    assert expected <= names
    if not bundle.skipped:  # Chromium present: the static figures are real SVG
        assert {"figures/weights.svg", "figures/transition_matrix.svg"} <= names
    unpacked = tmp_path / "bundle"
    zipfile.ZipFile(io.BytesIO(bundle.data)).extractall(unpacked)
    assert json.loads((unpacked / "recipe.json").read_text())["command"].startswith("neurotools run hmmglm ")
    assert_same_result(result, read_results(unpacked / "hmmglm_states.neurotools.nwb")[0].result)
    assert main(["rerun", str(unpacked), "--out", str(tmp_path / "again"), "--check"]) == 0
    modes = {i.filename: (i.external_attr >> 16) & 0o777
             for i in zipfile.ZipFile(io.BytesIO(bundle.data)).infolist()}
    assert modes["rerun.sh"] == 0o755
    assert all(m == 0o644 for n, m in modes.items() if n != "rerun.sh"), modes
    with h5py.File(unpacked / "hmmglm_states.neurotools.nwb", "r") as f:
        assert "processing/neurotools/hmmglm_arrays" in f


def test_a_bundles_readme_carries_the_runs_convergence_warnings(result_dirs):
    from neurotools.bundle import build_bundle

    result = Result.load(result_dirs["hmmglm"])
    readme = zipfile.ZipFile(io.BytesIO(build_bundle(result, {}, ["html"]).data)).read("README.txt")
    assert b"Convergence warnings" not in readme
    result.info["convergence_warnings"] = ["The chains disagree on the log-likelihood (split R-hat 1.46 > 1.05)."]
    readme = zipfile.ZipFile(io.BytesIO(build_bundle(result, {}, ["html"]).data)).read("README.txt").decode()
    assert "Convergence warnings (read before trusting the result):\n  - The chains disagree" in readme
    result.info["warnings"] = ["The recordings differ in length ..., so each was cut to the shortest."]
    readme = zipfile.ZipFile(io.BytesIO(build_bundle(result, {}, ["html"]).data)).read("README.txt").decode()
    assert "Warnings (read before trusting the result):\n  - The recordings differ in length" in readme


def test_rerun_of_a_folder_given_as_dot_recomputes_without_the_originals_checkpoints(
        inputs_dir, tmp_path, monkeypatch, capsys):
    """`neurotools rerun .` inside a result folder (as a bundle's rerun.sh does) works, and a
    recorded checkpoint folder is neither resumed nor written."""
    name, settings = RUNS["neuroformer"]
    original_ckpt = tmp_path / "original_checkpoints"
    first = tmp_path / "nf"
    argv = ["run", "neuroformer", str(inputs_dir / name), "--out", str(first), "--seed", "3",
            "--set", f"checkpoint_dir={original_ckpt}", "--set", "checkpoint_every=4"]
    for s in settings:
        argv += ["--set", s]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in original_ckpt.iterdir()}
    assert "metrics.jsonl" in before
    monkeypatch.chdir(first)
    assert main(["rerun", ".", "--check"]) == 0
    assert "arrays identical to the original" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in original_ckpt.iterdir()} == before
    again = tmp_path / "nf-rerun"
    assert Result.load(again).params["checkpoint_dir"] == ""


def test_a_bundle_draws_the_states_over_the_window_the_page_shows(result_dirs, inputs_dir):
    from neurotools.figures.catalog import standard_figures

    result = Result.load(result_dirs["hmmglm"])
    rec = read_nwb(inputs_dir / RUNS["hmmglm"][0])

    def x_extent(fig) -> tuple[float, float]:
        xs = np.concatenate([np.asarray(t.x, float) for t in fig.data if t.x is not None and len(t.x)])
        xs = xs[np.isfinite(xs)]
        return float(xs.min()), float(xs.max())

    t0 = float(result.arrays["bin_times"].min())
    lo, hi = x_extent(standard_figures(result, rec)["states_over_raster"]())
    assert t0 - 1 <= lo and hi <= t0 + 61  # the first minute, as the page opens
    lo, hi = x_extent(standard_figures(result, rec, window=(100.0, 130.0))["states_over_raster"]())
    assert 99 <= lo <= 101 and 129 <= hi <= 131
