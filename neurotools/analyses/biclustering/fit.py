"""Run chains and pool them into a :class:`~neurotools.analyses.base.Result`.

Each chain is a module-level function of one picklable item (counts, settings, its own seed), so
chains go through :func:`~neurotools.analyses.base.parallel_map` on any executor and give the same
arrays whatever the executor. Memory per chain is flat in the number of iterations: similarity
matrices are running sums, and at most ``MAX_DRAWS`` thinned partitions / latent paths are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from neurotools.analyses.base import Progress, Result, inputs_of, parallel_map, sub_progress
from neurotools.analyses.biclustering.params import BiclusterParams
from neurotools.analyses.biclustering.sampler import Chain, ModelConfig, log_rates
from neurotools.analyses.biclustering.summaries import (
    adjusted_rand,
    bulk_ess,
    convergence_warnings,
    major_state_count,
    major_state_min_bins,
    point_partitions,
    relabel,
    split_rhat,
)
from neurotools.analyses.live import LiveTraceWriter, latest_x, live_sink, read_live_traces
from neurotools.blas_threads import one_blas_thread
from neurotools.data.binning import neural_matrix
from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Most thinned draws (partitions, state paths) kept per chain.
MAX_DRAWS = 200
#: Most latent-path draws kept per chain (and at most ``LATENT_BUDGET`` floats in all).
MAX_LATENT_DRAWS = 100
LATENT_BUDGET = 6_000_000
#: Longest state sequence for which the T x T state similarity matrix is accumulated.
MAX_STATE_PSM = 1000
#: Posterior predictive statistics per neuron.
PPC_STATS = ("mean", "variance", "zero_fraction")
#: ``ModelConfig`` settings of each ``state_moves`` choice
STATE_MOVES: dict[str, dict] = {
    "ffbs": {},
    "window": {"window_moves": True},
    "collapsed": {"collapsed_states": True},
    "all": {"window_moves": True, "collapsed_states": True, "state_sweeps": 1},
    "jumps": {"window_moves": True, "path_birth_death": 10},
    "merges": {"window_moves": True, "state_merges": 10},
    "jumps_merges": {"window_moves": True, "path_birth_death": 10, "state_merges": 10},
}


def model_config(params: BiclusterParams) -> ModelConfig:
    """The sampler settings of ``params`` (the chains' starts are set per chain)."""
    return ModelConfig(model=params.model, latent_dim=params.latent_dim,
                       max_states=params.max_states, neuron_prior=params.neuron_prior,
                       r_k=params.cluster_rate, hdp_kappa=params.sticky_kappa,
                       dynamics_v0=params.dynamics_prior_scale,
                       offset_v0=params.offset_prior_scale, noise_moves=params.noise_moves,
                       **STATE_MOVES[params.state_moves])


@dataclass
class ChainJob:
    """Everything one chain needs (picklable)."""

    y: np.ndarray                 # (N, T) counts
    config: ModelConfig
    seed: tuple[int, int]
    iterations: int
    burn_in: int
    index: int = 0
    #: optional live trace of this chain's log-joint and log-likelihood (written while it runs)
    live: LiveTraceWriter | None = None


@dataclass
class ChainOutput:
    """Streaming summaries of one chain."""

    psm_sum: np.ndarray                       # (N, N)
    state_psm_sum: np.ndarray | None          # (T, T) or None
    n_kept: int
    partitions: np.ndarray                    # (M, N)
    state_paths: np.ndarray                   # (M, T)
    latent_draws: list = field(default_factory=list)   # [(z (N,), lat (T, K, q))]
    loglik: np.ndarray = None                 # (iterations,)
    logjoint: np.ndarray = None               # (iterations,)
    n_clusters: np.ndarray = None             # (iterations,)
    n_states: np.ndarray = None               # (iterations,)
    n_major_states: np.ndarray = None         # (iterations,) states with >= 1% of the bins
    k_hist: np.ndarray = None                 # (N + 1,)
    s_hist: np.ndarray = None                 # (L + 1,)
    major_hist: np.ndarray = None             # (L + 1,)
    ppc_exceed: np.ndarray = None             # (N, 3)
    ppc_n: int = 0
    dispersion_sum: np.ndarray = None         # (N,)
    seconds: float = 0.0
    start_clusters: int = 0                   # clusters of the starting partition
    #: moves that change the number of clusters after the burn-in: kind -> [proposed, accepted]
    cluster_moves: dict = field(default_factory=dict)


def _ppc_stats(y: np.ndarray) -> np.ndarray:
    return np.stack([y.mean(1), y.var(1), (y == 0).mean(1)], 1)


def run_chain(job: ChainJob, progress: Progress | None = None) -> ChainOutput:
    """Run one chain and return its streaming summaries (module level: picklable).

    The chain runs with BLAS limited to one thread: its linear algebra is on small blocks, and
    chains run in parallel processes, so BLAS threads would only compete for the same cores (a
    threaded banded Cholesky slowed by 100x or more when the cores were busy). Chains that
    share a process as threads (a Dask worker with several threads) share the limit.
    """
    with one_blas_thread():
        return _run_chain(job, progress)


def _run_chain(job: ChainJob, progress: Progress | None) -> ChainOutput:
    rng = np.random.default_rng(list(job.seed))
    chain = Chain(job.y, job.config, rng)
    # The predictive checks draw from a stream of their own, so that a chain's draws do not
    # depend on the burn-in or the thinning.
    ppc_rng = np.random.default_rng([*job.seed, 1])
    N, T, L = chain.N, chain.T, chain.L
    kept_total = job.iterations - job.burn_in
    thin = max(1, int(np.ceil(kept_total / MAX_DRAWS)))
    n_lat = min(MAX_LATENT_DRAWS, max(1, LATENT_BUDGET // max(T * 4 * (1 + chain.p), 1)))
    thin_lat = max(1, int(np.ceil(kept_total / n_lat)))
    out = ChainOutput(
        psm_sum=np.zeros((N, N)),
        state_psm_sum=np.zeros((T, T), np.float32) if T <= MAX_STATE_PSM else None,
        n_kept=0, partitions=np.empty((0, N), np.int64), state_paths=np.empty((0, T), np.int64),
        loglik=np.empty(job.iterations), logjoint=np.empty(job.iterations),
        n_clusters=np.empty(job.iterations, np.int64),
        n_states=np.empty(job.iterations, np.int64), k_hist=np.zeros(N + 1),
        n_major_states=np.empty(job.iterations, np.int64), major_hist=np.zeros(L + 1),
        s_hist=np.zeros(L + 1), ppc_exceed=np.zeros((N, len(PPC_STATS))),
        dispersion_sum=np.zeros(N), start_clusters=chain.state.K,
    )
    parts, paths = [], []
    min_bins = major_state_min_bins(T)
    obs_stats = _ppc_stats(chain.y)
    t0 = time.perf_counter()
    at_burn_in = {kind: list(v) for kind, v in chain.move_counts.items()}
    for it in range(job.iterations):
        if it == job.burn_in:
            at_burn_in = {kind: list(v) for kind, v in chain.move_counts.items()}
        chain.step()
        s = chain.state
        log_mu = log_rates(s)
        ll = chain.loglik(log_mu)
        lj = chain.log_joint(log_mu)
        n_occ = major_state_count(s.states, 1)
        n_major = major_state_count(s.states, min_bins)
        out.loglik[it], out.n_clusters[it], out.n_states[it] = ll, s.K, n_occ
        out.n_major_states[it] = n_major
        out.logjoint[it] = lj
        if job.live is not None:
            job.live.add(it + 1, log_joint=lj, log_lik=ll, clusters=s.K, states=n_occ)
        if it >= job.burn_in:
            k = it - job.burn_in
            out.n_kept += 1
            out.psm_sum += s.z[:, None] == s.z[None, :]
            if out.state_psm_sum is not None:
                out.state_psm_sum += s.states[:, None] == s.states[None, :]
            out.k_hist[s.K] += 1
            out.s_hist[n_occ] += 1
            out.major_hist[n_major] += 1
            out.dispersion_sum += s.r
            if k % thin == 0:
                parts.append(s.z.copy())
                paths.append(s.states.copy())
                mu = np.exp(np.minimum(log_mu, 30))
                if job.config.model == "nb":
                    yrep = ppc_rng.poisson(ppc_rng.gamma(s.r[:, None], mu / s.r[:, None]))
                else:
                    yrep = ppc_rng.poisson(mu)
                out.ppc_exceed += _ppc_stats(yrep) >= obs_stats
                out.ppc_n += 1
            if k % thin_lat == 0:
                out.latent_draws.append((s.z.copy(), s.lat.astype(np.float32)))
        if progress is not None:
            progress((it + 1) / job.iterations,
                     f"chain {job.index + 1}: iteration {it + 1}/{job.iterations}, "
                     f"log-joint {lj:.1f}, {s.K} clusters, {n_occ} states")
    out.partitions = np.array(parts, np.int64).reshape(-1, N)
    out.state_paths = np.array(paths, np.int64).reshape(-1, T)
    out.seconds = time.perf_counter() - t0
    if job.live is not None:
        job.live.flush()
    out.cluster_moves = {kind: [v[0] - at_burn_in[kind][0], v[1] - at_burn_in[kind][1]]
                         for kind, v in chain.move_counts.items()}
    return out


def start_shift(chain: int) -> int:
    """Shift of chain ``chain``'s starting number of clusters under spread starts.

    0, +1, -1, +2, -2, ... (chain 0 keeps the data-driven start).
    """
    return (chain + 1) // 2 * (1 if chain % 2 else -1)


def _run_chain_item(job: ChainJob) -> ChainOutput:
    return run_chain(job)


def permuted_accuracy(truth: np.ndarray, estimate: np.ndarray) -> float:
    """Fraction of agreeing labels after the best one-to-one matching of estimate to truth."""
    a, b = relabel(truth), relabel(estimate)
    conf = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(conf, (a, b), 1)
    r, c = linear_sum_assignment(-conf)
    return float(conf[r, c].sum() / len(a))


def _latent_bands(clusters: np.ndarray, draws: list) -> tuple[np.ndarray, ...]:
    """Mean and 95% band of each point cluster's latent path, over stored draws."""
    K = int(clusters.max()) + 1
    T, q = draws[0][1].shape[0], draws[0][1].shape[2]
    mean = np.zeros((T, K, q))
    lo = np.zeros((T, K, q))
    hi = np.zeros((T, K, q))
    for k in range(K):
        members = clusters == k
        paths = []
        for z, lat in draws:
            j = np.bincount(z[members]).argmax()
            paths.append(lat[:, j, :])
        paths = np.asarray(paths, float)
        mean[:, k], lo[:, k], hi[:, k] = (paths.mean(0), np.percentile(paths, 2.5, axis=0),
                                          np.percentile(paths, 97.5, axis=0))
    return mean, lo, hi


def counts_matrix(recordings: list[Recording], params: BiclusterParams):
    """Binned counts of the inputs (concatenated in time), their bin times and session index.

    Raises
    ------
    UserError
        For trace-only data, mismatched neuron counts across sessions, or too little data.
    """
    mats = []
    for rec in recordings:
        nm = neural_matrix(rec, params.source, params.bin_size, params.t_start, params.t_stop,
                           params.unit_indices())
        if not nm.is_counts:
            raise UserError(
                f"bicluster models spike counts, but {rec.source.name} gives '{nm.source}' traces; "
                "choose a file with sorted units (source=units)."
            )
        mats.append(nm)
    n = {m.values.shape[1] for m in mats}
    if len(n) > 1:
        raise UserError(
            f"The inputs have different numbers of neurons ({sorted(n)}); bicluster pools sessions "
            "only over the same neurons: select matching units with 'units'."
        )
    y = np.concatenate([m.values for m in mats], 0).T.astype(np.int64)
    N, T = y.shape
    if N < 2:
        raise UserError(f"bicluster needs at least 2 neurons; the input has {N}.")
    if T < 10:
        raise UserError(
            f"bicluster needs at least 10 time bins; the input has {T}: lower 'bin_size' "
            "or widen the time range."
        )
    if y.sum() == 0:
        raise UserError("The selected neurons fire no spike in the selected range; widen it.")
    bin_times = np.concatenate([m.bin_times for m in mats])
    session = np.concatenate([np.full(len(m.bin_times), k) for k, m in enumerate(mats)])
    return y, bin_times, session, mats[0]


def _live_iterations(directory: str, iterations: int,
                     chains: int) -> Callable[[], tuple[float, str]]:
    """A poll of the chains' live traces: (share of all chains' iterations done, iterations
    per chain); a chain not started yet has no trace and counts as 0."""

    def poll() -> tuple[float, str]:
        traces = read_live_traces(directory)
        done = latest_x(traces)[:chains]
        if not done:
            return 0.0, ""
        done += [0] * (chains - len(done))
        return (sum(done) / (chains * iterations),
                "iterations " + ", ".join(f"{d}/{iterations}" for d in done))

    return poll


def run(
    recordings: list[Recording],
    params: BiclusterParams,
    progress: Progress | None = None,
    seed: int = 0,
    device: str = "cpu",
    executor: Executor | None = None,
) -> Result:
    """Fit the bi-clustering model by MCMC (several chains) and summarise the posterior.

    Parameters
    ----------
    recordings : list of Recording
        One or more sessions with the same units; counts are concatenated in time.
    params : BiclusterParams
    progress : callable, optional
        ``progress(fraction, message)``; may raise ``Cancelled`` between iterations. Per
        iteration when chains run inline (``executor=None``). Through an executor: as chains
        finish, and every second from the chains' live traces when the callback carries a
        live-trace sink (attribute ``live``); a ``Cancelled`` then cancels the chains not
        started.
    seed : int
        Chain c uses the generator seeded with ``[seed, c]``; its posterior predictive draws use
        ``[seed, c, 1]``, so that the chain does not depend on the burn-in or the thinning.
    device : str
        Accepted for the common signature; the sampler is numpy and always runs on the CPU
        (the result says ``"cpu"`` and notes any other request).
    executor : concurrent.futures.Executor, optional
        Runs the chains in parallel (processes, Dask).

    Returns
    -------
    Result
        Arrays ``neuron_clusters`` [N], ``state_sequence`` [T], ``neuron_coclustering`` [N, N],
        ``loglik_trace`` [iterations] (chain 1), ``bin_times`` [T] and the summaries listed in
        ``docs/analyses/biclustering.md``.
    """
    if not recordings:
        raise UserError("bicluster needs at least one recording.")
    t_start = time.perf_counter()
    y, bin_times, session, nm = counts_matrix(recordings, params)
    N, T = y.shape
    cfg = model_config(params)
    jobs = [ChainJob(y, replace(cfg, init_shift=start_shift(c) if params.starts == "spread"
                                else 0),
                     (int(seed), c), params.iterations, params.burn_in, c)
            for c in range(params.chains)]
    sink = live_sink(progress)
    if sink is not None:
        units = {"log_joint": "nats", "log_lik": "nats", "clusters": "count", "states": "count"}
        for c, job in enumerate(jobs):
            job.live = sink.writer(f"chain_{c + 1:03d}", f"chain {c + 1}", params.iterations,
                                   units)
    report = progress
    if executor is None:
        outs = []
        for c, job in enumerate(jobs):
            sub = sub_progress(report, c / len(jobs), (c + 1) / len(jobs)) if report else None
            if sub is not None:
                sub(0.0, f"chain {c + 1}/{len(jobs)} starting")
            outs.append(run_chain(job, sub))
    else:
        if report:
            report(0.0, f"running {len(jobs)} chains in parallel")
        poll = (_live_iterations(sink.directory, params.iterations, len(jobs))
                if sink is not None else None)
        outs = parallel_map(_run_chain_item, jobs, executor,
                            sub_progress(report, 0.0, 0.99) if report else None, "chains", poll)
    if report:
        report(1.0, "summarising the posterior")
    return summarise(outs, params, recordings, nm, y, bin_times, session, seed, device,
                     time.perf_counter() - t_start)


def summarise(outs: list[ChainOutput], params: BiclusterParams, recordings: list[Recording],
              nm, y: np.ndarray, bin_times: np.ndarray, session: np.ndarray, seed: int,
              device: str, runtime_s: float) -> Result:
    """Pool the chains' streaming summaries into the Result (arrays, metrics, info)."""
    N, T = y.shape
    kept = sum(o.n_kept for o in outs)
    psm = sum(o.psm_sum for o in outs) / kept
    parts = np.concatenate([o.partitions for o in outs])
    paths = np.concatenate([o.state_paths for o in outs])
    neuron_maxpear, neuron_dahl = point_partitions(parts, psm)
    state_psm = None
    if outs[0].state_psm_sum is not None:
        state_psm = (sum(o.state_psm_sum.astype(float) for o in outs) / kept).astype(np.float32)
    # maxPEAR searches the draws and the cuts of the state PSM's average-linkage tree (Fritsch &
    # Ickstadt 2009); the PSM is kept for T <= MAX_STATE_PSM bins
    state_maxpear, state_dahl = point_partitions(
        paths, None if state_psm is None else state_psm.astype(float), max_candidates=100)
    k_post = sum(o.k_hist for o in outs) / kept
    s_post = sum(o.s_hist for o in outs) / kept
    major_post = sum(o.major_hist for o in outs) / kept
    burn = params.burn_in
    post = slice(burn, None)
    ll = np.stack([o.loglik for o in outs])
    lj = np.stack([o.logjoint for o in outs])
    kk = np.stack([o.n_clusters for o in outs]).astype(float)
    ss = np.stack([o.n_states for o in outs]).astype(float)
    mm = np.stack([o.n_major_states for o in outs]).astype(float)
    chain_parts = np.array([point_partitions(o.partitions, o.psm_sum / o.n_kept)[0] for o in outs])
    aris = [adjusted_rand(chain_parts[a], chain_parts[b])
            for a in range(len(outs)) for b in range(a + 1, len(outs))]
    lat_mean, lat_lo, lat_hi = _latent_bands(neuron_maxpear,
                                             [d for o in outs for d in o.latent_draws])
    ppc = sum(o.ppc_exceed for o in outs) / max(sum(o.ppc_n for o in outs), 1)
    arrays = {
        "neuron_clusters": neuron_maxpear,
        "neuron_clusters_dahl": neuron_dahl,
        "state_sequence": state_maxpear,
        "state_sequence_dahl": state_dahl,
        "neuron_coclustering": psm,
        "loglik_trace": ll[0],
        "loglik_traces": ll,
        "logjoint_traces": lj,
        "n_clusters_trace": kk.astype(np.int64),
        "n_states_trace": ss.astype(np.int64),
        "n_clusters_posterior": k_post,
        "n_states_posterior": s_post,
        "n_major_states_trace": mm.astype(np.int64),
        "n_major_states_posterior": major_post,
        "chain_neuron_clusters": chain_parts,
        "latent_mean": lat_mean,
        "latent_lower": lat_lo,
        "latent_upper": lat_hi,
        "ppc_pvalues": ppc,
        "dispersion_mean": sum(o.dispersion_sum for o in outs) / kept,
        "bin_times": bin_times,
        "neuron_indices": np.asarray(nm.neuron_indices, np.int64),
    }
    if state_psm is not None:
        arrays["state_coclustering"] = state_psm
    if len(recordings) > 1:
        arrays["session_index"] = session
    sec_iter = float(np.mean([o.seconds for o in outs]) / params.iterations)
    metrics = {
        "n_neurons": N, "n_bins": T,
        "n_clusters_mode": int(np.argmax(k_post)), "p_n_clusters_mode": float(k_post.max()),
        "n_states_mode": int(np.argmax(s_post)), "p_n_states_mode": float(s_post.max()),
        "n_major_states_mode": int(np.argmax(major_post)),
        "p_n_major_states_mode": float(major_post.max()),
        "n_clusters_point": int(neuron_maxpear.max() + 1),
        "n_states_point": int(state_maxpear.max() + 1),
        "rhat_loglik": split_rhat(ll[:, post]), "rhat_n_clusters": split_rhat(kk[:, post]),
        "rhat_logjoint": split_rhat(lj[:, post]), "ess_bulk_logjoint": bulk_ess(lj[:, post]),
        "rhat_n_states": split_rhat(ss[:, post]),
        "ess_bulk_loglik": bulk_ess(ll[:, post]), "ess_bulk_n_clusters": bulk_ess(kk[:, post]),
        "ess_bulk_n_states": bulk_ess(ss[:, post]),
        "rhat_n_major_states": split_rhat(mm[:, post]),
        "ess_bulk_n_major_states": bulk_ess(mm[:, post]),
        "min_pairwise_chain_ari": float(min(aris)) if aris else float("nan"),
        "seconds_per_iteration": sec_iter,
        "ppc_extreme_fraction": float(np.mean((ppc < 0.025) | (ppc > 0.975))),
    }
    gt = recordings[0].ground_truth if len(recordings) == 1 else {}
    if gt.get("neuron_clusters") is not None and params.unit_indices() is None \
            and len(gt["neuron_clusters"]) == N:
        metrics["truth_neuron_ari"] = adjusted_rand(gt["neuron_clusters"], neuron_maxpear)
    if gt.get("state_sequence") is not None and len(gt["state_sequence"]) == T:
        metrics["truth_state_accuracy"] = permuted_accuracy(gt["state_sequence"], state_maxpear)
        metrics["truth_state_ari"] = adjusted_rand(gt["state_sequence"], state_maxpear)
    info = {
        "neuron_labels": list(nm.labels),
        "ppc_statistics": list(PPC_STATS),
        "latent_components": ["baseline"] + [f"factor {k + 1}" for k in range(params.latent_dim)],
        "bin_size_s": params.bin_size,
        "major_state_min_bins": major_state_min_bins(T),
        "kept_draws_per_chain": [o.n_kept for o in outs],
        "notes": ("state_sequence / neuron_clusters are maxPEAR point partitions; *_dahl are "
                  "Dahl's; loglik_trace is chain 1 (loglik_traces has every chain)."),
    }
    info["starts"] = params.starts
    info["start_clusters_per_chain"] = [int(o.start_clusters) for o in outs]
    if params.starts == "shared" and len(outs) > 1:
        info["start_note"] = (
            "All chains started from the same neuron partition, so their agreement on the "
            "clusters does not show that the answer is independent of the start; rerun with "
            "starts=spread to test it.")
    moves = {kind: [int(sum(o.cluster_moves.get(kind, (0, 0))[a] for o in outs)) for a in (0, 1)]
             for kind in ("new/empty", "split", "merge")}
    info["cluster_count_moves"] = moves
    if kk[:, post].size and all(np.ptp(kk[c, post]) == 0 for c in range(len(outs))):
        accepted = sum(v[1] for v in moves.values())
        proposed = sum(v[0] for v in moves.values())
        info["frozen_clusters_note"] = (
            f"No chain changed its number of neuron clusters after the burn-in ({accepted} of "
            f"{proposed} cluster-count moves accepted), so P(number of clusters) shows where "
            f"each chain started rather than the posterior over cluster counts; compare "
            f"chains started apart (starts=spread).")
    info["convergence_warnings"] = convergence_warnings(metrics)
    # result files store a non-finite number as null: name the infinite ones (e.g. R-hat of
    # chains that each stayed at a value of their own) so that readers can tell them from NaN
    info["infinite_metrics"] = sorted(k for k, v in metrics.items()
                                      if isinstance(v, float) and np.isinf(v))
    if device != "cpu":
        info["device_note"] = f"'{device}' was requested; the sampler runs on the CPU (numpy)."
    return Result(
        analysis="bicluster", params=params.to_dict(),
        seed=int(seed), inputs=inputs_of(recordings, nm.source), arrays=arrays,
        metrics=metrics, info=info, runtime_s=runtime_s, device="cpu",
    )
