"""Neuroformer benchmark: speed and quality on the spec's network vs the authors' reference figures.

Reference figures (the spec; the authors' code on this 2-core CPU, one thread, no video):
tiny configuration 0.66 s/step, ~3,700 real target tokens/s (~1,700 end to end with its Python
tokenizer, whose cost is 8-17 ms per window); paper-size 9.6 s/step, ~234 tokens/s; generation 58
tokens/s (tiny) and 8.5 tokens/s (paper size) without a KV cache; on the 300-neuron network the
reference tiny model reaches -0.06 bits/spike after 1500 steps (34 min).

Usage::

    .venv/bin/python bench/bench_neuroformer.py            # quick: 120 s of the network
    .venv/bin/python bench/bench_neuroformer.py --full     # 20 min of the network, 1500 steps
    .venv/bin/python bench/bench_neuroformer.py --few-shot # pretrained vs fresh behaviour decoding

Prints one table: metric, reference, ours, ratio (ours / reference; for times, reference / ours).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from neurotools.analyses.neuroformer import Params, SimParams, baselines, simulate
from neurotools.analyses.neuroformer.core import (
    few_shot_behavior,
    make_model,
    prepare,
    pretrain,
    train_config,
)
from neurotools.analyses.neuroformer.generate import generate_window
from neurotools.analyses.neuroformer.tokenizer import collate, make_windows, tokenize_counts
from neurotools.analyses.neuroformer.training import evaluate, train

REF = {
    "tokenizer windows/s": 1000 / 12.5,  # 8-17 ms per window
    "tiny train tokens/s": 3700.0,
    "tiny end-to-end tokens/s": 1700.0,
    "base train tokens/s": 234.0,
    "tiny generation tokens/s (1 sequence)": 58.0,
    "base generation tokens/s (1 sequence)": 8.5,
    "tiny test bits/spike": -0.06,
}


def tokenizer_rate(counts: np.ndarray, n_dt: int, n_past: int) -> float:
    """Windows per second, from counts to padded batches of 32."""
    t0 = time.perf_counter()
    stream = tokenize_counts(counts)
    starts = np.arange(n_past, len(counts) - n_dt, n_dt)
    win = make_windows(stream, starts, n_dt, n_past)
    for i in range(0, len(starts), 32):
        collate(stream, win.subset(np.arange(i, min(i + 32, len(starts)))))
    return len(starts) / (time.perf_counter() - t0)


def generation_rate(model, prep, n_windows: int, batch: int = 1) -> float:
    """Generated tokens (spikes + EOS) per second, one window at a time with a KV cache."""
    data = prep.data
    starts = prep.split["test"][:n_windows * batch]
    win = data.windows(starts)
    tokens, t0 = 0, time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    for i in range(0, len(starts), batch):
        b = data.batch(win.subset(np.arange(i, min(i + batch, len(starts)))), truncate=False)
        out = generate_window(model, b["past_counts"], b["mods"], 4 * data.max_len, gen=gen)
        tokens += sum(len(o) + 1 for o in out)
    return tokens / (time.perf_counter() - t0)


def few_shot(args: argparse.Namespace) -> None:
    """The spec's few-shot check on 3 simulation seeds: pretrained vs fresh start, same recipe.

    The network's stimulus response gain follows a slow latent that is the behaviour
    (``latent_target='drive'``); the spec's default behaviour (a filter of block 0's spikes) is
    shown beside it. 10% of the training windows are labelled; 3 label draws per seed; both
    backbone learning-rate settings of the fine-tuning recipe (0.1x and 1x the head's).
    """
    steps = args.steps or 400
    print(f"few-shot behaviour: {args.neurons} neurons, {args.duration:g} s, tiny {steps} steps, "
          f"fine-tuning {args.finetune_steps} steps, 10% labels, 3 draws, {args.threads} thread(s)")
    print(f"{'behaviour':9s} {'seed':>4s} {'bb lr':>5s} {'probe pre':>9s} {'probe new':>9s} "
          f"{'ft pre':>7s} {'ft new':>7s} {'draws won':>9s} {'cum s':>5s}")
    for target in ("latent", "block0"):
        for seed in args.seeds:
            extra = {"latent_gain": 0.7, "latent_target": "drive"} if target == "latent" else {}
            rec = simulate(SimParams(n_neurons=args.neurons, duration_s=args.duration, **extra), seed)
            t0 = time.perf_counter()
            model, prep = pretrain([rec], Params(steps=steps), seed=seed)
            for scale in (0.1, 1.0):
                m, a = few_shot_behavior(model, prep, Params(steps=steps, finetune_repeats=3,
                                                             finetune_steps=args.finetune_steps,
                                                             finetune_backbone_lr=scale), seed=seed)
                won = int(np.sum(a["behavior_r2_repeats"] > a["behavior_r2_scratch_repeats"]))
                print(f"{target:9s} {seed:4d} {scale:5.1f} {m['behavior_r2_probe']:9.3f} "
                      f"{m['behavior_r2_probe_scratch']:9.3f} {m['behavior_r2']:7.3f} "
                      f"{m['behavior_r2_scratch']:7.3f} {won:7d}/3 {time.perf_counter() - t0:5.0f}",
                      flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="20 min of the network, 1500 tiny steps")
    ap.add_argument("--few-shot", action="store_true",
                    help="only the few-shot behaviour comparison (3 seeds)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0,
                    help="tiny-model steps (default 300 quick, 1500 full, 400 few-shot)")
    ap.add_argument("--base-steps", type=int, default=5)
    ap.add_argument("--neurons", type=int, default=120, help="few-shot network size")
    ap.add_argument("--duration", type=float, default=240.0, help="few-shot recording length (s)")
    ap.add_argument("--finetune-steps", type=int, default=150, help="few-shot fine-tuning steps")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="few-shot seeds")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.few_shot:
        few_shot(args)
        return
    duration = 1200.0 if args.full else 120.0
    steps = args.steps or (1500 if args.full else 300)
    rec = simulate(SimParams(n_neurons=300, duration_s=duration, drive_all=False), 0)
    rows = []
    params = Params(steps=steps, finetune_steps=0, behavior="none")
    prep = prepare([rec], params)
    rows.append(("tokenizer windows/s", tokenizer_rate(prep.data.counts, prep.data.n_dt, prep.data.n_past)))

    torch.manual_seed(0)
    t0 = time.perf_counter()
    model = make_model(prep, params)
    hist = train(model, prep.data, prep.split["train"], prep.split["val"], train_config(params, 0),
                 torch.device("cpu"))
    wall = time.perf_counter() - t0
    rows.append(("tiny train tokens/s", hist["tokens"] / hist["train_time_s"]))
    rows.append(("tiny end-to-end tokens/s", hist["tokens"] / wall))
    ev = evaluate(model, prep.data, prep.split["test"], torch.device("cpu"))
    rate, _ = baselines.rate_model_nll(prep.data, prep.split["train"], prep.split["test"])
    n_spk = prep.data.windows(prep.split["test"]).n_tokens.sum()
    bits = (rate.sum() - ev["nll"].sum()) / n_spk / np.log(2)
    rows.append(("tiny test bits/spike", float(bits)))
    rows.append(("tiny generation tokens/s (1 sequence)", generation_rate(model, prep, 30)))

    base = Params(steps=args.base_steps, preset="base", finetune_steps=0, behavior="none")
    torch.manual_seed(0)
    bmodel = make_model(prep, base)
    bh = train(bmodel, prep.data, prep.split["train"], prep.split["val"], train_config(base, 0),
               torch.device("cpu"))
    rows.append(("base train tokens/s", bh["tokens"] / bh["train_time_s"]))
    rows.append(("base generation tokens/s (1 sequence)", generation_rate(bmodel, prep, 5)))

    print(f"neuroformer benchmark: 300 neurons, {duration:g} s, {args.threads} thread(s), "
          f"tiny {steps} steps ({hist['train_time_s']:.0f} s training), "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M / "
          f"{sum(p.numel() for p in bmodel.parameters()) / 1e6:.2f} M parameters, "
          f"final val loss {hist['val_loss'][-1]:.3f} nats/token")
    print(f"{'metric':42s} {'reference':>12s} {'ours':>12s} {'ratio':>8s}")
    for name, ours in rows:
        ref = REF[name]
        ratio = "" if "bits" in name else f"{ours / ref:8.1f}x"
        print(f"{name:42s} {ref:12.2f} {ours:12.2f} {ratio:>8s}")


if __name__ == "__main__":
    main()
