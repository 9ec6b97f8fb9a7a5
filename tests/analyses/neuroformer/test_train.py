"""Training: resumable checkpoints, the metrics log, and DDP under torchrun matching one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurotools.analyses.neuroformer import Params, SimParams, simulate
from neurotools.analyses.neuroformer.core import make_model, prepare, train_config
from neurotools.analyses.neuroformer.training import load_checkpoint, lr_at, read_metrics, train
from neurotools.errors import Cancelled

ROOT = Path(__file__).resolve().parents[3]
SIM = ["--simulate", "--sim-set", "n_neurons=12", "--sim-set", "n_blocks=2", "--sim-set", "duration_s=60"]
SETS = ["--set", "steps=16", "--set", "checkpoint_every=8", "--set", "batch_size=16", "--threads", "1"]


def _losses(folder: Path) -> np.ndarray:
    return np.array([r["train_loss"] for r in read_metrics(folder) if "train_loss" in r])


def test_schedule_warms_up_then_decays_to_a_tenth():
    cfg = train_config(Params(steps=100), 0)
    lrs = np.array([lr_at(s, cfg) for s in range(100)])
    assert np.argmax(lrs) == cfg.warmup - 1 and np.isclose(lrs.max(), cfg.lr)
    assert np.all(np.diff(lrs[cfg.warmup:]) <= 1e-12) and np.isclose(lrs[-1], 0.1 * cfg.lr, rtol=0.05)


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    rec = simulate(SimParams(n_neurons=12, n_blocks=2, duration_s=40.0), 0)
    params = Params(steps=20, checkpoint_every=5, batch_size=8)
    prep = prepare([rec], params)
    cfg = train_config(params, 0)

    def fit(folder: Path, init_seed: int, progress=None) -> dict:
        torch.manual_seed(init_seed)
        model = make_model(prep, params)
        return train(model, prep.data, prep.split["train"], prep.split["val"], cfg,
                     torch.device("cpu"), progress=progress, checkpoint_dir=folder)

    def stop_at_ten(fraction, message):
        if message.startswith("step 10/"):
            raise Cancelled()

    full = fit(tmp_path / "full", 0)
    with pytest.raises(Cancelled):
        fit(tmp_path / "resumed", 0, stop_at_ten)
    assert load_checkpoint(tmp_path / "resumed")["step"] == 10
    resumed = fit(tmp_path / "resumed", 123)  # another init: the checkpoint must override it
    assert len(resumed["train_loss"]) == 20
    assert np.allclose(resumed["train_loss"], full["train_loss"], atol=1e-5)
    assert np.allclose(_losses(tmp_path / "resumed"), full["train_loss"], atol=1e-5)
    assert np.allclose(resumed["val_loss"], full["val_loss"], atol=1e-5)


def test_two_process_torchrun_matches_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    module = ["-m", "neurotools.analyses.neuroformer.train"]
    one = subprocess.run([sys.executable, *module, *SIM, *SETS, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_port", "29517", *module, *SIM, *SETS, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)
    assert two.returncode == 0, two.stderr[-2000:]
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(a) == len(b) == 16
    assert np.allclose(a, b, rtol=1e-4), np.abs(a - b).max()
    assert a[-1] < a[0]
    assert load_checkpoint(tmp_path / "two")["extra"]["world_size"] == 2


def test_training_command_reports_bad_settings_in_one_line(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "neurotools.analyses.neuroformer.train", *SIM,
                          "--set", "preset=huge", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: The 'preset' parameter of neuroformer")
    assert len(bad.stderr.strip().splitlines()) == 1
