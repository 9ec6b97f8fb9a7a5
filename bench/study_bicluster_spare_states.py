"""Study: why the number of occupied states mixes slowly (short "spare" states).

On the paper's simulation the chains agree on the two main states and differ in how often a
short third state is present, which keeps the split R-hat of the occupied-state count above
1.05. This script follows single chains (default sampler settings) and measures, for every
short state (one that holds at most ``--max-len`` moves):

- how long it lives (consecutive sweeps in which a short run overlaps the same bins) and how
  often a new one is born;
- what removing it would cost, handing its moves to a neighbouring state, with the latent path
  fixed and every state's (A, b, Q) integrated out (MNIW marginals: the target of the collapsed
  state moves) and with the latent path integrated out given one Polya-gamma draw and the current
  (A, b, Q) (Kalman evidence: the target of the window moves);
- with ``--birth-death N``: the acceptance of N exact birth/death proposals of short states per
  state update (:mod:`neurotools.analyses.biclustering.birthdeath`);
- with ``--path-birth-death N``: the same for N reversible-jump proposals per sweep that redraw
  the latent path around the run too (:mod:`neurotools.analyses.biclustering.pathbirthdeath`).
- with ``--state-merges N``: N merge/split proposals of whole states per state update
  (:mod:`neurotools.analyses.biclustering.statemerge`), and the mean number of occupied states
  per block of 100 sweeps.

Run::

    .venv/bin/python bench/study_bicluster_spare_states.py --chain-seeds 0,1 --sweeps 400
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurotools.analyses.biclustering.birthdeath import segments, single_run_states  # noqa: E402
from neurotools.analyses.biclustering.dynamics import mniw_log_marginal  # noqa: E402
from neurotools.analyses.biclustering.fit import model_config  # noqa: E402
from neurotools.analyses.biclustering.kalman import log_evidence  # noqa: E402
from neurotools.analyses.biclustering.params import BiclusterParams, SimParams  # noqa: E402
from neurotools.analyses.biclustering.sampler import Chain, log_rates  # noqa: E402
from neurotools.analyses.biclustering.simulate import simulate_counts  # noqa: E402


def short_state_count(moves: np.ndarray, max_len: int) -> int:
    """Occupied states holding at most ``max_len`` moves (in any number of runs)."""
    counts = np.bincount(moves)
    return int(np.sum((counts > 0) & (counts <= max_len)))


def removal_costs(chain: Chain, state: int, a: int, b: int, rng: np.random.Generator
                  ) -> tuple[float, float]:
    """Log target change of handing the run ``[a, b)`` (move indices) to its left or right
    neighbour (the better of the two), with the latents fixed (dynamics integrated) and with
    the latents integrated (dynamics fixed, one Polya-gamma draw)."""
    s = chain.state
    X = chain._X(s)
    moves = s.states[1:]
    Z = np.hstack([X[:-1], np.ones((len(X) - 1, 1))])
    Y = X[1:]
    v0 = chain.cfg.dynamics_v0

    def mniw(mv: np.ndarray, k: int) -> float:
        m = mv == k
        return mniw_log_marginal(Y[m], Z[m], v0=v0) if m.any() else 0.0

    saved = chain.rng
    chain.rng = rng                     # the chain's own stream stays untouched
    J, h = chain.latent_pseudo_observations(log_rates(s))
    chain.rng = saved
    base_ev = log_evidence(J, h, s.states, s.A, s.b, s.Q)
    best_fixed, best_integrated = -np.inf, -np.inf
    for dst in {int(moves[a - 1]) if a > 0 else None, int(moves[b]) if b < len(moves) else None}:
        if dst is None:
            continue
        prop = moves.copy()
        prop[a:b] = dst
        fixed = (mniw(prop, dst) - mniw(moves, dst) - mniw(moves, state))
        st = np.concatenate([prop[:1], prop])
        integrated = log_evidence(J, h, st, s.A, s.b, s.Q) - base_ev
        best_fixed = max(best_fixed, fixed)
        best_integrated = max(best_integrated, integrated)
    return best_fixed, best_integrated


def follow(chain_seed: int, sweeps: int, max_len: int, birth_death: int, sim_seed: int,
           path_birth_death: int = 0, state_merges: int = 0) -> dict:
    """One chain on the paper's simulation; returns the spare-state statistics."""
    sim = simulate_counts(SimParams(), sim_seed)
    cfg = dataclasses.replace(model_config(BiclusterParams()), birth_death=birth_death,
                              birth_death_max_len=max_len, path_birth_death=path_birth_death,
                              state_merges=state_merges)
    rng_probe = np.random.default_rng([chain_seed, 99])
    with threadpool_limits(1, "blas"):
        chain = Chain(sim["counts"].T, cfg, np.random.default_rng([chain_seed, 0]))
        open_runs: dict[tuple[int, int], int] = {}       # (start, end) -> sweeps alive
        lifetimes, births, costs, n_short, n_occ = [], 0, [], [], []
        for it in range(sweeps):
            chain.step()
            moves = chain.state.states[1:]
            n_occ.append(len(np.unique(moves)))
            n_short.append(short_state_count(moves, max_len))
            runs = single_run_states(moves, *segments(moves), max_len)
            nxt = {}
            for _, a, b in runs:
                prev = [key for key in open_runs if key[0] < b and a < key[1]]
                if prev:
                    nxt[(a, b)] = max(open_runs.pop(key) for key in prev) + 1
                else:
                    nxt[(a, b)] = 1
                    births += it > 0
            lifetimes += list(open_runs.values())         # runs that ended this sweep
            open_runs = nxt
            if it % 10 == 9:
                for k, a, b in runs:
                    costs.append(removal_costs(chain, k, a, b, rng_probe))
        censored = list(open_runs.values())
    return dict(lifetimes=lifetimes, censored=censored, births=births, costs=np.array(costs),
                n_short=np.array(n_short), n_occ=np.array(n_occ),
                bd_accepted=chain.birth_death_accepted,
                bd_proposed=birth_death * cfg.state_sweeps * sweeps,
                pbd_accepted=chain.path_birth_death_accepted,
                pbd_proposed=path_birth_death * sweeps,
                merges=chain.state_merges_accepted, splits=chain.state_splits_accepted,
                merge_proposed=state_merges * cfg.state_sweeps * sweeps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chain-seeds", default="0,1")
    ap.add_argument("--sweeps", type=int, default=400)
    ap.add_argument("--max-len", type=int, default=20, help="longest short state (moves)")
    ap.add_argument("--birth-death", type=int, default=0,
                    help="birth/death proposals per state update (0: the default sampler)")
    ap.add_argument("--path-birth-death", type=int, default=0,
                    help="path-redrawing birth/death proposals per sweep (0: off)")
    ap.add_argument("--state-merges", type=int, default=0,
                    help="merge/split proposals of whole states per state update (0: off)")
    ap.add_argument("--sim-seed", type=int, default=0)
    args = ap.parse_args()
    print(f"simulation seed {args.sim_seed}, {args.sweeps} sweeps per chain, short = at most "
          f"{args.max_len} moves, birth/death proposals per state update: {args.birth_death}, "
          f"path-redrawing ones per sweep: {args.path_birth_death}, state merge/split proposals per "
          f"state update: {args.state_merges}")
    print("| chain seed | mean occupied (last half) | sweeps with a short state | births per "
          "100 sweeps | lifetime median / max (sweeps; alive at end) | removal cost, latents "
          "fixed (nats, median [min, max]) | removal cost, latents integrated | birth/death "
          "accepted | path birth/death accepted | merges / splits accepted (proposed) | mean "
          "occupied per 100 sweeps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in [int(x) for x in args.chain_seeds.split(",")]:
        out = follow(seed, args.sweeps, args.max_len, args.birth_death, args.sim_seed,
                     args.path_birth_death, args.state_merges)
        half = args.sweeps // 2
        life = np.array(out["lifetimes"] or [0])
        c = out["costs"]
        fixed = (f"{np.median(c[:, 0]):.1f} [{c[:, 0].min():.1f}, {c[:, 0].max():.1f}]"
                 if len(c) else "-")
        integ = (f"{np.median(c[:, 1]):.1f} [{c[:, 1].min():.1f}, {c[:, 1].max():.1f}]"
                 if len(c) else "-")
        print(f"| {seed} | {out['n_occ'][half:].mean():.2f} | "
              f"{np.mean(out['n_short'] > 0):.2f} | "
              f"{100 * out['births'] / args.sweeps:.1f} | "
              f"{np.median(life):.0f} / {life.max()} ({out['censored']}) | {fixed} | {integ} | "
              f"{out['bd_accepted']} of {out['bd_proposed']} | "
              f"{out['pbd_accepted']} of {out['pbd_proposed']} | "
              f"{out['merges']} / {out['splits']} ({out['merge_proposed']}) | "
              f"{', '.join(f'{b.mean():.2f}' for b in np.array_split(out['n_occ'], max(1, args.sweeps // 100)))} |",
              flush=True)


if __name__ == "__main__":
    main()
