"""Generalised EM for the HMM-GLM, batched over sequences, plus the one-state GLM baseline.

E-step: exact log-space forward-backward on all sequences at once. M-step: ``m_steps`` Adam
steps on the expected complete-data log-likelihood plus the log prior; the data gradient with
respect to the weights is one matrix product per step (no Python loop over bins), and the
transition matrix is updated in closed form from transition counts pooled over sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from neurotools.analyses.hmmglm import emissions
from neurotools.analyses.hmmglm.inference import forward_backward, log_marginal, viterbi
from neurotools.analyses.hmmglm.priors import WeightModel


@dataclass
class SeqData:
    """Sequences ready for fitting, padded to a common length.

    Attributes
    ----------
    x : Tensor, shape (S, T, N)
        Counts (float32), zero on padded bins.
    h : Tensor, shape (S, T, N * J)
        History features (float32).
    mask : Tensor of bool, shape (S, T)
        Real bins.
    lengths : ndarray of int, shape (S,)
    flat_index : Tensor of long, shape (B,)
        Positions of the B real bins in the flattened (S * T) axis.
    """

    x: torch.Tensor
    h: torch.Tensor
    mask: torch.Tensor
    lengths: np.ndarray
    flat_index: torch.Tensor
    xf: torch.Tensor = field(init=False)
    hf: torch.Tensor = field(init=False)
    log_fact: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        s, t, n = self.x.shape
        self.xf = self.x.reshape(s * t, n)[self.flat_index]
        self.hf = self.h.reshape(s * t, -1)[self.flat_index]
        self.log_fact = torch.lgamma(self.xf.double() + 1.0).sum(-1)  # sum_n log x! per bin

    @property
    def n_bins(self) -> int:
        """Number of real bins B."""
        return int(self.lengths.sum())

    @property
    def n_spikes(self) -> float:
        """Total count over real bins."""
        return float(self.xf.sum())


def make_seqdata(counts: list[np.ndarray], features: list[np.ndarray], emission: str,
                 device: str | torch.device = "cpu") -> SeqData:
    """Pad per-sequence counts (T_s, N) and history features (T_s, N*J) into a :class:`SeqData`."""
    lengths = np.array([len(c) for c in counts], dtype=np.int64)
    s, t = len(counts), int(lengths.max())
    n, m = counts[0].shape[1], features[0].shape[1]
    x = np.zeros((s, t, n), np.float32)
    h = np.zeros((s, t, m), np.float32)
    mask = np.zeros((s, t), bool)
    for i, (c, f) in enumerate(zip(counts, features)):
        x[i, : len(c)] = np.minimum(c, 1) if emission == "bernoulli" else c
        h[i, : len(c)] = f
        mask[i, : len(c)] = True
    dev = torch.device(device)
    return SeqData(
        x=torch.from_numpy(x).to(dev), h=torch.from_numpy(h).to(dev),
        mask=torch.from_numpy(mask).to(dev), lengths=lengths,
        flat_index=torch.from_numpy(np.flatnonzero(mask.ravel())).to(dev),
    )


@dataclass
class FitConfig:
    """Model and optimiser settings of one fit (see the analysis parameters for meanings)."""

    n_states: int
    prior: str = "onehot"
    link: str = "sigmoid"
    emission: str = "poisson"
    n_basis: int = 1
    epochs: int = 10
    m_steps: int = 50
    learning_rate: float = 0.05
    sigma: float = 1 / 3
    tau: float = 0.2
    threshold: float = 0.2
    learn_initial: bool = False
    state_bias: bool = False
    init_noise: float = 0.5
    batch_bins: int = 10000
    l2: float = 0.0
    warmup_epochs: int = 0
    logit_scale: float = 0.1
    device: str = "cpu"


@dataclass
class FitResult:
    """A fitted HMM-GLM in plain numpy (picklable across processes).

    Attributes
    ----------
    weights : ndarray, shape (K, N, N * J)
        Evaluation weights (hard one-hot types for the one-hot prior).
    bias : ndarray, shape (K, N)
    log_init : ndarray, shape (K,)
    log_trans : ndarray, shape (K, K)
    types : ndarray of int, shape (K, N, N)
        Per-state connection types in {-1, 0, 1}.
    connectome : ndarray of int, shape (N, N)
        State-constant connection types (one-hot: MAP of the learned prior).
    prior_weights : ndarray, shape (N, N)
        Weights the prior pulls every state towards.
    abar : ndarray, shape (N, N, 3) or (0,)
        Learned prior logits over (inh, none, exc) for the one-hot prior.
    objective : ndarray, shape (epochs,)
        Training log marginal likelihood + log prior (nats) at each E-step.
    train_loglik : float
        Final training log marginal likelihood (nats) with the evaluation weights.
    seed : int
    """

    weights: np.ndarray
    bias: np.ndarray
    log_init: np.ndarray
    log_trans: np.ndarray
    types: np.ndarray
    connectome: np.ndarray
    prior_weights: np.ndarray
    abar: np.ndarray
    objective: np.ndarray
    train_loglik: float
    seed: int = 0


class Adam:
    """Adam on a list of tensors whose ``.grad`` is set by the caller (Kingma & Ba, 2015).

    A few lines of our own instead of ``torch.optim.Adam``, whose first use imports
    ``torch._dynamo`` (seconds of start-up in every worker process).
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, betas[0], betas[1], eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def zero_grad(self) -> None:
        """Forget the gradients of the last step."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
            p.addcdiv_(m, (v / c2).sqrt_().add_(self.eps), value=-self.lr / c1)


def _predictor(hf: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Linear predictor u of shape (B, K, N) from features (B, M), weights (K, N, M), bias (K, N)."""
    k, n, m = w.shape
    return (hf @ w.reshape(k * n, m).T).reshape(-1, k, n) + b[None]


def emission_loglik(data: SeqData, w: torch.Tensor, b: torch.Tensor, link: str,
                    emission: str) -> torch.Tensor:
    """Per-bin, per-state emission log-likelihood summed over neurons, shape (S, T, K), float64."""
    s, t, _ = data.x.shape
    k = w.shape[0]
    with torch.no_grad():
        u = _predictor(data.hf, w, b)
        ll = emissions.log_likelihood(data.xf[:, None, :], u, link, emission, constant=False)
        ll = ll.sum(-1).double()
        if emission == "poisson":
            ll -= data.log_fact[:, None]
        out = torch.zeros(s * t, k, dtype=torch.float64, device=data.x.device)
        out[data.flat_index] = ll
    return out.reshape(s, t, k)


def _data_grads(xf: torch.Tensor, hf: torch.Tensor, gamma_f: torch.Tensor, w: torch.Tensor,
                b: torch.Tensor, link: str, emission: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of sum_{b,k} gamma[b,k] log p(x_b | k) w.r.t. weights (K,N,M) and bias (K,N).

    ``xf`` (B, N) counts, ``hf`` (B, M) features and ``gamma_f`` (B, K) posteriors of B bins.
    """
    k, n, m = w.shape
    with torch.no_grad():
        u = _predictor(hf, w, b)
        if emission == "poisson" and link == "sigmoid":
            g = torch.sigmoid_(u)  # in place: (1 - f)(x - f), two full-size buffers only
            d = torch.sub(xf[:, None, :], g)
            g.neg_().add_(1.0).mul_(d)
        else:
            g = emissions.log_likelihood_grad(xf[:, None, :], u, link, emission)
        g.mul_(gamma_f[:, :, None])
        gw = (g.reshape(-1, k * n).T @ hf).reshape(k, n, m)
        gb = g.sum(0)
    return gw, gb


def fit_glm(data: SeqData, config: FitConfig, steps: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Fit the one-state GLM (maximum likelihood, Adam).

    Returns
    -------
    weights : ndarray, shape (N, N * J)
    bias : ndarray, shape (N,)
    """
    n, m = data.x.shape[2], data.h.shape[2]
    dev = data.x.device
    rate = (data.xf.mean(0).clamp(1e-3, None)).cpu().numpy()
    if config.link == "sigmoid":
        b0 = np.log(np.minimum(rate, 0.95) / (1 - np.minimum(rate, 0.95)))
    else:
        b0 = np.log(np.expm1(rate))
    w = torch.zeros(1, n, m, device=dev, requires_grad=True)
    b = torch.tensor(b0[None], dtype=torch.float32, device=dev, requires_grad=True)
    opt = Adam([w, b], lr=config.learning_rate)
    batches = _minibatches(data, config.batch_bins, np.random.default_rng(0))
    for step in range(steps):
        idx, xb, hb = batches[step % len(batches)]
        ones = torch.ones(len(idx), 1, device=dev)
        gw, gb = _data_grads(xb, hb, ones, w.detach(), b.detach(), config.link, config.emission)
        w.grad = (-gw + config.l2 * w.detach() * (len(idx) / data.n_bins)) / len(idx)
        b.grad = -gb / len(idx)
        opt.step()
    return w.detach()[0].cpu().numpy(), b.detach()[0].cpu().numpy()


def fit_hmmglm(data: SeqData, config: FitConfig, glm: tuple[np.ndarray, np.ndarray], seed: int,
               progress: Callable[[float, str], None] | None = None,
               warm: FitResult | None = None) -> FitResult:
    """Fit one HMM-GLM from a GLM-plus-noise initialisation (generalised EM).

    Parameters
    ----------
    data : SeqData
        Training sequences.
    config : FitConfig
    glm : (ndarray (N, N*J), ndarray (N,))
        One-state GLM weights and biases; each state starts from them plus Gaussian noise of
        standard deviation ``config.init_noise`` (never identical states).
    seed : int
        Seed of the initial noise and of the Gumbel samples.
    progress : callable, optional
        ``progress(fraction, message)`` after every epoch; may raise ``Cancelled``.
    warm : FitResult, optional
        A finished short fit (``len(warm.objective)`` epochs, unconstrained weights) to continue
        from: its weights seed the states (and the one-hot types), its Pi the transitions.
        Without it, ``config.warmup_epochs`` > 0 makes the one-hot prior run its own warm-up.

    Returns
    -------
    FitResult
    """
    k = config.n_states
    dev = data.x.device
    if warm is not None:
        warm_epochs = len(warm.objective)
    elif config.prior == "onehot":
        warm_epochs = min(config.warmup_epochs, config.epochs - 1)
    else:
        warm_epochs = 0
    if warm is None and warm_epochs > 0 and k > 1:
        # warm start: the first epochs fit unconstrained weights, which then seed the one-hot types
        def warm_progress(f: float, m: str = "") -> None:
            if progress is not None:
                progress(f * warm_epochs / config.epochs, m)

        warm = fit_hmmglm(data, replace(config, prior="none", epochs=warm_epochs, warmup_epochs=0),
                          glm, seed, warm_progress)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(int(seed))
    w_glm, b_glm = glm
    nb = k if config.state_bias else 1
    if warm is not None:
        w_start, b_start = warm.weights, warm.bias[:nb]
        if not config.state_bias and warm.bias.shape[0] > 1:
            b_start = warm.bias.mean(0, keepdims=True)
    else:
        noise = rng.normal(0.0, config.init_noise, size=(k, *w_glm.shape)) if k > 1 else 0.0
        w_start, b_start = w_glm[None] + noise, np.repeat(b_glm[None], nb, 0)
    # warm-started types are informative: larger starting logits (1.0) than from noise (0.1)
    model = WeightModel(config.prior, w_start, config.n_basis, config.sigma, config.tau, dev,
                        1.0 if warm is not None else config.logit_scale)
    bias = torch.tensor(b_start, dtype=torch.float32, device=dev, requires_grad=True)
    if warm is not None:
        log_init = torch.tensor(warm.log_init, dtype=torch.float64, device=dev)
        log_trans = torch.tensor(warm.log_trans, dtype=torch.float64, device=dev)
    else:
        log_init = torch.full((k,), -np.log(k), dtype=torch.float64, device=dev)
        stay = 0.95 if k > 1 else 1.0
        trans = np.full((k, k), (1 - stay) / max(k - 1, 1))
        np.fill_diagonal(trans, stay)
        log_trans = torch.tensor(np.log(trans), dtype=torch.float64, device=dev)
    opt = Adam([*model.parameters, bias], lr=config.learning_rate)
    batches = _minibatches(data, config.batch_bins, rng)
    s, t = data.mask.shape
    objective = list(warm.objective) if warm is not None else []
    for epoch in range(warm_epochs if warm is not None else 0, config.epochs):
        with torch.no_grad():
            w_e, _ = model.weights("soft")
            ll = emission_loglik(data, w_e, bias.expand(k, -1), config.link, config.emission)
            post = forward_backward(ll, log_init, log_trans, data.mask)
            prior_val = model.log_prior(w_e, None) if config.prior == "gaussian" else 0.0
            objective.append(float(post.log_marginal.sum()) + float(prior_val))
            counts = post.xi_sum + 1e-6
            log_trans = torch.log(counts / counts.sum(1, keepdim=True))
            if config.learn_initial:
                g0 = post.gamma[:, 0].sum(0) + 1e-6
                log_init = torch.log(g0 / g0.sum())
            gamma_f = post.gamma.reshape(s * t, k)[data.flat_index].float()
        for bi in rng.permutation(len(batches)):
            idx, xb, hb = batches[bi]
            gb_ = gamma_f[idx]
            scale = 1.0 / len(idx)
            for _ in range(config.m_steps):
                opt.zero_grad()
                w, log_a = model.weights("train", gen)
                b = bias.expand(k, -1)
                gw, gb = _data_grads(xb, hb, gb_, w.detach(), b.detach(), config.link,
                                     config.emission)
                penalty = 0.5 * config.l2 * (w**2).sum() if config.l2 > 0 else 0.0
                prior_term = (model.log_prior(w, log_a) - penalty) * (len(idx) / data.n_bins)
                surrogate = -((w * gw).sum() + (b * gb).sum() + prior_term) * scale
                surrogate.backward()
                opt.step()
        if progress is not None:
            progress((epoch + 1) / config.epochs, f"EM epoch {epoch + 1}/{config.epochs}")
    with torch.no_grad():
        w_h, _ = model.weights("hard")
        b_h = bias.detach().expand(k, -1)
        ll = emission_loglik(data, w_h, b_h, config.link, config.emission)
        train_ll = float(log_marginal(ll, log_init, log_trans, data.mask).sum())
    return FitResult(
        weights=w_h.detach().cpu().numpy().astype(np.float64),
        bias=b_h.cpu().numpy().astype(np.float64).copy(),
        log_init=log_init.cpu().numpy(), log_trans=log_trans.cpu().numpy(),
        types=model.types(config.threshold), connectome=model.connectome(config.threshold),
        prior_weights=model.prior_mean_weights(),
        abar=model.abar.detach().cpu().numpy() if config.prior == "onehot" else np.zeros(0),
        objective=np.asarray(objective), train_loglik=train_ll, seed=int(seed),
    )


def _minibatches(data: SeqData, batch_bins: int, rng: np.random.Generator
                 ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Split the sequences into groups of about ``batch_bins`` real bins for the M-step.

    Returns ``(flat bin positions, counts, features)`` per group (whole sequences per group).
    """
    starts = np.concatenate([[0], np.cumsum(data.lengths)])
    n_groups = max(1, min(len(data.lengths), int(round(data.n_bins / max(batch_bins, 1)))))
    order = rng.permutation(len(data.lengths))
    out = []
    for grp in np.array_split(order, n_groups):
        pos = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in np.sort(grp)])
        idx = torch.from_numpy(pos).to(data.x.device)
        out.append((idx, data.xf[idx], data.hf[idx]))
    return out


def glm_as_fit(glm: tuple[np.ndarray, np.ndarray]) -> FitResult:
    """Wrap a one-state GLM as a K = 1 :class:`FitResult` (for evaluation)."""
    w, b = glm
    n = w.shape[0]
    return FitResult(weights=w[None], bias=b[None], log_init=np.zeros(1), log_trans=np.zeros((1, 1)),
                     types=np.zeros((1, n, n), np.int64), connectome=np.zeros((n, n), np.int64),
                     prior_weights=np.zeros((n, n)), abar=np.zeros(0), objective=np.zeros(0),
                     train_loglik=np.nan)


@dataclass
class Evaluation:
    """A fitted model applied to some sequences.

    Attributes
    ----------
    log_marginal : ndarray, shape (S,)
        log p(x_1:T) per sequence (nats).
    gamma : ndarray, shape (S, T, K)
        Posterior state probabilities (zero on padded bins).
    states : ndarray of int, shape (S, T)
        Viterbi path (-1 on padded bins).
    """

    log_marginal: np.ndarray
    gamma: np.ndarray
    states: np.ndarray


def evaluate(data: SeqData, fit: FitResult, link: str, emission: str) -> Evaluation:
    """Marginal likelihood, posteriors and Viterbi path of ``data`` under ``fit``."""
    dev = data.x.device
    w = torch.tensor(fit.weights, dtype=torch.float32, device=dev)
    b = torch.tensor(fit.bias, dtype=torch.float32, device=dev).expand(w.shape[0], -1)
    ll = emission_loglik(data, w, b, link, emission)
    li = torch.tensor(fit.log_init, dtype=torch.float64, device=dev)
    lt = torch.tensor(fit.log_trans, dtype=torch.float64, device=dev)
    with torch.no_grad():
        post = forward_backward(ll, li, lt, data.mask)
    states = viterbi(ll.cpu().numpy(), fit.log_init, fit.log_trans, data.lengths)
    return Evaluation(post.log_marginal.cpu().numpy(), post.gamma.cpu().numpy(), states)


def homogeneous_loglik(data: SeqData, emission: str) -> float:
    """Log-likelihood (nats) of a homogeneous per-neuron rate fitted to these same bins."""
    x = data.xf.double()
    r = x.mean(0).clamp(1e-12, None)
    if emission == "poisson":
        return float((x * torch.log(r) - r - torch.lgamma(x + 1)).sum())
    r = r.clamp(None, 1 - 1e-12)
    return float((x * torch.log(r) + (1 - x) * torch.log1p(-r)).sum())


def bits_per_spike(model_loglik: float, data: SeqData, emission: str) -> float:
    """(LL_model - LL_homogeneous) / (n_spikes ln 2): information gain per spike (bits)."""
    n = data.n_spikes
    if n <= 0:
        return float("nan")
    return (model_loglik - homogeneous_loglik(data, emission)) / (n * np.log(2.0))
