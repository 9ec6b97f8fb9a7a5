"""Parameters of the bi-clustering analysis and of its simulator (names fixed by the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurotools.errors import UserError
from neurotools.params import Params, ParamSet, param


@dataclass
class BiclusterParams(Params):
    """Settings of ``neurotools run bicluster``.

    The architecture fixes ``model``, ``iterations``, ``burn_in``, ``chains``, ``latent_dim`` and
    ``max_states``; the others tune the priors and the sampler (defaults from Wei 2024, except
    ``dynamics_prior_scale``, ``offset_prior_scale``, ``state_moves`` and ``noise_moves``:
    see docs/analyses/biclustering.md).
    """

    analysis = "bicluster"

    bin_size: float = param(0.1, help="Width of the count bins.", low=0.0, high=60.0,
                            low_open=True, unit="s")
    model: str = param("nb", help="Count model: negative binomial or Poisson.",
                       choices=("nb", "poisson"))
    iterations: int = param(1000, help="MCMC iterations per chain (burn-in included).",
                            low=2, high=1_000_000)
    burn_in: int = param(250, help="Iterations discarded at the start of every chain.",
                         low=0, high=1_000_000)
    chains: int = param(4, help="Independent chains (run in parallel through the executor).",
                        low=1, high=64)
    latent_dim: int = param(2, help="Latent factors per neuron cluster (besides its baseline).",
                            low=1, high=8)
    max_states: int = param(10, help="Upper bound L on population states (HDP weak limit).",
                            low=1, high=50)
    neuron_prior: str = param("mfm", help="Prior on neuron partitions: mixture of finite "
                              "mixtures or Dirichlet process.", choices=("mfm", "dp"))
    cluster_rate: float = param(0.2, help="Success probability of the geometric prior on the "
                                "number of neuron clusters.", low=0.0, high=1.0,
                                low_open=True, high_open=True)
    sticky_kappa: float = param(10.0, help="Self-transition bias of the sticky HDP-HMM.",
                                low=0.0, high=1e6)
    state_moves: str = param("window", help="Moves of the state sequence: 'ffbs' -- two "
                             "forward-filtering backward-sampling sweeps per iteration; "
                             "'window' adds Metropolis-Hastings moves of state windows with the "
                             "latents integrated out, 'collapsed' a single-site sweep with each "
                             "state's dynamics integrated out, 'all' both with one FFBS sweep, "
                             "'jumps' adds to 'window' birth and death of short states together "
                             "with the latent path around them, 'merges' adds to 'window' merges "
                             "and splits of whole states, 'jumps_merges' adds both (all exact; "
                             "'window' sharpens "
                             "the switch times for about 1.2x the time of 'ffbs').",
                             choices=("ffbs", "window", "collapsed", "all", "jumps", "merges",
                                      "jumps_merges"))
    noise_moves: int = param(2, help="Rounds of scale moves of the occupied states' noise "
                             "covariances Q with the latent paths integrated out, per iteration "
                             "(0: off; exact; 2 rounds cost about 1.15x the time of an "
                             "iteration and make the log-likelihood mix faster).",
                             low=0, high=20)
    dynamics_prior_scale: float = param(10.0, help="Column covariance scale of the "
                                        "matrix-normal prior on each state's transition "
                                        "matrix A (prior sd of an entry: sqrt(scale x Q); the "
                                        "author's code uses 1; larger values make every extra "
                                        "state costlier: at 100 only states that many bins "
                                        "support remain).",
                                        low=0.0, high=1e6, low_open=True)
    offset_prior_scale: float = param(1000.0, help="The same scale for each state's offset "
                                      "b (prior sd sqrt(scale x Q), about 3 latent units "
                                      "at the default): a vague prior on b makes a state that "
                                      "only fits a jump of the latents over one or two bins "
                                      "costly, so the count of occupied states mixes.",
                                      low=0.0, high=1e8, low_open=True)
    starts: str = param("shared", help="Starting neuron partitions: every chain from the same "
                        "data-driven partition, or spread over K, K+1, K-1, K+2, ... clusters so "
                        "that the chains' agreement tests the dependence on the start.",
                        choices=("shared", "spread"))

    def validate(self) -> None:
        """Check every field and that some iterations remain after the burn-in."""
        super().validate()
        if self.burn_in >= self.iterations:
            raise UserError(
                f"The 'burn_in' parameter of bicluster ({self.burn_in}) must be smaller than "
                f"'iterations' ({self.iterations}); lower burn_in or raise iterations."
            )

    @classmethod
    def recorded_values(cls, values: dict[str, Any]) -> dict[str, Any]:
        """Runs recorded before 2026-12-05 had one prior scale for A and b: keep it on a rerun."""
        if "offset_prior_scale" not in values and "dynamics_prior_scale" in values:
            values["offset_prior_scale"] = values["dynamics_prior_scale"]
        return values


@dataclass
class SimParams(ParamSet):
    """Settings of ``neurotools simulate bicluster`` (defaults: the paper's simulation)."""

    analysis = "bicluster simulation"

    n_neurons: int = param(30, help="Number of neurons.", low=2, high=5000)
    n_clusters: int = param(3, help="Number of neuron clusters (equal sizes).", low=1, high=100)
    latent_dim: int = param(2, help="Factors per cluster (besides the baseline).", low=1, high=8)
    n_bins: int = param(500, help="Number of time bins.", low=10, high=1_000_000)
    bin_size: float = param(0.1, help="Width of a time bin.", low=0.0, high=60.0,
                            low_open=True, unit="s")
    mean_duration: float = param(50.0, help="Mean state duration (Poisson).", low=1.0,
                                 high=1e6, unit="bins")
    model: str = param("nb", help="Count model of the simulated data.", choices=("nb", "poisson"))
    dispersion: float = param(10.0, help="NB dispersion r (variance mu + mu^2 / r).",
                              low=0.0, high=1e6, low_open=True)

    def validate(self) -> None:
        """Check every field and that each cluster gets at least one neuron."""
        super().validate()
        if self.n_clusters > self.n_neurons:
            raise UserError(
                f"'n_clusters' ({self.n_clusters}) cannot exceed 'n_neurons' "
                f"({self.n_neurons}); lower n_clusters or add neurons."
            )
