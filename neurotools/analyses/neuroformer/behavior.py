"""Few-shot behaviour decoding: a regression head on the window representation.

The same procedure (architecture, steps, learning rate, labelled windows) is run twice: from the
pretrained weights and from a fresh initialisation, so the R^2 difference measures what
pretraining brings.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from neurotools.analyses.neuroformer.data import TokenData
from neurotools.analyses.neuroformer.model import Neuroformer
from neurotools.analyses.neuroformer.training import autocast


def window_targets(values: np.ndarray, starts: np.ndarray, n_dt: int) -> np.ndarray:
    """Mean of a per-step behaviour [T, D] over each window's steps, shape (W, D)."""
    idx = np.asarray(starts)[:, None] + np.arange(n_dt)[None, :]
    return values[idx].mean(1)


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination averaged over output dimensions (y, pred: [W, D])."""
    ss_res = ((y - pred) ** 2).sum(0)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    ok = ss_tot > 0
    return float(np.mean(1 - ss_res[ok] / ss_tot[ok])) if ok.any() else float("nan")


class _Regressor(nn.Module):
    def __init__(self, backbone: Neuroformer, out_dim: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(2 * backbone.cfg.d_model, out_dim)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.backbone.represent(batch)).float()


def fine_tune(backbone: Neuroformer, data: TokenData, label_starts: np.ndarray,
              label_y: np.ndarray, eval_starts: np.ndarray, steps: int, lr: float,
              device: torch.device, seed: int, batch_size: int = 32) -> np.ndarray:
    """Train backbone + linear head on labelled windows (MSE) and predict other windows.

    Parameters
    ----------
    backbone : Neuroformer
        Copied, never modified.
    data : TokenData
    label_starts : ndarray of int, shape (W_l,)
        Labelled windows.
    label_y : ndarray, shape (W_l, D)
        Standardised targets of the labelled windows.
    eval_starts : ndarray of int, shape (W_e,)
        Windows to predict.
    steps : int
        Optimisation steps.
    lr : float
        AdamW learning rate (warmup over 10% of the steps).
    device : torch.device
    seed : int

    Returns
    -------
    ndarray, shape (W_e, D)
        Predictions (standardised units).
    """
    torch.manual_seed(seed)
    model = _Regressor(copy.deepcopy(backbone), label_y.shape[1]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = np.random.default_rng([seed, 101])
    win = data.windows(label_starts)
    target = torch.as_tensor(label_y, dtype=torch.float32, device=device)
    warm = max(1, steps // 10)
    model.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / warm)
        sel = rng.choice(len(label_starts), size=min(batch_size, len(label_starts)), replace=False)
        with autocast(device):
            pred = model(data.batch(win.subset(sel), device))
        loss = ((pred - target[sel]) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    out = []
    ewin = data.windows(eval_starts)
    with torch.no_grad():
        for i in range(0, len(eval_starts), 128):
            sel = np.arange(i, min(i + 128, len(eval_starts)))
            with autocast(device):
                out.append(model(data.batch(ewin.subset(sel), device, truncate=False)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, label_y.shape[1]))
