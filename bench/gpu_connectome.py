"""Time our HALS on a CUDA GPU: (11175, 1000, 20) rank 15, ms per iteration (target <= 7 ms).

Same code path as the CPU (``neurotools.analyses.connectome.ntf.ncp_hals`` on tensorly's pytorch
backend, float32). The tensor is a planted non-negative rank-15 tensor plus noise, built on the GPU.
Runs in well under two minutes::

    .venv/bin/python bench/gpu_connectome.py [--iters 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from neurotools.analyses.connectome.ntf import ncp_hals  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--shape", default="11175,1000,20")
    ap.add_argument("--rank", type=int, default=15)
    ap.add_argument("--device", default="cuda", help="cuda (default); cpu only for a dry run")
    args = ap.parse_args()
    dev = args.device
    if dev.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU available; nothing to time", file=sys.stderr)
        sys.exit(1)
    sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
    shape = tuple(int(s) for s in args.shape.split(","))
    g = torch.Generator(device=dev).manual_seed(0)
    A, B, C = (torch.rand((n, args.rank), device=dev, generator=g) for n in shape)
    X = torch.einsum("ir,jr,kr->ijk", A, B, C)
    X += 0.1 * X.std() * torch.randn(X.shape, device=dev, generator=g)
    X.clamp_(min=0)
    sync()
    name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else "cpu (pytorch backend)"
    print(f"device: {name}; tensor {shape} float32 "
          f"({X.numel() * 4 / 1e9:.2f} GB), rank {args.rank}")
    ncp_hals(X, args.rank, n_iter=5, tol=0.0, seed=1, device=dev, backend="pytorch", dtype="float32")  # warm-up
    sync()
    t0 = time.perf_counter()
    fit = ncp_hals(X, args.rank, n_iter=args.iters, tol=0.0, seed=0, device=dev, backend="pytorch",
                   dtype="float32")
    sync()
    ms = (time.perf_counter() - t0) / args.iters * 1e3
    print("| tensor | rank | iterations | ms / iteration | final rel. error | target |")
    print("|---|---|---|---|---|---|")
    print(f"| {shape} | {args.rank} | {args.iters} | {ms:.2f} | {fit.rel_error:.4f} | <= 7 ms |")


if __name__ == "__main__":
    main()
