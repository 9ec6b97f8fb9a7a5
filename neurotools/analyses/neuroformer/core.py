"""The neuroformer analysis: prepare tokens, pretrain, then evaluate, generate, decode, map.

:func:`prepare` turns recordings into a :class:`Prepared` (tokens, a leak-free split, behaviour
targets, trials for PSTHs); :func:`run` trains and scores. The torchrun entry point
(:mod:`neurotools.analyses.neuroformer.train`) uses the same :func:`prepare` and
:func:`make_model`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from neurotools.analyses.base import Progress, Result, inputs_of, null_progress, sub_progress
from neurotools.analyses.neuroformer import baselines, behavior, connectivity, generate, modalities
from neurotools.analyses.neuroformer import data as tokdata
from neurotools.analyses.neuroformer.model import ModelConfig, Neuroformer
from neurotools.analyses.neuroformer.params import PRESETS, Params
from neurotools.analyses.neuroformer.training import TrainConfig, evaluate, train
from neurotools.data.binning import neural_matrix
from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Gaussian smoothing of PSTHs before correlating them (s).
PSTH_SIGMA_S = 0.05
#: Most trials generated for the PSTH comparison.
MAX_TRIALS = 64
#: Longest generated trial (s).
MAX_TRIAL_S = 5.0
#: Windows (at most) used to average attention for connectivity.
CONNECTIVITY_WINDOWS = 2048


@dataclass
class Prepared:
    """Tokens, split and downstream targets of one or more recordings.

    Attributes
    ----------
    data : TokenData
    split : dict of str to ndarray
        ``train``, ``val``, ``test`` window starts (steps).
    source : str
        Data source used.
    neuron_indices : ndarray of int
        Kept neurons (indices in the source).
    labels : list of str
        Neuron labels.
    behavior : ndarray or None, shape (T, D)
        Behaviour to predict, per step (NaN-free), or None.
    behavior_name : str
    behavior_unit : str
        Unit of the behaviour series as the file states it ("" if none).
    trial_starts : ndarray of int
        Test trials (steps) for the PSTH comparison.
    trial_windows : int
        Windows per trial.
    trial_table : str
        Interval table the trials come from ("" for pseudo-trials).
    """

    data: tokdata.TokenData
    split: dict[str, np.ndarray]
    source: str
    neuron_indices: np.ndarray
    labels: list[str]
    behavior: np.ndarray | None = None
    behavior_name: str = ""
    behavior_unit: str = ""
    trial_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    trial_windows: int = 0
    trial_table: str = ""
    truncated_fraction: float = 0.0
    p99: int = 0


def _counts(rec: Recording, params: Params, step: float) -> tuple[str, object]:
    source = rec.choose_source(params.source)
    if source != "units":
        raise UserError(
            f"neuroformer models spike trains, but {rec.source.name} gives '{source}' traces; "
            "choose a file with a Units table (source=units)."
        )
    nm = neural_matrix(rec, source, step, params.t_start, params.t_stop, params.unit_indices())
    return source, nm


def prepare(recordings: list[Recording], params: Params) -> Prepared:
    """Bin, tokenize and split recordings; find behaviour targets and test trials.

    Raises
    ------
    UserError
        No spike data, sessions with different neuron counts, too little data for the windows,
        or a behaviour name that does not exist.
    """
    if not recordings:
        raise UserError("Give at least one recording.")
    step = params.token_step()
    n_dt, n_past = params.n_dt(), params.n_past()
    mats, sources = [], []
    for rec in recordings:
        source, nm = _counts(rec, params, step)
        mats.append(nm)
        sources.append(source)
    n = mats[0].values.shape[1]
    if any(m.values.shape[1] != n for m in mats):
        raise UserError("All recordings must have the same neurons for a joint neuroformer run; "
                        "select the same units in each (units=...) or run them one by one.")
    # Train masks per session (statistics of modalities come from training steps only).
    mods_list, names_list, beh_list, beh_names, beh_units = [], [], [], [], []
    for rec, nm in zip(recordings, mats):
        t = len(nm.bin_times)
        train_mask = np.zeros(t, bool)
        train_mask[: int(round(t * (1 - params.test_fraction - params.val_fraction)))] = True
        target = modalities.find_behavior(rec, params.behavior)
        mods = modalities.context_modalities(rec, nm.bin_times, train_mask, target)
        mods_list.append(mods)
        names_list.append([m.name for m in mods])
        if target is not None:
            beh_list.append(modalities.behavior_values(target, nm.bin_times))
            beh_names.append(target.name)
            beh_units.append(target.unit)
    common = [nm_ for nm_ in names_list[0] if all(nm_ in names for names in names_list)]
    mods_arrays = [[next(m.values for m in ml if m.name == name) for name in common] for ml in mods_list]
    data, split = tokdata.build([m.values for m in mats], [m.bin_times for m in mats], mods_arrays,
                                common, n_dt, n_past, step, params.val_fraction, params.test_fraction)
    if len(split["train"]) < 8 or len(split["test"]) < 2 or len(split["val"]) < 1:
        raise UserError(
            f"The recording is too short for windows of {params.window_s:g} s with a past of "
            f"{params.past_s:g} s ({len(split['train'])} training windows); use a longer time "
            "range or shorter windows."
        )
    max_len, trunc, p99 = tokdata.block_size(data, split["train"])
    data.max_len = max_len
    prep = Prepared(data, split, sources[0], mats[0].neuron_indices, mats[0].labels,
                    truncated_fraction=trunc, p99=p99)
    if len(beh_list) == len(recordings):
        gap = n_past + n_dt
        parts = []
        for k, b in enumerate(beh_list):
            if k:
                parts.append(np.zeros((gap, b.shape[1])))
            parts.append(b)
        prep.behavior = np.concatenate(parts)
        prep.behavior_name, prep.behavior_unit = beh_names[0], beh_units[0]
    _find_trials(prep, recordings, mats, params)
    return prep


def _find_trials(prep: Prepared, recordings: list[Recording], mats: list, params: Params) -> None:
    """Test-range trials whose past and span lie inside the test windows' span."""
    data, step = prep.data, prep.data.step_s
    test = prep.split["test"]
    sess = data.session[test]
    starts_all, length = [], None
    offset = 0
    table_used = ""
    for k, (rec, nm) in enumerate(zip(recordings, mats)):
        if k:
            offset += data.n_past + data.n_dt
        own = test[sess == k]
        if len(own):
            lo, hi = own.min() - data.n_past, own.max() + data.n_dt
            best: tuple[int, str, np.ndarray, int] | None = None
            for name, tab in sorted(rec.intervals.items()):
                if tab.n_rows < 4 or (len(recordings) > 1 and table_used and name != table_used):
                    continue
                dur = float(np.median(np.asarray(tab.stop) - np.asarray(tab.start)))
                nwin = int(min(dur, MAX_TRIAL_S) / (data.n_dt * step))
                if nwin < 1:
                    continue
                edge0 = nm.bin_times[0] - step / 2
                s0 = offset + np.floor((np.asarray(tab.start) - edge0) / step + 1e-9).astype(np.int64)
                s0 = np.sort(s0[(s0 - data.n_past >= lo) & (s0 + nwin * data.n_dt <= hi)])
                score = len(s0) + (0.5 if name == "trials" else 0.0)
                if best is None or score > best[0]:
                    best = (score, name, s0, nwin)
            if best is not None and len(best[2]):
                _, table_used, s0, nwin = best
                length = nwin if length is None else min(length, nwin)
                starts_all.append(s0)
        offset += len(nm.bin_times)
    starts = np.concatenate(starts_all) if starts_all else np.zeros(0, np.int64)
    if len(starts) >= 4 and length:
        prep.trial_starts, prep.trial_windows, prep.trial_table = starts[:MAX_TRIALS], length, table_used
        return
    # Pseudo-trials: consecutive 1-s chunks of the test range (PSTHs are then noise-level).
    nwin = max(1, int(round(1.0 / (data.n_dt * step))))
    own = test[sess == 0]
    first = own.min() if len(own) else 0
    chunk = nwin * data.n_dt
    count = int((own.max() + data.n_dt - first) // chunk) if len(own) else 0
    prep.trial_starts = (first + chunk * np.arange(count)).astype(np.int64)[:MAX_TRIALS]
    prep.trial_windows, prep.trial_table = nwin, ""


def make_model(prep: Prepared, params: Params) -> Neuroformer:
    """A freshly initialised model for prepared data and a preset (seed torch before calling)."""
    p = PRESETS[params.preset]
    cfg = ModelConfig(prep.data.n_neurons, prep.data.n_dt, prep.data.n_past,
                      tuple(int(m.shape[1]) for m in prep.data.mods), int(p["d_model"]),
                      int(p["n_heads"]), int(p["n_layers"]))
    return Neuroformer(cfg)


def train_config(params: Params, seed: int, device: str = "cpu") -> TrainConfig:
    """Optimisation settings from the analysis parameters.

    On the CPU, batches are length-bucketed micro-batches (padding ~7% instead of 40-59%, and a
    padded slot costs compute there). On CUDA, plain random batches: on an H200 (base preset) they
    trained 1.8-2.4x more target tokens/s than the micro-batches, whose extra kernel launches cost
    more than the padding saves (see docs/analyses/neuroformer.md).
    """
    on_gpu = device.startswith("cuda")
    return TrainConfig(steps=params.steps, batch_size=params.batch_size, lr=params.learning_rate(),
                       warmup=max(1, min(100, params.steps // 10)), contrastive=params.contrastive,
                       eval_every=params.checkpoint_every, seed=seed,
                       bucket=1 if on_gpu else 4, micro=1 if on_gpu else 4)


def resume_key(recordings: list[Recording], params: Params, seed: int) -> str:
    """What a checkpoint must match to be resumed: inputs, data/model parameters and seed."""
    import json

    keep = {k: v for k, v in params.to_dict().items()
            if k not in ("steps", "checkpoint_dir", "checkpoint_every", "finetune_fraction",
                         "finetune_steps", "finetune_repeats", "finetune_backbone_lr", "temperature", "top_p")}
    ids = [r.source.sha256 or r.source.name for r in recordings]
    return json.dumps({"inputs": ids, "params": keep, "seed": seed}, sort_keys=True)


def resolve_device(device: str) -> torch.device:
    """``cpu`` or ``cuda`` (an error when CUDA is asked for but absent)."""
    if device not in ("cpu", "cuda"):
        raise UserError(f"The device must be 'cpu' or 'cuda'. Got {device!r} instead.")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA was requested but no GPU is available here; use --device cpu.")
    return torch.device(device)


def run(recordings: list[Recording], params: Params, progress: Progress | None = None,
        seed: int = 0, device: str = "cpu", executor: object | None = None) -> Result:
    """Pretrain a neuroformer on spike tokens and score it.

    Parameters
    ----------
    recordings : list of Recording
        One or more sessions with the same neurons (spike trains).
    params : Params
    progress : callable, optional
        ``progress(fraction, message)``; may raise ``Cancelled`` (checked every step).
    seed : int
        Seed of initialisation, batches, generation and fine-tuning.
    device : str
        ``"cpu"`` or ``"cuda"`` (bf16 autocast).
    executor : Executor, optional
        Unused: pretraining is one process (use ``torchrun`` with
        :mod:`neurotools.analyses.neuroformer.train` for several).

    Returns
    -------
    Result
        Arrays ``train_loss`` [steps] and ``val_loss`` [steps] (nats per target token; the
        validation loss holds the latest evaluation at each step), ``val_eval_steps``,
        ``val_eval_loss``, ``val_eval_accuracy`` [evaluations], ``attention_connectivity``
        [N, N] (row = target), ``xcov_connectivity`` [N, N], ``bin_times`` [W_test] (test window
        centres, s) with ``test_nll_model``, ``test_nll_rate``, ``test_nll_glm`` (nats per
        window), PSTHs ``psth_times`` [L] (s from trial start), ``psth_real``, ``psth_generated``
        [L, N] (Hz), ``psth_r``, ``psth_split_half_r`` [N], example rasters
        ``real_counts``/``generated_counts`` [trials, L, N], and with behaviour
        ``behavior_true``, ``behavior_pred``, ``behavior_pred_scratch`` [W_test, D].
    """
    progress = progress or null_progress
    t_start = time.perf_counter()
    dev = resolve_device(device)
    progress(0.0, "tokenizing")
    prep = prepare(recordings, params)
    data, split = prep.data, prep.split
    torch.manual_seed(seed)
    model = make_model(prep, params).to(dev)
    history = train(model, data, split["train"], split["val"], train_config(params, seed, dev.type), dev,
                    sub_progress(progress, 0.02, 0.75), params.checkpoint_dir or None,
                    extra={"params": params.to_dict(), "seed": seed},
                    resume_key=resume_key(recordings, params, seed))
    arrays: dict[str, np.ndarray] = {}
    metrics: dict[str, float] = {}
    info: dict = {"labels": prep.labels, "modalities": data.mod_names,
                  "token_step_s": data.step_s, "n_dt": data.n_dt, "n_past": data.n_past}

    # Losses.
    steps = len(history["train_loss"])
    arrays["train_loss"] = np.asarray(history["train_loss"], float)
    ev_steps = np.asarray(history["val_steps"], np.int64)
    ev_loss = np.asarray(history["val_loss"], float)
    k = np.clip(np.searchsorted(ev_steps, np.arange(1, steps + 1), side="right") - 1, 0, None)
    arrays["val_loss"] = ev_loss[k] if len(ev_loss) else np.full(steps, np.nan)
    arrays["val_eval_steps"] = ev_steps
    arrays["val_eval_loss"] = ev_loss
    arrays["val_eval_accuracy"] = np.asarray(history["val_accuracy"], float)
    metrics["val_token_accuracy"] = float(history["val_accuracy"][-1])
    metrics["val_loss"] = float(ev_loss[-1])
    metrics["train_tokens_per_s"] = float(history["tokens"] / max(history["train_time_s"], 1e-9))

    # Held-out likelihood against the two baselines.
    progress(0.76, "scoring the test windows")
    test = split["test"]
    ev = evaluate(model, data, test, dev)
    nll_rate, _ = baselines.rate_model_nll(data, split["train"], test)
    progress(0.8, "fitting the coupled GLM baseline")
    beta, bases = baselines.fit_glm(data, split["train"], seed=seed)
    nll_glm = baselines.glm_nll(data, beta, bases, test)
    n_spk = float(data.windows(test).n_tokens.sum())
    ln2 = np.log(2.0)
    metrics["test_token_bits_per_spike"] = float((nll_rate.sum() - ev["nll"].sum()) / max(n_spk, 1) / ln2)
    metrics["test_glm_bits_per_spike"] = float((nll_rate.sum() - nll_glm.sum()) / max(n_spk, 1) / ln2)
    metrics["test_token_accuracy"] = float(ev["n_correct"].sum() / max(1, ev["n_targets"].sum()))
    metrics["test_loss"] = float(ev["nll"].sum() / max(1, ev["n_targets"].sum()))
    arrays["bin_times"] = np.nan_to_num(data.step_times[test] + (data.n_dt / 2 - 0.5) * data.step_s)
    arrays["test_nll_model"] = ev["nll"]
    arrays["test_nll_rate"] = nll_rate
    arrays["test_nll_glm"] = nll_glm
    if len(recordings) > 1:
        arrays["session_index"] = data.session[test].astype(np.int64)

    # Generation vs held-out trials.
    progress(0.85, f"generating {len(prep.trial_starts)} trials")
    real = data.counts[prep.trial_starts[:, None] + np.arange(prep.trial_windows * data.n_dt)[None, :]]
    gen = generate.generate_trials(model, data, prep.trial_starts, prep.trial_windows, dev,
                                   params.temperature, params.top_p, seed)
    r = generate.psth_correlation(gen, real, data.step_s, PSTH_SIGMA_S)
    rel = generate.split_half_reliability(real, data.step_s, PSTH_SIGMA_S, seed)
    metrics["psth_pearson_r"] = float(np.nanmedian(r)) if np.isfinite(r).any() else float("nan")
    metrics["psth_split_half_r"] = float(np.nanmedian(rel)) if np.isfinite(rel).any() else float("nan")
    metrics["n_generated_trials"] = int(len(prep.trial_starts))
    info["psth_alignment"] = prep.trial_table or "pseudo-trials (1 s chunks; no interval table)"
    arrays["psth_times"] = (np.arange(real.shape[1]) + 0.5) * data.step_s
    arrays["psth_real"] = real.mean(0) / data.step_s
    arrays["psth_generated"] = gen.mean(0) / data.step_s
    arrays["psth_r"] = r
    arrays["psth_split_half_r"] = rel
    arrays["real_counts"] = real[:8].astype(np.int16)
    arrays["generated_counts"] = gen[:8].astype(np.int16)

    # Connectivity.
    progress(0.92, "attention connectivity")
    conn_starts = split["train"][np.random.default_rng([seed, 5]).permutation(len(split["train"]))[:CONNECTIVITY_WINDOWS]]
    arrays["attention_connectivity"] = connectivity.attention_connectivity(model, data, np.sort(conn_starts), dev)
    tr_steps = (split["train"][:, None] + np.arange(data.n_dt)).ravel()
    lo, hi = int(tr_steps.min()) - data.n_past, int(tr_steps.max()) + 1
    arrays["xcov_connectivity"] = baselines.cross_covariance_connectivity(data.counts[lo:hi], max_lag=max(1, min(3, data.n_dt)))
    arrays["neuron_indices"] = np.asarray(prep.neuron_indices, np.int64)
    gt = recordings[0].ground_truth.get("edges")
    if gt is not None and len(recordings) == 1:
        idx = prep.neuron_indices
        edges = np.asarray(gt)[np.ix_(idx, idx)]
        arrays["true_edges"] = edges.astype(np.int8)
        for name, key in (("attention", "attention_connectivity"), ("xcov", "xcov_connectivity")):
            sc = connectivity.edge_scores(arrays[key], edges)
            metrics[f"{name}_auroc"] = sc["auroc"]
            metrics[f"{name}_direction_accuracy"] = sc["direction_accuracy"]

    # Few-shot behaviour.
    if prep.behavior is not None and params.finetune_steps > 0:
        progress(0.95, f"fine-tuning on {params.finetune_fraction:.0%} of the behaviour labels")
        _behavior(model, prep, params, seed, dev, arrays, metrics)
        info["behavior"] = prep.behavior_name
        info["behavior_unit"] = prep.behavior_unit

    metrics.update({
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "n_train_windows": int(len(split["train"])), "n_val_windows": int(len(split["val"])),
        "n_test_windows": int(len(test)), "block_size": int(data.max_len),
        "spikes_per_window_p99": prep.p99, "truncated_window_fraction": prep.truncated_fraction,
        "test_spikes": int(n_spk),
    })
    progress(1.0, "done")
    return Result(analysis="neuroformer", params=params.to_dict(), seed=seed,
                  inputs=inputs_of(recordings, prep.source), arrays=arrays, metrics=metrics,
                  info=info, runtime_s=time.perf_counter() - t_start, device=dev.type)


def pretrain(recordings: list[Recording], params: Params, seed: int = 0, device: str = "cpu"
             ) -> tuple[Neuroformer, Prepared]:
    """Prepare and pretrain as :func:`run` does, without the evaluations.

    Returns
    -------
    model : Neuroformer
        The pretrained model.
    prep : Prepared
    """
    dev = resolve_device(device)
    prep = prepare(recordings, params)
    torch.manual_seed(seed)
    model = make_model(prep, params).to(dev)
    train(model, prep.data, prep.split["train"], prep.split["val"], train_config(params, seed, dev.type), dev)
    return model, prep


def few_shot_behavior(model: Neuroformer, prep: Prepared, params: Params, seed: int = 0,
                      device: str = "cpu") -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The few-shot behaviour comparison of :func:`run` alone (pretrained vs fresh start).

    Parameters
    ----------
    model : Neuroformer
        Pretrained model (from :func:`pretrain`), not modified.
    prep : Prepared
    params : Params
        ``finetune_*`` settings.
    seed : int
    device : str

    Returns
    -------
    metrics : dict
        ``behavior_r2`` / ``behavior_r2_scratch`` (fine-tuned, pretrained / fresh start),
        ``behavior_r2_probe`` / ``behavior_r2_probe_scratch`` (linear probe), averaged over label
        draws, ``behavior_labelled_windows``, ``n_train_windows``.
    arrays : dict
        Per-draw R^2 and the first draw's test predictions (as in :func:`run`).

    Raises
    ------
    UserError
        When the prepared data have no behaviour series to predict.
    """
    if prep.behavior is None:
        raise UserError("The few-shot comparison needs a behaviour series; choose one with behavior=<name>.")
    metrics: dict = {"n_train_windows": int(len(prep.split["train"]))}
    arrays: dict = {}
    _behavior(model, prep, params, seed, resolve_device(device), arrays, metrics)
    return metrics, arrays


def _behavior(model: Neuroformer, prep: Prepared, params: Params, seed: int, dev: torch.device,
              arrays: dict, metrics: dict) -> None:
    """Probe and fine-tune pretrained and fresh models on draws of labelled windows.

    Both arms run the same recipe (:func:`behavior.fine_tune`) on the same labelled windows; the
    fresh arm starts from a new initialisation of the same architecture. R^2 on the test windows
    is averaged over ``finetune_repeats`` draws.
    """
    data, split = prep.data, prep.split
    y_tr = behavior.window_targets(prep.behavior, split["train"], data.n_dt)
    mu, sd = y_tr.mean(0), np.where(y_tr.std(0) > 0, y_tr.std(0), 1.0)
    n_lab = min(len(split["train"]), max(16, int(round(params.finetune_fraction * len(split["train"])))))
    test = split["test"]
    y_te = behavior.window_targets(prep.behavior, test, data.n_dt)
    lr = params.learning_rate()
    r2: dict[str, list[float]] = {k: [] for k in ("ft", "ft_s", "probe", "probe_s")}
    first: dict[str, np.ndarray] = {}
    for rep in range(params.finetune_repeats):
        rng = np.random.default_rng([seed, 31, rep])
        lab = np.sort(rng.choice(len(split["train"]), size=n_lab, replace=False))
        lab_y = (y_tr[lab] - mu) / sd
        torch.manual_seed(seed + 1000 + rep)
        scratch = make_model(prep, params).to(dev)
        for arm, backbone in (("", model), ("_s", scratch)):
            out = behavior.fine_tune(backbone, data, split["train"][lab], lab_y, test,
                                     params.finetune_steps, lr, dev, seed + rep,
                                     backbone_lr_scale=params.finetune_backbone_lr)
            r2["ft" + arm].append(behavior.r2_score(y_te, out["pred"] * sd + mu))
            r2["probe" + arm].append(behavior.r2_score(y_te, out["probe"] * sd + mu))
            if rep == 0:
                first["pred" + arm] = out["pred"] * sd + mu
    metrics["behavior_r2"] = float(np.mean(r2["ft"]))
    metrics["behavior_r2_scratch"] = float(np.mean(r2["ft_s"]))
    metrics["behavior_r2_probe"] = float(np.mean(r2["probe"]))
    metrics["behavior_r2_probe_scratch"] = float(np.mean(r2["probe_s"]))
    metrics["behavior_labelled_windows"] = int(n_lab)
    squeeze = (lambda a: a[:, 0]) if y_te.shape[1] == 1 else (lambda a: a)
    arrays["behavior_true"] = squeeze(y_te)
    arrays["behavior_pred"] = squeeze(first["pred"])
    arrays["behavior_pred_scratch"] = squeeze(first["pred_s"])
    arrays["behavior_r2_repeats"] = np.asarray(r2["ft"])
    arrays["behavior_r2_scratch_repeats"] = np.asarray(r2["ft_s"])
    arrays["behavior_r2_probe_repeats"] = np.asarray(r2["probe"])
    arrays["behavior_r2_probe_scratch_repeats"] = np.asarray(r2["probe_s"])
