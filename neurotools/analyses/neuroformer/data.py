"""From binned counts to tokenized windows: session concatenation and a leak-free split.

Sessions are laid end to end on one step axis with a silent gap of ``n_past + n_dt`` steps between
them, so a window never straddles two sessions. Windows are contiguous, non-overlapping current
windows; the split into train / validation / test is contiguous in time (in that order within every
session) with a gap of at least ``n_past + n_dt`` steps between parts, so no validation or test
window sees training spikes in its past.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from neurotools.analyses.neuroformer.tokenizer import (
    TokenStream,
    Windows,
    collate,
    make_windows,
    tokenize_counts,
)


@dataclass
class TokenData:
    """Everything a model needs from the data, on the token clock.

    Attributes
    ----------
    counts : ndarray of int64, shape (T, N)
        Spike counts per step (sessions concatenated, zero gaps between them).
    stream : TokenStream
        The tokens of ``counts``.
    mods : list of ndarray, each (T, F)
        Context modality features per step (float32).
    mod_names : list of str
        Name of each modality.
    n_dt, n_past : int
        Current and past window lengths in steps.
    step_s : float
        Step width in seconds.
    step_times : ndarray, shape (T,)
        Step centres in seconds on each session's clock (NaN in gaps).
    session : ndarray of int64, shape (T,)
        Session of each step (-1 in gaps).
    """

    counts: np.ndarray
    stream: TokenStream
    mods: list[np.ndarray]
    mod_names: list[str]
    n_dt: int
    n_past: int
    step_s: float
    step_times: np.ndarray
    session: np.ndarray
    max_len: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.counts.shape[1])

    def windows(self, starts: np.ndarray) -> Windows:
        """Windows starting at ``starts`` (steps)."""
        return make_windows(self.stream, starts, self.n_dt, self.n_past)

    def batch(self, win: Windows, device: str | torch.device = "cpu", truncate: bool = True) -> dict:
        """Tensors of a padded batch (see :class:`~.tokenizer.Batch`), ``past_counts`` and ``mods``.

        ``truncate`` applies the training block size ``max_len`` (evaluation keeps every token).
        """
        b = collate(self.stream, win, self.max_len if truncate else None, max_past=0)
        idx = win.start[:, None] + np.arange(self.n_dt)[None, :]
        out = {k: torch.as_tensor(getattr(b, k), device=device)
               for k in ("inp_id", "inp_dt", "target", "prev")}
        pidx = win.start[:, None] + np.arange(-self.n_past, 0)[None, :]
        out["past_counts"] = torch.as_tensor(self.counts[pidx].astype(np.float32), device=device)
        out["mods"] = [torch.as_tensor(m[idx], device=device) for m in self.mods]
        out["n_spikes"] = b.n_spikes
        out["truncated"] = b.truncated
        return out


def concat_sessions(counts_list: list[np.ndarray], times_list: list[np.ndarray], gap: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Lay sessions end to end with ``gap`` empty steps between them.

    Returns
    -------
    counts : ndarray, shape (T, N)
    step_times : ndarray, shape (T,)
        NaN in the gaps.
    session : ndarray of int64, shape (T,)
        -1 in the gaps.
    valid_starts : list of ndarray
        Per session, the steps at which a window (with its full past) may start.
    """
    parts, times, sess, starts = [], [], [], []
    offset = 0
    n = counts_list[0].shape[1]
    for k, (c, t) in enumerate(zip(counts_list, times_list)):
        if k:
            parts.append(np.zeros((gap, n), dtype=np.int64))
            times.append(np.full(gap, np.nan))
            sess.append(np.full(gap, -1))
            offset += gap
        parts.append(np.asarray(c, dtype=np.int64))
        times.append(np.asarray(t, float))
        sess.append(np.full(len(c), k))
        starts.append((offset, offset + len(c)))
        offset += len(c)
    return np.concatenate(parts), np.concatenate(times), np.concatenate(sess), starts


def split_windows(lo: int, hi: int, n_dt: int, n_past: int, val_fraction: float,
                  test_fraction: float) -> dict[str, np.ndarray]:
    """Window starts of one session, split contiguously into train / val / test with gaps.

    Parameters
    ----------
    lo, hi : int
        The session's steps are ``[lo, hi)``.
    n_dt, n_past : int
        Window lengths in steps.
    val_fraction, test_fraction : float
        Fractions of the session's steps for validation and test.

    Returns
    -------
    dict with ``train``, ``val``, ``test``: ndarray of int64 window starts. Every window's past
    ``[s - n_past, s)`` and current ``[s, s + n_dt)`` lie inside the session, and the spans
    ``[s - n_past, s + n_dt)`` of different parts never overlap.
    """
    span = hi - lo
    cut_test = lo + int(round(span * (1 - test_fraction)))
    cut_val = lo + int(round(span * (1 - test_fraction - val_fraction)))

    def grid(a: int, b: int) -> np.ndarray:
        first = a + n_past
        count = max(0, (b - first) // n_dt)
        return first + n_dt * np.arange(count, dtype=np.int64)

    return {"train": grid(lo, cut_val), "val": grid(cut_val, cut_test), "test": grid(cut_test, hi)}


def build(counts_list: list[np.ndarray], times_list: list[np.ndarray], mods_list: list[list[np.ndarray]],
          mod_names: list[str], n_dt: int, n_past: int, step_s: float, val_fraction: float,
          test_fraction: float) -> tuple[TokenData, dict[str, np.ndarray]]:
    """Tokenize sessions and split their windows.

    Returns
    -------
    data : TokenData
    split : dict of str to ndarray
        ``train``, ``val``, ``test`` window starts (steps, on the concatenated axis).
    """
    gap = n_past + n_dt
    counts, times, session, ranges = concat_sessions(counts_list, times_list, gap)
    mods = []
    for m in range(len(mod_names)):
        cols = []
        for k, ml in enumerate(mods_list):
            if k:
                cols.append(np.zeros((gap, ml[m].shape[1]), np.float32))
            cols.append(np.asarray(ml[m], np.float32))
        mods.append(np.concatenate(cols))
    split: dict[str, list] = {"train": [], "val": [], "test": []}
    for lo, hi in ranges:
        for key, s in split_windows(lo, hi, n_dt, n_past, val_fraction, test_fraction).items():
            split[key].append(s)
    split_arr = {k: np.concatenate(v) for k, v in split.items()}
    data = TokenData(counts, tokenize_counts(counts), mods, list(mod_names), n_dt, n_past, step_s,
                     times, session)
    return data, split_arr


def block_size(data: TokenData, train_starts: np.ndarray) -> tuple[int, float, int]:
    """Training block size from the 99th percentile of spikes per window.

    Returns
    -------
    max_len : int
        Spike tokens kept per training window: ``ceil(1.25 * p99) + 1``.
    truncated_fraction : float
        Fraction of training windows with more spikes (cut in training only).
    p99 : int
        The 99th percentile of spikes per training window.
    """
    n = data.windows(train_starts).n_tokens
    if len(n) == 0:
        return 1, 0.0, 0
    p99 = int(np.ceil(np.percentile(n, 99)))
    max_len = int(np.ceil(1.25 * p99)) + 1
    return max_len, float(np.mean(n > max_len)), p99
