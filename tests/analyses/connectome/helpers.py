"""Scoring a connectome result against the planted motifs (shared by the tests and the bench)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from neurotools.analyses.connectome.communities import adjusted_rand_index


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))


def motif_scores(arrays: dict, truth: dict, rate_hz: float) -> dict[str, np.ndarray]:
    """Match components to motifs one-to-one (Hungarian on ARI + time cosine).

    Returns per motif: ``ari`` of the component's core community vs. the motif's members,
    ``time_cos`` of the time factor vs. the motif's window indicator, ``animal_cos`` of the
    animal factor vs. the motif's animal indicator (0 where no component is left).
    """
    tf, af = arrays["time_factors"], arrays["animal_factors"]
    comm, core = arrays["communities"], arrays["core_community"]
    M = truth["motif_membership"].shape[0]
    R = tf.shape[0]
    # time indicator of each motif at the result's bins (times relative to the slice start)
    rel = arrays["bin_times"] - arrays["slice_starts"][0]
    t_grid = np.arange(truth["motif_time_indicator"].shape[1]) / rate_hz
    ti = np.array([np.interp(rel, t_grid, truth["motif_time_indicator"][m]) for m in range(M)])
    ari = np.zeros((M, R))
    tc = np.zeros((M, R))
    ac = np.zeros((M, R))
    for m in range(M):
        for r in range(R):
            ari[m, r] = adjusted_rand_index(truth["motif_membership"][m] > 0, comm[r] == core[r])
            tc[m, r] = _cos(tf[r], ti[m])
            ac[m, r] = _cos(af[r], truth["motif_animals"][m])
    rows, cols = linear_sum_assignment(-(ari + tc))
    out = {k: np.zeros(M) for k in ("ari", "time_cos", "animal_cos")}
    out["ari"][rows] = ari[rows, cols]
    out["time_cos"][rows] = tc[rows, cols]
    out["animal_cos"][rows] = ac[rows, cols]
    return out
