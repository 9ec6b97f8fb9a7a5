"""Non-negative CP decomposition (NTF) by HALS, on tensorly's numpy or pytorch backend.

The solver is hierarchical alternating least squares (Cichocki & Phan 2009): every column of every
factor matrix is, in turn, the exact non-negative least-squares minimiser with the others fixed, so
the objective never increases. Two passes over the data per iteration suffice for any order: the
first mode's MTTKRP is one matrix product with the Khatri-Rao product of the other factors, and
the contraction ``X x_0 U_0`` computed after that update serves every other mode.

Missing entries (a neuron absent in one animal) are handled by expectation-maximisation: before
each iteration they are filled with the current reconstruction, which keeps the masked objective
non-increasing as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tensorly.backend import BackendManager

from neurotools.errors import UserError

#: ``callback(iteration, relative_error)``; may raise :class:`neurotools.errors.Cancelled`.
IterationCallback = Callable[[int, float], None]


@dataclass
class CPFit:
    """A fitted non-negative CP model ``X ~ sum_r w_r u_0^r o u_1^r o ...``.

    Attributes
    ----------
    weights : ndarray, shape (R,)
        Component weights (product of the factor column norms), in decreasing order.
    factors : list of ndarray
        One matrix per mode, shape (I_n, R), non-negative columns of unit L2 norm.
    objective : ndarray, shape (iterations,)
        Sum of squared (observed) residuals after each iteration.
    rel_errors : ndarray, shape (iterations,)
        ``||M * (X - Xhat)|| / ||M * X||`` after each iteration.
    converged : bool
        Whether the relative decrease fell below ``tol`` before ``n_iter``.
    seconds_per_iteration : float
        Mean wall time of one iteration.
    seed : int
        Seed of the random initialisation.
    """

    weights: np.ndarray
    factors: list[np.ndarray]
    objective: np.ndarray
    rel_errors: np.ndarray
    converged: bool
    seconds_per_iteration: float
    seed: int = 0
    info: dict = field(default_factory=dict)

    @property
    def rank(self) -> int:
        """Number of components."""
        return int(len(self.weights))

    @property
    def rel_error(self) -> float:
        """Final relative error."""
        return float(self.rel_errors[-1]) if len(self.rel_errors) else float("nan")

    def reconstruct(self) -> np.ndarray:
        """The full model tensor, shape (I_0, ..., I_{N-1})."""
        return cp_to_tensor(self.weights, self.factors)


def cp_to_tensor(weights: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
    """Dense tensor of a CP model.

    Parameters
    ----------
    weights : ndarray, shape (R,)
    factors : list of ndarray, each (I_n, R)

    Returns
    -------
    ndarray, shape (I_0, ..., I_{N-1})
    """
    kr = _khatri_rao_np([np.asarray(f) for f in factors[1:]])
    shape = tuple(f.shape[0] for f in factors)
    return ((factors[0] * weights) @ kr.T).reshape(shape)


def _khatri_rao_np(mats: list[np.ndarray]) -> np.ndarray:
    out = mats[0]
    for m in mats[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, m.shape[1])
    return out


def get_backend(name: str):
    """A tensorly backend object (``"numpy"`` or ``"pytorch"``) without touching global state."""
    loaded = BackendManager._loaded_backends.get(name)
    return loaded if loaded is not None else BackendManager.load_backend(name)


def backend_for(device: str) -> str:
    """The tensorly backend that runs on ``device`` (``cpu`` -> numpy, ``cuda*`` -> pytorch)."""
    return "pytorch" if str(device).startswith("cuda") else "numpy"


def _khatri_rao(b, mats: list, rank: int):
    out = mats[0]
    for m in mats[1:]:
        out = b.reshape(out[:, None, :] * m[None, :, :], (-1, rank))
    return out


def _gram_product(b, grams: list, skip: int | None):
    out = None
    for m, g in enumerate(grams):
        if m == skip:
            continue
        out = g if out is None else out * g
    return out


def _hals_columns(b, U, M, G, eps: float):
    """One HALS sweep over the columns of ``U`` (in place): exact non-negative column updates.

    A column whose Gram diagonal is negligible (a dead component) is left where it is: its
    denominator is floored at 1e-12 of the largest one, so round-off cannot blow it up. The loop
    uses array operators only (no backend dispatch), which numpy and torch share: on a GPU the
    per-column cost is a handful of kernel launches.
    """
    d = b.diag(G)
    inv = 1.0 / b.clip(d, 1e-12 * b.max(d) + eps, None)
    for r in range(U.shape[1]):
        col = U[:, r] + (M[:, r] - U @ G[:, r]) * inv[r]
        U[:, r] = col.clip(min=0)
    return U


def ncp_hals(
    X: np.ndarray,
    rank: int,
    mask: np.ndarray | None = None,
    n_iter: int = 300,
    tol: float = 1e-6,
    seed: int = 0,
    device: str = "cpu",
    backend: str | None = None,
    dtype: str = "float64",
    init: list[np.ndarray] | None = None,
    callback: IterationCallback | None = None,
) -> CPFit:
    """Fit a non-negative CP model by HALS.

    Parameters
    ----------
    X : ndarray or torch.Tensor, shape (I_0, ..., I_{N-1})
        Non-negative data tensor, N >= 2 (entries under ``mask == False`` are ignored). A torch
        tensor (pytorch backend) is used where it lives, without a copy through the host.
    rank : int
        Number of components R >= 1.
    mask : ndarray of bool or None
        Observed entries, broadcastable to ``X.shape`` (e.g. (P, 1, W) for pairs missing in an
        animal over the whole recording). None observes everything.
    n_iter : int
        Maximum number of iterations.
    tol : float
        Stop when the objective decreases by less than ``tol`` times its value in one iteration.
    seed : int
        Seed of the uniform random initialisation (same seed -> same factors).
    device : str
        ``"cpu"`` or ``"cuda"`` (``"cuda:0"``...); chooses the backend unless ``backend`` is given.
    backend : str or None
        tensorly backend, ``"numpy"`` or ``"pytorch"``.
    dtype : str
        ``"float64"`` or ``"float32"``.
    init : list of ndarray or None
        Initial factor matrices (I_n, R) instead of a random start.
    callback : callable or None
        ``callback(iteration, relative_error)`` after each iteration; may raise to stop.

    Returns
    -------
    CPFit
        Factors with unit-norm columns sorted by decreasing weight.
    """
    on_device = type(X).__module__.startswith("torch")  # a torch tensor already on its device
    if not on_device:
        X = np.asarray(X)
    if X.ndim < 2:
        raise UserError(f"NTF needs a tensor with at least 2 modes; got shape {tuple(X.shape)}.")
    finite = bool(X.isfinite().all()) if on_device else bool(np.all(np.isfinite(X)))
    if not finite or (X.numel() if on_device else X.size) and float(X.min()) < 0:
        raise UserError("The affinity tensor must be finite and non-negative; check the input traces.")
    rank = int(rank)
    if rank < 1:
        raise UserError(f"The rank must be a positive integer. Got {rank} instead.")
    bname = backend or backend_for(device)
    b = get_backend(bname)
    if bname == "pytorch":
        import torch

        ctx = {"dtype": getattr(torch, dtype), "device": device if device != "cpu" else "cpu"}
    else:
        ctx = {"dtype": np.dtype(dtype)}
    eps = float(np.finfo(np.dtype(dtype)).tiny) * 1e6

    shape = tuple(int(n) for n in X.shape)
    nmodes = X.ndim
    rng = np.random.default_rng(seed)
    if init is None:
        factors_np = [rng.random((n, rank)) for n in shape]
    else:
        factors_np = [np.array(f, dtype=float, copy=True) for f in init]
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, bool), shape) if np.ndim(mask) != X.ndim else np.asarray(mask, bool)
        if mask.all():
            mask = None
    if on_device and mask is not None:
        raise UserError("A mask needs the tensor as a numpy array.")
    Xm = X if mask is None else np.where(mask, X, 0.0)
    xnorm2 = float((X.double() ** 2).sum()) if on_device else float(np.sum(Xm.astype(float) ** 2))
    if xnorm2 == 0:
        raise UserError("The affinity tensor is all zeros (no co-varying activity); check the input traces.")
    # scale the random start so that ||Xhat|| = ||X||
    grams = [f.T @ f for f in factors_np]
    hat2 = float(np.sum(np.prod(np.stack(grams), axis=0)))
    if init is None and hat2 > 0:
        s = (np.sqrt(xnorm2) / np.sqrt(hat2)) ** (1.0 / nmodes)
        factors_np = [f * s for f in factors_np]

    Xt = Xm.to(**ctx).contiguous() if on_device else b.tensor(np.ascontiguousarray(Xm), **ctx)
    U = [b.tensor(np.ascontiguousarray(f), **ctx) for f in factors_np]
    if mask is not None:
        Mt = b.tensor(mask.astype(np.dtype(dtype)), **ctx)
        Xfill = Xt
    I0 = shape[0]
    rest = int(np.prod(shape[1:]))
    objective: list[float] = []
    rel: list[float] = []
    converged = False
    t0 = time.perf_counter()
    it = 0
    for it in range(1, n_iter + 1):
        Xw = Xfill if mask is not None else Xt
        X0 = b.reshape(Xw, (I0, rest))
        grams = [b.dot(b.transpose(u), u) for u in U]
        # mode 0: one product with the Khatri-Rao product of the other factors
        M = b.dot(X0, _khatri_rao(b, U[1:], rank))
        U[0] = _hals_columns(b, U[0], M, _gram_product(b, grams, 0), eps)
        grams[0] = b.dot(b.transpose(U[0]), U[0])
        # X x_0 U_0 serves every other mode
        Z = b.reshape(b.dot(b.transpose(X0), U[0]), tuple(shape[1:]) + (rank,))
        for n in range(1, nmodes):
            M = _contract_except(b, Z, U, n, shape, rank)
            U[n] = _hals_columns(b, U[n], M, _gram_product(b, grams, n), eps)
            grams[n] = b.dot(b.transpose(U[n]), U[n])
        if mask is None:
            # <X, Xhat> from the last mode's MTTKRP, ||Xhat||^2 from the Gram matrices
            inner = float(b.sum(M * U[-1]))
            loss = xnorm2 - 2.0 * inner + float(b.sum(_gram_product(b, grams, None)))
        else:
            Xhat = b.reshape(b.dot(U[0], b.transpose(_khatri_rao(b, U[1:], rank))), shape)
            resid = Mt * (Xt - Xhat)
            loss = float(b.sum(resid * resid))
            Xfill = Mt * Xt + (1 - Mt) * Xhat
        # balance the scales: unit columns in modes 0..N-2, the last mode carries the weight
        for n in range(nmodes - 1):
            nrm = b.sqrt(b.sum(U[n] * U[n], axis=0))
            nrm = b.where(nrm > 0, nrm, b.ones(nrm.shape, **ctx))
            U[n] = U[n] / nrm
            U[-1] = U[-1] * nrm
        loss = max(loss, 0.0)
        objective.append(loss)
        rel.append(float(np.sqrt(loss / xnorm2)))
        if callback is not None:
            callback(it, rel[-1])
        if it > 1 and objective[-2] - objective[-1] <= tol * max(objective[-2], 1e-300):
            converged = True
            break
    elapsed = time.perf_counter() - t0
    facs = [np.asarray(b.to_numpy(u), dtype=float) for u in U]
    return _finish(facs, np.array(objective), np.array(rel), converged, elapsed / max(it, 1), seed)


def _contract_except(b, Z, U: list, n: int, shape: tuple, rank: int):
    """MTTKRP of mode ``n >= 1`` from ``Z = X x_0 U_0`` of shape (I_1, ..., I_{N-1}, R)."""
    dims = shape[1:]
    k = n - 1
    left = int(np.prod(dims[:k])) if k > 0 else 1
    right = int(np.prod(dims[k + 1 :])) if k + 1 < len(dims) else 1
    W = b.reshape(Z, (left, dims[k], right, rank))
    if n + 1 < len(U):  # modes after n (even of size 1: their factor still scales)
        W = b.sum(W * _khatri_rao(b, U[n + 1 :], rank)[None, None, :, :], axis=2)
    else:
        W = W[:, :, 0, :]
    if n > 1:  # modes 1..n-1
        W = b.sum(W * _khatri_rao(b, U[1:n], rank)[:, None, :], axis=0)
    else:
        W = W[0]
    return W


def _finish(
    factors: list[np.ndarray],
    objective: np.ndarray,
    rel: np.ndarray,
    converged: bool,
    sec_per_iter: float,
    seed: int,
) -> CPFit:
    norms = [np.linalg.norm(f, axis=0) for f in factors]
    weights = np.prod(np.stack(norms), axis=0)
    unit = [f / np.where(nrm > 0, nrm, 1.0) for f, nrm in zip(factors, norms)]
    order = np.argsort(-weights, kind="stable")
    return CPFit(
        weights=weights[order],
        factors=[u[:, order] for u in unit],
        objective=objective,
        rel_errors=rel,
        converged=converged,
        seconds_per_iteration=sec_per_iter,
        seed=seed,
    )
