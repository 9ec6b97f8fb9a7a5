"""Connectome benchmark: our HALS vs tensortools and tensorly, WSBM speed, whole pipeline.

Run from the repository root::

    .venv/bin/python bench/bench_connectome.py            # full (a few minutes on 2 cores)
    .venv/bin/python bench/bench_connectome.py --quick    # smaller iteration counts

Peers (benchmark-only dependencies): ``pip install tensortools`` (``ncp_hals``) and tensorly's
``non_negative_parafac_hals`` (a runtime dependency already). Every solver gets the same tensor,
rank and number of iterations (no early stop), from its own uniform random start; the table shows
seconds per iteration, the final relative error and our speed-up, side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neurotools.analyses.connectome.ntf import cp_to_tensor, ncp_hals  # noqa: E402

CELEGANS = "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb"


def planted(shape, rank, noise, seed=0):
    """Non-negative rank-``rank`` tensor plus ``noise`` (relative norm) Gaussian noise, clipped."""
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) for n in shape]
    X = cp_to_tensor(np.ones(rank), factors)
    E = rng.standard_normal(X.shape)
    E *= noise * np.linalg.norm(X) / np.linalg.norm(E)
    return np.maximum(X + E, 0.0)


def rel_err(X, weights, factors):
    return float(np.linalg.norm(X - cp_to_tensor(weights, factors)) / np.linalg.norm(X))


def run_ours(X, rank, iters, seed, dtype="float64"):
    t0 = time.perf_counter()
    fit = ncp_hals(X, rank, n_iter=iters, tol=0.0, seed=seed, dtype=dtype)
    dt = time.perf_counter() - t0
    return dt / iters, fit.rel_error


def run_tensortools(X, rank, iters, seed):
    import tensortools as tt

    t0 = time.perf_counter()
    res = tt.ncp_hals(X, rank, random_state=seed, max_iter=iters, min_iter=iters, tol=0.0,
                      verbose=False)
    dt = time.perf_counter() - t0
    U = res.factors
    return dt / iters, rel_err(X, np.ones(rank), [np.asarray(u) for u in U.factors])


def run_tensorly(X, rank, iters, seed):
    from tensorly.decomposition import non_negative_parafac_hals

    t0 = time.perf_counter()
    cp = non_negative_parafac_hals(X, rank, n_iter_max=iters, init="random", tol=0.0,
                                   random_state=seed)
    dt = time.perf_counter() - t0
    w, f = cp
    return dt / iters, rel_err(X, np.asarray(w), [np.asarray(u) for u in f])


def bench_hals(cases, restarts=1):
    rows = []
    for name, X, rank, iters in cases:
        res = {}
        for solver, fn in (("ours", run_ours), ("ours f32", lambda *a: run_ours(*a, dtype="float32")),
                           ("tensortools", run_tensortools), ("tensorly", run_tensorly)):
            try:
                out = [fn(X, rank, iters, s) for s in range(restarts)]
                res[solver] = (np.mean([o[0] for o in out]), min(o[1] for o in out))
            except Exception as exc:  # a peer that is not installed or fails
                res[solver] = (np.nan, np.nan)
                print(f"  {solver} failed on {name}: {exc}", file=sys.stderr)
            print(f"  {name} {solver}: {res[solver][0] * 1e3:.1f} ms/iter, error "
                  f"{res[solver][1]:.4f}", file=sys.stderr, flush=True)
        rows.append((name, rank, iters, res))
    return rows


def bench_wsbm():
    from neurotools.analyses.connectome.communities import adjusted_rand_index, leiden
    from neurotools.analyses.connectome.wsbm import fit_wsbm

    rng = np.random.default_rng(0)
    z = rng.permutation(np.arange(150) % 5)
    W = np.triu(rng.exponential(np.where(z[:, None] == z[None, :], 1.0, 0.3)), 1)
    W = W + W.T
    t0 = time.perf_counter()
    fit = fit_wsbm(W, seed=0)
    t_wsbm = time.perf_counter() - t0
    t0 = time.perf_counter()
    lab = leiden(W, seed=0)
    t_leiden = time.perf_counter() - t0
    return [("WSBM, complete 150-node graph, 5 blocks", t_wsbm, adjusted_rand_index(z, fit.labels)),
            ("Leiden, same graph", t_leiden, adjusted_rand_index(z, lab))]


def bench_pipeline(data_dir: Path):
    from neurotools.analyses.connectome import Params, run
    from neurotools.data import read_nwb

    path = data_dir / "nwb" / CELEGANS
    if not path.exists():
        return None
    rec = read_nwb(path)
    t0 = time.perf_counter()
    res = run([rec], Params(), seed=0)
    return time.perf_counter() - t0, res.metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations")
    ap.add_argument("--data", default=os.environ.get("NEUROTOOLS_TEST_DATA", str(ROOT.parent / "shared" / "data")))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    big_iters = 5 if args.quick else 15
    cases = [
        ("planted (1770, 1000, 4) +10% noise", planted((1770, 1000, 4), 10, 0.1), 10, big_iters),
        ("planted (60, 60, 100, 4) +10% noise", planted((60, 60, 100, 4), 10, 0.1), 10, 20 if args.quick else 100),
    ]
    try:
        from neurotools.analyses.connectome import Params
        from neurotools.analyses.connectome.tensor import build_tensor
        from neurotools.data import read_nwb

        rec = read_nwb(Path(args.data) / "nwb" / CELEGANS)
        Xc = build_tensor([rec], Params()).X
        # tensortools needs >= 3 modes: the C. elegans tensor is (pairs, time, 1)
        cases.append(("C. elegans affinities (1596, 563, 1)", Xc, 6, 20 if args.quick else 100))
    except Exception as exc:
        print(f"C. elegans tensor skipped: {exc}", file=sys.stderr)

    rows = bench_hals(cases)
    print("\n## HALS, same tensor, rank and iterations (seconds per iteration; final relative error)\n")
    print("| tensor | rank | iters | ours s/it | ours f32 s/it | tensortools s/it | tensorly s/it "
          "| err ours | err tensortools | err tensorly | speed-up vs tensortools | vs tensorly |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, rank, iters, r in rows:
        o, o32, tt_, tl_ = r["ours"], r["ours f32"], r["tensortools"], r["tensorly"]
        print(f"| {name} | {rank} | {iters} | {o[0]:.4f} | {o32[0]:.4f} | {tt_[0]:.4f} | {tl_[0]:.4f} "
              f"| {o[1]:.4f} | {tt_[1]:.4f} | {tl_[1]:.4f} | {tt_[0] / o[0]:.1f}x | {tl_[0] / o[0]:.1f}x |")

    print("\n## Communities\n")
    print("| method | time (s) | ARI |")
    print("|---|---|---|")
    for name, t, ari in bench_wsbm():
        print(f"| {name} | {t:.2f} | {ari:.3f} |")

    out = bench_pipeline(Path(args.data))
    print("\n## Whole pipeline, C. elegans (57 neurons x 3378 frames), default parameters\n")
    if out is None:
        print("C. elegans file not found; set NEUROTOOLS_TEST_DATA")
    else:
        t, m = out
        print(f"| wall time (s) | target (s) | rank | rel. error |\n|---|---|---|---|\n"
              f"| {t:.1f} | 60 | {m['rank']} | {m['rel_error']:.3f} |")


if __name__ == "__main__":
    main()
