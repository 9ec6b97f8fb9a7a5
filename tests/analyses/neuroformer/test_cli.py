"""`neurotools simulate neuroformer` and `neurotools run neuroformer` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neurotools", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def test_simulate_then_run_writes_the_contracted_result(tmp_path):
    nwb = tmp_path / "nf.nwb"
    sim = _cli("simulate", "neuroformer", "--out", str(nwb), "--set", "n_neurons=12",
               "--set", "n_blocks=2", "--set", "duration_s=40")
    assert sim.returncode == 0, sim.stderr
    out = tmp_path / "res"
    res = _cli("run", "neuroformer", str(nwb), "--out", str(out), "--set", "steps=6",
               "--set", "finetune_steps=2", "--set", "finetune_repeats=1", "--set", "window_s=0.04")
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "result.json").read_text())
    assert manifest["analysis"] == "neuroformer" and manifest["params"]["window_s"] == 0.04
    assert manifest["arrays"]["train_loss"] == [6] and manifest["arrays"]["attention_connectivity"] == [12, 12]
    for key in ("val_token_accuracy", "test_token_bits_per_spike", "psth_pearson_r", "behavior_r2",
                "attention_auroc"):
        assert key in manifest["metrics"], key


def test_bad_setting_exits_2_with_one_line(tmp_path):
    res = _cli("run", "neuroformer", str(tmp_path / "missing.nwb"), "--out", str(tmp_path / "o"),
               "--set", "past_s=-1")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error: The 'past_s' parameter of neuroformer")
    assert len(res.stderr.strip().splitlines()) == 1
