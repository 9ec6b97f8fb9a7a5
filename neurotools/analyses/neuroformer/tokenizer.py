"""Spike tokens: vectorised, with no Python loop over windows.

A spike count matrix [T, N] (time steps x neurons) becomes one flat, time-sorted list of spike
tokens (step, neuron), a spike counted ``c`` times in a step giving ``c`` tokens. A "current" window
of ``n_dt`` steps starting at step ``s`` holds the tokens with step in ``[s, s + n_dt)``, ordered by
step then neuron; its "past" holds those in ``[s - n_past, s)``. Both are contiguous slices of the
flat list, so a window is two pairs of offsets, and a batch is gathered with one fancy index.

Target vocabulary (joint tokens): ``dt * N + neuron`` for a spike at offset ``dt`` from the window
start, and ``EOS = n_dt * N``. Joint tokens avoid the cost of two independent ID and dt heads, and
sorted order makes a window's token sequence a one-to-one code of its count array, so a sequence's
probability is the probability of the counts (comparable with Poisson models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TokenStream:
    """All spikes of a recording as tokens, sorted by (step, neuron).

    Attributes
    ----------
    step : ndarray of int64, shape (S,)
        Time step of each spike token.
    neuron : ndarray of int64, shape (S,)
        Neuron index of each token.
    n_neurons : int
        Number of neurons N.
    n_steps : int
        Number of time steps T.
    """

    step: np.ndarray
    neuron: np.ndarray
    n_neurons: int
    n_steps: int


def tokenize_counts(counts: np.ndarray) -> TokenStream:
    """Turn a count matrix into a sorted token stream.

    Parameters
    ----------
    counts : ndarray of int, shape (T, N)
        Spikes per time step and neuron.

    Returns
    -------
    TokenStream
    """
    counts = np.asarray(counts)
    t, n = np.nonzero(counts)  # C order: sorted by step, then neuron
    c = counts[t, n].astype(np.int64)
    return TokenStream(np.repeat(t, c).astype(np.int64), np.repeat(n, c).astype(np.int64),
                       int(counts.shape[1]), int(counts.shape[0]))


@dataclass
class Windows:
    """Current and past windows over a token stream, as offsets into it.

    Attributes
    ----------
    start : ndarray of int64, shape (W,)
        First time step of each current window.
    cur_lo, cur_hi : ndarray of int64, shape (W,)
        Token range of each current window in the stream.
    past_lo, past_hi : ndarray of int64, shape (W,)
        Token range of each past window.
    n_dt, n_past : int
        Steps per current window and per past window.
    """

    start: np.ndarray
    cur_lo: np.ndarray
    cur_hi: np.ndarray
    past_lo: np.ndarray
    past_hi: np.ndarray
    n_dt: int
    n_past: int

    def __len__(self) -> int:
        return int(len(self.start))

    @property
    def n_tokens(self) -> np.ndarray:
        """Spike tokens per current window, shape (W,)."""
        return self.cur_hi - self.cur_lo

    def subset(self, idx: np.ndarray) -> Windows:
        """The windows at ``idx``."""
        return Windows(self.start[idx], self.cur_lo[idx], self.cur_hi[idx], self.past_lo[idx],
                       self.past_hi[idx], self.n_dt, self.n_past)


def make_windows(stream: TokenStream, starts: np.ndarray, n_dt: int, n_past: int) -> Windows:
    """Locate current and past windows starting at the given steps.

    Parameters
    ----------
    stream : TokenStream
    starts : ndarray of int, shape (W,)
        First step of each current window (need ``start >= n_past``).
    n_dt, n_past : int
        Window lengths in steps.
    """
    starts = np.asarray(starts, dtype=np.int64)
    s = stream.step
    return Windows(
        starts,
        np.searchsorted(s, starts, "left"),
        np.searchsorted(s, starts + n_dt, "left"),
        np.searchsorted(s, starts - n_past, "left"),
        np.searchsorted(s, starts, "left"),
        int(n_dt),
        int(n_past),
    )


@dataclass
class Batch:
    """A padded batch (padding only to the longest window of the batch).

    Attributes
    ----------
    inp_id, inp_dt : ndarray of int64, shape (B, L)
        Decoder inputs: SOS (id N, dt n_dt) then the spike tokens; padding repeats SOS.
    target : ndarray of int64, shape (B, L)
        Joint target token per position (``dt * N + id``, EOS = ``n_dt * N``), -1 at padding.
    prev : ndarray of int64, shape (B, L)
        Joint index of the previous token (0 after SOS): targets are never below it.
    past_id, past_t : ndarray of int64, shape (B, P)
        Past spike tokens (neuron, steps before the window start, 1..n_past); -1 at padding.
    n_spikes : ndarray of int64, shape (B,)
        Spike tokens per window (before any truncation).
    truncated : ndarray of bool, shape (B,)
        Windows cut to ``max_len`` tokens (their EOS is not a target).
    """

    inp_id: np.ndarray
    inp_dt: np.ndarray
    target: np.ndarray
    prev: np.ndarray
    past_id: np.ndarray
    past_t: np.ndarray
    n_spikes: np.ndarray
    truncated: np.ndarray


def _ragged(lo: np.ndarray, hi: np.ndarray, cap: int | None, keep_last: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices [B, L] into the stream for ranges [lo, hi), padded with -1, cut to ``cap``."""
    n = hi - lo
    if cap is not None:
        if keep_last:
            lo = np.maximum(lo, hi - cap)
        n = np.minimum(hi - lo, cap)
    width = int(n.max()) if len(n) else 0
    ar = np.arange(width)[None, :]
    valid = ar < n[:, None]
    idx = np.where(valid, lo[:, None] + ar, -1)
    return idx, valid


def collate(stream: TokenStream, win: Windows, max_len: int | None = None,
            max_past: int | None = None) -> Batch:
    """Gather a batch of windows into padded arrays.

    Parameters
    ----------
    stream : TokenStream
    win : Windows
        The windows of the batch.
    max_len : int or None
        Keep at most this many spike tokens per current window (the earliest); None keeps all.
    max_past : int or None
        Keep at most this many past tokens (the most recent); None keeps all.
    """
    n, n_dt = stream.n_neurons, win.n_dt
    idx, valid = _ragged(win.cur_lo, win.cur_hi, max_len, keep_last=False)
    b, width = idx.shape
    safe = np.where(valid, idx, 0)
    ids = np.where(valid, stream.neuron[safe], n)
    dts = np.where(valid, stream.step[safe] - win.start[:, None], n_dt)
    joint = np.where(valid, dts * n + ids, -1)
    n_sp = win.cur_hi - win.cur_lo
    truncated = n_sp > valid.sum(1)
    eos = n_dt * n
    lens = valid.sum(1)
    target = np.full((b, width + 1), -1, dtype=np.int64)
    target[:, :width] = joint
    target[np.arange(b), lens] = np.where(truncated, -1, eos)
    inp_id = np.full((b, width + 1), n, dtype=np.int64)
    inp_dt = np.full((b, width + 1), n_dt, dtype=np.int64)
    inp_id[:, 1:] = ids
    inp_dt[:, 1:] = dts
    prev = np.zeros((b, width + 1), dtype=np.int64)
    prev[:, 1:] = np.where(valid, joint, 0)
    pidx, pvalid = _ragged(win.past_lo, win.past_hi, max_past, keep_last=True)
    psafe = np.where(pvalid, pidx, 0)
    past_id = np.where(pvalid, stream.neuron[psafe], -1)
    past_t = np.where(pvalid, win.start[:, None] - stream.step[psafe], -1)
    return Batch(inp_id, inp_dt, target, prev, past_id, past_t, n_sp, truncated)
