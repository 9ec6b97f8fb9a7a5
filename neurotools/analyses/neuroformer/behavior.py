"""Few-shot behaviour decoding: a regression head on the window representation.

The same recipe is run from the pretrained weights and from a fresh initialisation of the same
architecture, so the R^2 difference measures what pretraining brings. The recipe (LP-FT: linear
probe, then fine-tuning) sees only the labelled windows, split in time into a fitting part and a
held-out part (the last 20%):

1. **Probe**: a linear head on the frozen backbone's window representation, fitted in closed form
   (ridge regression), its penalty chosen on the held-out part, then refitted on every labelled
   window.
2. **Fine-tuning** (``backbone_lr_scale > 0``): from the probe fitted on the fitting part, the head
   at the full learning rate and the backbone at ``backbone_lr_scale`` times it (AdamW, MSE), and
   the step with the lowest held-out error is kept (step 0, the probe itself, included).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from neurotools.analyses.neuroformer.data import TokenData
from neurotools.analyses.neuroformer.model import Neuroformer
from neurotools.analyses.neuroformer.training import autocast

#: Ridge penalties tried for the linear probe (relative to the mean feature variance x samples).
RIDGE_PENALTIES = 10.0 ** np.arange(-4.0, 3.5, 0.5)


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


def early_stopping_split(n: int, fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Indices of time-sorted labelled windows: (fitting part, held-out part = the last ``fraction``).

    At least one window is held out and at least one is fitted when ``n >= 2``.
    """
    n_val = min(max(1, int(round(fraction * n))), max(0, n - 1))
    return np.arange(n - n_val), np.arange(n - n_val, n)


def ridge_fit(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression with an unpenalised intercept.

    Parameters
    ----------
    x : ndarray, shape (W, F)
    y : ndarray, shape (W, D)
    penalty : float
        Penalty relative to ``W`` x the mean feature variance (scale-free).

    Returns
    -------
    weights : ndarray, shape (F, D)
    bias : ndarray, shape (D,)
    """
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    gram = xc.T @ xc
    lam = penalty * max(float(np.trace(gram)) / x.shape[1], 1e-12)
    w = np.linalg.solve(gram + lam * np.eye(x.shape[1]), xc.T @ (y - my))
    return w, my - mx @ w


def ridge_probe(x_fit: np.ndarray, y_fit: np.ndarray, x_held: np.ndarray, y_held: np.ndarray
                ) -> tuple[float, float]:
    """The ridge penalty with the lowest held-out MSE, and that MSE."""
    best = (np.inf, float(RIDGE_PENALTIES[0]))
    for pen in RIDGE_PENALTIES:
        w, b = ridge_fit(x_fit, y_fit, float(pen))
        mse = float(np.mean((x_held @ w + b - y_held) ** 2))
        if mse < best[0]:
            best = (mse, float(pen))
    return best[1], best[0]


class _Regressor(nn.Module):
    def __init__(self, backbone: Neuroformer, out_dim: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(3 * backbone.cfg.d_model, out_dim)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.backbone.represent(batch).float())


def represent(model: Neuroformer, data: TokenData, starts: np.ndarray, device: torch.device,
              batch_size: int = 128) -> np.ndarray:
    """Window representations of a (frozen) model, shape (W, 3d), in the order of ``starts``."""
    model.eval()
    out = []
    win = data.windows(starts)
    with torch.no_grad():
        for i in range(0, len(starts), batch_size):
            sel = np.arange(i, min(i + batch_size, len(starts)))
            with autocast(device):
                out.append(model.represent(data.batch(win.subset(sel), device, truncate=False)).float().cpu().numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 3 * model.cfg.d_model))


def _predict(model: _Regressor, data: TokenData, starts: np.ndarray, device: torch.device) -> np.ndarray:
    model.eval()
    out = []
    win = data.windows(starts)
    with torch.no_grad():
        for i in range(0, len(starts), 128):
            sel = np.arange(i, min(i + 128, len(starts)))
            with autocast(device):
                out.append(model(data.batch(win.subset(sel), device, truncate=False)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.head.out_features))


def fine_tune(backbone: Neuroformer, data: TokenData, label_starts: np.ndarray,
              label_y: np.ndarray, eval_starts: np.ndarray, steps: int, lr: float,
              device: torch.device, seed: int, batch_size: int = 32,
              backbone_lr_scale: float = 0.1, eval_every: int = 10
              ) -> dict[str, np.ndarray | float | int]:
    """Linear probe, then fine-tuning, on labelled windows; predictions for other windows.

    Parameters
    ----------
    backbone : Neuroformer
        Copied, never modified.
    data : TokenData
    label_starts : ndarray of int, shape (W_l,)
        Labelled windows, sorted in time (the last 20% are held out for model selection).
    label_y : ndarray, shape (W_l, D)
        Standardised targets of the labelled windows.
    eval_starts : ndarray of int, shape (W_e,)
        Windows to predict.
    steps : int
        Most fine-tuning steps after the probe (0: the probe only).
    lr : float
        AdamW learning rate of the head (warmup over 10% of the steps); the backbone's is
        ``backbone_lr_scale * lr``.
    device : torch.device
    seed : int
        Seed of the batch draws.
    batch_size : int
        Labelled windows per step.
    backbone_lr_scale : float
        Backbone learning rate relative to the head's (0: the probe only).
    eval_every : int
        Steps between held-out evaluations.

    Returns
    -------
    dict
        ``probe`` and ``pred`` [W_e, D]: predictions (standardised units) of the probe and of the
        fine-tuned model (equal when not fine-tuned); ``penalty`` (the probe's ridge penalty);
        ``best_step`` (the kept fine-tuning step, 0 = the probe); ``held_mse`` (its held-out MSE).
    """
    fit, held = early_stopping_split(len(label_starts))
    x_lab = represent(backbone, data, label_starts, device)
    x_eval = represent(backbone, data, eval_starts, device)
    pen, held_mse = ridge_probe(x_lab[fit], label_y[fit], x_lab[held], label_y[held])
    w, b = ridge_fit(x_lab, label_y, pen)
    probe = x_eval @ w + b
    out: dict = {"probe": probe, "pred": probe, "penalty": pen, "best_step": 0, "held_mse": held_mse}
    if steps <= 0 or backbone_lr_scale <= 0 or len(fit) < 2:
        return out

    torch.manual_seed(seed)
    d = label_y.shape[1]
    model = _Regressor(copy.deepcopy(backbone), d).to(device)
    w, b = ridge_fit(x_lab[fit], label_y[fit], pen)  # start from the probe of the fitting part
    with torch.no_grad():
        model.head.weight.copy_(torch.as_tensor(w.T, dtype=torch.float32))
        model.head.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    opt = torch.optim.AdamW([{"params": list(model.head.parameters()), "scale": 1.0},
                             {"params": list(model.backbone.parameters()), "scale": backbone_lr_scale}],
                            lr=lr, weight_decay=0.01)
    rng = np.random.default_rng([seed, 101])
    win = data.windows(label_starts[fit])
    target = torch.as_tensor(label_y[fit], dtype=torch.float32, device=device)
    best = (held_mse, 0, copy.deepcopy(model.state_dict()))
    warm = max(1, steps // 10)
    for step in range(steps):
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr * g["scale"] * min(1.0, (step + 1) / warm)
        sel = rng.choice(len(fit), size=min(batch_size, len(fit)), replace=False)
        with autocast(device):
            pred = model(data.batch(win.subset(sel), device))
        loss = ((pred - target[sel]) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            mse = float(np.mean((_predict(model, data, label_starts[held], device) - label_y[held]) ** 2))
            if mse < best[0]:
                best = (mse, step + 1, copy.deepcopy(model.state_dict()))
    if best[1] > 0:
        model.load_state_dict(best[2])
        out["pred"] = _predict(model, data, eval_starts, device)
    out["best_step"], out["held_mse"] = best[1], best[0]
    return out
