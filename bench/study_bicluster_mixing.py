"""Study: which quantities of a bi-clustering chain mix slowly, and what moves with them.

Follows single chains of the default sampler (noise moves as chosen) on the paper's simulation
and records, every sweep, label-invariant scalars: the log-likelihood, the number of occupied
states and of states with at least 1% of the bins, the mean trace of the two largest states'
noise ``Q``, the mean square of the latent path and of its increments (how rough it is), the
mean dispersion ``r``, the mean self-transition probability of the two largest states, the
number of state switches, the HDP's global weight on unoccupied states, the mean squared
distance of the two largest states' ``A`` from the identity, the mean square of the loadings
``c`` and the mean offset ``d``. For each it prints
the integrated autocorrelation time (sweeps; Geyer-style sum of the autocorrelation until it
first drops below 0.05), its correlation with the log-likelihood and with the number of
occupied states, and its means over blocks of 100 sweeps.

Run::

    .venv/bin/python bench/study_bicluster_mixing.py --chain-seeds 2,3 --sweeps 1500 --noise-moves 0
    .venv/bin/python bench/study_bicluster_mixing.py --chain-seeds 2,3 --sweeps 1500 --noise-moves 2

``--state-moves`` picks another kernel, ``--dynamics-v0`` another prior scale of A (``--config
offset_v0=B`` that of the offset b),
``--config FIELD=VALUE`` sets any other numeric ``ModelConfig`` field, and ``--save
traces.npz`` keeps every sweep's scalars (for long runs: where the occupied-state count
settles). ``--pool a.npz b.npz`` reads saved
traces instead of running chains and prints, over the sweeps after ``--burn-in``, each chain's
distribution of the state counts and the split R-hat and bulk ESS across all the chains.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurotools.analyses.biclustering.fit import STATE_MOVES, model_config  # noqa: E402
from neurotools.analyses.biclustering.params import BiclusterParams, SimParams  # noqa: E402
from neurotools.analyses.biclustering.sampler import Chain  # noqa: E402
from neurotools.analyses.biclustering.simulate import simulate_counts  # noqa: E402
from neurotools.analyses.biclustering.summaries import (  # noqa: E402
    bulk_ess,
    major_state_count,
    major_state_min_bins,
    split_rhat,
)

SCALARS = ("loglik", "occupied", "major", "trQ_main", "x_sq", "dx_sq", "r_mean", "self_trans",
           "switches", "beta_spare", "A_dev", "c_sq", "d_mean")


def autocorrelation_time(x: np.ndarray, cutoff: float = 0.05) -> float:
    """Integrated autocorrelation time (sweeps): 1 + 2 sum of the autocorrelation up to the
    first lag where it falls below ``cutoff``."""
    x = np.asarray(x, float) - np.mean(x)
    n = len(x)
    if n < 2 or not np.any(x):
        return float("nan")
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    acf /= acf[0]
    below = np.flatnonzero(acf < cutoff)
    stop = below[0] if len(below) else n
    return float(1 + 2 * acf[1:stop].sum())


def follow(chain_seed: int, sweeps: int, sim_seed: int, noise_moves: int,
           state_moves: str = BiclusterParams().state_moves, dynamics_v0: float | None = None,
           **config) -> dict:
    """One chain; returns a trace per scalar and the noise moves' acceptance."""
    sim = simulate_counts(SimParams(), sim_seed)
    params = BiclusterParams(state_moves=state_moves)
    if dynamics_v0 is not None:
        params = dataclasses.replace(params, dynamics_prior_scale=dynamics_v0)
    cfg = dataclasses.replace(model_config(params), noise_moves=noise_moves, **config)
    out = {k: np.empty(sweeps) for k in SCALARS}
    t0 = time.perf_counter()
    with threadpool_limits(1, "blas"):
        chain = Chain(sim["counts"].T, cfg, np.random.default_rng([chain_seed, 0]))
        min_bins = major_state_min_bins(chain.T)
        for it in range(sweeps):
            chain.step()
            s = chain.state
            counts = np.bincount(s.states, minlength=chain.L)
            main = np.argsort(counts)[::-1][:2]
            X = chain._X(s)
            out["loglik"][it] = chain.loglik()
            out["occupied"][it] = np.sum(counts > 0)
            out["major"][it] = major_state_count(s.states, min_bins)
            out["trQ_main"][it] = np.mean([np.trace(s.Q[k]) for k in main])
            out["x_sq"][it] = np.mean(X ** 2)
            out["dx_sq"][it] = np.mean(np.diff(X, axis=0) ** 2)
            out["r_mean"][it] = s.r.mean()
            out["self_trans"][it] = np.mean([s.trans[k, k] for k in main])
            out["switches"][it] = np.sum(np.diff(s.states) != 0)
            out["beta_spare"][it] = s.beta[counts == 0].sum()
            eye = np.eye(s.A.shape[1])
            out["A_dev"][it] = np.mean([np.sum((s.A[k] - eye) ** 2) for k in main])
            out["c_sq"][it] = np.mean(s.c ** 2)
            out["d_mean"][it] = s.d.mean()
    out["noise_moves"] = tuple(chain.noise_moves_counts)
    out["seconds_per_sweep"] = (time.perf_counter() - t0) / sweeps
    return out


def pool(files: list[str], burn_in: int) -> None:
    """Per-chain count distributions and cross-chain split R-hat of saved traces."""
    traces: dict[str, list[np.ndarray]] = {}
    for f in files:
        with np.load(f) as a:
            for key in a.files:
                name = key.rsplit("_", 1)[0]
                if name in ("loglik", "occupied", "major"):
                    traces.setdefault(name, []).append(a[key][burn_in:])
    n = min(len(v) for v in traces["loglik"])
    print(f"{len(traces['loglik'])} chains, sweeps {burn_in}-{burn_in + n}")
    for name, chains in traces.items():
        x = np.array([v[:n] for v in chains])
        print(f"{name}: split R-hat {split_rhat(x):.3f}, bulk ESS {bulk_ess(x):.0f} of {x.size}, "
              f"chain means {', '.join(f'{m:.5g}' for m in x.mean(1))}")
        if name != "loglik":
            for label, v in [(str(i), row) for i, row in enumerate(x)] + [("pooled", x.ravel())]:
                p = np.bincount(v.astype(int), minlength=11) / v.size
                print(f"  {label}: P(2..6) = {' / '.join(f'{q:.2f}' for q in p[2:7])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chain-seeds", default="2,3")
    ap.add_argument("--sweeps", type=int, default=1500)
    ap.add_argument("--burn-in", type=int, default=200)
    ap.add_argument("--sim-seed", type=int, default=0)
    ap.add_argument("--noise-moves", type=int, default=None,
                    help="rounds of noise scale moves per sweep (default: the parameter's "
                         "default; 0: off)")
    ap.add_argument("--state-moves", default=BiclusterParams().state_moves,
                    choices=tuple(STATE_MOVES), help="state moves of the chains")
    ap.add_argument("--dynamics-v0", type=float, default=None,
                    help="column covariance scale V0 of the dynamics prior (default: the "
                         "parameter's default)")
    ap.add_argument("--config", action="append", default=[], metavar="FIELD=VALUE",
                    help="another ModelConfig field (float), e.g. scale_step=0.1; repeatable")
    ap.add_argument("--save", default="",
                    help="npz file for the traces (one array per scalar and chain seed)")
    ap.add_argument("--pool", nargs="+", default=[],
                    help="saved trace files to summarise instead of running chains")
    args = ap.parse_args()
    if args.pool:
        pool(args.pool, args.burn_in)
        return
    if args.noise_moves is None:
        args.noise_moves = BiclusterParams().noise_moves
    print(f"simulation seed {args.sim_seed}, {args.sweeps} sweeps per chain (first "
          f"{args.burn_in} dropped), state moves: {args.state_moves}, noise scale moves: "
          f"{args.noise_moves} rounds")
    saved = {}
    for seed in [int(v) for v in args.chain_seeds.split(",")]:
        out = follow(seed, args.sweeps, args.sim_seed, args.noise_moves, args.state_moves,
                     args.dynamics_v0,
                     **{k: float(v) for k, v in (c.split("=", 1) for c in args.config)})
        if args.save:
            saved.update({f"{k}_{seed}": out[k] for k in SCALARS})
            np.savez_compressed(args.save, **saved)
        acc, prop = out["noise_moves"]
        print(f"\n### chain seed {seed}" + (f" (noise moves accepted {acc} of {prop})"
                                            if prop else "")
              + f", {out['seconds_per_sweep']:.3f} s per sweep")
        print("| scalar | autocorrelation time (sweeps) | corr. with log-lik | corr. with "
              "occupied | means per 100 sweeps |")
        print("|---|---|---|---|---|")
        ll = out["loglik"][args.burn_in:]
        occ = out["occupied"][args.burn_in:]
        for k in SCALARS:
            v = out[k][args.burn_in:]
            corr = [np.corrcoef(v, w)[0, 1] if np.std(v) > 0 and np.std(w) > 0 else np.nan
                    for w in (ll, occ)]
            blocks = ", ".join(f"{b.mean():.4g}" for b in np.array_split(v, max(1, len(v) // 100)))
            print(f"| {k} | {autocorrelation_time(v):.1f} | {corr[0]:+.2f} | {corr[1]:+.2f} | "
                  f"{blocks} |", flush=True)


if __name__ == "__main__":
    main()
