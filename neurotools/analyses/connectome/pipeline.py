"""``run``: affinity tensor -> rank scan of non-negative CP -> communities per component."""

from __future__ import annotations

import time
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from neurotools.analyses.base import (
    Progress,
    Result,
    inputs_of,
    null_progress,
    parallel_map,
    sub_progress,
)
from neurotools.analyses.connectome.communities import core_community, detect, pairs_to_matrix
from neurotools.analyses.connectome.ntf import CPFit, ncp_hals
from neurotools.analyses.connectome.params import NAME, Params
from neurotools.analyses.connectome.selection import factor_match, suggest_rank
from neurotools.analyses.connectome.tensor import AffinityTensor, build_tensor
from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Relative objective decrease at which HALS stops.
TOL = 1e-5


@dataclass
class FitTask:
    """One NTF restart (picklable for process and Dask executors)."""

    X: np.ndarray
    mask: np.ndarray | None
    rank: int
    seed: int
    n_iter: int
    device: str


def fit_restart(task: FitTask, callback=None) -> CPFit:
    """Run one HALS restart (module-level so executors can pickle it).

    ``callback(iteration, rel_error)`` is called after every iteration (inline runs only).
    """
    return ncp_hals(task.X, task.rank, mask=task.mask, n_iter=task.n_iter, tol=TOL,
                    seed=task.seed, device=task.device, callback=callback,
                    dtype="float32" if task.device.startswith("cuda") else "float64")


def restart_seed(seed: int, rank: int, restart: int) -> int:
    """Independent seed of one restart, a function of (seed, rank, restart) only."""
    return int(np.random.SeedSequence([int(seed), int(rank), int(restart)]).generate_state(1)[0])


def scan_ranks(
    tensor: AffinityTensor,
    ranks: list[int],
    restarts: int,
    n_iter: int,
    seed: int,
    device: str,
    executor: Executor | None,
    progress: Progress,
) -> tuple[dict[int, list[CPFit]], np.ndarray, np.ndarray]:
    """Fit ``restarts`` restarts at every rank.

    Returns
    -------
    fits : dict of int to list of CPFit
        Restarts per rank, best (lowest error) first.
    errors : ndarray, shape (len(ranks), restarts)
        Relative errors, best first.
    similarity : ndarray, shape (len(ranks),)
        Mean factor match score (with weights) of the other restarts to the best one.
    """
    fits: dict[int, list[CPFit]] = {}
    errors = np.zeros((len(ranks), restarts))
    similarity = np.ones(len(ranks))
    for k, r in enumerate(ranks):
        progress(k / len(ranks), f"NTF rank {r}: {restarts} restarts")
        tasks = [FitTask(tensor.X, tensor.mask, r, restart_seed(seed, r, i), n_iter, device)
                 for i in range(restarts)]
        if executor is None:
            # inline: report (and honour a cancel) between HALS iterations
            out = []
            for i, task in enumerate(tasks):
                frac0 = (k + i / restarts) / len(ranks)

                def tick(it, err, frac0=frac0, i=i, r=r):
                    if it % 10 == 0:
                        progress(frac0 + it / n_iter / restarts / len(ranks),
                                 f"NTF rank {r}, restart {i + 1}/{restarts}: iteration {it}, "
                                 f"error {err:.4f}")

                out.append(fit_restart(task, tick))
        else:
            out = parallel_map(fit_restart, tasks, executor,
                               sub_progress(progress, k / len(ranks), (k + 1) / len(ranks)),
                               f"NTF restarts of rank {r}")
        out.sort(key=lambda f: f.rel_error)
        fits[r] = out
        errors[k] = [f.rel_error for f in out]
        if len(out) > 1:
            best = out[0]
            similarity[k] = np.mean([
                factor_match(best.factors, f.factors, best.weights, f.weights)[0] for f in out[1:]
            ])
    progress(1.0, "rank scan done")
    return fits, errors, similarity


def run(
    recordings: list[Recording],
    params: Params,
    progress: Progress | None = None,
    seed: int = 0,
    device: str = "cpu",
    executor: Executor | None = None,
) -> Result:
    """Dynamic functional connectome of one or several recordings.

    Parameters
    ----------
    recordings : list of Recording
        Several recordings = several animals (neurons matched by label); one recording with a
        trials table = trials as the third mode; spikes are turned into rates.
    params : Params
    progress : callable or None
        ``progress(fraction, message)``; may raise :class:`neurotools.errors.Cancelled`.
    seed : int
        Seed of every random start (same seed -> same arrays).
    device : str
        ``"cpu"`` (numpy backend, float64) or ``"cuda"`` (pytorch backend, float32).
    executor : Executor or None
        Runs the restarts (inline when None).

    Returns
    -------
    Result
        Arrays ``time_factors`` [R, T'], ``animal_factors`` [R, W], ``pair_factors`` [R, P],
        ``communities`` [R, N], ``bin_times`` [T'], and the rank scan (``ranks``, ``rank_errors``,
        ``rank_similarity``), ``component_weights`` [R], ``core_community`` [R],
        ``n_communities`` [R], ``present`` [N, W], ``objective`` [iterations],
        ``neuron_labels`` [N], ``slice_names`` [W], ``slice_starts`` [W] (s). ``info["warnings"]``
        lists, one sentence each, what the user should read before trusting the result (e.g.
        recordings or trials cut to a common length).
    """
    t0 = time.perf_counter()
    progress = progress or null_progress
    if isinstance(recordings, Recording):
        recordings = [recordings]
    recordings = list(recordings)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError("device=cuda was asked for but no CUDA GPU is available; use --device cpu.")
    progress(0.0, "computing affinities")
    tensor = build_tensor(recordings, params, sub_progress(progress, 0.0, 0.1))
    P, T, W = tensor.X.shape
    if params.rank == "auto":
        ranks = list(range(1, int(params.max_rank) + 1))
    else:
        ranks = [int(params.rank)]
    ranks = [r for r in ranks if r <= max(1, min(P, T * W))] or [1]
    fits, errors, similarity = scan_ranks(
        tensor, ranks, int(params.restarts), int(params.iterations), seed, device, executor,
        sub_progress(progress, 0.1, 0.85),
    )
    suggested = suggest_rank(np.array(ranks), errors[:, 0], similarity)
    rank = suggested if params.rank == "auto" else int(params.rank)
    best = fits[rank][0]
    pair_f, time_f, slice_f = best.factors
    N = len(tensor.labels)
    communities = np.zeros((rank, N), dtype=np.int64)
    core = np.zeros(rank, dtype=np.int64)
    ncomm = np.zeros(rank, dtype=np.int64)
    cprog = sub_progress(progress, 0.85, 1.0)
    for r in range(rank):
        cprog(r / rank, f"communities of component {r + 1}/{rank}")
        G = pairs_to_matrix(pair_f[:, r], N)
        lab = detect(G, params.community, seed=restart_seed(seed, 0, r))
        communities[r] = lab
        core[r] = core_community(G, lab)
        ncomm[r] = lab.max() + 1
    progress(1.0, "done")
    arrays = {
        "time_factors": time_f.T.copy(),
        "animal_factors": slice_f.T.copy(),
        "pair_factors": pair_f.T.copy(),
        "communities": communities,
        "bin_times": tensor.bin_times,
        "component_weights": best.weights,
        "core_community": core,
        "n_communities": ncomm,
        "ranks": np.array(ranks),
        "rank_errors": errors,
        "rank_similarity": similarity,
        "objective": best.objective,
        "present": tensor.present,
        "neuron_labels": np.array(tensor.labels, dtype=str),
        "slice_names": np.array(tensor.slice_names, dtype=str),
        "slice_starts": tensor.slice_starts,
    }
    metrics = {
        "rank": int(rank),
        "suggested_rank": int(suggested),
        "rel_error": float(best.rel_error),
        "restart_similarity": float(similarity[ranks.index(rank)]),
        "n_neurons": int(N),
        "n_pairs": int(P),
        "n_bins": int(T),
        "n_slices": int(W),
        "hals_iterations": int(len(best.objective)),
        "hals_converged": bool(best.converged),
        "seconds_per_iteration": float(best.seconds_per_iteration),
    }
    info = {
        "third_mode": tensor.mode,
        "bin_s": float(tensor.bin_s),
        "masked_pairs": int(0 if tensor.mask is None else (~tensor.mask).sum()),
        "warnings": list(tensor.warnings),
        "note": "pairs in numpy.triu_indices(N, 1) order; factors have unit L2 norm, "
                "component_weights carry the scale",
    }
    return Result(
        analysis=NAME,
        params=params.to_dict(),
        seed=int(seed),
        inputs=inputs_of(recordings, tensor.sources if len(tensor.sources) == len(recordings) else tensor.sources[0]),
        arrays=arrays,
        metrics=metrics,
        info=info,
        runtime_s=time.perf_counter() - t0,
        device="cuda" if device.startswith("cuda") else "cpu",
    )
