"""Each analysis honours the architecture's contract end to end through the command line:
simulate -> run -> result.json + arrays.npz with the fixed array and metric names; same seed,
same arrays; a bad parameter is one `error:` line and no result directory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurotools.analyses import get_analysis
from neurotools.cli import main
from neurotools.errors import UserError

# analysis -> (required arrays, required metrics, small simulation settings, quick run settings)
CONTRACT = {
    "connectome": (
        {"time_factors", "animal_factors", "pair_factors", "communities", "bin_times"}, set(),
        ["n_animals=2", "n_neurons=16", "n_samples=400", "n_motifs=2", "motif_size=5"],
        ["rank=2", "restarts=2", "max_rank=3", "iterations=50"],
    ),
    "bicluster": (
        {"neuron_clusters", "state_sequence", "neuron_coclustering", "loglik_trace", "bin_times"}, set(),
        ["n_neurons=9", "n_bins=120"],
        ["iterations=30", "burn_in=10", "chains=1"],
    ),
    "hmmglm": (
        {"states", "state_posterior", "weights", "connection_type", "transition", "bin_times"},
        {"train_bits_per_spike", "test_bits_per_spike"},
        ["n_neurons=5", "n_sequences=6", "sequence_bins=200", "n_states=2"],
        ["n_states=2", "epochs=2", "restarts=1", "warmup_epochs=1"],
    ),
    "neuroformer": (
        {"train_loss", "val_loss", "attention_connectivity"},
        {"val_token_accuracy", "test_token_bits_per_spike", "psth_pearson_r"},
        ["n_neurons=8", "duration_s=60"],
        ["preset=tiny", "steps=5"],
    ),
}


def _available(name: str):
    try:
        return get_analysis(name)
    except UserError as exc:
        pytest.skip(str(exc))


def _settings(module, cls_name: str, items: list[str]) -> list[str]:
    """Keep only the settings the module's parameter class declares (simulators differ)."""
    known = {s["name"] for s in getattr(module, cls_name).spec()}
    out = []
    for item in items:
        if item.split("=", 1)[0] in known:
            out += ["--set", item]
    return out


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_simulate_run_contract(name, tmp_path):
    module = _available(name)
    arrays_needed, metrics_needed, sim_set, run_set = CONTRACT[name]
    sim = tmp_path / "sim.nwb"
    assert main(["simulate", name, "--out", str(sim), "--seed", "1", *_settings(module, "SimParams", sim_set)]) == 0
    outs = []
    for k in range(2):
        out = tmp_path / f"res{k}"
        assert main(["run", name, str(sim), "--out", str(out), "--seed", "5", *_settings(module, "Params", run_set)]) == 0
        outs.append(out)
    manifest = json.loads((outs[0] / "result.json").read_text())
    for key in ("analysis", "neurotools_version", "params", "seed", "inputs", "runtime_s", "device", "metrics", "arrays"):
        assert key in manifest
    assert manifest["analysis"] == name and manifest["seed"] == 5
    assert manifest["inputs"][0]["name"] == "sim.nwb" and len(manifest["inputs"][0]["sha256"]) == 64
    assert arrays_needed <= set(manifest["arrays"]), arrays_needed - set(manifest["arrays"])
    assert metrics_needed <= set(manifest["metrics"]), metrics_needed - set(manifest["metrics"])
    with np.load(outs[0] / "arrays.npz") as a, np.load(outs[1] / "arrays.npz") as b:
        assert set(a.files) == set(manifest["arrays"])
        for key in a.files:
            assert list(a[key].shape) == manifest["arrays"][key]
            nan_ok = a[key].dtype.kind in "fc"
            assert np.array_equal(a[key], b[key], equal_nan=nan_ok), f"{key} differs between runs with the same seed"


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_bad_parameter_is_one_error_line(name, tmp_path, capsys, nwb_dir):
    _available(name)
    out = tmp_path / "res"
    rc = main(["run", name, str(nwb_dir / "pynapple_A8604-211122.nwb"), "--out", str(out), "--set", "bin_size=-1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and "bin_size" in err[0]
    assert not out.exists()
