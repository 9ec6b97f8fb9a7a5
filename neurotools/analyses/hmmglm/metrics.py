"""Scores against planted ground truth: states, weights and connection types."""

from __future__ import annotations

import numpy as np

from neurotools.analyses.hmmglm.matching import match_states


def balanced_accuracy(true: np.ndarray, pred: np.ndarray, classes=(-1, 0, 1)) -> float:
    """Mean over the classes present in ``true`` of the recall of that class."""
    true, pred = np.ravel(true), np.ravel(pred)
    recalls = [np.mean(pred[true == c] == c) for c in classes if np.any(true == c)]
    return float(np.mean(recalls)) if recalls else float("nan")


def detection_f1(true: np.ndarray, pred: np.ndarray) -> float:
    """F1 score of detecting a connection (type != 0), ignoring its sign."""
    t, p = np.ravel(true) != 0, np.ravel(pred) != 0
    tp = np.sum(t & p)
    if tp == 0:
        return 0.0
    precision, recall = tp / p.sum(), tp / t.sum()
    return float(2 * precision * recall / (precision + recall))


def truth_metrics(gt: dict, arrays: dict, threshold: float) -> dict:
    """Recovery scores of a fit on a simulated recording.

    Parameters
    ----------
    gt : dict
        Ground truth from :func:`neurotools.analyses.hmmglm.simulate.simulate`: ``states``,
        ``state_times`` (s), ``weights`` (K, N, N), ``types`` (K, N, N).
    arrays : dict
        The result arrays (``states``, ``bin_times``, ``is_test``, ``weights``,
        ``state_connection_type``).
    threshold : float
        Not used for one-hot types; kept for documentation of the other priors' types.

    Returns
    -------
    dict
        ``state_accuracy``, ``test_state_accuracy``, ``weight_rmse``, ``weight_pearson_r``,
        ``conn_type_balanced_accuracy``, ``conn_detection_f1`` (per-state types; states matched
        by the Hungarian algorithm on their overlap over all bins) and
        ``connectome_balanced_accuracy`` (``connection_type`` against the mode of the true
        prior).
    """
    times = np.asarray(gt["state_times"], float)
    true_states = np.asarray(gt["states"], np.int64)
    bt = arrays["bin_times"]
    pos = np.clip(np.searchsorted(times, bt), 1, len(times) - 1)
    pos = np.where(np.abs(times[pos - 1] - bt) < np.abs(times[pos] - bt), pos - 1, pos)
    near = np.abs(times[pos] - bt) < 1e-6 * max(1.0, float(np.max(np.abs(bt))))
    if not near.all():
        return {}
    zt = true_states[pos]
    z = arrays["states"]
    w_true = np.asarray(gt["weights"], float)
    k_true, k_fit = w_true.shape[0], arrays["weights"].shape[0]
    k = max(k_true, k_fit)
    perm, acc = match_states(zt, z, k)
    test = arrays["is_test"]
    _, test_acc = match_states(zt[test], z[test], k) if test.any() else (None, float("nan"))
    out = {"state_accuracy": acc, "test_state_accuracy": test_acc}
    pairs = [(i, perm[i]) for i in range(k_true) if perm[i] < k_fit]
    if pairs and w_true.shape[1:] == arrays["weights"].shape[1:]:
        wt = np.stack([w_true[i] for i, _ in pairs])
        wf = np.stack([arrays["weights"][j] for _, j in pairs])
        tt = np.stack([np.asarray(gt["types"])[i] for i, _ in pairs])
        tf = np.stack([arrays["state_connection_type"][j] for _, j in pairs])
        out["weight_rmse"] = float(np.sqrt(np.mean((wt - wf) ** 2)))
        out["weight_pearson_r"] = float(np.corrcoef(wt.ravel(), wf.ravel())[0, 1])
        out["conn_type_balanced_accuracy"] = balanced_accuracy(tt, tf)
        out["conn_detection_f1"] = detection_f1(tt, tf)
    if "prior" in gt and np.shape(gt["prior"])[:2] == arrays["connection_type"].shape:
        mode = np.asarray(gt["prior"]).argmax(-1) - 1
        out["connectome_balanced_accuracy"] = balanced_accuracy(mode, arrays["connection_type"])
    return out
