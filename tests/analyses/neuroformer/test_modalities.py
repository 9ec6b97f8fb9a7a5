"""Which behaviour series the neuroformer predicts (``behavior=auto`` and by name)."""

from __future__ import annotations

import numpy as np
import pytest

from neurotools.analyses.neuroformer import SimParams, simulate
from neurotools.analyses.neuroformer.modalities import find_behavior
from neurotools.data.recording import BehaviorSeries


@pytest.fixture
def recording():
    """A simulation whose first behaviour series is integer event codes (as the human 35-unit
    file's ``events``: codes 0-61), followed by the simulation's continuous ``speed``."""
    rec = simulate(SimParams(n_neurons=4, n_blocks=1, duration_s=5.0), seed=0)
    t = np.linspace(0.0, 5.0, 50)
    codes = np.random.default_rng(0).choice([0.0, 11.0, 30.0, 61.0], size=50)
    rec.behavior.insert(0, BehaviorSeries("behavior/events", codes, t, "timeseries", "NA"))
    return rec


def test_auto_skips_integer_codes_and_takes_the_first_quantity(recording):
    assert find_behavior(recording, "auto").name == "speed"


def test_event_codes_are_told_from_quantities(recording):
    from neurotools.analyses.neuroformer.modalities import is_coded

    assert is_coded(recording.behavior[0]) and not is_coded(recording.behavior[1])


def test_auto_takes_nothing_when_only_codes_are_left(recording):
    del recording.behavior[1]
    assert find_behavior(recording, "auto") is None


def test_a_coded_series_can_still_be_named(recording):
    assert find_behavior(recording, "events").name == "events"


def test_a_rounded_quantity_in_a_physical_unit_is_not_a_code(recording):
    """A position rounded to whole centimetres (5 levels) is predicted by ``auto``; the same
    values without a unit would be taken for codes."""
    from neurotools.analyses.neuroformer.modalities import is_coded

    t = np.linspace(0.0, 5.0, 50)
    rounded = np.round(np.linspace(0.0, 4.0, 50))
    recording.behavior[1:1] = [BehaviorSeries("behavior/position", rounded, t, "timeseries", "cm")]
    assert find_behavior(recording, "auto").name == "position"
    assert is_coded(BehaviorSeries("behavior/position", rounded, t, "timeseries", "n/a"))
