"""The token model: a proper distribution over count arrays; KV-cache decoding equals full decoding."""

from __future__ import annotations

import numpy as np
import torch

from neurotools.analyses.neuroformer.model import ModelConfig, Neuroformer
from neurotools.analyses.neuroformer.tokenizer import collate, make_windows, tokenize_counts


def _batch_of_counts(windows: list[np.ndarray], n_past: int, mods_dim: int = 0) -> dict:
    """One batch holding one window per count array [n_dt, N] (empty past)."""
    n_dt, n = windows[0].shape
    counts = np.concatenate([np.zeros((n_past, n), int)] + [np.vstack([w]) for w in windows])
    stream = tokenize_counts(counts)
    starts = n_past + n_dt * np.arange(len(windows))
    win = make_windows(stream, starts, n_dt, 0)
    b = collate(stream, win)
    out = {k: torch.as_tensor(getattr(b, k)) for k in ("inp_id", "inp_dt", "target", "prev")}
    out["past_counts"] = torch.zeros(len(windows), n_past, n)  # one shared (silent) context
    out["mods"] = [torch.zeros(len(windows), n_dt, mods_dim)] if mods_dim else []
    return out


def test_sequence_probabilities_sum_to_one_over_count_arrays():
    """Enumerate every count array of 2 neurons x 1 step up to 25 spikes each: total mass -> 1."""
    torch.manual_seed(0)
    model = Neuroformer(ModelConfig(n_neurons=2, n_dt=1, n_past=1, d_model=16, n_heads=2)).eval()
    k = 25
    windows = [np.array([[a, b]]) for a in range(k + 1) for b in range(k + 1)]
    with torch.no_grad():
        out = model(_batch_of_counts(windows, n_past=1))
    p = torch.exp(-out["nll"].sum(1).double())
    total = float(p.sum())
    assert 0.999 < total <= 1.0 + 1e-6, total  # float32 NLLs


def test_kv_cache_steps_reproduce_full_forward_logits():
    torch.manual_seed(1)
    model = Neuroformer(ModelConfig(n_neurons=5, n_dt=3, n_past=4, modality_dims=(3,), d_model=32,
                                    n_heads=4, n_layers=2)).eval()
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.4, (3, 5))
    batch = _batch_of_counts([counts], n_past=4, mods_dim=3)
    batch["mods"] = [torch.randn(1, 3, 3)]
    batch["past_counts"] = torch.as_tensor(rng.poisson(0.5, (1, 4, 5)), dtype=torch.float32)
    with torch.no_grad():
        mem, mask = model.encode(batch["past_counts"], batch["mods"])
        kv = model.memory_kv(mem)
        full, _ = model.decode(batch["inp_id"], batch["inp_dt"], kv, mask)
        caches = [{} for _ in model.decoder]
        steps = [model.decode(batch["inp_id"][:, i:i + 1], batch["inp_dt"][:, i:i + 1], kv, mask, caches)[0]
                 for i in range(batch["inp_id"].shape[1])]
    assert torch.allclose(full, torch.cat(steps, dim=1), atol=1e-5)


def test_targets_below_the_previous_token_are_impossible():
    torch.manual_seed(2)
    model = Neuroformer(ModelConfig(n_neurons=4, n_dt=2, n_past=2, d_model=16, n_heads=2)).eval()
    hidden = torch.randn(1, 3, 16)
    prev = torch.tensor([[0, 5, 8]])
    logits = model.logits(hidden, prev)
    assert torch.isinf(logits[0, 1, :5]).all() and torch.isfinite(logits[0, 1, 5:]).all()
    assert torch.isfinite(logits[0, 2, 8]) and torch.isinf(logits[0, 2, :8]).all()
