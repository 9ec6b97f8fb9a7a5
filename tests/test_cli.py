"""The command-line contract: info fields, exit codes, one `error:` line, simulate, run errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from neurotools.cli import main
from neurotools.data import read_nwb


def _cli(*args):
    proc = subprocess.run([sys.executable, "-m", "neurotools", *map(str, args)], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_info_json_fields_and_counts(nwb_dir):
    rc, out, err = _cli("info", nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb", "--json")
    assert rc == 0, err
    s = json.loads(out)
    for key in ("nwb_version", "session_description", "duration_s", "n_units", "n_spikes",
                "trace_series", "behavior_series", "intervals"):
        assert key in s
    assert (s["n_units"], s["n_spikes"]) == (35, 214278)
    assert s["intervals"] == {"encoding_table": 90, "recognition_table": 180, "timediscrimination_table": 180}
    assert s["nwb_version"] == "2.4.0"


def test_info_celegans_stack_is_one_trace_series(nwb_dir, capsys):
    assert main(["info", str(nwb_dir / "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["trace_series"] == [{"path": "acquisition", "n_channels": 57, "n_samples": 3378,
                                  "rate_hz": pytest.approx(6.024, abs=0.01), "kind": "acquisition"}]


def test_info_human_readable(nwb_dir, capsys):
    assert main(["info", str(nwb_dir / "dandicli_sub-anm369963_ses-20170228.nwb")]) == 0
    out = capsys.readouterr().out
    assert "1679 spikes" in out and "trials  178 rows" in out


@pytest.mark.parametrize("name", ["random.nwb", "truncated.nwb", "table.csv"])
def test_bad_files_exit_2_with_one_error_line(bad_dir, name):
    rc, out, err = _cli("info", bad_dir / name)
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["info"], "required: file"),
        (["run", "nosuch", "x.nwb", "--out", "d"], "invalid choice"),
        (["simulate", "spikes", "--out", "x.nwb", "--set", "n_units=0"], "'n_units' parameter"),
        (["simulate", "spikes", "--out", "x.nwb", "--set", "colour=red"], "Unknown parameter 'colour'"),
        (["simulate", "spikes", "--out", "x.txt"], "must end in .nwb"),
        (["simulate", "nosuch", "--out", "x.nwb"], "Unknown simulation"),
        (["simulate", "spikes", "--out", "x.nwb", "--set", "novalue"], "key=value"),
        (["export", "/nonexistent/dir", "--format", "json", "--out", "x.json"], "holds no result.json"),
    ],
)
def test_user_errors_exit_2(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0]


def test_simulate_spikes_round_trip(tmp_path):
    out = tmp_path / "sim.nwb"
    rc, _, err = _cli("simulate", "spikes", "--out", out, "--seed", "3", "--set", "n_units=6", "--set", "duration_s=30")
    assert rc == 0, err
    rec = read_nwb(out)
    assert rec.n_units == 6 and rec.intervals["trials"].n_rows == 40
    assert rec.ground_truth["preferred_condition"].shape == (6,)
    rc2, out2, _ = _cli("info", out, "--json")
    assert json.loads(out2)["n_spikes"] == rec.n_spikes


def test_same_seed_same_file_content(tmp_path):
    a, b = tmp_path / "a.nwb", tmp_path / "b.nwb"
    for p in (a, b):
        assert main(["simulate", "spikes", "--out", str(p), "--seed", "1", "--set", "duration_s=20"]) == 0
    ra, rb = read_nwb(a), read_nwb(b)
    assert all((x == y).all() for x, y in zip(ra.spike_times, rb.spike_times))


def test_run_on_file_without_neural_data_exits_2(nwb_dir, tmp_path, capsys):
    from neurotools.analyses import available_analyses

    names = available_analyses()
    if not names:
        pytest.skip("no analysis is installed in this build")
    out = tmp_path / "res"
    rc = main(["run", names[0], str(nwb_dir / "osb_KatoEtAl2018.WT_Stim.0.nwb"), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("error: ") and "no usable neural data" in err[-1]
    assert not (out / "result.json").exists()


def test_chains_in_worker_processes_report_progress(tmp_path):
    sim = tmp_path / "sim.nwb"
    rc, _, err = _cli("simulate", "bicluster", "--out", sim, "--seed", "2", "--set", "n_neurons=6",
                      "--set", "n_clusters=2", "--set", "n_bins=60")
    assert rc == 0, err
    rc, _, err = _cli("run", "bicluster", sim, "--out", tmp_path / "res", "--executor", "process",
                      "--set", "iterations=12", "--set", "burn_in=4", "--set", "chains=2",
                      "--set", "max_states=3")
    assert rc == 0, err
    # progress lines (one per 10% off a terminal) count the finished chains and their iterations
    assert re.search(r"\[ *\d+%\] +[\d.]+ s  [012]/2 chains finished; iterations \d+/12, \d+/12\n",
                     err), err
    assert (tmp_path / "res" / "arrays.npz").is_file()


def test_run_prints_the_results_warnings(tmp_path, capsys):
    """Two animals of 200 s and 100 s: the tensor keeps 100 s of each, and `run` says so."""
    from neurotools.analyses.connectome import SimParams, simulate_animals
    from neurotools.data.nwb_writer import write_nwb

    small = dict(n_animals=1, n_neurons=8, n_motifs=1, motif_size=4)
    files = [write_nwb(simulate_animals(SimParams(n_samples=n, **small), seed=s)[0], tmp_path / f"cx_{n}.nwb")
             for s, n in ((0, 800), (1, 400))]
    assert main(["run", "connectome", *map(str, files), "--out", str(tmp_path / "r"),
                 "--set", "rank=1", "--set", "restarts=1", "--set", "iterations=5"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^warning: The recordings differ in length .*cx_800\.nwb", err, re.M)
