"""The analysis runs on the shared real spiking recordings (short chains)."""

import numpy as np
import pytest

from neurotools.analyses.biclustering import Params, run
from neurotools.data import read_nwb

HUMAN = "pynapple_sub-4_ses-4_ecephys+image.nwb"
MOUSE = "pynapple_A8604-211122.nwb"


@pytest.mark.parametrize("name, n_units, bin_size, span", [(HUMAN, 35, 1.0, 400.0),
                                                           (MOUSE, 3, 0.5, 200.0)])
def test_runs_on_real_recordings(nwb_dir, name, n_units, bin_size, span):
    rec = read_nwb(nwb_dir / name)
    lo, _ = rec.time_range()
    params = Params(bin_size=bin_size, t_start=lo, t_stop=lo + span, iterations=8, burn_in=3,
                    chains=1, max_states=4)
    res = run([rec], params, seed=0)
    T = int(np.floor(span / bin_size + 1e-9))
    assert res.arrays["neuron_clusters"].shape == (n_units,)
    assert res.arrays["state_sequence"].shape == (T,)
    assert res.arrays["bin_times"][0] == pytest.approx(lo + bin_size / 2)
    assert np.isfinite(res.arrays["loglik_trace"]).all()
    psm = res.arrays["neuron_coclustering"]
    assert np.allclose(psm, psm.T) and np.allclose(np.diag(psm), 1)
    assert res.inputs[0]["name"] == name and res.inputs[0]["source"] == "units"
    assert len(res.info["neuron_labels"]) == n_units
