"""Validation of the neuroformer parameters (no fitting)."""

from __future__ import annotations

import pytest

from neurotools.analyses.neuroformer import Params, SimParams
from neurotools.errors import UserError


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"preset": "huge"}, "'preset' parameter of neuroformer must be one of"),
        ({"window_s": "0"}, r"'window_s' parameter of neuroformer must be a float in \(0, 2\] s"),
        ({"window_s": "0.055"}, "must be a multiple of the token time step"),
        ({"steps": "1.5"}, "'steps' parameter of neuroformer must be an integer"),
        ({"dt_bins": "0"}, "'dt_bins' parameter"),
        ({"top_p": "0"}, "'top_p' parameter"),
        ({"epochs": "3"}, "Unknown parameter 'epochs' for neuroformer"),
    ],
)
def test_bad_settings_are_user_errors(settings, match):
    with pytest.raises(UserError, match=match):
        Params.from_strings(settings)


def test_token_step_and_window_sizes():
    p = Params.from_strings({"window_s": "0.05", "past_s": "0.2"})
    assert (p.token_step(), p.n_dt(), p.n_past()) == (0.01, 5, 20)
    q = Params.from_strings({"window_s": "0.1", "dt_bins": "4", "past_s": "0.25"})
    assert (q.token_step(), q.n_dt(), q.n_past()) == (0.025, 4, 10)
    assert Params().learning_rate() == 3e-3 and Params(lr=1e-4).learning_rate() == 1e-4


def test_architecture_parameter_names_exist():
    names = set(Params().to_dict())
    assert {"preset", "window_s", "past_s", "dt_bins", "steps", "behavior", "source", "bin_size",
            "t_start", "t_stop", "units"} <= names


def test_simulation_blocks_must_fit():
    with pytest.raises(UserError, match="n_blocks"):
        SimParams(n_neurons=3, n_blocks=4)
