"""Pretraining (single process or DDP), evaluation, checkpoints and the ``metrics.jsonl`` log.

Batches are drawn by ``(seed, step)`` alone, so a resumed run replays exactly the batches an
uninterrupted run would have seen, and under DDP every rank takes its slice of the same global
batch. Batches are length-stratified (:func:`bucketed_batches`): a pool of ``bucket`` batches' worth
of windows is sorted by token count, and each step takes one chunk of every length stratum and runs
it as a micro-batch (gradient accumulation), so padding is small while every step still spans all
lengths. Each rank's loss is its token-NLL sum divided by the step's *global* target count (times
the world size, which DDP's gradient averaging divides out), so the gradients equal single-process
ones.
"""

from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from neurotools.analyses.base import Progress, null_progress
from neurotools.analyses.neuroformer.data import TokenData
from neurotools.analyses.neuroformer.model import ModelConfig, Neuroformer

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


@dataclass
class TrainConfig:
    """Optimisation settings.

    Attributes
    ----------
    steps : int
        Optimisation steps.
    batch_size : int
        Windows per global batch.
    lr : float
        Peak AdamW learning rate (linear warmup over ``warmup`` steps, cosine to 10%).
    warmup : int
        Warmup steps.
    weight_decay : float
        AdamW weight decay.
    contrastive : float
        Weight of the InfoNCE alignment loss (0 = off).
    eval_every : int
        Steps between validation evaluations and checkpoints.
    eval_windows : int
        Validation windows used per evaluation (a fixed subset).
    seed : int
        Seed of the initialisation and of the batch draws.
    bucket : int
        Steps per pool of length-bucketed batching: every ``bucket`` consecutive steps share one
        pool of ``bucket * batch_size`` training windows (the next stretch of seeded per-epoch
        permutations, so each window is seen once per epoch), sorted by token count.
    micro : int
        Length strata (and micro-batches per step): the sorted pool is cut into ``micro`` strata of
        ``bucket`` chunks each; a step takes one random chunk of every stratum and runs each as a
        micro-batch (gradient accumulation, one optimiser step), so every step still spans all
        window lengths while each micro-batch is padded only to similar lengths. ``bucket = micro
        = 1`` gives plain random batches. Forced to 1 when the contrastive loss is on (its negatives
        are the batch's windows).
    """

    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    warmup: int = 30
    weight_decay: float = 0.01
    contrastive: float = 0.0
    eval_every: int = 100
    eval_windows: int = 1024
    seed: int = 0
    bucket: int = 4
    micro: int = 4


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate at ``step`` (0-based): linear warmup, then cosine decay to 10% of the peak."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def batch_indices(step: int, n_windows: int, batch_size: int, seed: int) -> np.ndarray:
    """The global batch of ``step``: window indices drawn without replacement from ``(seed, step)``.

    Plain random batches (no length bucketing); training uses :func:`bucketed_batches`.
    """
    rng = np.random.default_rng([seed, step, 7919])
    return rng.choice(n_windows, size=min(batch_size, n_windows), replace=False)


def _epoch_order(epoch: int, n_windows: int, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 7919, 1]).permutation(n_windows)


def micro_sizes(batch_size: int, micro: int) -> list[int]:
    """Sizes of the ``micro`` micro-batches of a batch (differing by at most one, all >= 1)."""
    k = max(1, min(micro, batch_size))
    return [len(x) for x in np.array_split(np.arange(batch_size), k)]


def bucketed_batches(group: int, lengths: np.ndarray, batch_size: int, bucket: int, micro: int,
                     seed: int) -> list[list[np.ndarray]]:
    """The micro-batches of steps ``[group * bucket, (group + 1) * bucket)``.

    The windows are visited in seeded per-epoch permutations (every window once per epoch); step
    group ``g`` takes the next ``bucket * batch_size`` of that sequence as its pool and sorts it by
    ``lengths`` (stable: ties keep the random order). The sorted pool is cut into ``micro``
    consecutive strata, stratum ``s`` into ``bucket`` chunks of ``micro_sizes(...)[s]`` windows, and
    step ``j`` of the group gets a random chunk of every stratum (a random permutation per
    stratum). So each step's batch is a length-stratified random sample of the pool (each window of
    the pool in exactly one step) and each micro-batch holds windows of similar length. Depends on
    ``(seed, group)`` only.

    Returns
    -------
    list (one per step) of lists of ``micro`` ndarrays of window indices (a step's micro-batches).
    """
    n = len(lengths)
    b = min(batch_size, n)
    sizes = micro_sizes(b, micro)
    lo = group * bucket * b
    pos = lo + np.arange(bucket * b, dtype=np.int64)
    epochs = pos // n
    pool = np.empty(len(pos), dtype=np.int64)
    for e in np.unique(epochs):
        sel = epochs == e
        pool[sel] = _epoch_order(int(e), n, seed)[pos[sel] % n]
    pool = pool[np.argsort(lengths[pool], kind="stable")]
    rng = np.random.default_rng([seed, group, 7919, 2])
    steps: list[list[np.ndarray]] = [[] for _ in range(bucket)]
    at = 0
    for m in sizes:
        chunks = [pool[at + i * m: at + (i + 1) * m] for i in range(bucket)]
        at += bucket * m
        for j, c in enumerate(rng.permutation(bucket)):
            steps[j].append(chunks[c])
    return steps


def padding_fraction(batches: list[np.ndarray], n_tokens: np.ndarray, max_len: int | None) -> float:
    """Fraction of padded target slots of training batches (each padded to its longest window).

    ``n_tokens`` are the windows' spike counts; a batch has ``max(min(n, max_len)) + 1`` slots per
    window, of which :func:`target_counts` are real targets (what the model reports as ``valid``).
    """
    n = np.asarray(n_tokens, dtype=np.int64)
    cut = n if max_len is None else np.minimum(n, max_len)
    real = target_counts(n, max_len)
    tot = sum(int(real[x].sum()) for x in batches)
    slots = sum((int(cut[x].max()) + 1) * len(x) for x in batches)
    return 1.0 - tot / max(slots, 1)


def target_counts(n_tokens: np.ndarray, max_len: int | None) -> np.ndarray:
    """Target tokens of each training window: its spikes (cut to ``max_len``) plus EOS when not cut."""
    n = np.asarray(n_tokens, dtype=np.int64)
    if max_len is None:
        return n + 1
    return np.minimum(n, max_len) + (n <= max_len)


class BatchPlan:
    """Micro-batches of training steps by ``(seed, step)`` (see :func:`bucketed_batches`)."""

    def __init__(self, lengths: np.ndarray, batch_size: int, bucket: int, seed: int, micro: int = 1):
        self.lengths = np.asarray(lengths)
        self.batch_size, self.bucket, self.seed = batch_size, max(1, int(bucket)), seed
        self.micro = max(1, int(micro))
        self._group: int = -1
        self._steps: list = []

    def micro_batches(self, step: int) -> list[np.ndarray]:
        """The micro-batches (window indices) of ``step``."""
        g = step // self.bucket
        if g != self._group:
            self._group = g
            self._steps = bucketed_batches(g, self.lengths, self.batch_size, self.bucket,
                                           self.micro, self.seed)
        return self._steps[step % self.bucket]

    def __call__(self, step: int) -> np.ndarray:
        """All window indices of the global batch of ``step``."""
        return np.concatenate(self.micro_batches(step))


def autocast(device: torch.device):
    """bf16 autocast on CUDA, nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def contrastive_loss(out: dict, n_ctx: int, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE between the mean decoder state and the mean modality token of each window.

    ``n_ctx`` is the number of modality tokens at the end of the memory.
    """
    valid = out["valid"].float()
    z_neural = (out["hidden"] * valid[..., None]).sum(1) / valid.sum(1, keepdim=True).clamp(min=1)
    mem = out["memory"]
    z_ctx = mem[:, -n_ctx:, :].mean(1)
    a, b = F.normalize(z_neural.float(), dim=-1), F.normalize(z_ctx.float(), dim=-1)
    logits = a @ b.T / temperature
    labels = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


@torch.no_grad()
def evaluate(model: Neuroformer, data: TokenData, starts: np.ndarray, device: torch.device,
             batch_size: int = 64) -> dict[str, np.ndarray]:
    """Exact token NLL of windows (no truncation), batched by length to avoid padding.

    Returns
    -------
    dict with ``nll`` (nats per window, all tokens incl. EOS), ``n_targets`` and ``n_correct``
    (per window), in the order of ``starts``.
    """
    model.eval()
    win = data.windows(starts)
    order = np.argsort(win.n_tokens, kind="stable")
    nll = np.zeros(len(starts))
    n_t = np.zeros(len(starts), dtype=np.int64)
    n_c = np.zeros(len(starts), dtype=np.int64)
    for i in range(0, len(order), batch_size):
        sel = order[i:i + batch_size]
        batch = data.batch(win.subset(sel), device, truncate=False)
        with autocast(device):
            out = model(batch)
        nll[sel] = out["nll"].float().sum(1).cpu().numpy()
        n_t[sel] = out["valid"].sum(1).cpu().numpy()
        n_c[sel] = out["correct"].sum(1).cpu().numpy()
    return {"nll": nll, "n_targets": n_t, "n_correct": n_c}


def _is_dist() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def save_checkpoint(directory: Path, model: Neuroformer, opt: torch.optim.Optimizer, step: int,
                    train_cfg: TrainConfig, history: dict, extra: dict, resume_key: str = "") -> None:
    """Write ``checkpoint.pt`` atomically (model, optimiser, step, configs, loss history)."""
    directory.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
             "model_config": model.cfg.to_dict(), "train_config": asdict(train_cfg),
             "history": history, "extra": extra, "resume_key": resume_key}
    tmp = directory / (CHECKPOINT + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, directory / CHECKPOINT)


def load_checkpoint(directory: str | os.PathLike, map_location: str = "cpu") -> dict | None:
    """The checkpoint dict of a directory, or None when there is none."""
    path = Path(directory) / CHECKPOINT
    if not path.exists():
        return None
    return torch.load(path, map_location=map_location, weights_only=False)


def model_from_checkpoint(state: dict) -> Neuroformer:
    """Rebuild the model stored in a checkpoint (weights loaded, eval mode)."""
    model = Neuroformer(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(state["model"])
    return model.eval()


def read_metrics(directory: str | os.PathLike) -> list[dict]:
    """The records of a checkpoint directory's ``metrics.jsonl`` (a partial last line is skipped)."""
    path = Path(directory) / METRICS
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def train(model: Neuroformer, data: TokenData, train_starts: np.ndarray, val_starts: np.ndarray,
          cfg: TrainConfig, device: torch.device, progress: Progress | None = None,
          checkpoint_dir: str | os.PathLike | None = None, extra: dict | None = None,
          resume_key: str = "") -> dict:
    """Pretrain ``model`` on the training windows; evaluate on validation windows.

    Parameters
    ----------
    model : Neuroformer
        Initialised model (on ``device``); wrapped in DDP here when a process group exists.
    data : TokenData
    train_starts, val_starts : ndarray of int
        Window starts (steps).
    cfg : TrainConfig
    device : torch.device
    progress : callable, optional
        ``progress(fraction, message)``; may raise ``Cancelled``.
    checkpoint_dir : path or None
        Where ``checkpoint.pt`` and ``metrics.jsonl`` go (rank 0 writes); a checkpoint found there
        is resumed.
    extra : dict, optional
        JSON-ready description stored in the checkpoint (e.g. the analysis parameters).
    resume_key : str
        A checkpoint is resumed only when its model configuration and this key (inputs and
        parameters) are the same; otherwise training starts afresh and overwrites it.

    Returns
    -------
    dict with ``train_loss`` [steps] (nats per target token), ``val_steps``, ``val_loss``,
    ``val_accuracy`` (per evaluation), ``tokens`` (real target tokens seen), ``train_time_s``
    (optimisation only) and ``eval_time_s`` (validation).
    """
    progress = progress or null_progress
    rank = torch.distributed.get_rank() if _is_dist() else 0
    world = torch.distributed.get_world_size() if _is_dist() else 1
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=not data.mods)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            betas=(0.9, 0.95))
    history: dict = {"train_loss": [], "val_steps": [], "val_loss": [], "val_accuracy": [],
                     "tokens": 0, "train_time_s": 0.0, "eval_time_s": 0.0}
    start_step = 0
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, map_location=str(device))
        if (state is not None and state["model_config"] == model.cfg.to_dict()
                and state.get("resume_key", "") == resume_key):
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            start_step, history = int(state["step"]), state["history"]
        if rank == 0:
            ckpt.mkdir(parents=True, exist_ok=True)
            lines = [json.dumps({"step": i + 1, "train_loss": v})
                     for i, v in enumerate(history["train_loss"])]
            lines += [json.dumps({"step": s, "val_loss": v, "val_accuracy": a}) for s, v, a in
                      zip(history["val_steps"], history["val_loss"], history["val_accuracy"])]
            (ckpt / METRICS).write_text("".join(x + "\n" for x in lines))
    log = (ckpt / METRICS).open("a") if (ckpt is not None and rank == 0) else None
    val_sel = val_starts[np.random.default_rng([cfg.seed, 17]).permutation(len(val_starts))[:cfg.eval_windows]]
    train_win = data.windows(train_starts)
    n_mods = len(data.mods)
    n_targets = target_counts(train_win.n_tokens, data.max_len)
    # micro-batches: at least one window per rank each; none with the contrastive loss
    micro = 1 if (cfg.contrastive > 0 and n_mods) else max(1, min(cfg.micro, cfg.batch_size // world))
    plan = BatchPlan(n_targets, cfg.batch_size, cfg.bucket, cfg.seed, micro)

    def validate(step: int) -> None:
        if len(val_sel) == 0:
            return
        t_eval = time.perf_counter()
        ev = evaluate(model, data, np.sort(val_sel), device)
        vl = float(ev["nll"].sum() / max(1, ev["n_targets"].sum()))
        va = float(ev["n_correct"].sum() / max(1, ev["n_targets"].sum()))
        history["val_steps"].append(step)
        history["val_loss"].append(vl)
        history["val_accuracy"].append(va)
        if log is not None:
            log.write(json.dumps({"step": step, "val_loss": vl, "val_accuracy": va}) + "\n")
            log.flush()
        history["eval_time_s"] = history.get("eval_time_s", 0.0) + time.perf_counter() - t_eval
        model.train()

    try:
        if start_step == 0 and not history["val_steps"]:
            validate(0)
        model.train()
        t0 = time.perf_counter() - history["train_time_s"] - history.get("eval_time_s", 0.0)
        for step in range(start_step, cfg.steps):
            parts = plan.micro_batches(step)
            # every rank divides by the global target count of the whole step (known from the
            # window lengths), so the accumulated gradient is the step's token-mean gradient
            norm = float(sum(n_targets[x].sum() for x in parts))
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg)
            opt.zero_grad(set_to_none=True)
            stats = torch.zeros(2, dtype=torch.float64, device=device)
            for i, part in enumerate(parts):
                batch = data.batch(train_win.subset(part[rank::world]), device)
                sync = i == len(parts) - 1 or world == 1
                with (nullcontext() if sync else net.no_sync()):
                    with autocast(device):
                        out = net(batch)
                    nsum = out["nll"].float().sum()
                    stats += torch.stack([nsum.detach().double(),
                                          out["valid"].sum().to(torch.float64)])
                    loss = nsum / norm * world
                    if cfg.contrastive > 0 and n_mods:
                        loss = loss + cfg.contrastive * contrastive_loss(out, n_mods * data.n_dt)
                    loss.backward()
            if world > 1:
                torch.distributed.all_reduce(stats)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tl = float(stats[0] / stats[1])
            history["train_loss"].append(tl)
            history["tokens"] += int(stats[1])
            history["train_time_s"] = time.perf_counter() - t0 - history.get("eval_time_s", 0.0)
            if log is not None:
                log.write(json.dumps({"step": step + 1, "train_loss": tl, "lr": lr_at(step, cfg),
                                      "tokens": history["tokens"],
                                      "elapsed_s": round(history["train_time_s"], 3)}) + "\n")
                log.flush()
            done = step + 1
            if done % cfg.eval_every == 0 or done == cfg.steps:
                validate(done)
                if ckpt is not None and rank == 0:
                    save_checkpoint(ckpt, model, opt, done, cfg, history, extra or {}, resume_key)
            progress(done / cfg.steps, f"step {done}/{cfg.steps}: loss {tl:.3f} nats/token")
    finally:
        if log is not None:
            log.close()
    model.eval()
    return history
