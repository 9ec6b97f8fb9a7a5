"""Parameter validation (no fitting)."""

import pytest

from neurotools.analyses.hmmglm import Params, SimParams
from neurotools.errors import UserError


def test_defaults_validate_and_cli_strings_parse():
    p = Params.from_strings({"n_states": "4", "prior": "gaussian", "link": "sigmoid",
                             "history_bins": "7", "epochs": "3", "restarts": "2",
                             "test_fraction": "0.3", "k_values": "1-3,5"})
    assert (p.n_states, p.prior, p.history_bins, p.test_fraction) == (4, "gaussian", 7, 0.3)
    assert p.k_list() == [1, 2, 3, 5]
    assert Params().k_list() == []


@pytest.mark.parametrize("key,value,match", [
    ("n_states", "0", "'n_states' parameter of hmmglm must be an integer in \\[1, 20\\]"),
    ("prior", "laplace", "'prior' parameter of hmmglm must be one of"),
    ("link", "exp", "'link'"),
    ("test_fraction", "0.95", "'test_fraction'"),
    ("history_bins", "2.5", "'history_bins'"),
    ("k_values", "0-3", "'k_values'"),
    ("k_values", "a,b", "'k_values'"),
    ("restart", "3", "Unknown parameter 'restart'"),
])
def test_bad_values_raise_one_clear_message(key, value, match):
    with pytest.raises(UserError, match=match):
        Params.from_strings({key: value})


def test_simulation_parameters_are_validated():
    with pytest.raises(UserError, match="self_transition"):
        SimParams(self_transition=1.5)
