"""Real recordings: pretrain and generate on the 35-unit human file; clear errors elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from neurotools.analyses.neuroformer import Params, run
from neurotools.data import read_nwb
from neurotools.data.binning import neural_matrix
from neurotools.errors import UserError

HUMAN = "pynapple_sub-4_ses-4_ecephys+image.nwb"


@pytest.fixture(scope="module")
def human(nwb_dir):
    return read_nwb(nwb_dir / HUMAN)


@pytest.fixture(scope="module")
def human_result(human):
    params = Params(steps=30, finetune_steps=10, finetune_repeats=1, behavior="events",
                    checkpoint_every=15, t_start=1900.0)  # the last third: time-discrimination trials
    return run([human], params, seed=0)


def test_pretrains_and_generates_on_the_human_recording(human, human_result):
    r = human_result
    assert r.inputs[0]["name"] == HUMAN and r.inputs[0]["source"] == "units"
    assert r.arrays["attention_connectivity"].shape == (35, 35)
    assert r.arrays["train_loss"][-5:].mean() < r.arrays["train_loss"][:5].mean()
    assert np.isfinite(r.metrics["test_token_bits_per_spike"])
    # Exactly the spikes of the test windows: recount them from the spike times.
    nm = neural_matrix(human, "units", 0.01, t_start=1900.0)
    starts = np.round((r.arrays["bin_times"] - nm.bin_times[0]) / 0.01 - 2).astype(int)
    expected = sum(int(nm.values[s:s + 5].sum()) for s in starts)
    assert r.metrics["test_spikes"] == expected
    # Generation: the trials come from an interval table of the file, all in the test range.
    assert r.info["psth_alignment"] == "timediscrimination_table"
    assert r.metrics["n_generated_trials"] >= 20
    gen, real = r.arrays["generated_counts"], r.arrays["real_counts"]
    assert gen.shape == real.shape and gen.shape[2] == 35 and gen.sum() > 0
    assert np.isfinite(r.metrics["psth_pearson_r"])


def test_fine_tunes_to_a_behaviour_variable_of_the_file(human_result):
    r = human_result
    assert r.info["behavior"] == "events"
    assert r.arrays["behavior_pred"].shape == r.arrays["bin_times"].shape
    assert np.isfinite(r.metrics["behavior_r2"]) and np.isfinite(r.metrics["behavior_r2_scratch"])


@pytest.mark.parametrize(
    "name, match",
    [
        ("osb_KatoEtAl2018.WT_Stim.0.nwb", "no usable neural data"),
        ("converted_triplett2018_zf_20170215-f3.nwb", "neuroformer models spike trains"),
    ],
)
def test_files_without_spikes_are_user_errors(nwb_dir, name, match):
    with pytest.raises(UserError, match=match):
        run([read_nwb(nwb_dir / name)], Params(steps=2))
