"""``run``: the HMM-GLM analysis of one or more recordings, from binning to the Result."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import replace

import numpy as np
import torch

from neurotools.analyses.base import Progress, Result, Timer, inputs_of, parallel_map, sub_progress
from neurotools.analyses.hmmglm.basis import exponential_basis, history_features
from neurotools.analyses.hmmglm.fit import (
    FitConfig,
    FitResult,
    bits_per_spike,
    evaluate,
    fit_glm,
    fit_hmmglm,
    glm_as_fit,
    make_seqdata,
)
from neurotools.analyses.hmmglm.matching import match_weights
from neurotools.analyses.hmmglm.metrics import truth_metrics
from neurotools.analyses.hmmglm.params import HmmGlmParams
from neurotools.analyses.hmmglm.sequences import Sequences, cut_sequences, split_sequences
from neurotools.data.binning import neural_matrix
from neurotools.data.recording import Recording
from neurotools.errors import UserError

NAME = "hmmglm"


def _config(params: HmmGlmParams, device: str) -> FitConfig:
    return FitConfig(
        n_states=params.n_states, prior=params.prior, link=params.link,
        emission=params.emission, n_basis=params.n_basis, epochs=params.epochs,
        m_steps=params.m_steps, learning_rate=params.learning_rate, sigma=params.sigma,
        tau=params.temperature, threshold=params.weight_threshold,
        learn_initial=params.learn_initial, state_bias=params.state_bias,
        init_noise=params.init_noise, l2=params.l2, warmup_epochs=params.warmup_epochs,
        device=device,
    )


def _check_device(device: str) -> str:
    if device not in ("cpu", "cuda"):
        raise UserError(f"The device must be cpu or cuda. Got {device!r} instead.")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA was requested but no GPU is available here; use --device cpu.")
    return device


def load_sequences(recordings: list[Recording], params: HmmGlmParams
                   ) -> tuple[Sequences, list, list[str], str]:
    """Bin every recording and cut it into sequences.

    Returns
    -------
    sequences : Sequences
    matrices : list of NeuralMatrix
        One per recording.
    labels : list of str
        Neuron labels (of the first recording).
    source : str
        The data source used.
    """
    counts, index, session, origins, matrices = [], [], [], [], []
    n_neurons = None
    source = "units"
    for i, rec in enumerate(recordings):
        m = neural_matrix(rec, params.source, params.bin_size, params.t_start, params.t_stop,
                          params.unit_indices())
        if not m.is_counts:
            raise UserError(
                f"The hmmglm analysis models spike counts, but {rec.source.name} gives "
                f"{m.source} traces; open a file with a Units table (sorted spikes)."
            )
        if n_neurons is not None and m.values.shape[1] != n_neurons:
            raise UserError(
                f"All recordings must have the same number of neurons for one HMM-GLM: "
                f"{rec.source.name} has {m.values.shape[1]}, the first has {n_neurons}; select "
                "matching units with --set units=..."
            )
        n_neurons = m.values.shape[1]
        source = m.source
        idx, origin = cut_sequences(rec, m, params.sequence_table, params.block_s)
        counts += [m.values[j] for j in idx]
        index += idx
        session += [i] * len(idx)
        origins.append(origin)
        matrices.append(m)
    if sum(float(c.sum()) for c in counts) == 0:
        raise UserError("The selected neurons fire no spike in the analysed sequences; "
                        "choose other units or another time range.")
    seqs = Sequences(counts, index, np.asarray(session, np.int64), "; ".join(origins))
    return seqs, matrices, matrices[0].labels, source


def _fit_job(job: dict) -> FitResult:
    """One restart (module level, picklable): rebuild the data, fit, return numpy results."""
    data = make_seqdata(job["counts"], job["features"], job["config"].emission, job["config"].device)
    return fit_hmmglm(data, job["config"], job["glm"], job["seed"], job.get("progress"),
                      job.get("warm"))


def _run_jobs(jobs: list[dict], executor: Executor | None, report: Progress, lo: float,
              hi: float, what: str) -> list[FitResult]:
    """Fit every job: inline with per-epoch progress, or through the executor seam."""
    if executor is not None:
        report(lo, f"fitting {len(jobs)} {what}s")
        return parallel_map(_fit_job, jobs, executor, sub_progress(report, lo, hi), f"{what}s")
    out = []
    for r, job in enumerate(jobs):
        sp = sub_progress(report, lo + (hi - lo) * r / len(jobs), lo + (hi - lo) * (r + 1) / len(jobs))
        label = f"{what} {r + 1}/{len(jobs)}" if len(jobs) > 1 else what
        out.append(_fit_job({**job, "progress": lambda f, m="", sp=sp, label=label:
                             sp(f, f"{label}: {m}")}))
    return out


def _kcurve_job(job: dict) -> float:
    """Fit K states on some sequences and return held-out bits/spike on the others."""
    cfg = job["config"]
    tr = make_seqdata(job["train_counts"], job["train_features"], cfg.emission, cfg.device)
    te = make_seqdata(job["test_counts"], job["test_features"], cfg.emission, cfg.device)
    glm = fit_glm(tr, cfg)
    fit = fit_hmmglm(tr, replace(cfg, warmup_epochs=min(cfg.warmup_epochs, cfg.epochs - 1)),
                     glm, job["seed"]) if cfg.n_states > 1 else glm_as_fit(glm)
    ev = evaluate(te, fit, cfg.link, cfg.emission)
    return bits_per_spike(float(ev.log_marginal.sum()), te, cfg.emission)


def run(recordings: list[Recording], params: HmmGlmParams, progress: Progress | None = None,
        seed: int = 0, device: str = "cpu", executor: Executor | None = None) -> Result:
    """Fit a K-state HMM-GLM (with the chosen weight prior) to binned spike counts.

    Parameters
    ----------
    recordings : list of Recording
        One or more recordings with the same number of selected units.
    params : HmmGlmParams
    progress : callable, optional
        ``progress(fraction, message)``; may raise ``Cancelled`` between EM epochs.
    seed : int
        Seeds the train/test split, the restarts and the Gumbel samples.
    device : {"cpu", "cuda"}
    executor : concurrent.futures.Executor, optional
        Runs the restarts and the K-curve fits (inline when None).

    Returns
    -------
    Result
        Arrays ``states`` [T], ``state_posterior`` [T, K], ``weights`` [K, N, N],
        ``connection_type`` [N, N], ``transition`` [K, K], ``bin_times`` [T] and more (see
        docs/analyses/hmmglm.md); metrics ``train_bits_per_spike``, ``test_bits_per_spike``,
        ``glm_test_bits_per_spike`` and, for simulations, recovery scores.
    """
    if not recordings:
        raise UserError("Give at least one recording to the hmmglm analysis.")
    device = _check_device(device)
    report = progress or (lambda f, m="": None)
    with Timer() as timer:
        report(0.0, "binning spikes")
        seqs, matrices, labels, source = load_sequences(recordings, params)
        basis = exponential_basis(params.history_bins, params.history_span, params.n_basis)
        feats = [history_features(c, basis).astype(np.float32) for c in seqs.counts]
        n_seq = len(seqs.counts)
        is_test = split_sequences(n_seq, params.test_fraction, seed)
        tr_i, te_i = np.flatnonzero(~is_test), np.flatnonzero(is_test)
        config = _config(params, device)
        train = make_seqdata([seqs.counts[i] for i in tr_i], [feats[i] for i in tr_i],
                             config.emission, device)
        report(0.02, "fitting the one-state GLM")
        glm = fit_glm(train, config)
        k = params.n_states
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(params.restarts)]
        warm_epochs = min(params.warmup_epochs, params.epochs - 1) if k > 1 else 0
        train_counts, train_feats = [seqs.counts[i] for i in tr_i], [feats[i] for i in tr_i]
        n_curve = len(params.k_list()) * params.cv_folds
        fit_share = 0.9 if not n_curve else 0.6
        if warm_epochs > 0:
            # screen the restarts on short unconstrained fits, continue the best one
            screen_cfg = replace(config, prior="none", epochs=warm_epochs, warmup_epochs=0)
            jobs = [dict(counts=train_counts, features=train_feats, config=screen_cfg, glm=glm,
                         seed=s) for s in seeds]
            share = fit_share * warm_epochs * len(seeds) / (warm_epochs * len(seeds)
                                                           + params.epochs - warm_epochs)
            fits = _run_jobs(jobs, executor, report, 0.05, 0.05 + share, "restart")
            best_i = int(np.argmax([f.train_loglik for f in fits]))
            final = dict(counts=train_counts, features=train_feats, config=config, glm=glm,
                         seed=seeds[best_i], warm=fits[best_i])
            best = _run_jobs([final], None, report, 0.05 + share, 0.05 + fit_share, "final fit")[0]
        elif k == 1:
            fits = [glm_as_fit(glm)]
            best_i, best = 0, fits[0]
        else:
            jobs = [dict(counts=train_counts, features=train_feats, config=config, glm=glm, seed=s)
                    for s in seeds]
            fits = _run_jobs(jobs, executor, report, 0.05, 0.05 + fit_share, "restart")
            best_i = int(np.argmax([f.train_loglik for f in fits]))
            best = fits[best_i]

        report(0.05 + fit_share, "evaluating")
        all_data = make_seqdata(seqs.counts, feats, config.emission, device)
        ev_all = evaluate(all_data, best, config.link, config.emission)
        glm_fit = glm_as_fit(glm)
        ev_glm = evaluate(all_data, glm_fit, config.link, config.emission)
        metrics = {"n_sequences": n_seq, "n_train_sequences": len(tr_i),
                   "n_test_sequences": len(te_i)}
        for name, idx in (("train", tr_i), ("test", te_i)):
            if len(idx) == 0:
                metrics[f"{name}_bits_per_spike"] = float("nan")
                metrics[f"glm_{name}_bits_per_spike"] = float("nan")
                continue
            sub = make_seqdata([seqs.counts[i] for i in idx], [feats[i] for i in idx],
                               config.emission, "cpu")
            metrics[f"{name}_bits_per_spike"] = bits_per_spike(
                float(ev_all.log_marginal[idx].sum()), sub, config.emission)
            metrics[f"glm_{name}_bits_per_spike"] = bits_per_spike(
                float(ev_glm.log_marginal[idx].sum()), sub, config.emission)
        metrics["train_log_likelihood"] = best.train_loglik
        metrics["best_restart"] = best_i
        metrics["warmup_epochs"] = warm_epochs

        # restarts matched to the best one (Hungarian on weights), agreement of Viterbi paths
        agreement = []
        for r, f in enumerate(fits):
            if r == best_i or k == 1:
                continue
            ref = fits[best_i]
            perm = match_weights(ref.weights, f.weights)
            ev_r = evaluate(all_data, f, config.link, config.emission)
            ev_ref = ev_all if ref is best else evaluate(all_data, ref, config.link, config.emission)
            inv = np.argsort(perm)
            relabelled = np.where(ev_r.states >= 0, inv[np.maximum(ev_r.states, 0)], -1)
            agreement.append(float(np.mean(relabelled[ev_r.states >= 0] ==
                                           ev_ref.states[ev_r.states >= 0])))
        if agreement:
            metrics["restart_state_agreement"] = float(np.mean(agreement))

        # flatten the sequences (input order, time order within a session)
        lengths = all_data.lengths
        real = ev_all.states >= 0
        states = ev_all.states[real]
        posterior = ev_all.gamma[real]
        bin_times = np.concatenate([matrices[seqs.session[i]].bin_times[seqs.bin_index[i]]
                                    for i in range(n_seq)])
        seq_index = np.repeat(np.arange(n_seq), lengths)
        arrays: dict[str, np.ndarray] = {
            "states": states.astype(np.int64),
            "state_posterior": posterior.astype(np.float64),
            "bin_times": bin_times.astype(np.float64),
            "sequence_index": seq_index.astype(np.int64),
            "is_test": is_test[seq_index],
            "weights": _pair_weights(best.weights, params.n_basis),
            "bias": best.bias,
            "connection_type": best.connectome.astype(np.int64),
            "state_connection_type": best.types.astype(np.int64),
            "prior_weights": best.prior_weights.astype(np.float64),
            "transition": np.exp(best.log_trans),
            "initial": np.exp(best.log_init),
            "objective": best.objective,
            "restart_train_loglik": np.array([f.train_loglik for f in fits]),
            "glm_weights": _pair_weights(glm[0][None], params.n_basis)[0],
            "glm_bias": glm[1],
            "basis": basis,
        }
        if params.n_basis > 1:
            k_, n_, m_ = best.weights.shape
            arrays["weights_basis"] = best.weights.reshape(k_, n_, n_, params.n_basis)
        if best.abar.size:
            arrays["prior_logits"] = best.abar.astype(np.float64)
        if len(recordings) > 1:
            arrays["session_index"] = seqs.session[seq_index]

        # K-selection curve: cross-validation over the training sequences
        k_vals = params.k_list()
        if k_vals:
            report(0.05 + fit_share, f"K-selection curve over K = {k_vals}")
            folds = np.array_split(np.random.default_rng(seed + 1).permutation(tr_i), params.cv_folds)
            curve_jobs = []
            for kk in k_vals:
                for fi, fold in enumerate(folds):
                    rest = np.setdiff1d(tr_i, fold)
                    if len(fold) == 0 or len(rest) == 0:
                        raise UserError(
                            f"Too few training sequences ({len(tr_i)}) for {params.cv_folds} "
                            "folds of the K curve; lower cv_folds or test_fraction."
                        )
                    curve_jobs.append(dict(
                        config=replace(config, n_states=kk),
                        train_counts=[seqs.counts[i] for i in rest],
                        train_features=[feats[i] for i in rest],
                        test_counts=[seqs.counts[i] for i in fold],
                        test_features=[feats[i] for i in fold],
                        seed=seed + 7919 * kk + fi))
            if executor is None:
                vals = []
                for j, job in enumerate(curve_jobs):
                    vals.append(_kcurve_job(job))
                    report(0.65 + 0.3 * (j + 1) / len(curve_jobs),
                           f"K curve fit {j + 1}/{len(curve_jobs)}")
            else:
                vals = parallel_map(_kcurve_job, curve_jobs, executor,
                                    sub_progress(report, 0.65, 0.95), "K curve fits")
            arrays["k_values"] = np.asarray(k_vals, np.int64)
            arrays["k_curve_bits_per_spike"] = np.asarray(vals).reshape(len(k_vals), params.cv_folds)
            metrics["k_best"] = int(k_vals[int(np.argmax(arrays["k_curve_bits_per_spike"].mean(1)))])

        gt = recordings[0].ground_truth if len(recordings) == 1 else {}
        if gt and "states" in gt and "weights" in gt:
            metrics.update(truth_metrics(gt, arrays, params.weight_threshold))
        metrics = {key: (float(v) if isinstance(v, (np.floating, float)) else v)
                   for key, v in metrics.items()}
        report(1.0, "done")
    info = {
        "neuron_labels": list(labels),
        "neuron_indices": [int(i) for i in matrices[0].neuron_indices],
        "sequences": seqs.origin,
        "bin_size_s": float(params.bin_size),
        "n_neurons": len(labels),
        "note": ("weights[k, n, m]: effect of neuron m's history on neuron n in state k; "
                 "connection_type: MAP of the learned connectome (onehot) or thresholded mean weight"),
    }
    return Result(analysis=NAME, params=params.to_dict(), seed=seed,
                  inputs=inputs_of(recordings, source), arrays=arrays, metrics=metrics,
                  info=info, runtime_s=timer.seconds, device=device)


def _pair_weights(w: np.ndarray, n_basis: int) -> np.ndarray:
    """Weights (K, N, N*J) summed over basis functions into (K, N, N)."""
    k, n, m = w.shape
    return w.reshape(k, n, m // n_basis, n_basis).sum(-1).astype(np.float64)
