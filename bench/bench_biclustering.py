"""Benchmark of the bi-clustering sampler: speed, memory against iterations, scaling, recovery.

Usage::

    .venv/bin/python bench/bench_biclustering.py                 # speed, memory, scaling
    .venv/bin/python bench/bench_biclustering.py --recovery      # + the paper's 4 x 1000 run
    .venv/bin/python bench/bench_biclustering.py --recovery --state-moves both   # optional moves
    .venv/bin/python bench/bench_biclustering.py --recovery --seed 1   # another simulation

Reference numbers (spec, the author's code on this 2-core machine): about 2.0 s per iteration at
N = 30, T = 500, L = 10, and about 5 GB of stored draws for 10000 iterations.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurotools.analyses.biclustering import Params, SimParams, run, simulate  # noqa: E402
from neurotools.analyses.biclustering.fit import ChainJob, run_chain  # noqa: E402
from neurotools.analyses.biclustering.sampler import Chain, ModelConfig  # noqa: E402

REFERENCE_S_PER_ITER = 2.0


def seconds_per_iteration(n: int, t: int, iters: int, seed: int = 0, model: str = "nb") -> float:
    """Median wall time of one sweep (after the first), paper's simulation at size (n, t).

    The median resists the load of other processes on a shared machine.
    """
    sim = simulate(SimParams(n_neurons=n, n_bins=t, n_clusters=3), seed)
    y = sim.ground_truth["counts"].T
    chain = Chain(y, ModelConfig(model=model), np.random.default_rng(seed))
    chain.step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        chain.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def peak_memory_mb(iterations: int) -> float:
    """Peak traced memory (MB) of one chain of ``iterations`` sweeps with streaming summaries.

    A small problem (N = 12, T = 100) so that the thinned-draw caps are reached quickly.
    """
    sim = simulate(SimParams(n_neurons=12, n_bins=100), 0)
    job = ChainJob(sim.ground_truth["counts"].T, ModelConfig(), (0, 0), iterations,
                   iterations // 4)
    tracemalloc.start()
    run_chain(job)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=10, help="timed sweeps per size")
    ap.add_argument("--recovery", action="store_true", help="run the paper's 4 x 1000 recovery")
    ap.add_argument("--quick", action="store_true", help="skip the largest sizes")
    ap.add_argument("--state-moves", default="", choices=["", "collapsed", "window", "both"],
                    help="recovery with the optional exact state moves (both: state_sweeps=1)")
    ap.add_argument("--seed", type=int, default=0, help="simulation seed of the recovery run")
    args = ap.parse_args()

    print("## Speed at the paper's size (N=30, T=500, L=10)")
    rows = []
    for model in ("nb", "poisson"):
        s = seconds_per_iteration(30, 500, args.iters, model=model)
        rows.append((model, s))
    print("| model | ours (s/iter) | reference (s/iter) | speed-up |")
    print("|---|---|---|---|")
    for model, s in rows:
        print(f"| {model} | {s:.3f} | {REFERENCE_S_PER_ITER:.1f} | {REFERENCE_S_PER_ITER / s:.1f}x |")

    print("\n## Peak memory of one chain against iterations (N=12, T=100, streaming summaries)")
    print("| iterations | peak traced memory (MB) | ratio to 500 iterations |")
    print("|---|---|---|")
    mems = {it: peak_memory_mb(it) for it in (500, 1000, 2000)}
    for it, mb in mems.items():
        print(f"| {it} | {mb:.1f} | {mb / mems[500]:.2f} |")

    print("\n## Scaling (s/iter; 3 clusters, L=10)")
    print("| N | T | s/iter | ratio to N=30, T=500 |")
    print("|---|---|---|---|")
    base = rows[0][1]
    sizes = [(30, 500), (100, 500), (300, 500), (30, 2000), (30, 10000)]
    if args.quick:
        sizes = sizes[:2] + sizes[3:4]
    for n, t in sizes:
        s = seconds_per_iteration(n, t, max(2, args.iters // (1 + (n * t) // 15000)))
        print(f"| {n} | {t} | {s:.3f} | {s / base:.1f} |")

    if args.recovery:
        print("\n## Recovery on the paper's simulation (4 chains x 1000 iterations, burn-in 250)")
        from concurrent.futures import ProcessPoolExecutor

        if args.state_moves:
            import neurotools.analyses.biclustering.fit as fit_mod

            extra = {"collapsed": {"collapsed_states": True}, "window": {"window_moves": True},
                     "both": {"collapsed_states": True, "window_moves": True,
                              "state_sweeps": 1}}[args.state_moves]
            fit_mod.ModelConfig = lambda **kw: ModelConfig(**{**kw, **extra})
            print(f"(state moves: {extra})")
        rec = simulate(SimParams(), args.seed)
        print(f"(simulation seed {args.seed})")
        t0 = time.perf_counter()
        with ProcessPoolExecutor(2) as ex:
            res = run([rec], Params(iterations=1000, burn_in=250, chains=4), seed=0, executor=ex)
        m = res.metrics
        print("| quantity | ours | target | reference (paper) |")
        print("|---|---|---|---|")
        print(f"| neuron ARI | {m['truth_neuron_ari']:.3f} | >= 0.95 | - |")
        print(f"| P(K=3) | {res.arrays['n_clusters_posterior'][3]:.3f} | >= 0.6 | 0.83 |")
        print(f"| state accuracy | {m['truth_state_accuracy']:.3f} | >= 0.93 | 0.954 |")
        print(f"| state ARI | {m['truth_state_ari']:.3f} | >= 0.75 | - |")
        print(f"| mode of occupied states | {m['n_states_mode']} | 2 or 3 | - |")
        print(f"| split R-hat (log-lik) | {m['rhat_loglik']:.3f} | < 1.05 | - |")
        print(f"| split R-hat (K) | {m['rhat_n_clusters']:.3f} | < 1.05 | - |")
        print(f"| split R-hat (occupied states) | {m['rhat_n_states']:.3f} | < 1.05 | - |")
        print(f"| min pairwise chain ARI | {m['min_pairwise_chain_ari']:.3f} | >= 0.9 | - |")
        print(f"| wall time (s) | {time.perf_counter() - t0:.0f} | - | ~20000 per chain |")


if __name__ == "__main__":
    main()
