"""Benchmark of the bi-clustering sampler: speed, memory against iterations, scaling, recovery.

Usage::

    .venv/bin/python bench/bench_biclustering.py                 # speed, memory, scaling
    .venv/bin/python bench/bench_biclustering.py --recovery      # + the paper's 4 x 1000 run
    .venv/bin/python bench/bench_biclustering.py --recovery --state-moves both   # optional moves
    .venv/bin/python bench/bench_biclustering.py --recovery-only --dynamics-v0 10 --chain-seed 1
    .venv/bin/python bench/bench_biclustering.py --recovery --seed 1   # another simulation
    .venv/bin/python bench/bench_biclustering.py --recovery-only --starts spread   # start test
    .venv/bin/python bench/bench_biclustering.py --start-study --seeds 0,1,2,3,4,5   # starts only
    .venv/bin/python bench/bench_biclustering.py --state-ceiling --seeds 0,1,2    # truth-fixed
    .venv/bin/python bench/bench_biclustering.py --state-posterior --seeds 0,1,2  # HDP alone
    .venv/bin/python bench/bench_biclustering.py --recovery-seeds 0,1,2,3,4   # 4 x 1000 per seed

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
from neurotools.analyses.biclustering.fit import ChainJob, model_config, run_chain  # noqa: E402
from neurotools.analyses.biclustering.kalman import window_state_moves  # noqa: E402
from neurotools.analyses.biclustering.sampler import (  # noqa: E402
    Chain,
    ModelConfig,
    initial_partition,
    log_rates,
)

REFERENCE_S_PER_ITER = 2.0


def seconds_per_iteration(n: int, t: int, iters: int, seed: int = 0, model: str = "nb",
                          **settings) -> float:
    """Median wall time of one sweep (after the first), paper's simulation at size (n, t).

    The sampler runs with ``Params(model=model, **settings)`` (the defaults of
    ``neurotools run bicluster`` unless ``settings`` change them). The median resists the load
    of other processes on a shared machine.
    """
    sim = simulate(SimParams(n_neurons=n, n_bins=t, n_clusters=3), seed)
    y = sim.ground_truth["counts"].T
    chain = Chain(y, model_config(Params(model=model, **settings)), np.random.default_rng(seed))
    chain.step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        chain.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def window_moves_ms(t: int, d: int, repeats: int = 5, n_regimes: int = 10) -> float:
    """Median wall time (ms) of one pass of the window state moves alone.

    A synthetic problem: ``n_regimes`` regimes with ``A = 0.9 I + N(0, 0.02^2)``, ``Q = 0.05 I``,
    observation precision ``2 I``, states switching between two regimes every 50 bins.
    """
    rng = np.random.default_rng(0)
    A = np.eye(d) * 0.9 + 0.02 * rng.standard_normal((n_regimes, d, d))
    b = 0.05 * rng.standard_normal((n_regimes, d))
    Q = np.stack([np.eye(d) * 0.05] * n_regimes)
    J = np.stack([np.eye(d) * 2.0] * t)
    h = rng.standard_normal((t, d))
    trans = np.full((n_regimes, n_regimes), 0.02) + 0.8 * np.eye(n_regimes)
    trans /= trans.sum(1, keepdims=True)
    states = (np.arange(t) // 50) % 2
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        window_state_moves(J, h, states, A, b, Q, trans, np.random.default_rng(r))
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def peak_memory_mb(iterations: int) -> float:
    """Peak traced memory (MB) of one chain of ``iterations`` sweeps with streaming summaries.

    A small problem (N = 12, T = 100) so that the thinned-draw caps are reached quickly.
    """
    sim = simulate(SimParams(n_neurons=12, n_bins=100), 0)
    job = ChainJob(sim.ground_truth["counts"].T, model_config(Params()), (0, 0), iterations,
                   iterations // 4)
    tracemalloc.start()
    run_chain(job)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


# ---------------------------------------------------------------- start-partition study
# Candidate data-driven starts for the neuron partition, scored against the simulation's truth
# (no MCMC). Subspace clustering: in the model a cluster's neurons share a (1 + p)-dimensional
# affine subspace of log rates, so a partition is scored by the leave-one-out residual of each
# neuron against the affine rank-p fit of the other members of its cluster (computed from the
# N x N Gram matrix), searched by greedy merges, single-neuron moves and random perturbations.


def _whitened_log_rates(y: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """Smoothed, centred log rates divided by their delta-method noise sd, shape (N, T)."""
    from scipy.ndimage import gaussian_filter1d

    lr = np.log(gaussian_filter1d(y, sigma, axis=1, mode="nearest") + 0.1)
    lr -= lr.mean(1, keepdims=True)
    m, v = y.mean(1), y.var(1)
    nv = v / (m + 0.1) ** 2 / (2 * np.sqrt(np.pi) * sigma)
    return lr / np.sqrt(np.where(nv > 0, nv, 1.0))[:, None]


def _model_log_rates(y: np.ndarray, sweeps: int = 100, dim: int = 8) -> np.ndarray:
    """Posterior mean log rates (second half of a short chain) of a one-cluster model with
    ``dim`` factors: a count-likelihood denoising of the rates, shape (N, T), centred."""
    cfg = ModelConfig(latent_dim=dim, init_clusters=1, update_labels=False, max_states=3,
                      split_merge=0)
    chain = Chain(y, cfg, np.random.default_rng(0))
    acc = np.zeros(y.shape)
    for it in range(sweeps):
        chain.step()
        if it >= sweeps // 2:
            acc += log_rates(chain.state)
    eta = acc / (sweeps - sweeps // 2)
    return eta - eta.mean(1, keepdims=True)


def _loo_cost(G: np.ndarray, idx: np.ndarray, rank: int) -> float:
    """Summed leave-one-out residual energy of the members ``idx`` (affine rank-``rank`` fits)."""
    Gs, total = G[np.ix_(idx, idx)], 0.0
    for a in range(len(idx)):
        o = np.delete(np.arange(len(idx)), a)
        if len(o) == 0:
            total += Gs[a, a]
            continue
        goo, goi = Gs[np.ix_(o, o)], Gs[o, a]
        rm = goo.mean(1)
        am = rm.mean()
        w, U = np.linalg.eigh(goo - rm[:, None] - rm[None, :] + am)
        w, U = w[::-1][:rank], U[:, ::-1][:, :rank]
        ok = w > 1e-9 * max(w.max(initial=0.0), 1e-300)
        g = goi - goi.mean() - rm + am
        total += max(Gs[a, a] - 2 * goi.mean() + am - ((U[:, ok].T @ g) ** 2 / w[ok]).sum(), 0.0)
    return float(total)


def _local_search(G: np.ndarray, z: np.ndarray, K: int, rank: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Best-improvement single-neuron moves until none lowers the summed cost."""
    z = z.copy()
    cost = np.array([_loo_cost(G, np.flatnonzero(z == j), rank) for j in range(K)])
    moved = True
    while moved:
        moved = False
        for i in rng.permutation(len(z)):
            a = z[i]
            ia = np.flatnonzero(z == a)
            if len(ia) == 1:
                continue
            ca = _loo_cost(G, ia[ia != i], rank)
            best = (0.0, a, 0.0)
            for b in range(K):
                if b != a:
                    cb = _loo_cost(G, np.append(np.flatnonzero(z == b), i), rank)
                    if ca + cb - cost[a] - cost[b] < best[0] - 1e-9:
                        best = (ca + cb - cost[a] - cost[b], b, cb)
            if best[1] != a:
                cost[a], cost[best[1]], z[i], moved = ca, best[2], best[1], True
    return z, float(cost.sum())


def _subspace_partition(G: np.ndarray, K: int, rank: int, rng: np.random.Generator,
                        starts: list[np.ndarray], perturb: int = 20) -> tuple[np.ndarray, float]:
    """Lowest-cost K-partition from greedy merges, the given starts and random restarts,
    each refined by single-neuron moves, then ``perturb`` random 5-neuron perturbations."""
    N = len(G)
    clusters = [[i] for i in range(N)]
    while len(clusters) > K:                              # greedy merges by least cost increase
        pairs = [(a, b) for a in range(len(clusters)) for b in range(a + 1, len(clusters))]
        d = [_loo_cost(G, np.array(clusters[a] + clusters[b]), rank)
             - _loo_cost(G, np.array(clusters[a]), rank) - _loo_cost(G, np.array(clusters[b]), rank)
             for a, b in pairs]
        a, b = pairs[int(np.argmin(d))]
        clusters[a] += clusters.pop(b)
    merged = np.empty(N, dtype=np.int64)
    for j, c in enumerate(clusters):
        merged[c] = j
    best = (None, np.inf)
    for z0 in [merged, *starts, *(rng.integers(K, size=N) for _ in range(3))]:
        if len(np.unique(z0)) == K:
            z, c = _local_search(G, z0, K, rank, rng)
            best = (z, c) if c < best[1] else best
    for _ in range(perturb):
        z = best[0].copy()
        m = rng.choice(N, size=min(5, N), replace=False)
        z[m] = rng.integers(K, size=len(m))
        if len(np.unique(z)) == K:
            z, c = _local_search(G, z, K, rank, rng)
            best = (z, c) if c < best[1] - 1e-9 else best
    return best


def start_study(seeds: list[int]) -> None:
    """Print the truth ARI of candidate starting partitions on the paper's simulation."""
    from scipy.ndimage import gaussian_filter1d

    from neurotools.analyses.biclustering.summaries import adjusted_rand as ari

    print("| seed | default (silhouette) | tree, 3 cut | LOO subspace K=3, smoothed "
          "(cost found / truth) | LOO subspace K=3, model-denoised (cost found / truth) "
          "| K of least cost (smoothed, denoised) |")
    print("|---|---|---|---|---|---|")
    for seed in seeds:
        sim = simulate(SimParams(), seed)
        y = sim.ground_truth["counts"].T.astype(float)
        zt = sim.ground_truth["neuron_clusters"]
        zs = np.log(gaussian_filter1d(y, 2.0, axis=1, mode="nearest") + 0.1)
        zs = (zs - zs.mean(1, keepdims=True)) / zs.std(1, keepdims=True)
        row = [str(seed), f"{ari(zt, initial_partition(zs)):.2f}",
               f"{ari(zt, initial_partition(zs, 3)):.2f}"]
        kbest = []
        for X in (_whitened_log_rates(y), _model_log_rates(y)):
            G, rng = X @ X.T, np.random.default_rng(0)
            fits = {K: _subspace_partition(G, K, 2, rng, [initial_partition(zs, K)])
                    for K in (2, 3, 4)}
            truth = sum(_loo_cost(G, np.flatnonzero(zt == j), 2) for j in range(zt.max() + 1))
            row.append(f"{ari(zt, fits[3][0]):.2f} ({fits[3][1]:.0f} / {truth:.0f})")
            kbest.append(str(min(fits, key=lambda k: fits[k][1])))
        row.append(", ".join(kbest))
        print("| " + " | ".join(row) + " |", flush=True)


# ---------------------------------------------------------------- ceiling of state accuracy
# How well can the state path be known from these counts at all? Every parameter is fixed at the
# simulation's truth (neuron partition, d, c, r = 10, both states' A and Q, b = 0, a 2-state
# transition matrix with mean stay 50 bins) and only the latent path and the states are sampled
# (window moves with the latents integrated out, latent FFBS, state FFBS). The accuracy of these
# draws bounds what the full model, which must also learn the parameters, can reach.


def _chain_at_truth(sim: dict, config: ModelConfig, rng: np.random.Generator) -> Chain:
    """A chain whose neuron partition, d, c, r (= 10) and latent paths are the simulation's."""
    chain = Chain(sim["counts"].T, config, rng)
    s = chain.state
    s.z, s.d, s.c = sim["neuron_clusters"].copy(), sim["d"].copy(), sim["c"].copy()
    s.r, s.lat = np.full(len(s.d), 10.0), sim["latents"].copy()
    return chain


def state_ceiling(seeds: list[int], sweeps: int = 400) -> None:
    """Print the state accuracy of the posterior with every parameter at the truth."""
    from neurotools.analyses.biclustering.fit import permuted_accuracy
    from neurotools.analyses.biclustering.hmm import ar_loglik, forward_backward_sample
    from neurotools.analyses.biclustering.simulate import simulate_counts

    print("| seed | per-draw accuracy | marginal-mode accuracy | wrong bins (marginal mode) |")
    print("|---|---|---|---|")
    for seed in seeds:
        sim = simulate_counts(SimParams(), seed)
        truth = sim["state_sequence"]
        T, D = len(truth), sim["dynamics"].shape[1]
        A = sim["dynamics"]
        rng = np.random.default_rng(seed)
        chain = _chain_at_truth(sim, ModelConfig(max_states=2, window_moves=True,
                                                 update_labels=False, split_merge=0), rng)
        s = chain.state
        s.A, s.b, s.Q = A, np.zeros((2, D)), np.stack([0.01 * np.eye(D)] * 2)
        s.trans = np.array([[0.98, 0.02], [0.02, 0.98]])
        s.beta = np.array([0.5, 0.5])
        s.states = np.zeros(T, np.int64)                 # a cold start: one state
        marg, acc = np.zeros(T), []
        for it in range(sweeps):
            chain.update_latents()
            ll = ar_loglik(chain._X(s), s.A, s.b, s.Q)
            moves, _ = forward_backward_sample(ll[1:], s.trans, s.beta, rng)
            s.states = np.concatenate([moves[:1], moves])
            if it >= sweeps // 4:
                marg += s.states
                acc.append((s.states == truth).mean())
        mode = (marg / len(acc) > 0.5).astype(int)
        print(f"| {seed} | {np.mean(acc):.3f} | {permuted_accuracy(truth, mode):.3f} "
              f"| {int((mode != truth).sum())} |", flush=True)


# ---------------------------------------------------------------- the model's own state posterior
# Which state summaries does the model's posterior itself give on these data? Two conditions,
# each with the sticky HDP-HMM (L = 10, the paper's alpha, gamma, kappa) and every state's
# (A, b, Q) learned: (a) the true latent paths fixed, only states and dynamics sampled; (b) the
# true neuron parameters fixed (partition, d, c, r = 10), latents, dynamics and states sampled.
# A correct sampler of the full model cannot be expected to beat (b) on states.


def state_posterior(seeds: list[int], sweeps: int = 600) -> None:
    """Print accuracy and occupied-state counts of the HDP state posterior, truth partly fixed."""
    from neurotools.analyses.biclustering.fit import permuted_accuracy
    from neurotools.analyses.biclustering.simulate import simulate_counts

    print("| seed | condition | accuracy per draw | mode of occupied states | "
          "P(occupied <= 3) | mean occupied |")
    print("|---|---|---|---|---|---|")
    for seed in seeds:
        sim = simulate_counts(SimParams(), seed)
        truth = sim["state_sequence"]
        for condition in ("true latents", "true neuron parameters"):
            chain = _chain_at_truth(sim, ModelConfig(update_labels=False, split_merge=0),
                                    np.random.default_rng(1))
            s = chain.state
            s.A, s.b, s.Q = chain._draw_dynamics()
            occ, acc = [], []
            for it in range(sweeps):
                if condition == "true neuron parameters":
                    chain.update_latents()
                    chain.project()
                for _ in range(chain.cfg.state_sweeps):
                    chain.update_states()
                    s.A, s.b, s.Q = chain._draw_dynamics()
                if it >= sweeps // 4:
                    occ.append(len(np.unique(s.states)))
                    acc.append(permuted_accuracy(truth, s.states))
            occ = np.array(occ)
            print(f"| {seed} | {condition} | {np.mean(acc):.3f} | {np.bincount(occ).argmax()} | "
                  f"{np.mean(occ <= 3):.2f} | {occ.mean():.2f} |", flush=True)


def recovery_table(seeds: list[int], starts: str, noise_moves: int | None = None) -> None:
    """One 4 x 1000 recovery per simulation seed, a row of the targets each."""
    from concurrent.futures import ProcessPoolExecutor

    if noise_moves is None:
        noise_moves = Params().noise_moves

    print(f"\n## Recovery over simulation seeds (4 chains x 1000, burn-in 250, starts {starts}, "
          f"noise scale moves {noise_moves} rounds)")
    print("| seed | neuron ARI | P(K=3) | chain ARI | state accuracy | state ARI | "
          "mode occupied | R-hat log-lik | R-hat occupied | mode / R-hat states >= 1% of bins | "
          "clusters changed | wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in seeds:
        rec = simulate(SimParams(), seed)
        t0 = time.perf_counter()
        with ProcessPoolExecutor(2) as ex:
            res = run([rec], Params(iterations=1000, burn_in=250, chains=4, starts=starts,
                                    noise_moves=noise_moves), seed=0, executor=ex)
        m = res.metrics
        moved = "no" if "frozen_clusters_note" in res.info else "yes"
        print(f"| {seed} | {m['truth_neuron_ari']:.2f} | "
              f"{res.arrays['n_clusters_posterior'][3]:.2f} | "
              f"{m['min_pairwise_chain_ari']:.2f} | {m['truth_state_accuracy']:.3f} | "
              f"{m['truth_state_ari']:.2f} | {m['n_states_mode']} | {m['rhat_loglik']:.2f} | "
              f"{m['rhat_n_states']:.2f} | {m['n_major_states_mode']} / "
              f"{m['rhat_n_major_states']:.2f} | {moved} | {time.perf_counter() - t0:.0f} |",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=10, help="timed sweeps per size")
    ap.add_argument("--recovery", action="store_true", help="run the paper's 4 x 1000 recovery")
    ap.add_argument("--quick", action="store_true", help="skip the largest sizes")
    ap.add_argument("--state-moves", default="",
                    choices=["", "ffbs", "collapsed", "window", "both", "jumps", "merges",
                             "jumps_merges"],
                    help="state moves of the recovery run (default: the parameter's default; "
                         "both: the parameter's 'all')")
    ap.add_argument("--seed", type=int, default=0, help="simulation seed of the recovery run")
    ap.add_argument("--recovery-only", action="store_true",
                    help="only the recovery run (no speed, memory or scaling tables)")
    ap.add_argument("--starts", default="shared", choices=["shared", "spread"],
                    help="starting neuron partitions of the recovery run's chains")
    ap.add_argument("--start-study", action="store_true",
                    help="only score candidate starting neuron partitions against the truth")
    ap.add_argument("--seeds", default="0,1,2,3,4,5",
                    help="simulation seeds of --start-study / --state-ceiling")
    ap.add_argument("--state-ceiling", action="store_true",
                    help="only the state accuracy reachable with every parameter at the truth")
    ap.add_argument("--state-posterior", action="store_true",
                    help="only the state posterior of the model with the truth partly fixed")
    ap.add_argument("--recovery-iters", type=int, default=1000,
                    help="iterations per chain of --recovery / --recovery-only (the paper: 10000)")
    ap.add_argument("--recovery-burn-in", type=int, default=None,
                    help="burn-in of --recovery / --recovery-only (default: a quarter)")
    ap.add_argument("--fit-model", default="nb", choices=["nb", "poisson"],
                    help="count model fitted by --recovery / --recovery-only (the data are NB)")
    ap.add_argument("--dynamics-v0", type=float, default=None,
                    help="column covariance scale V0 of the dynamics prior (recovery run; "
                         "default: the parameter's default)")
    ap.add_argument("--offset-v0", type=float, default=None,
                    help="the same scale for the offset column b (recovery run; default: the "
                         "parameter's default)")
    ap.add_argument("--chain-seed", type=int, default=0, help="seed of the recovery run's chains")
    ap.add_argument("--noise-moves", type=int, default=None,
                    help="rounds of noise scale moves per iteration in the recovery runs "
                         "(default: the parameter's default; 0: off)")
    ap.add_argument("--save", default="",
                    help="folder to save the --recovery / --recovery-only result in")
    ap.add_argument("--recovery-seeds", default="",
                    help="comma-separated simulation seeds: one 4 x 1000 recovery row per seed")
    args = ap.parse_args()
    if args.state_ceiling:
        state_ceiling([int(v) for v in args.seeds.split(",")])
        return
    if args.state_posterior:
        state_posterior([int(v) for v in args.seeds.split(",")])
        return
    if args.recovery_seeds:
        recovery_table([int(v) for v in args.recovery_seeds.split(",")], args.starts,
                       args.noise_moves)
        return
    if args.start_study:
        start_study([int(v) for v in args.seeds.split(",")])
        return

    if args.recovery_only:
        recovery(args)
        return
    print("## Speed at the paper's size (N=30, T=500, L=10)")
    rows = []
    for model in ("nb", "poisson"):
        s = seconds_per_iteration(30, 500, args.iters, model=model)
        rows.append((model, s))
    for moves in ("ffbs", "window", "all", "jumps"):
        if moves != Params().state_moves:
            s = seconds_per_iteration(30, 500, args.iters, state_moves=moves)
            rows.append((f"nb, state_moves={moves}", s))
    rows.append(("nb, noise_moves=0", seconds_per_iteration(30, 500, args.iters, noise_moves=0)))
    print("| model | ours (s/iter) | reference (s/iter) | speed-up |")
    print("|---|---|---|---|")
    for model, s in rows:
        print(f"| {model} | {s:.3f} | {REFERENCE_S_PER_ITER:.1f} | {REFERENCE_S_PER_ITER / s:.1f}x |")

    print("\n## Window state moves alone (one pass, median of 5)")
    print("| T | D | ms |")
    print("|---|---|---|")
    for t, d in ((500, 9), (2000, 9), (500, 24)):
        print(f"| {t} | {d} | {window_moves_ms(t, d):.1f} |")

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
        recovery(args)


def recovery(args: argparse.Namespace) -> None:
    """Four chains on the paper's simulation against the targets (1000 iterations unless
    ``--recovery-iters``)."""
    iters, burn = args.recovery_iters, args.recovery_burn_in
    if burn is None:
        burn = iters // 4
    print(f"\n## Recovery on the paper's simulation "
          f"(4 chains x {iters} iterations, burn-in {burn})")
    from concurrent.futures import ProcessPoolExecutor

    defaults = Params()
    moves = {"": defaults.state_moves, "both": "all"}.get(args.state_moves, args.state_moves)
    v0 = defaults.dynamics_prior_scale if args.dynamics_v0 is None else args.dynamics_v0
    v0_b = defaults.offset_prior_scale if args.offset_v0 is None else args.offset_v0
    noise = defaults.noise_moves if args.noise_moves is None else args.noise_moves
    print(f"(state moves: {moves}; noise scale moves: {noise} rounds; "
          f"dynamics prior V0 = diag({v0:g} for A, {v0_b:g} for b))")
    rec = simulate(SimParams(), args.seed)
    print(f"(simulation seed {args.seed}; NB data, {args.fit_model} model fitted)")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as ex:
        res = run([rec], Params(iterations=iters, burn_in=burn, chains=4, starts=args.starts,
                                model=args.fit_model, state_moves=moves, dynamics_prior_scale=v0,
                                offset_prior_scale=v0_b, noise_moves=noise),
                  seed=args.chain_seed, executor=ex)
    if args.save:
        print(f"(result saved to {res.save(args.save)})")
    m = res.metrics
    print(f"(starts: {args.starts}; starting clusters per chain "
          f"{res.info['start_clusters_per_chain']}, ending "
          f"{[int(p.max() + 1) for p in res.arrays['chain_neuron_clusters']]})")
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
    print(f"| mode of states with >= {res.info['major_state_min_bins']} bins (1%) | "
          f"{m['n_major_states_mode']} (P = {m['p_n_major_states_mode']:.2f}) | "
          "(not a spec target) | - |")
    print(f"| split R-hat (states with >= 1% of bins) | {m['rhat_n_major_states']:.3f} | "
          "(not a spec target) | - |")
    print(f"| min pairwise chain ARI | {m['min_pairwise_chain_ari']:.3f} | >= 0.9 | - |")
    print(f"| wall time (s) | {time.perf_counter() - t0:.0f} | - | ~20000 per chain |")


if __name__ == "__main__":
    main()
