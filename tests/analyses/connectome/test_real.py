"""Real recordings: the C. elegans whole-brain file and the zebrafish tectum file."""

import numpy as np
import pytest

from neurotools.analyses.connectome import Params, run
from neurotools.analyses.connectome.communities import pairs_to_matrix

CELEGANS = "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb"
ZEBRAFISH = "converted_triplett2018_zf_20170215-f3.nwb"


@pytest.fixture(scope="module")
def celegans(nwb_dir):
    from neurotools.data import read_nwb

    return read_nwb(nwb_dir / CELEGANS)


def test_celegans_runs_with_exact_shapes(celegans):
    res = run([celegans], Params(rank=3, restarts=2, iterations=150), seed=0)
    a = res.arrays
    assert res.inputs[0]["source"] == "acquisition"
    # 57 neurons -> 1596 pairs; 3378 frames at 6.024 Hz in bins of round(1 s * 6.024) = 6 frames
    assert a["pair_factors"].shape == (3, 1596)
    assert a["time_factors"].shape == (3, 3378 // 6)
    assert a["animal_factors"].shape == (3, 1)
    assert a["communities"].shape == (3, 57)
    ts = celegans.traces[0].timestamps
    np.testing.assert_allclose(a["bin_times"][0], ts[:6].mean())
    assert a["bin_times"][-1] <= ts[-1]
    assert np.all(np.isfinite(a["time_factors"])) and np.all(a["pair_factors"] >= 0)
    # the objective never increased and the fit explains part of the affinities
    assert np.all(np.diff(a["objective"]) <= 1e-9 * a["objective"][0])
    assert 0 < res.metrics["rel_error"] < 0.9
    # each component's core community holds pairs with above-average weight
    for r in range(3):
        G = pairs_to_matrix(a["pair_factors"][r], 57)
        core = a["communities"][r] == a["core_community"][r]
        assert core.sum() >= 2
        assert G[np.ix_(core, core)].mean() > G.mean()


def test_zebrafish_communities_against_the_files_assemblies(nwb_dir):
    from neurotools.data import read_nwb

    rec = read_nwb(nwb_dir / ZEBRAFISH)
    res = run([rec], Params(rank=4, restarts=1, iterations=100, window_s=8.0), seed=0)
    comm = res.arrays["communities"]
    assert comm.shape == (4, 75)
    assemblies = rec.traces[0].channel_table["assemblies"]
    ids = sorted({int(a) for row in assemblies for a in row})
    assert len(ids) == 4

    def best_jaccard(labels):
        out = []
        for a in ids:
            S = np.array([a in row for row in assemblies])
            out.append(max(
                (S & (labels[r] == c)).sum() / (S | (labels[r] == c)).sum()
                for r in range(labels.shape[0]) for c in np.unique(labels[r])
            ))
        return np.array(out)

    observed = best_jaccard(comm)
    rng = np.random.default_rng(0)
    null = np.array([best_jaccard(comm[:, rng.permutation(75)]).mean() for _ in range(50)])
    # reported agreement (see docs/analyses/connectome.md); must beat shuffled communities
    print(f"zebrafish best Jaccard per assembly {observed.round(2)}, mean {observed.mean():.2f}, "
          f"shuffled mean {null.mean():.2f} (95th pct {np.percentile(null, 95):.2f})")
    assert observed.mean() > np.percentile(null, 95)
