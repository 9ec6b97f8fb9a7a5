"""One MCMC chain of the bi-clustering model: state, initialisation and the Gibbs sweep.

Model (N neurons, T bins, p factors per cluster, counts ``y[i, t]``)::

    log mu[i, t] = d_i + m_t^(z_i) + c_i . x_t^(z_i)
    y[i, t] ~ NB(mean mu[i, t], dispersion r_i)          (or Poisson)
    z ~ MFM (or DP);  X_t = stack_j [m_t^(j), x_t^(j)] follows switching AR(1) dynamics
    s_t ~ sticky HDP-HMM (weak limit, L states)

The sweep (:meth:`Chain.step`): neuron labels (Neal's algorithm 8, one auxiliary cluster, with
each neuron's loadings integrated by a Laplace approximation, as a proposal corrected to the
model's path prior when a cluster opens or empties; then ``split_merge`` split-merge
Metropolis-Hastings moves of whole clusters, :mod:`.splitmerge`) -> dynamics -> latents by
Polya-gamma augmentation + FFBS -> scale moves of each latent dimension with the dynamics
integrated out (:mod:`.scalemoves`), dynamics -> identifiability projection -> states by FFBS +
transition rows -> dynamics -> (d_i, c_i) by PG regression -> r_i by CRT + Metropolis-Hastings,
then random-walk Metropolis steps on log r_i against the NB likelihood.
For the Poisson model the PG blocks use an NB with large dispersion ``R`` as proposal and are
corrected by Metropolis-Hastings (the PG kernel is reversible for the NB target, so the
acceptance ratio is the Poisson/NB likelihood ratio; a rejection restores the whole block).

Optional exact state moves (``ModelConfig``; off in ``ModelConfig()``, the window moves on with the
default ``Params``, parameter ``state_moves``; see docs/analyses/biclustering.md):
``window_moves`` -- before the latent FFBS, Metropolis-Hastings moves of windows of states with
the latent path integrated out by Kalman filtering of the Polya-gamma pseudo-observations
(:func:`.kalman.window_state_moves`); ``collapsed_states`` -- after the state FFBS, a
single-site Gibbs sweep with every state's (A, b, Q) integrated out
(:func:`.dynamics.sample_states_collapsed`), the dynamics then redrawn from their conditional;
``birth_death`` -- birth and death proposals of short states with the path fixed and the dynamics
and transition rows integrated out (:mod:`.birthdeath`; exact, but rarely accepted: see the docs);
``path_birth_death`` -- after the latent draw, with the same Polya-gamma draws, moves of short
runs of states to another state together with the latent path around them, the state that loses
or gains the run getting new dynamics and transition row (:mod:`.pathbirthdeath`; births and
deaths included); ``state_merges`` -- merges and splits of whole states with the path fixed and
the dynamics and transition rows integrated out (:mod:`.statemerge`); ``noise_moves`` -- after the
window moves, with the same Polya-gamma draws, scale moves of the occupied states' noise ``Q``
with the latent path integrated out (:mod:`.noisemoves`; parameter ``noise_moves``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.cluster.vq import kmeans2
from scipy.ndimage import gaussian_filter1d, uniform_filter1d
from scipy.signal import lfilter
from scipy.spatial.distance import squareform

from neurotools.analyses.biclustering.birthdeath import birth_death_moves
from neurotools.analyses.biclustering.counts import nb_loglik, poisson_loglik, sample_dispersion
from neurotools.analyses.biclustering.dynamics import sample_dynamics, sample_states_collapsed
from neurotools.analyses.biclustering.hmm import (
    ar_loglik,
    forward_backward_sample,
    sample_dirichlet,
    sample_sticky_hdp,
)
from neurotools.analyses.biclustering.kalman import ffbs, window_state_moves
from neurotools.analyses.biclustering.laplace import laplace_loadings
from neurotools.analyses.biclustering.mfm import (
    log_partition_prior,
    log_v_coefficients,
    new_cluster_log_weights,
)
from neurotools.analyses.biclustering.noisemoves import noise_scale_moves
from neurotools.analyses.biclustering.pathbirthdeath import (
    HmmParams,
    MniwPrior,
    jump_scores,
    path_birth_death_moves,
)
from neurotools.analyses.biclustering.polyagamma import sample_pg
from neurotools.analyses.biclustering.scalemoves import dynamics_log_marginal, latent_scale_moves
from neurotools.analyses.biclustering.splitmerge import (
    g0_logpdf,
    principal_path,
    split_merge_move,
)
from neurotools.analyses.biclustering.statemerge import state_merge_split_moves

#: Dispersion of the NB proposal used for the Poisson model.
POISSON_R = 1000.0


@dataclass
class ModelConfig:
    """Fixed settings of the model and sampler (see :class:`..params.Params`).

    Attributes mirror the paper's defaults: ``p = 2`` factors, ``L = 10`` states,
    ``alpha = gamma = 5``, ``kappa = 10``, MFM with ``Geometric(0.2)`` and ``gamma_mfm = 1``.
    """

    model: str = "nb"
    latent_dim: int = 2
    max_states: int = 10
    neuron_prior: str = "mfm"
    r_k: float = 0.2
    gamma_mfm: float = 1.0
    alpha_dp: float = 1.0
    hdp_alpha: float = 5.0
    hdp_gamma: float = 5.0
    hdp_kappa: float = 10.0
    init_clusters: int = 0
    #: added to the starting partition's number of clusters (tree cut at K + shift, at least 1;
    #: K from ``init_clusters`` or the silhouette); spread starts give each chain its own shift
    init_shift: int = 0
    update_labels: bool = True
    update_states: bool = True
    project: bool = True
    prior_only: bool = False
    state_sweeps: int = 2
    collapsed_states: bool = False
    window_moves: bool = False
    window_max_len: int = 30
    #: rounds of scale moves of the occupied states' noise Q with the latent path integrated
    #: out, before the latent draw (:mod:`.noisemoves`); 0 turns them off
    noise_moves: int = 0
    #: standard deviation of the log scale factor of those moves
    noise_step: float = 0.15
    #: birth/death proposals of short states per state update, with (A, b, Q) and the
    #: transition rows integrated out (:mod:`.birthdeath`); 0 turns them off
    birth_death: int = 0
    #: longest run of moves that such a move creates or removes
    birth_death_max_len: int = 20
    #: proposals per sweep that move a short run of states to another state jointly with the
    #: latent path around it, births and deaths of states by reversible jump
    #: (:mod:`.pathbirthdeath`); 0 turns them off
    path_birth_death: int = 0
    #: bins of latent path redrawn on each side of such a run
    path_birth_death_margin: int = 10
    #: factor on the host state's noise in the proxy dynamics that redraw a newborn state's path
    path_birth_death_inflation: float = 25.0
    #: new runs start where the counts jump (:func:`.pathbirthdeath.jump_scores`), else anywhere
    path_birth_death_targeted: bool = True
    #: merge/split proposals of whole states per state update, with (A, b, Q) and the
    #: transition rows integrated out (:mod:`.statemerge`); 0 turns them off
    state_merges: int = 0
    g0_rho: float = 0.95
    g0_sd: float = 0.3
    split_merge: int = 2
    #: column covariance scale of the MNIW prior of A's columns (``V0 = diag(dynamics_v0, ...,
    #: offset_v0)``; 1 as in the author's code; ``Params`` of ``neurotools run bicluster``
    #: default to 10)
    dynamics_v0: float = 1.0
    #: the same scale for the offset column b; None: ``dynamics_v0`` (``Params`` default 1000)
    offset_v0: float | None = None
    #: the first move's state is a draw from the HDP global weights (else uniform)
    first_from_beta: bool = True
    #: scale moves of the latent paths with (A, b, Q) integrated out (:mod:`.scalemoves`)
    scale_moves: bool = True
    #: prior of the cluster paths that the cluster-count moves (new or emptied cluster,
    #: split-merge) target: "dynamics" -- the model's switching dynamics with every state's
    #: (A, b, Q) integrated out, as in the rest of the sweep (exact); "g0" -- independent
    #: AR(1) base measures per cluster, as in the paper's scheme (inconsistent with the sweep)
    path_prior: str = "dynamics"
    #: random-walk Metropolis steps on log r_i after the CRT step of the dispersion
    dispersion_rw_steps: int = 4
    scale_step: float = 0.05

    @property
    def column_scales(self) -> tuple[float, float]:
        """``(scale of A's columns, scale of b's column)`` of the MNIW prior's ``V0``."""
        offset = self.dynamics_v0 if self.offset_v0 is None else self.offset_v0
        return (float(self.dynamics_v0), float(offset))


@dataclass
class ChainState:
    """Current values of every unknown of one chain (shapes with N, T, K, p, L)."""

    z: np.ndarray          # (N,) labels 0..K-1
    lat: np.ndarray        # (T, K, 1 + p): baseline then factors per cluster
    d: np.ndarray          # (N,)
    c: np.ndarray          # (N, p)
    r: np.ndarray          # (N,)
    states: np.ndarray     # (T,)
    beta: np.ndarray       # (L,)
    trans: np.ndarray      # (L, L)
    A: np.ndarray          # (L, D, D)
    b: np.ndarray          # (L, D)
    Q: np.ndarray          # (L, D, D)

    @property
    def K(self) -> int:
        """Number of clusters."""
        return int(self.lat.shape[1])


def log_rates(s: ChainState) -> np.ndarray:
    """``log mu`` of every neuron and bin, shape (N, T)."""
    ell = np.concatenate([np.ones((len(s.z), 1)), s.c], 1)          # (N, 1+p)
    return s.d[:, None] + np.einsum("tnq,nq->nt", s.lat[:, s.z, :], ell)


class Chain:
    """One Markov chain on counts ``y`` (N, T).

    Parameters
    ----------
    y : ndarray of int, shape (N, T)
        Spike counts.
    config : ModelConfig
    rng : numpy.random.Generator
    """

    def __init__(self, y: np.ndarray, config: ModelConfig, rng: np.random.Generator):
        self.y = np.asarray(y, float)
        self.cfg = config
        self.rng = rng
        self.N, self.T = self.y.shape
        self.p = config.latent_dim
        self.L = config.max_states
        self.log_v = log_v_coefficients(self.N, config.gamma_mfm, config.r_k, t_max=self.N + 1)
        #: proposed and accepted moves that change the number of clusters, per kind
        #: ("new/empty" single-neuron moves, "split", "merge")
        self.move_counts = {kind: [0, 0] for kind in ("new/empty", "split", "merge")}
        #: accepted birth/death moves of short states (:mod:`.birthdeath`)
        self.birth_death_accepted = 0
        self.path_birth_death_accepted = 0
        self.state_merges_accepted = 0
        self.state_splits_accepted = 0
        #: accepted and proposed noise scale moves (:mod:`.noisemoves`)
        self.noise_moves_counts = [0, 0]
        self.state = self._initial_state()

    # ------------------------------------------------------------------ initialisation
    def _initial_state(self) -> ChainState:
        cfg, rng, y, N, T, p, L = self.cfg, self.rng, self.y, self.N, self.T, self.p, self.L
        smooth = gaussian_filter1d(y, 2.0, axis=1, mode="nearest")
        logr = np.log(smooth + 0.1)
        logr -= logr.mean(1, keepdims=True)
        sd = logr.std(1, keepdims=True)
        zs = logr / np.where(sd > 0, sd, 1)
        # kept for the split-merge proposals (data only)
        self.logr0, self.zs0 = logr, zs / np.sqrt(T)
        zs_jit = zs + 1e-9 * rng.standard_normal(zs.shape)
        z = initial_partition(zs_jit, cfg.init_clusters)
        if cfg.init_shift:
            k_start = max(1, min(N, int(z.max()) + 1 + cfg.init_shift))
            z = initial_partition(zs_jit, k_start)
        z = _relabel(z)
        K = int(z.max()) + 1
        lat = np.zeros((T, K, 1 + p))
        c = 0.1 * rng.standard_normal((N, p))
        for j in range(K):
            lat[:, j] = principal_path(logr[z == j], p)[0]
        lat += 0.01 * rng.standard_normal(lat.shape)
        d = np.log(y.mean(1) + 0.05)
        r = np.full(N, 10.0) if cfg.model == "nb" else np.full(N, POISSON_R)
        states = initial_states(y, z, min(L, 2), rng)
        beta = np.full(L, 1.0 / L)
        trans = sample_dirichlet(cfg.hdp_alpha * beta[None, :] + cfg.hdp_kappa * np.eye(L), rng)
        s = ChainState(z, lat, d, c, r, states, beta, trans, *(None,) * 3)
        s.A, s.b, s.Q = sample_dynamics(self._X(s), states, L, rng, v0=cfg.column_scales)
        return s

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _X(s: ChainState) -> np.ndarray:
        return s.lat.reshape(s.lat.shape[0], -1)

    def _draw_dynamics(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A, b, Q) of every state from their MNIW conditional given the latents and states."""
        s = self.state
        return sample_dynamics(self._X(s), s.states, self.L, self.rng, v0=self.cfg.column_scales)

    def loglik(self, log_mu: np.ndarray | None = None) -> float:
        """Log-likelihood of all counts under the current state."""
        s = self.state
        log_mu = log_rates(s) if log_mu is None else log_mu
        if self.cfg.model == "nb":
            return float(nb_loglik(self.y, log_mu, s.r[:, None]).sum())
        return float(poisson_loglik(self.y, log_mu).sum())

    def log_joint(self, log_mu: np.ndarray | None = None) -> float:
        """Log joint density of the counts and the sampled unknowns (nats).

        ``log p(y, z, X, s, d, c, r | transition rows, global weights)`` with every state's
        (A, b, Q) integrated out: the count log-likelihood, the partition prior (MFM or DP), the
        paths' prior given the states (:meth:`paths_log_prior`), the state path given the
        transition rows (the first move from the first-state distribution; bin 0 copies bin 1),
        ``d_i ~ N(0, 1)``, ``c_i ~ N(0, I)`` and, for the NB model, ``r_i ~ Gamma(1, 1)``.
        The trace of this quantity is the usual convergence check of an MCMC run.
        """
        s, cfg = self.state, self.cfg
        sizes = np.bincount(s.z, minlength=s.K)
        total = self.loglik(log_mu)
        total += log_partition_prior(sizes[sizes > 0], cfg.neuron_prior, cfg.gamma_mfm,
                                     self.log_v, cfg.alpha_dp)
        total += self.paths_log_prior(s.lat)
        if self.T >= 2:
            total += float(np.log(self._first_state_distribution()[s.states[1]]))
            total += float(np.log(s.trans[s.states[1:-1], s.states[2:]]).sum())
        total += -0.5 * float((s.d**2).sum() + (s.c**2).sum()) \
            - 0.5 * (s.d.size + s.c.size) * np.log(2 * np.pi)
        if cfg.model == "nb":
            total += -float(s.r.sum())
        return float(total)

    def _pg(self, log_mu: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        psi = log_mu - np.log(r)[:, None]
        omega = sample_pg(self.y + r[:, None], psi, self.rng)
        kappa = 0.5 * (self.y - r[:, None])
        return omega, kappa

    def _poisson_weight(self, log_mu: np.ndarray) -> np.ndarray:
        """Per-neuron log Poisson / NB(POISSON_R) likelihood ratio, shape (N,)."""
        return (poisson_loglik(self.y, log_mu) - nb_loglik(self.y, log_mu, POISSON_R)).sum(1)

    # ------------------------------------------------------------------ the sweep
    def step(self) -> None:
        """One full Gibbs sweep (see the module docstring for the order).

        The state/dynamics pair is updated ``config.state_sweeps`` times per sweep (a repeated
        Gibbs block: still exact, and cheaper than a full sweep).
        """
        s = self.state
        if self.cfg.update_labels:
            self.update_labels()
            s.A, s.b, s.Q = self._draw_dynamics()
        self.update_latents()
        if self.cfg.scale_moves:
            # (A, b, Q) are integrated out of the moves, so they are redrawn right after
            latent_scale_moves(self, self.cfg.scale_step)
            s.A, s.b, s.Q = self._draw_dynamics()
        if self.cfg.project:
            self.project()
        for _ in range(max(1, self.cfg.state_sweeps) if self.cfg.update_states else 0):
            self.update_states()
            s.A, s.b, s.Q = self._draw_dynamics()
        if not self.cfg.update_states:
            s.A, s.b, s.Q = self._draw_dynamics()
        self.update_loadings()
        if self.cfg.model == "nb":
            mu = np.exp(log_rates(s))
            s.r, _ = sample_dispersion(self.y, mu, s.r, self.rng,
                                       rw_steps=self.cfg.dispersion_rw_steps)

    def update_latents(self) -> None:
        """Draw all clusters' latent paths jointly by PG augmentation + FFBS."""
        s, T, K, q = self.state, self.T, self.state.K, 1 + self.p
        log_mu = log_rates(s)
        J, h = self.latent_pseudo_observations(log_mu)
        ell = np.concatenate([np.ones((self.N, 1)), s.c], 1)        # (N, q)
        states_old, Q_old = s.states, s.Q
        if self.cfg.window_moves and self.cfg.update_states:
            # (states, latents) as one block given the Polya-gamma draws: states by MH with the
            # latents integrated out, then the latents from their conditional
            s.states, _ = window_state_moves(J, h, s.states, s.A, s.b, s.Q, s.trans, self.rng,
                                             self.cfg.window_max_len,
                                             self._first_state_distribution())
        if self.cfg.noise_moves:
            # (Q, latents) likewise: Q by MH with the latents integrated out
            s.Q, acc, prop = noise_scale_moves(J, h, s.states, s.A, s.b, s.Q, self.rng,
                                               MniwPrior(v0=self.cfg.column_scales),
                                               self.cfg.noise_step, self.cfg.noise_moves)
            self.noise_moves_counts[0] += acc
            self.noise_moves_counts[1] += prop
        X_new = ffbs(J, h, s.states, s.A, s.b, s.Q, self.rng)
        accept = True
        if self.cfg.model == "poisson":
            # the block above targets the NB(r = POISSON_R) augmentation; the Poisson
            # correction accepts or rejects the whole block (states, Q and latents together)
            log_mu_new = self._path_log_rates(X_new, ell)
            log_acc = (self._poisson_weight(log_mu_new) - self._poisson_weight(log_mu)).sum()
            accept = bool(np.log(self.rng.random()) < log_acc)
        if accept:
            s.lat = X_new.reshape(T, K, q)
        else:
            s.states, s.Q = states_old, Q_old
        if self.cfg.path_birth_death and self.cfg.update_states:
            self._path_birth_death(J, h, ell)

    def _path_log_rates(self, X: np.ndarray, ell: np.ndarray) -> np.ndarray:
        """Log rates (N, T) of a stacked path ``X`` (T, D) with the current labels and ``d``.

        ``ell`` (N, 1 + p) holds each neuron's loadings on its cluster's baseline and factors.
        """
        s = self.state
        lat = X.reshape(self.T, s.K, 1 + self.p)
        return s.d[:, None] + np.einsum("tnq,nq->nt", lat[:, s.z, :], ell)

    def _path_birth_death(self, J: np.ndarray, h: np.ndarray, ell: np.ndarray) -> None:
        """Moves of short runs of states with the path around them (:mod:`.pathbirthdeath`).

        Uses the same Polya-gamma pseudo-observations ``J, h`` as the latent draw, so the
        (states, path) block stays exact; the dynamics and transition row of a state that loses
        or gains a run are redrawn inside the move.
        """
        s, cfg, T, K, q = self.state, self.cfg, self.T, self.state.K, 1 + self.p
        log_weight = None
        if cfg.model == "poisson":
            def log_weight(X: np.ndarray) -> float:
                return float(self._poisson_weight(self._path_log_rates(X, ell)).sum())
        hmm = HmmParams(A=s.A, b=s.b, Q=s.Q, trans=s.trans, beta=s.beta,
                        first=self._first_state_distribution(), alpha=cfg.hdp_alpha,
                        kappa=cfg.hdp_kappa)
        X, s.states, accepted = path_birth_death_moves(
            self._X(s), s.states, J, h, hmm, self.rng, cfg.path_birth_death,
            cfg.birth_death_max_len, cfg.path_birth_death_margin,
            cfg.path_birth_death_inflation, MniwPrior(v0=cfg.column_scales), log_weight,
            jump_scores(J, h) if cfg.path_birth_death_targeted else None)
        s.lat = X.reshape(T, K, q)
        self.path_birth_death_accepted += accepted

    def latent_pseudo_observations(self, log_mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian pseudo-observations of the stacked paths from one Polya-gamma draw.

        Given ``omega ~ PG(y + r, psi)``, the counts' likelihood of the paths is Gaussian with
        precision ``J[t]`` and linear term ``h[t]`` per bin: shapes (T, D, D) and (T, D),
        ``D = K (1 + p)``.
        """
        s, T, K, q = self.state, self.T, self.state.K, 1 + self.p
        r = s.r if self.cfg.model == "nb" else np.full(self.N, POISSON_R)
        omega, kappa = self._pg(log_mu, r)
        ell = np.concatenate([np.ones((self.N, 1)), s.c], 1)        # (N, q)
        off = s.d - np.log(r)
        J = np.zeros((T, K * q, K * q))
        h = np.zeros((T, K * q))
        for j in range(K):
            m = s.z == j
            sl = slice(j * q, (j + 1) * q)
            outer = (ell[m, :, None] * ell[m, None, :]).reshape(-1, q * q)
            J[:, sl, sl] = (omega[m].T @ outer).reshape(T, q, q)
            h[:, sl] = (kappa[m] - omega[m] * off[m, None]).T @ ell[m]
        return J, h

    def update_loadings(self) -> None:
        """Draw (d_i, c_i) of every neuron by Polya-gamma augmented Gaussian regression."""
        s, N, q = self.state, self.N, 1 + self.p
        log_mu = log_rates(s)
        r = s.r if self.cfg.model == "nb" else np.full(N, POISSON_R)
        omega, kappa = self._pg(log_mu, r)
        own = s.lat[:, s.z, :]                                       # (T, N, q)
        Z = np.concatenate([np.ones((self.T, N, 1)), own[:, :, 1:]], 2)   # design [1, x]
        offset = own[:, :, 0].T - np.log(r)[:, None]                 # (N, T)
        Zn = Z.transpose(1, 0, 2)                                    # (N, T, q)
        prec = np.swapaxes(Zn * omega[:, :, None], 1, 2) @ Zn + np.eye(q)[None]
        rhs = ((kappa - omega * offset)[:, None, :] @ Zn)[:, 0]
        cov = np.linalg.inv(prec)
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        mean = np.einsum("iqr,ir->iq", cov, rhs)
        draw = mean + np.einsum("iqr,ir->iq", np.linalg.cholesky(cov),
                                self.rng.standard_normal((N, q)))
        if self.cfg.model == "poisson":
            d_old, c_old = s.d.copy(), s.c.copy()
            w_old = self._poisson_weight(log_mu)
            s.d, s.c = draw[:, 0].copy(), draw[:, 1:].copy()
            w_new = self._poisson_weight(log_rates(s))
            reject = np.log(self.rng.random(N)) >= w_new - w_old
            s.d[reject], s.c[reject] = d_old[reject], c_old[reject]
            return
        s.d, s.c = draw[:, 0].copy(), draw[:, 1:].copy()

    def update_states(self) -> None:
        """Draw the state path by FFBS, then the HDP weights and transition rows.

        The HMM runs over the ``T - 1`` moves ``X_{t-1} -> X_t`` (state of bin t, t >= 1); the
        first move's state is a draw from the global weights ``beta`` (``first_from_beta``;
        uniform otherwise). Bin 0 carries no move, so it is given bin 1's state rather than a
        free state that no data inform.
        """
        s, cfg = self.state, self.cfg
        if self.T < 2:
            return
        ll = ar_loglik(self._X(s), s.A, s.b, s.Q)
        init = self._first_state_distribution()
        # the chain of states runs over the T - 1 moves; bin 0 (no move) copies bin 1's state
        moves, _ = forward_backward_sample(ll[1:], s.trans, init, self.rng)
        s.states = np.concatenate([moves[:1], moves])
        if cfg.collapsed_states:
            # (A, b, Q) integrated out; the caller redraws them from their conditional next
            s.states = sample_states_collapsed(self._X(s), s.states, s.trans, self.rng,
                                               v0=cfg.column_scales, init=init)
        if cfg.birth_death:
            # (A, b, Q) and the transition rows integrated out: both are redrawn below / next
            s.states, accepted = birth_death_moves(
                self._X(s), s.states, s.beta, cfg.hdp_alpha, cfg.hdp_kappa, init, self.rng,
                cfg.birth_death, cfg.birth_death_max_len, v0=cfg.column_scales)
            self.birth_death_accepted += accepted
        if cfg.state_merges:
            # the same target: (A, b, Q) and the transition rows are redrawn below / next
            s.states, merges, splits = state_merge_split_moves(
                self._X(s), s.states, s.beta, cfg.hdp_alpha, cfg.hdp_kappa, init, self.rng,
                cfg.state_merges, v0=cfg.column_scales)
            self.state_merges_accepted += merges
            self.state_splits_accepted += splits
        s.beta, s.trans = sample_sticky_hdp(s.states[1:], s.beta, cfg.hdp_alpha, cfg.hdp_gamma,
                                            cfg.hdp_kappa, self.rng, cfg.first_from_beta)

    def _first_state_distribution(self) -> np.ndarray:
        """Distribution of the first move's state: the global HDP weights, or uniform."""
        if self.cfg.first_from_beta:
            return self.state.beta / self.state.beta.sum()
        return np.full(self.L, 1.0 / self.L)

    def project(self) -> None:
        """Centre each cluster's latents over time and rotate its factors to diagonal x'x.

        The means move into ``d`` and ``b``; the rotation conjugates ``c``, ``A``, ``b``, ``Q``.
        Factor order is by decreasing energy, signs make the cluster's summed loadings positive.
        """
        s, K, p, q = self.state, self.state.K, self.p, 1 + self.p
        mean = s.lat.mean(0)                                          # (K, q)
        s.lat -= mean[None]
        s.d = s.d + mean[s.z, 0] + np.einsum("np,np->n", s.c, mean[s.z, 1:])
        mvec = mean.reshape(-1)
        s.b = s.b + np.einsum("lde,e->ld", s.A, mvec) - mvec[None]
        if p == 0:
            return
        Tm = np.eye(K * q)
        for j in range(K):
            F = s.lat[:, j, 1:]
            w, U = np.linalg.eigh(F.T @ F)
            U = U[:, np.argsort(w)[::-1]]
            members = s.z == j
            cs = s.c[members] @ U
            sign = np.where(cs.sum(0) < 0, -1.0, 1.0)
            U = U * sign[None, :]
            s.lat[:, j, 1:] = F @ U
            s.c[members] = s.c[members] @ U
            Tm[j * q + 1:(j + 1) * q, j * q + 1:(j + 1) * q] = U.T
        s.A = Tm[None] @ s.A @ Tm.T[None]
        s.b = s.b @ Tm.T
        s.Q = Tm[None] @ s.Q @ Tm.T[None]
        s.Q = 0.5 * (s.Q + np.swapaxes(s.Q, 1, 2))

    # ------------------------------------------------------------------ labels
    def _g0_draw(self) -> np.ndarray:
        """Latent path of a new cluster from the base measure: stationary AR(1) per dimension."""
        rho, sd, T, q = self.cfg.g0_rho, self.cfg.g0_sd, self.T, 1 + self.p
        e = self.rng.standard_normal((T, q)) * sd
        e[1:] *= np.sqrt(1 - rho**2)
        return lfilter([1.0], [1.0, -rho], e, axis=0)

    def paths_log_prior(self, lat: np.ndarray) -> float:
        """Log prior of the cluster paths ``lat`` (T, K, 1 + p) that the label moves target.

        With ``path_prior="dynamics"``: ``log p(X | states)`` of the stacked paths under the
        switching dynamics with every state's (A, b, Q) integrated out
        (:func:`.scalemoves.dynamics_log_marginal`), the same prior the latent, scale and state
        moves use. With ``"g0"``: the sum of the independent base-measure densities.
        """
        T, K, q = lat.shape
        if self.cfg.path_prior == "g0":
            return float(sum(g0_logpdf(lat[:, j], self.cfg.g0_rho, self.cfg.g0_sd)
                             for j in range(K)))
        return dynamics_log_marginal(lat.reshape(T, K * q), self.state.states,
                                     self.cfg.column_scales)

    def _label_columns(self, cand: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Laplace marginals of every neuron under candidate paths, one tuple per candidate.

        ``cand`` (1 or N, M, T, 1 + p): paths shared by all neurons or one set per neuron.
        Returns M tuples ``(logml (N,), mode (N, p), cov (N, p, p))``.
        """
        s = self.state
        logml, mode, cov = laplace_loadings(self.y, s.d, s.r, cand, self.cfg.model == "nb")
        return [(logml[:, m], mode[:, m], cov[:, m]) for m in range(cand.shape[1])]

    def update_labels(self) -> None:
        """One sweep of Neal's algorithm 8 (one auxiliary cluster) over all neurons, then
        ``config.split_merge`` split-merge moves (:func:`.splitmerge.split_merge_move`).

        The auxiliary path is drawn from the base measure ``G0``, so algorithm 8 is a Gibbs step
        for the model whose cluster paths are independent ``G0`` draws. Under the model's own
        path prior (``path_prior="dynamics"``) that step is used as a proposal: a move that
        creates or empties a cluster is accepted with probability
        ``min(1, [p(X' | states) / p(X | states)] * G0(removed) / G0(added))``, which makes
        the step exact for the switching-dynamics prior; other moves are always accepted.
        """
        s, cfg = self.state, self.cfg
        exact_paths = cfg.path_prior == "dynamics"
        current = self.paths_log_prior(s.lat) if exact_paths else 0.0
        order = self.rng.permutation(self.N)
        # Each neuron's marginal under a path depends only on its counts, d, r and the path, none
        # of which change during the sweep: score every neuron against every cluster's path and
        # its own auxiliary G0 draw in two batched computations, then add a column whenever a
        # new cluster opens. cols[j] = (logml (N,), mode (N, p), cov (N, p, p)) of cluster j.
        aux_paths = np.stack([self._g0_draw() for _ in range(self.N)])          # (N, T, q)
        cols = self._label_columns(s.lat.transpose(1, 0, 2)[None])
        aux_cols = self._label_columns(aux_paths[:, None])[0]
        for i in order:
            k = s.z[i]
            c_old = s.c[i].copy()
            sizes = np.bincount(s.z, minlength=s.K)
            sizes[k] -= 1
            singleton = sizes[k] == 0
            if singleton:
                aux = s.lat[:, k].copy()
                aux_col = cols.pop(k)
                keep = np.arange(s.K) != k
                s.lat = s.lat[:, keep]
                s.z = np.where(s.z > k, s.z - 1, s.z)
                sizes = sizes[keep]
            else:
                aux, aux_col = aux_paths[i], None
            log_w_old, log_w_new = new_cluster_log_weights(
                sizes, self.N, cfg.neuron_prior, cfg.gamma_mfm, self.log_v, cfg.alpha_dp)
            here = cols + [aux_col if singleton else aux_cols]
            logml = np.array([col[0][i] for col in here])
            mode = np.array([col[1][i] for col in here])
            cov = np.array([col[2][i] for col in here])
            if cfg.prior_only:
                logml = np.zeros_like(logml)
            logp = np.append(log_w_old, log_w_new) + logml
            prob = np.exp(logp - logp.max())
            prob /= prob.sum()
            j = int(self.rng.choice(len(prob), p=prob))
            K_before = s.K
            changes_k = (j == K_before) != singleton
            if changes_k:
                self.move_counts["new/empty"][0] += 1
            if exact_paths and changes_k:
                # the number of clusters changes: correct the G0 proposal to the dynamics prior
                with_aux = np.concatenate([s.lat, aux[:, None, :]], 1)
                g0_aux = g0_logpdf(aux, cfg.g0_rho, cfg.g0_sd)
                if j == K_before:          # a new cluster appears
                    proposed = self.paths_log_prior(with_aux)
                    log_acc = proposed - current - g0_aux
                else:                      # i's singleton cluster disappears
                    proposed = self.paths_log_prior(s.lat)
                    log_acc = proposed - current + g0_aux
                if np.log(self.rng.random()) >= log_acc:
                    # rejected: i keeps its cluster (a singleton comes back at the end)
                    if singleton:
                        s.lat = with_aux
                        s.z[i] = K_before
                        cols.append(aux_col)
                    else:
                        s.z[i] = k
                    s.c[i] = c_old
                    continue
                current = proposed
            if changes_k:
                self.move_counts["new/empty"][1] += 1
            if j == K_before:
                s.lat = np.concatenate([s.lat, aux[:, None, :]], 1)
                cols.append(aux_col if singleton else self._label_columns(aux[None, None])[0])
            s.z[i] = j
            Lc = np.linalg.cholesky(0.5 * (cov[j] + cov[j].T))
            s.c[i] = mode[j] + Lc @ self.rng.standard_normal(self.p)
        for _ in range(cfg.split_merge):
            split_merge_move(self)


def initial_partition(zs: np.ndarray, k: int = 0, k_max: int = 12) -> np.ndarray:
    """Starting neuron partition: average-linkage clustering of 1 - correlation.

    Parameters
    ----------
    zs : ndarray, shape (N, T)
        Standardised smoothed log rates.
    k : int
        Number of clusters; 0 picks the cut with the best mean silhouette among 2..k_max
        (1 cluster when no cut reaches a silhouette of 0.1).

    Returns
    -------
    ndarray of int, shape (N,)
    """
    N = zs.shape[0]
    if N < 3 or k == 1:
        return np.zeros(N, dtype=np.int64)
    corr = np.nan_to_num(np.corrcoef(zs))
    dist = np.clip(1 - 0.5 * (corr + corr.T), 0, 2)
    np.fill_diagonal(dist, 0)
    link = linkage(squareform(dist, checks=False), "average")
    if k:
        return _relabel(fcluster(link, min(k, N), "maxclust") - 1)
    best, best_z = 0.1, np.zeros(N, dtype=np.int64)
    for kk in range(2, min(k_max, N - 1) + 1):
        zz = _relabel(fcluster(link, kk, "maxclust") - 1)
        sil = _silhouette(dist, zz)
        if sil > best:
            best, best_z = sil, zz
    return best_z


def initial_states(y: np.ndarray, z: np.ndarray, k: int, rng: np.random.Generator,
                   sigma: float = 3.0, window: int = 21, lead: int = 0) -> np.ndarray:
    """Starting state path: k-means of the bins by the local variability of each cluster.

    For every cluster, the population count is smoothed (Gaussian, ``sigma`` bins), logged, and
    its variance over a sliding ``window`` of bins, centred ``lead`` bins ahead of the bin, is
    taken; the bins are split into ``k`` groups by k-means on these log-variances (standardised).
    A centred window (``lead = 0``) labels the bins after a burst ends as variable for half a
    window; ``lead = 5`` halves that lag (paper's simulation, seeds 0-7: start accuracy 0.84 ->
    0.875), but chains started there drift back to the same segmentation (0.87 on seed 0 after
    200 sweeps), so the default stays centred. States that differ in how much the rates
    move (e.g. oscillating vs quiet dynamics) start apart; the chain then refines them.

    Parameters
    ----------
    y : ndarray, shape (N, T)
        Counts.
    z : ndarray of int, shape (N,)
        Starting neuron partition.
    k : int
        Number of starting states (1 gives a single state).
    rng : numpy.random.Generator
        Seeds the k-means (so chains start from different splits).

    Returns
    -------
    ndarray of int, shape (T,)
    """
    T = y.shape[1]
    if k < 2 or T < 3 * window:
        return np.zeros(T, dtype=np.int64)
    pop = np.stack([y[z == j].sum(0) for j in range(int(z.max()) + 1)]).astype(float)
    lr = np.log(gaussian_filter1d(pop, sigma, axis=1, mode="nearest") + 0.5)
    org = -min(lead, window // 2)          # negative origin: the window looks ahead
    m = uniform_filter1d(lr, window, axis=1, mode="nearest", origin=org)
    v = np.maximum(uniform_filter1d(lr**2, window, axis=1, mode="nearest", origin=org) - m**2, 0)
    feat = np.log(v.T + 1e-4)
    sd = feat.std(0)
    if not np.any(sd > 1e-9):
        return np.zeros(T, dtype=np.int64)
    feat = (feat - feat.mean(0)) / np.where(sd > 1e-9, sd, 1.0)
    _, lab = kmeans2(feat, k, seed=rng, minit="++")
    lab[0] = lab[1]                        # bin 0 carries no move: it shares bin 1's state
    return _relabel(lab)


def _silhouette(dist: np.ndarray, z: np.ndarray) -> float:
    K = int(z.max()) + 1
    if K < 2:
        return -1.0
    onehot = (z[:, None] == np.arange(K)[None]).astype(float)
    sizes = onehot.sum(0)
    sums = dist @ onehot                                             # (N, K)
    own = sizes[z] - 1
    a = np.where(own > 0, sums[np.arange(len(z)), z] / np.maximum(own, 1), 0.0)
    other = sums / sizes[None]
    other[np.arange(len(z)), z] = np.inf
    b_ = other.min(1)
    sil = np.where(own > 0, (b_ - a) / np.maximum(np.maximum(a, b_), 1e-12), 0.0)
    return float(sil.mean())


def _relabel(z: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..K-1 in order of first appearance."""
    _, first, inv = np.unique(z, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inv].astype(np.int64)
