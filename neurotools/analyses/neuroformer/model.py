"""The multimodal causal decoder: past-spike and modality encoder, token decoder, KV-cache steps.

Shapes: B windows, L decoder positions (SOS + spike tokens), M memory tokens (one learned null
token, one token per past time step holding that step's population counts, then ``n_dt`` tokens
per modality), d the embedding width.
Attention uses :func:`torch.nn.functional.scaled_dot_product_attention` (fused kernels) except when
attention weights are asked for (connectivity).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    """Sizes of a :class:`Neuroformer`.

    Attributes
    ----------
    n_neurons : int
        Neurons N (token IDs 0..N-1).
    n_dt : int
        Time steps per current window (dt values 0..n_dt-1).
    n_past : int
        Time steps of the past window.
    modality_dims : tuple of int
        Feature count F of each context modality.
    d_model, n_heads, n_layers : int
        Width, heads, and blocks per stage (encoder and decoder).
    """

    n_neurons: int
    n_dt: int
    n_past: int
    modality_dims: tuple[int, ...] = ()
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 1

    @property
    def vocab(self) -> int:
        """Joint target vocabulary: ``n_dt * N`` spike tokens + EOS."""
        return self.n_dt * self.n_neurons + 1

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        d = asdict(self)
        d["modality_dims"] = list(self.modality_dims)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["modality_dims"] = tuple(d.get("modality_dims", ()))
        return cls(**d)


class _Attention(nn.Module):
    def __init__(self, d: int, h: int, cross: bool):
        super().__init__()
        self.h, self.dk, self.cross = h, d // h, cross
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.h, self.dk).transpose(1, 2)

    def keys(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(src).chunk(2, dim=-1)
        return self._split(k), self._split(v)

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None = None, causal: bool = False,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        q = self._split(self.q(x))
        weights = None
        if need_weights:
            s = q @ k.transpose(-1, -2) / math.sqrt(self.dk)
            if causal:
                lq, lk = s.shape[-2:]
                s = s.masked_fill(~torch.ones(lq, lk, dtype=torch.bool, device=s.device).tril(lk - lq), float("-inf"))
            if mask is not None:
                s = s.masked_fill(~mask, float("-inf"))
            weights = s.softmax(-1)
            y = weights @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None)
        b, _, n, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(b, n, -1)), weights


class _FF(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _EncoderBlock(nn.Module):
    def __init__(self, d: int, h: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att, self.ff = _Attention(d, h, cross=False), _FF(d)

    def forward(self, m: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        z = self.ln1(m)
        k, v = self.att.keys(z)
        m = m + self.att(z, k, v, mask=mask)[0]
        return m + self.ff(self.ln2(m))


class _DecoderBlock(nn.Module):
    def __init__(self, d: int, h: int):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_att, self.cross_att = _Attention(d, h, cross=False), _Attention(d, h, cross=True)
        self.ff = _FF(d)

    def forward(self, x: torch.Tensor, mem_kv: tuple[torch.Tensor, torch.Tensor], mem_mask: torch.Tensor | None,
                cache: dict | None = None, need_weights: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = self.ln1(x)
        k, v = self.self_att.keys(z)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
            x = x + self.self_att(z, k, v, causal=z.shape[1] > 1)[0]
            ws = None
        else:
            y, ws = self.self_att(z, k, v, causal=True, need_weights=need_weights)
            x = x + y
        y, w = self.cross_att(self.ln2(x), *mem_kv, mask=mem_mask, need_weights=need_weights)
        x = x + y
        return x + self.ff(self.ln3(x)), (w, ws)


class Neuroformer(nn.Module):
    """GPT-style decoder over spike tokens with cross-attention to past spikes and modalities."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d, n = cfg.d_model, cfg.n_neurons
        self.id_emb = nn.Embedding(n + 1, d)  # + SOS
        self.dt_emb = nn.Embedding(cfg.n_dt + 1, d)  # + SOS
        self.past_proj = nn.Linear(n, d)
        self.past_t_emb = nn.Embedding(cfg.n_past + 1, d)
        self.null = nn.Parameter(torch.zeros(1, 1, d))
        self.mod_proj = nn.ModuleList(nn.Linear(f, d) for f in cfg.modality_dims)
        self.mod_emb = nn.Embedding(max(1, len(cfg.modality_dims)), d)
        self.mod_step_emb = nn.Embedding(cfg.n_dt, d)
        self.encoder = nn.ModuleList(_EncoderBlock(d, cfg.n_heads) for _ in range(cfg.n_layers))
        self.decoder = nn.ModuleList(_DecoderBlock(d, cfg.n_heads) for _ in range(cfg.n_layers))
        self.ln_mem, self.ln_out = nn.LayerNorm(d), nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab)
        self.apply(self._init)
        # Past counts are sparse small integers: a larger projection makes them visible from the
        # first steps (with 0.02 the past is ignored for hundreds of steps; measured).
        nn.init.normal_(self.past_proj.weight, 0.0, 0.2)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    # -- memory ---------------------------------------------------------------------------------
    def encode(self, past_counts: torch.Tensor, mods: list[torch.Tensor]
               ) -> tuple[torch.Tensor, None]:
        """Encode the context.

        Parameters
        ----------
        past_counts : Tensor, shape (B, P, N)
            Population spike counts of the P past steps (oldest first).
        mods : list of Tensor, each (B, n_dt, F_m)
            Modality features at the window's steps.

        Returns
        -------
        memory : Tensor, shape (B, M, d)
        mask : None
            Every memory token is real, so attention runs without a mask (this keeps the fused
            flash kernels eligible); the slot is kept for padded memories.
        """
        b, p = past_counts.shape[:2]
        dev = past_counts.device
        # steps before the window: P, P-1, ..., 1 for the oldest to the newest past step
        steps_before = torch.arange(p, 0, -1, device=dev)
        parts = [self.null.expand(b, 1, -1),
                 self.past_proj(past_counts.to(self.null.dtype)) + self.past_t_emb(steps_before)[None]]
        step_emb = self.mod_step_emb.weight[None]
        for i, (proj, x) in enumerate(zip(self.mod_proj, mods)):
            parts.append(proj(x) + self.mod_emb.weight[i] + step_emb)
        mem = torch.cat(parts, dim=1)
        for blk in self.encoder:
            mem = blk(mem, None)
        return self.ln_mem(mem), None

    def memory_kv(self, mem: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Cross-attention keys and values of every decoder block (computed once per window)."""
        return [blk.cross_att.keys(mem) for blk in self.decoder]

    # -- decoder --------------------------------------------------------------------------------
    def decode(self, inp_id: torch.Tensor, inp_dt: torch.Tensor, mem_kv: list, mask: torch.Tensor | None,
               caches: list[dict] | None = None, need_weights: bool = False
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the decoder over input tokens (all at once, or new ones with KV caches).

        Returns
        -------
        hidden : Tensor, shape (B, L, d)
            Final hidden states (after the output LayerNorm).
        weights : list of (Tensor, Tensor)
            Per block (only when ``need_weights``): cross-attention weights (B, H, L, M) and
            self-attention weights (B, H, L, L).
        """
        x = self.id_emb(inp_id) + self.dt_emb(inp_dt)
        ws = []
        for i, blk in enumerate(self.decoder):
            x, w = blk(x, mem_kv[i], mask, None if caches is None else caches[i], need_weights)
            if need_weights:
                ws.append(w)
        return self.ln_out(x), ws

    def logits(self, hidden: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """Logits over the joint vocabulary with tokens below ``prev`` (not sorted) excluded.

        Parameters
        ----------
        hidden : Tensor, shape (B, L, d)
        prev : LongTensor, shape (B, L)
            Joint index of the previous token (0 after SOS).
        """
        z = self.head(hidden).float()
        allowed = torch.arange(z.shape[-1], device=z.device)[None, None, :] >= prev[..., None]
        return z.masked_fill(~allowed, float("-inf"))

    def forward(self, batch: dict[str, torch.Tensor], need_weights: bool = False) -> dict:
        """Token NLL (nats, summed), correct predictions and hidden states of a batch.

        ``batch`` holds tensors ``inp_id, inp_dt, target, prev`` (see
        :class:`neurotools.analyses.neuroformer.tokenizer.Batch`), ``past_counts`` (B, P, N) and
        ``mods`` (a list).
        """
        mem, mask = self.encode(batch["past_counts"], batch["mods"])
        hidden, ws = self.decode(batch["inp_id"], batch["inp_dt"], self.memory_kv(mem), mask,
                                 need_weights=need_weights)
        target = batch["target"]
        valid = target >= 0
        # The output layer runs on real targets only (padding never reaches it).
        logits = self.logits(hidden[valid][None], batch["prev"][valid][None])[0]
        tv = target[valid]
        nll = torch.zeros(target.shape, dtype=torch.float32, device=target.device)
        nll[valid] = F.cross_entropy(logits, tv, reduction="none")
        correct = torch.zeros(target.shape, dtype=torch.bool, device=target.device)
        correct[valid] = logits.argmax(-1) == tv
        return {"nll": nll, "valid": valid, "correct": correct, "hidden": hidden,
                "memory": mem, "mask": mask, "weights": ws}

    def represent(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """A window's representation for downstream heads, shape (B, 3d).

        Mean of the encoded null and past-step tokens; the decoder's hidden state at the start
        token (its summary of the context, from which the window's first-token distribution, and
        so every neuron's predicted rate, is read); and the mean of the decoder's hidden states
        over the window's positions.
        """
        out = self.forward(batch)
        v = out["valid"].float()
        h_mean = (out["hidden"] * v[..., None]).sum(1) / v.sum(1, keepdim=True).clamp(min=1)
        p = batch["past_counts"].shape[1]
        m_mean = out["memory"][:, :1 + p].mean(1)
        return torch.cat([m_mean, out["hidden"][:, 0], h_mean], dim=-1)
