"""Parameters of the connectome analysis and of its planted-motif simulator."""

from __future__ import annotations

from dataclasses import dataclass

from neurotools.errors import UserError
from neurotools.params import Params as BaseParams
from neurotools.params import ParamSet, param

NAME = "connectome"


@dataclass
class Params(BaseParams):
    """Dynamic functional connectome: affinity tensor, non-negative CP and weighted communities.

    ``bin_size`` here is the width (s) traces are averaged into before the affinity (none keeps the
    native samples; spikes are binned at 0.05 s when none). The tensor's time bins are
    ``window_s / 2`` wide.
    """

    analysis = NAME

    bin_size: float = param(None, help="Width of the bins traces are averaged into before the affinity (none keeps native samples; spikes use 0.05 s).", low=0.0, high=60.0, low_open=True, unit="s", allow_none=True)
    affinity: str = param("derivative", help="Pair affinity: co-occurring derivatives (default) or windowed correlation (baseline).", choices=("derivative", "correlation"))
    smooth_s: float = param(0.5, help="Gaussian sigma applied to each trace (or rate) before the affinity.", low=0.0, high=60.0, unit="s")
    window_s: float = param(2.0, help="Gaussian sigma of the affinity's time window; tensor bins are window_s / 2 wide.", low=0.0, high=600.0, low_open=True, unit="s")
    rank: int = param("auto", help="Number of NTF components, or auto to pick it from the rank scan.", low=1, high=50, allow_auto=True)
    max_rank: int = param(6, help="Largest rank of the rank scan (used when rank=auto).", low=1, high=50)
    restarts: int = param(3, help="Random restarts per rank; the best objective is kept.", low=1, high=100)
    iterations: int = param(300, help="Maximum HALS iterations per restart.", low=1, high=100000)
    community: str = param("wsbm", help="Community detection on each component's affinity graph: weighted SBM or Leiden.", choices=("wsbm", "leiden"))
    third_mode: str = param("auto", help="Third tensor mode: animals (one per file), trials (one file's trials table) or auto.", choices=("auto", "animals", "trials"))


@dataclass
class SimParams(ParamSet):
    """Planted motifs in several animals' calcium traces (returned as one file, animals = trials)."""

    analysis = "connectome simulation"

    n_animals: int = param(6, help="Number of animals (trials of the written file).", low=1, high=50)
    n_neurons: int = param(40, help="Neurons per animal.", low=4, high=500)
    n_samples: int = param(1200, help="Samples per animal.", low=100, high=1_000_000)
    rate_hz: float = param(4.0, help="Imaging rate.", low=0.0, high=1000.0, low_open=True, unit="Hz")
    n_motifs: int = param(3, help="Planted motifs (disjoint neuron groups).", low=1, high=20)
    motif_size: int = param(10, help="Neurons per motif.", low=2, high=200)
    motif_rate_hz: float = param(0.25, help="Rate of shared events of a motif inside its active window.", low=0.0, high=10.0, low_open=True, unit="Hz")
    private_rate_hz: float = param(1 / 60, help="Rate of each neuron's private events.", low=0.0, high=10.0, unit="Hz")
    rise_s: float = param(0.3, help="Calcium kernel rise time constant.", low=0.0, high=10.0, low_open=True, unit="s")
    decay_s: float = param(2.0, help="Calcium kernel decay time constant.", low=0.0, high=60.0, low_open=True, unit="s")
    noise: float = param(0.15, help="Standard deviation of the additive Gaussian noise (dF/F units).", low=0.0, high=10.0)
    drift_s: float = param(4.0, help="Time scale (Gaussian sigma) of the shared fluctuation.", low=0.0, high=600.0, low_open=True, unit="s")
    slow_drift: float = param(0.4, help="Amplitude of a slow fluctuation shared by all neurons of an animal (neuropil-like).", low=0.0, high=10.0)

    def validate(self) -> None:
        """Check fields and that the motifs fit in the population."""
        super().validate()
        if self.n_motifs * self.motif_size > self.n_neurons:
            raise UserError(
                f"{self.n_motifs} motifs of {self.motif_size} neurons do not fit in {self.n_neurons} "
                "neurons; lower n_motifs or motif_size, or raise n_neurons."
            )
