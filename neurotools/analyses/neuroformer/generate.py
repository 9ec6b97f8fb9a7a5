"""Autoregressive generation with a KV cache, window by window, and PSTH comparisons.

Within a window, each new token costs one decoder step over the cached keys and values (the
memory's cross-attention keys are computed once per window). Across windows, the generated spikes
become the past of the next window, so a trial is generated from its real pre-trial past and its
stimulus alone.
"""

from __future__ import annotations

import numpy as np
import torch

from neurotools.analyses.neuroformer.data import TokenData
from neurotools.analyses.neuroformer.model import Neuroformer
from neurotools.data.binning import smooth


def _sample(logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sp, si = probs.sort(dim=-1, descending=True)
        keep = (sp.cumsum(-1) - sp) < top_p
        sp = sp * keep
        choice = torch.multinomial(sp / sp.sum(-1, keepdim=True), 1, generator=gen)
        return si.gather(-1, choice)[:, 0]
    return torch.multinomial(probs, 1, generator=gen)[:, 0]


@torch.no_grad()
def generate_window(model: Neuroformer, past_counts: torch.Tensor,
                    mods: list[torch.Tensor], max_tokens: int, temperature: float = 1.0,
                    top_p: float = 1.0, gen: torch.Generator | None = None) -> list[np.ndarray]:
    """Sample the spike tokens of one current window for each of B contexts.

    Parameters
    ----------
    model : Neuroformer
    past_counts : Tensor, shape (B, P, N)
        Population counts of the past steps.
    mods : list of Tensor, each (B, n_dt, F)
    max_tokens : int
        Cap on spike tokens per window (EOS is forced after it).
    temperature, top_p : float
        Sampling temperature and nucleus mass.
    gen : torch.Generator, optional

    Returns
    -------
    list of ndarray of int64
        Joint tokens (``dt * N + id``, sorted) of each window, without EOS.
    """
    cfg = model.cfg
    n, eos = cfg.n_neurons, cfg.vocab - 1
    b = past_counts.shape[0]
    dev = past_counts.device
    mem, mask = model.encode(past_counts, mods)
    kv = model.memory_kv(mem)
    caches: list[dict] = [{} for _ in model.decoder]
    inp_id = torch.full((b, 1), n, dtype=torch.long, device=dev)
    inp_dt = torch.full((b, 1), cfg.n_dt, dtype=torch.long, device=dev)
    prev = torch.zeros(b, dtype=torch.long, device=dev)
    done = torch.zeros(b, dtype=torch.bool, device=dev)
    out = torch.full((b, max_tokens), -1, dtype=torch.long, device=dev)
    for k in range(max_tokens):
        hidden, _ = model.decode(inp_id, inp_dt, kv, mask, caches)
        logits = model.logits(hidden[:, -1:], prev[:, None])[:, 0]
        tok = _sample(logits, temperature, top_p, gen)
        tok = torch.where(done, torch.full_like(tok, eos), tok)
        done = done | (tok == eos)
        out[:, k] = torch.where(done, -1, tok)
        if bool(done.all()):
            break
        prev = torch.where(done, prev, tok)
        safe = torch.where(done, torch.zeros_like(tok), tok)
        inp_id, inp_dt = (safe % n)[:, None], (safe // n)[:, None]
    return [row[row >= 0] for row in out.cpu().numpy()]


@torch.no_grad()
def generate_trials(model: Neuroformer, data: TokenData, trial_starts: np.ndarray, n_windows: int,
                    device: torch.device, temperature: float = 1.0, top_p: float = 1.0,
                    seed: int = 0, max_tokens: int | None = None) -> np.ndarray:
    """Generate spikes for trials from their real pre-trial past and their stimulus.

    Parameters
    ----------
    model : Neuroformer
    data : TokenData
    trial_starts : ndarray of int, shape (B,)
        First step of each trial (needs ``n_past`` real steps before it).
    n_windows : int
        Windows generated per trial (``n_windows * n_dt`` steps).
    device : torch.device
    temperature, top_p : float
    seed : int
    max_tokens : int, optional
        Cap on tokens per window (default: twice the largest window of the data, at least 8).

    Returns
    -------
    ndarray of int64, shape (B, n_windows * n_dt, N)
        Generated spike counts.
    """
    model.eval()
    n, n_dt, n_past = data.n_neurons, data.n_dt, data.n_past
    starts = np.asarray(trial_starts, dtype=np.int64)
    b = len(starts)
    if max_tokens is None:
        max_tokens = max(8, 2 * int(np.max(np.diff(np.searchsorted(
            data.stream.step, np.arange(0, data.counts.shape[0] + n_dt, n_dt))), initial=1)))
    buf = np.zeros((b, n_past + n_windows * n_dt, n), dtype=np.int64)
    if n_past:
        buf[:, :n_past] = data.counts[starts[:, None] + np.arange(-n_past, 0)[None, :]]
    gen = torch.Generator(device=device).manual_seed(int(seed))
    for w in range(n_windows):
        past = torch.as_tensor(buf[:, w * n_dt: w * n_dt + n_past].astype(np.float32), device=device)
        idx = starts[:, None] + w * n_dt + np.arange(n_dt)[None, :]
        mods = [torch.as_tensor(m[idx], device=device) for m in data.mods]
        toks = generate_window(model, past, mods, max_tokens, temperature, top_p, gen)
        for k, t in enumerate(toks):
            np.add.at(buf[k], (n_past + w * n_dt + t // n, t % n), 1)
    return buf[:, n_past:]


def psth_correlation(a: np.ndarray, b: np.ndarray, step_s: float, sigma_s: float) -> np.ndarray:
    """Per-neuron Pearson r between the trial-averaged, smoothed PSTHs of two trial sets.

    Parameters
    ----------
    a, b : ndarray, shape (trials, T, N)
        Spike counts.
    step_s, sigma_s : float
        Step width and Gaussian smoothing (s).

    Returns
    -------
    ndarray, shape (N,)
        NaN for neurons with a flat PSTH in either set.
    """
    pa = smooth(a.mean(0), step_s, sigma_s)
    pb = smooth(b.mean(0), step_s, sigma_s)
    pa, pb = pa - pa.mean(0), pb - pb.mean(0)
    den = np.sqrt((pa ** 2).sum(0) * (pb ** 2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (pa * pb).sum(0) / np.where(den > 0, den, 1.0), np.nan)


def split_half_reliability(real: np.ndarray, step_s: float, sigma_s: float, seed: int = 0) -> np.ndarray:
    """Per-neuron Pearson r between the PSTHs of two random halves of the trials, shape (N,)."""
    order = np.random.default_rng(seed).permutation(len(real))
    half = len(real) // 2
    return psth_correlation(real[order[:half]], real[order[half:2 * half]], step_s, sigma_s)
