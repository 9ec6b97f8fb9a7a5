"""The whole analysis on the simulated network: the spec's checks at CI size."""

from __future__ import annotations

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.analyses.neuroformer import Params, SimParams, run, simulate
from neurotools.errors import Cancelled, UserError


@pytest.fixture(scope="module")
def result(small_network):
    return run([small_network], Params(steps=400, finetune_steps=60, finetune_repeats=2), seed=0)


def test_required_arrays_and_metrics(result, tmp_path):
    a, m = result.arrays, result.metrics
    assert a["train_loss"].shape == (400,) and a["val_loss"].shape == (400,)
    assert a["attention_connectivity"].shape == (30, 30)
    for key in ("val_token_accuracy", "test_token_bits_per_spike", "psth_pearson_r", "behavior_r2"):
        assert np.isfinite(m[key]), key
    assert a["bin_times"].shape == a["test_nll_model"].shape == a["behavior_true"].shape
    assert np.all(np.diff(a["bin_times"]) > 0) and a["bin_times"][0] > 0.7 * 240
    back = Result.load(result.save(tmp_path / "r"))
    assert all(np.array_equal(back.arrays[k], v, equal_nan=True) for k, v in a.items())


def test_training_lowers_the_loss(result):
    a = result.arrays
    assert a["train_loss"][-20:].mean() < a["train_loss"][:20].mean() - 0.5
    assert a["val_eval_loss"][-1] < a["val_eval_loss"][0]


def test_token_likelihood_beats_rate_model_and_half_the_glm_gain(result):
    m = result.metrics
    assert m["test_token_bits_per_spike"] > 0.1
    assert m["test_glm_bits_per_spike"] > 0
    assert m["test_token_bits_per_spike"] >= 0.5 * m["test_glm_bits_per_spike"], m


def test_generated_psths_reach_the_split_half_reliability(result):
    m = result.metrics
    assert m["n_generated_trials"] >= 20
    assert m["psth_split_half_r"] > 0.5  # the drive makes PSTHs reliable
    assert m["psth_pearson_r"] >= 0.8 * m["psth_split_half_r"], m


def test_attention_connectivity_finds_the_true_edges(result):
    m = result.metrics
    assert m["attention_auroc"] >= 0.8, m
    assert m["attention_direction_accuracy"] >= 0.8
    assert m["xcov_auroc"] >= 0.9  # the baseline reported beside it


def test_few_shot_behaviour_decoding_from_ten_percent_of_labels(result):
    """Fine-tuning on 10% of the labels decodes the spec's behaviour (a filter of block 0's spikes).

    This behaviour is a linear function of the visible spike counts, which a fresh model learns as
    well from these labels; pretrained vs fresh is asserted in test_few_shot.py, on a behaviour
    that drives the network (see the docs).
    """
    m, a = result.metrics, result.arrays
    assert m["behavior_labelled_windows"] <= 0.1 * m["n_train_windows"] + 1
    assert m["behavior_r2"] > 0.4, m
    assert np.isfinite(m["behavior_r2_scratch"]) and np.isfinite(m["behavior_r2_probe_scratch"])
    assert m["behavior_r2_probe"] > 0.4
    assert len(a["behavior_r2_repeats"]) == 2
    r = np.corrcoef(a["behavior_true"], a["behavior_pred"])[0, 1]
    assert r > 0.6


def test_same_seed_same_result():
    rec = simulate(SimParams(n_neurons=12, n_blocks=2, duration_s=40.0), 2)
    p = Params(steps=8, finetune_steps=4, checkpoint_every=4)
    a, b = run([rec], p, seed=5), run([rec], p, seed=5)
    assert a.arrays.keys() == b.arrays.keys()
    for k in a.arrays:
        assert np.array_equal(a.arrays[k], b.arrays[k], equal_nan=True), k
    c = run([rec], p, seed=6)
    assert not np.array_equal(a.arrays["train_loss"], c.arrays["train_loss"])


def test_progress_is_reported_and_cancel_stops_training():
    rec = simulate(SimParams(n_neurons=12, n_blocks=2, duration_s=40.0), 2)
    seen = []

    def cancel_at_five(fraction, message):
        seen.append(message)
        if message.startswith("step 5/"):
            raise Cancelled()

    with pytest.raises(Cancelled):
        run([rec], Params(steps=50), progress=cancel_at_five)
    assert seen[-1].startswith("step 5/")


def test_trace_only_and_too_short_inputs_are_user_errors():
    rec = simulate(SimParams(n_neurons=6, n_blocks=2, duration_s=2.0), 0)
    with pytest.raises(UserError, match="too short"):
        run([rec], Params(steps=2))
    with pytest.raises(UserError, match="no behaviour series 'speedx'"):
        run([simulate(SimParams(n_neurons=6, n_blocks=2, duration_s=30.0), 0)],
            Params(steps=2, behavior="speedx"))
