"""GPU check (< 3 min): tokens/s and peak memory of a paper-sized neuroformer with bf16 autocast.

Run on a CUDA machine from the repository root::

    python bench/gpu_neuroformer.py

It simulates 120 s of the spec's 300-neuron network, builds the ``base`` preset (256-d, 8 heads,
6 blocks per stage), and times training steps (bf16 autocast, fused scaled-dot-product attention,
batches padded only to their longest window) for several batch sizes, then batched generation with
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
from neurotools.analyses.neuroformer.training import autocast, batch_indices, lr_at


def train_rate(model, prep, batch_size: int, steps: int, dev: torch.device) -> tuple[float, float, float]:
    """(target tokens/s, peak GiB, padding fraction) over ``steps`` timed steps after 3 warm-ups."""
    data, train_starts = prep.data, prep.split["train"]
    cfg = train_config(Params(steps=steps + 3, batch_size=batch_size, preset="base"), 0)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, fused=True)
    win = data.windows(train_starts)
    tokens, slots, t0 = 0, 0, 0.0
    torch.cuda.reset_peak_memory_stats()
    for step in range(steps + 3):
        if step == 3:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            tokens = slots = 0
        batch = data.batch(win.subset(batch_indices(step, len(train_starts), batch_size, 0)), dev)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        with autocast(dev):
            out = model(batch)
        n = out["valid"].sum()
        loss = out["nll"].sum() / n
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tokens += int(n)
        slots += out["valid"].numel()
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
    print(f"{'what':34s} {'batch':>6s} {'tokens/s':>12s} {'peak GiB':>9s} {'padding':>8s}")
    for bs in (32, 128, 512):
        rate, peak, pad = train_rate(model, prep, bs, 20, dev)
        print(f"{'train (target tokens)':34s} {bs:6d} {rate:12.0f} {peak:9.2f} {pad:8.1%}")
    model.eval()
    for bs in (1, 64, 512):
        rate = generation_rate(model, prep, bs, dev)
        print(f"{'generation (KV cache)':34s} {bs:6d} {rate:12.0f} {'':>9s} {'':>8s}")
    print("reference (authors' code, CPU, 1 thread): paper-size 234 train tokens/s, 8.5 generated tokens/s")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
