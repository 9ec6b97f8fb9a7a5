"""Command-line pretraining, single process or under ``torchrun`` (DDP).

Examples
--------
One process::

    python -m neurotools.analyses.neuroformer.train data.nwb --out ckpt/ --set steps=2000

Two CPU processes (gloo) or one per GPU (nccl)::

    torchrun --nproc_per_node 2 -m neurotools.analyses.neuroformer.train data.nwb --out ckpt/

``--simulate`` trains on the analysis' own simulated network instead of files (``--sim-set``
changes it). The checkpoint directory receives ``checkpoint.pt`` (resumed when the command is run
again) and ``metrics.jsonl`` (one JSON record per step and per validation), which the app's page
can follow while the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import torch

from neurotools.analyses.neuroformer.core import (
    make_model,
    prepare,
    resolve_device,
    resume_key,
    train_config,
)
from neurotools.analyses.neuroformer.params import Params, SimParams
from neurotools.analyses.neuroformer.simulate import simulate
from neurotools.analyses.neuroformer.training import train
from neurotools.errors import UserError


def _settings(pairs: Sequence[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UserError(f"--set expects key=value, got '{pair}'.")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the training command."""
    p = argparse.ArgumentParser(prog="python -m neurotools.analyses.neuroformer.train",
                                description="Pretrain a neuroformer; resumable; torchrun-aware.")
    p.add_argument("files", nargs="*", metavar="FILE.nwb")
    p.add_argument("--out", required=True, metavar="CKPT_DIR", help="checkpoint directory")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="analysis parameter")
    p.add_argument("--simulate", action="store_true", help="train on the simulated network")
    p.add_argument("--sim-set", action="append", metavar="KEY=VALUE", help="simulation parameter")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch threads per process (0: default)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run pretraining; rank 0 writes the checkpoint directory. Returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    try:
        dev = resolve_device(args.device)
        if world > 1:
            backend = "nccl" if dev.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend)
            if dev.type == "cuda":
                local = int(os.environ.get("LOCAL_RANK", "0"))
                torch.cuda.set_device(local)
                dev = torch.device("cuda", local)
        settings = _settings(args.set)
        settings.setdefault("checkpoint_dir", args.out)
        params = Params.from_strings(settings)
        if args.simulate:
            recordings = [simulate(SimParams.from_strings(_settings(args.sim_set)), args.seed)]
        elif args.files:
            from neurotools.data import read_nwb

            recordings = [read_nwb(f) for f in args.files]
        else:
            raise UserError("Give NWB files or --simulate.")
        prep = prepare(recordings, params)
        torch.manual_seed(args.seed)
        model = make_model(prep, params).to(dev)
        history = train(model, prep.data, prep.split["train"], prep.split["val"],
                        train_config(params, args.seed, dev.type), dev, checkpoint_dir=params.checkpoint_dir,
                        extra={"params": params.to_dict(), "seed": args.seed, "world_size": world},
                        resume_key=resume_key(recordings, params, args.seed))
        rank = torch.distributed.get_rank() if world > 1 else 0
        if rank == 0:
            summary = {"steps": len(history["train_loss"]), "final_train_loss": history["train_loss"][-1],
                       "final_val_loss": history["val_loss"][-1] if history["val_loss"] else None,
                       "tokens_per_s": history["tokens"] / max(history["train_time_s"], 1e-9),
                       "world_size": world}
            print(json.dumps(summary), file=sys.stderr)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
