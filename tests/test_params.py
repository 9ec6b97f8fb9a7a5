"""Declarative parameter validation: one message template, parsing from --set strings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from neurotools.errors import UserError
from neurotools.params import Params, param


@dataclass
class DemoParams(Params):
    analysis = "demo"
    n_states: int = param(3, help="states", low=1, high=20)
    rank: int | str = param("auto", help="rank", low=1, high=50, allow_auto=True)
    prior: str = param("onehot", help="prior", choices=("none", "gaussian", "onehot"))
    smooth_s: float = param(0.5, help="smoothing", low=0.0, high=10.0, unit="s")


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({"n_states": "4"}, {"n_states": 4}),
        ({"rank": "auto"}, {"rank": "auto"}),
        ({"rank": "7"}, {"rank": 7}),
        ({"t_start": "none", "t_stop": "10"}, {"t_start": None, "t_stop": 10.0}),
        ({"units": "0, 3,7"}, {"units": "0, 3,7"}),
    ],
)
def test_valid_settings_parse(settings, expected):
    p = DemoParams.from_strings(settings)
    for k, v in expected.items():
        assert getattr(p, k) == v


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"n_states": "0"}, r"The 'n_states' parameter of demo must be an integer in \[1, 20\]. Got 0 instead."),
        ({"n_states": "2.5"}, r"'n_states' parameter of demo must be an integer"),
        ({"bin_size": "-1"}, r"'bin_size' parameter of demo must be a float in \(0, 60\] s"),
        ({"smooth_s": "inf"}, r"'smooth_s' .* in \[0, 10\] s"),
        ({"prior": "flat"}, r"must be one of 'none', 'gaussian', 'onehot'. Got 'flat'"),
        ({"colour": "red"}, r"Unknown parameter 'colour' for demo"),
        ({"t_start": "5", "t_stop": "1"}, r"'t_stop' \(1.0 s\) must be later than 't_start'"),
        ({"units": "a,b"}, r"comma-separated neuron indices"),
        ({"units": "1,1"}, r"distinct non-negative"),
    ],
)
def test_bad_settings_raise_one_message(settings, message):
    with pytest.raises(UserError, match=message):
        DemoParams.from_strings(settings)


def test_round_trip_through_dict():
    p = DemoParams.from_strings({"n_states": "5", "rank": "3"})
    assert DemoParams.from_dict(p.to_dict()) == p
    assert p.unit_indices() is None
    assert {s["name"] for s in DemoParams.spec()} >= {"n_states", "rank", "source", "bin_size"}


def test_a_record_without_a_later_field_gets_the_value_it_was_computed_with():
    from neurotools.analyses.biclustering import Params as BiclusterParams

    old = {k: v for k, v in BiclusterParams(dynamics_prior_scale=30.0).to_dict().items()
           if k != "offset_prior_scale"}
    assert BiclusterParams.from_record(old).offset_prior_scale == 30.0
    # a full record, or settings typed by a user, keep their values and the defaults
    full = BiclusterParams(offset_prior_scale=500.0).to_dict()
    assert BiclusterParams.from_record(full).offset_prior_scale == 500.0
    assert BiclusterParams.from_dict({"dynamics_prior_scale": 30.0}).offset_prior_scale == 1000.0
