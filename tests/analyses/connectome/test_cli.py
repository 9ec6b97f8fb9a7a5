"""`neurotools simulate connectome` and `neurotools run connectome` through the command line."""

import json

import numpy as np
import pytest

from neurotools.cli import main


def test_simulate_then_run(tmp_path, capsys):
    nwb = tmp_path / "sim.nwb"
    assert main(["simulate", "connectome", "--out", str(nwb), "--seed", "3",
                 "--set", "n_animals=3", "--set", "n_samples=600"]) == 0
    out = tmp_path / "res"
    assert main(["run", "connectome", str(nwb), "--out", str(out), "--set", "rank=3",
                 "--set", "restarts=1", "--set", "iterations=60"]) == 0
    manifest = json.loads((out / "result.json").read_text())
    assert manifest["analysis"] == "connectome"
    assert manifest["arrays"]["time_factors"][0] == 3
    assert manifest["arrays"]["pair_factors"] == [3, 780]
    assert manifest["arrays"]["communities"] == [3, 40]
    assert manifest["info"]["third_mode"] == "trials"
    with np.load(out / "arrays.npz") as z:
        assert z["bin_times"].shape == (manifest["arrays"]["bin_times"][0],)


@pytest.mark.parametrize("setting", ["rank=0", "affinity=granger", "third_mode=sessions", "nope=1"])
def test_bad_setting_exits_2_with_one_line(tmp_path, capsys, setting):
    nwb = tmp_path / "x.nwb"
    nwb.write_bytes(b"")
    code = main(["run", "connectome", str(nwb), "--out", str(tmp_path / "r"), "--set", setting])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error:")
    assert not (tmp_path / "r").exists()
