"""Few-shot behaviour decoding: pretraining must beat the same recipe from a fresh start.

The spec's must-show at CI size: the hub network (60 neurons, 240 s) whose stimulus response gain
follows a slow latent, the behaviour (``SimParams.latent_target='drive'``); 400 tiny pretraining
steps; 10% of the training windows labelled. Both arms run the same recipe on the same labels
(closed-form linear probe, then fine-tuning with the backbone at 0.1x the head's rate, early
stopping on the last 20% of the labelled windows). The latent is not a linear function of the
window's spike counts, so only a representation that has learnt the population's state decodes it.
The full version (3 seeds, 120 neurons, both learning-rate settings) is
``bench/bench_neuroformer.py --few-shot``.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurotools.analyses.neuroformer import Params, SimParams, simulate
from neurotools.analyses.neuroformer.core import few_shot_behavior, pretrain
from neurotools.errors import UserError


@pytest.fixture(scope="module")
def comparison():
    rec = simulate(SimParams(n_neurons=60, duration_s=240.0, latent_gain=0.7,
                             latent_target="drive"), seed=0)
    params = Params(steps=400, finetune_steps=40, finetune_repeats=1)
    model, prep = pretrain([rec], params, seed=0)
    return few_shot_behavior(model, prep, params, seed=0)


def test_ten_percent_of_the_labels(comparison):
    m, _ = comparison
    assert m["behavior_labelled_windows"] == round(0.1 * m["n_train_windows"])


def test_pretrained_probe_and_fine_tuning_beat_the_fresh_start(comparison):
    m, a = comparison
    assert m["behavior_r2_probe"] > 0.3, m
    assert m["behavior_r2"] > 0.3, m
    assert m["behavior_r2_probe"] > m["behavior_r2_probe_scratch"] + 0.2, m
    assert m["behavior_r2"] > m["behavior_r2_scratch"] + 0.2, m
    r = np.corrcoef(a["behavior_true"], a["behavior_pred"])[0, 1]
    assert r > 0.55


def test_a_recording_without_behaviour_is_a_user_error():
    rec = simulate(SimParams(n_neurons=6, n_blocks=2, duration_s=30.0), 0)
    params = Params(steps=2, behavior="none")
    model, prep = pretrain([rec], params)
    with pytest.raises(UserError, match="behaviour"):
        few_shot_behavior(model, prep, params)
