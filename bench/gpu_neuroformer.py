"""GPU check (< 3 min): tokens/s and peak memory of a paper-sized neuroformer with bf16 autocast.

Run on a CUDA machine from the repository root::

    python bench/gpu_neuroformer.py

It simulates 120 s of the spec's 300-neuron network, builds the ``base`` preset (256-d, 8 heads,
6 blocks per stage), and times training steps (bf16 autocast, fused scaled-dot-product attention,
length-stratified micro-batches as in training, each padded only to its longest window) for several batch
sizes; the padding column is measured on those batches, next to the padding random batches would
have had, then batched generation with
the KV cache. Prints one table; exits 0 without a GPU after saying so.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from neurotools.analyses.neuroformer import Params, SimParams, simulate
from neurotools.analyses.neuroformer.core import make_model, prepare, train_config
from neurotools.analyses.neuroformer.generate import generate_window
from neurotools.analyses.neuroformer.training import (
    BatchPlan,
    autocast,
    batch_indices,
    lr_at,
    padding_fraction,
    target_counts,
)


def train_rate(model, prep, batch_size: int, steps: int, dev: torch.device, bucket: int | None = None,
               micro: int | None = None, warmup: int = 10) -> tuple[float, float, float]:
    """(target tokens/s, peak GiB, padding fraction) over ``steps`` timed steps after ``warmup``.

    ``bucket``/``micro`` override the training defaults (1/1 = plain random batches).
    """
    from dataclasses import replace

    data, train_starts = prep.data, prep.split["train"]
    cfg = train_config(Params(steps=steps + warmup, batch_size=batch_size, preset="base"), 0)
    cfg = replace(cfg, bucket=bucket or cfg.bucket, micro=micro or cfg.micro)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, fused=True)
    win = data.windows(train_starts)
    plan = BatchPlan(target_counts(win.n_tokens, data.max_len), batch_size, cfg.bucket, cfg.seed,
                     cfg.micro)
    tokens, slots, t0 = 0, 0, 0.0
    torch.cuda.reset_peak_memory_stats()
    for step in range(steps + warmup):
        if step == warmup:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            tokens = slots = 0
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        opt.zero_grad(set_to_none=True)
        for part in plan.micro_batches(step):  # gradient accumulation, as in training
            batch = data.batch(win.subset(part), dev)
            with autocast(dev):
                out = model(batch)
            n = out["valid"].sum()
            loss = out["nll"].sum() / n
            loss.backward()
            tokens += int(n)
            slots += out["valid"].numel()
        opt.step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return tokens / dt, torch.cuda.max_memory_allocated() / 2**30, 1 - tokens / max(slots, 1)


@torch.no_grad()
def generation_rate(model, prep, batch: int, dev: torch.device) -> float:
    """Generated tokens/s for ``batch`` windows sampled in parallel (KV cache), 5 rounds."""
    data = prep.data
    win = data.windows(prep.split["test"][:batch])
    b = data.batch(win, dev, truncate=False)
    gen = torch.Generator(device=dev).manual_seed(0)
    torch.cuda.synchronize()
    t0, tokens = time.perf_counter(), 0
    for _ in range(5):
        with autocast(dev):
            out = generate_window(model, b["past_counts"], b["mods"], 4 * data.max_len, gen=gen)
        tokens += sum(len(o) + 1 for o in out)
    torch.cuda.synchronize()
    return tokens / (time.perf_counter() - t0)


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure")
        return 0
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    rec = simulate(SimParams(n_neurons=300, duration_s=120.0, drive_all=False), 0)
    params = Params(preset="base", behavior="none")
    prep = prepare([rec], params)
    torch.manual_seed(0)
    model = make_model(prep, params).to(dev)
    n_par = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"device: {torch.cuda.get_device_name(0)}; base preset {n_par:.1f} M parameters; "
          f"300 neurons; block {prep.data.max_len} tokens (p99 {prep.p99}); bf16 autocast")
    print(f"{'what':34s} {'batch':>6s} {'tokens/s':>12s} {'peak GiB':>9s} {'padding':>8s} "
          f"{'random':>7s}")
    n_tok, n_train = prep.data.windows(prep.split["train"]).n_tokens, len(prep.split["train"])
    for bs in (32, 128, 512):
        for label, bucket, micro in (("random batches", 1, 1), ("bucketed micro-batches", None, None)):
            rate, peak, pad = train_rate(model, prep, bs, 20, dev, bucket, micro)
            rnd = padding_fraction([batch_indices(s, n_train, bs, 0) for s in range(10, 30)], n_tok,
                                   prep.data.max_len)
            print(f"{'train, ' + label:34s} {bs:6d} {rate:12.0f} {peak:9.2f} {pad:8.1%} {rnd:7.1%}")
    model.eval()
    for bs in (1, 64, 512):
        rate = generation_rate(model, prep, bs, dev)
        print(f"{'generation (KV cache)':34s} {bs:6d} {rate:12.0f} {'':>9s} {'':>8s}")
    print("padding = padded target slots of the timed (length-bucketed) batches; random = the same "
          "for plain random batches")
    print("reference (authors' code, CPU, 1 thread): paper-size 234 train tokens/s, 8.5 generated tokens/s")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
