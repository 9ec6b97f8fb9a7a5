"""Inferred states against a file's interval table (neurotools.compare.state_occupancy)."""

import numpy as np
import pytest

from neurotools.compare import OUTSIDE, state_occupancy
from neurotools.data.recording import IntervalTable
from neurotools.errors import UserError

# ten 0.1-s bins, centres 0.05 .. 0.95 s
TIMES = 0.05 + 0.1 * np.arange(10)
STATES = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 2])


def test_time_per_state_and_group_is_exact():
    tab = IntervalTable("trials", np.array([0.0, 0.3, 0.7]), np.array([0.3, 0.7, 0.9]),
                        {"kind": np.array(["a", "b", "a"])})
    occ = state_occupancy(TIMES, 0.1, STATES, tab, "kind")
    assert occ.groups == ["a", "b", OUTSIDE]
    assert occ.states.tolist() == [0, 1, 2]
    # a: bins 0-2 (state 0) and 7-8 (state 0); b: bins 3-6 (state 1); outside: bin 9 (state 2)
    np.testing.assert_allclose(occ.seconds, [[0.5, 0, 0], [0, 0.4, 0], [0, 0, 0.1]])
    np.testing.assert_allclose(occ.fraction.sum(1), 1)
    assert occ.n_intervals.tolist() == [2, 1, 0]


def test_without_a_column_all_intervals_form_one_group_and_overlaps_count_once():
    # the second interval overlaps the first: a bin inside both counts once
    tab = IntervalTable("epochs", np.array([0.0, 0.2]), np.array([0.5, 1.0]))
    occ = state_occupancy(TIMES, 0.1, STATES, tab)
    assert occ.groups == ["in epochs"]
    np.testing.assert_allclose(occ.seconds, [[0.5, 0.4, 0.1]])
    np.testing.assert_allclose(occ.fraction, [[0.5, 0.4, 0.1]])


def test_numeric_levels_sort_by_value():
    tab = IntervalTable("blocks", np.array([0.0, 0.5]), np.array([0.5, 1.0]),
                        {"level": np.array([10, 2])})
    assert state_occupancy(TIMES, 0.1, STATES, tab, "level").groups == ["2", "10"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(column="nope"), "has no column 'nope'"),
    (dict(table=IntervalTable("late", np.array([5.0]), np.array([6.0]))), "No interval of 'late'"),
    (dict(states=STATES[:5]), "must match"),
])
def test_bad_requests_are_user_errors(kwargs, match):
    args = dict(table=IntervalTable("trials", np.array([0.0]), np.array([1.0])), column=None,
                states=STATES)
    args.update(kwargs)
    with pytest.raises(UserError, match=match):
        state_occupancy(TIMES, 0.1, args["states"], args["table"], args["column"])


def test_human_recording_states_against_its_encoding_trials(nwb_dir):
    from neurotools.data import read_nwb

    rec = read_nwb(nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb")
    tab = rec.intervals["encoding_table"]
    assert tab.n_rows == 90
    times = 0.5 + np.arange(940)                       # 1-s bins over 0-940 s
    states = (times // 100).astype(int) % 3            # any labelling of the bins
    occ = state_occupancy(times, 1.0, states, tab, "stimCategory")
    assert occ.groups[:-1] == sorted(set(tab.columns["stimCategory"].astype(str)), key=int)
    assert occ.groups[-1] == OUTSIDE
    # every encoding trial lies in 1-940 s: the groups hold all 90 (30 per stimulus category),
    # and all 940 s are accounted for
    assert occ.n_intervals.tolist() == [30, 30, 30, 0]
    assert occ.seconds.sum() == pytest.approx(940.0)
    np.testing.assert_allclose(occ.fraction.sum(1), 1)
