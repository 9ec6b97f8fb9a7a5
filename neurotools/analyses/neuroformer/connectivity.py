"""Directed connectivity from the decoder's attention, and scores against a known truth.

For every predicted spike of target neuron ``i``, the decoder's self-attention (averaged over
heads and blocks) from the position that predicts it to the earlier spike tokens of the window is
grouped by source neuron ``j`` and divided by how many tokens of ``j`` it could see; averaging over
``i``'s spikes gives ``C[i, j]``: how much attention one spike of ``j`` receives when ``i`` is about
to fire. (Cross-attention to the past window was measured too: on the spec's network it ranks edges
near chance, because the hub's effect is short and mostly inside the current window.)
"""

from __future__ import annotations

import numpy as np
import torch

from neurotools.analyses.neuroformer.data import TokenData
from neurotools.analyses.neuroformer.model import Neuroformer


@torch.no_grad()
def attention_connectivity(model: Neuroformer, data: TokenData, starts: np.ndarray,
                           device: torch.device, batch_size: int = 64) -> np.ndarray:
    """Attention-derived directed connectivity, row = target, column = source.

    Parameters
    ----------
    model : Neuroformer
    data : TokenData
    starts : ndarray of int
        Windows to average over (steps).
    device : torch.device

    Returns
    -------
    ndarray, shape (N, N)
        Mean attention per visible source token at the positions predicting each target's spikes
        (0 for targets that never fire in these windows).
    """
    model.eval()
    n = data.n_neurons
    acc = torch.zeros(n, n, dtype=torch.float64)
    cnt = torch.zeros(n, dtype=torch.float64)
    win = data.windows(starts)
    for i in range(0, len(starts), batch_size):
        batch = data.batch(win.subset(np.arange(i, min(i + batch_size, len(starts)))), device,
                           truncate=False)
        out = model(batch, need_weights=True)
        w = torch.stack([ws for _, ws in out["weights"]]).float().mean((0, 2))  # (B, L, L)
        inp = batch["inp_id"]
        onehot = torch.zeros(inp.shape[0], inp.shape[1], n, device=w.device)
        ok = inp < n  # spike tokens (not SOS / padding)
        onehot[ok.nonzero(as_tuple=True) + (inp[ok],)] = 1.0
        seen = torch.cumsum(onehot, 1).clamp(min=1.0)  # tokens of j visible at each position
        to_src = ((w @ onehot) / seen).reshape(-1, n).double().cpu()
        tgt = batch["target"].reshape(-1).cpu()
        spike = (tgt >= 0) & (tgt < data.n_dt * n)
        ids = tgt[spike] % n
        acc.index_add_(0, ids, to_src[spike])
        cnt.index_add_(0, ids, torch.ones(len(ids), dtype=torch.float64))
    return (acc / cnt.clamp(min=1)[:, None]).numpy()


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); NaN without both classes."""
    scores = np.asarray(scores, float).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(scores)
    return float((r[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def edge_scores(conn: np.ndarray, edges: np.ndarray) -> dict[str, float]:
    """AUROC over off-diagonal pairs and direction accuracy of a connectivity estimate.

    Parameters
    ----------
    conn : ndarray, shape (N, N)
        Estimated connectivity, row = target.
    edges : ndarray, shape (N, N)
        True directed edges (nonzero), row = target.

    Returns
    -------
    dict with ``auroc`` and ``direction_accuracy`` (fraction of one-way true edges scored higher
    than their reverse).
    """
    e = np.asarray(edges) != 0
    off = ~np.eye(len(e), dtype=bool)
    one_way = e & ~e.T
    direction = float(np.mean(conn[one_way] > conn.T[one_way])) if one_way.any() else float("nan")
    return {"auroc": auroc(conn[off], e[off]), "direction_accuracy": direction}
