"""Parameters of the neuroformer analysis and of its simulator, with their constraints.

Model-size presets are named here too (:data:`PRESETS`), so the command line, the app and the
benchmark agree on what ``tiny``, ``small`` and ``base`` mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurotools.errors import UserError
from neurotools.params import Params as CommonParams
from neurotools.params import ParamSet, param

#: Model sizes: embedding width, attention heads, blocks per stage (encoder and decoder), default
#: learning rate. ``base`` is the paper's size (256-d, 8 heads, 6 blocks per stage).
PRESETS: dict[str, dict[str, float]] = {
    "tiny": {"d_model": 64, "n_heads": 4, "n_layers": 1, "lr": 3e-3},
    "small": {"d_model": 128, "n_heads": 4, "n_layers": 2, "lr": 1e-3},
    "base": {"d_model": 256, "n_heads": 8, "n_layers": 6, "lr": 3e-4},
}


@dataclass
class Params(CommonParams):
    """Settings of a neuroformer run (tokenizer, model size, training, downstream tasks).

    The token time step is ``window_s / dt_bins``; with ``dt_bins='auto'`` it is ``bin_size``.
    """

    analysis = "neuroformer"

    bin_size: float = param(0.01, help="Token time step (spike bins inside a window).", low=0.0, high=1.0, low_open=True, unit="s")
    preset: str = param("tiny", help="Model size: tiny (64-d, 1 block per stage), small (128-d, 2), base (256-d, 6: the paper's).", choices=tuple(PRESETS))
    window_s: float = param(0.05, help="Length of a 'current' window whose spikes are predicted token by token.", low=0.0, high=2.0, low_open=True, unit="s")
    past_s: float = param(0.25, help="Length of the past window given as context before each current window.", low=0.0, high=10.0, unit="s")
    dt_bins: int = param("auto", help="Time steps per current window (dt token values); auto = window_s / bin_size.", low=1, high=200, allow_auto=True)
    steps: int = param(300, help="Optimisation steps of pretraining.", low=1, high=10_000_000)
    behavior: str = param("auto", help="Behaviour series to predict by fine-tuning (name or path; 'auto' = the first numeric series that is not integer codes such as event codes or states, 'none' = skip).")
    batch_size: int = param(32, help="Windows per optimisation step.", low=1, high=65536)
    lr: float = param("auto", help="Peak AdamW learning rate (warmup then cosine decay); auto = the preset's.", low=0.0, high=1.0, low_open=True, allow_auto=True)
    val_fraction: float = param(0.1, help="Fraction of the time range held out for validation (contiguous).", low=0.0, high=0.5, low_open=True)
    test_fraction: float = param(0.2, help="Fraction of the time range held out for testing (contiguous, at the end).", low=0.0, high=0.5, low_open=True)
    contrastive: float = param(0.0, help="Weight of the InfoNCE alignment between neural windows and the other modalities.", low=0.0, high=10.0)
    finetune_fraction: float = param(0.1, help="Fraction of the training windows whose behaviour labels are used for fine-tuning.", low=0.0, high=1.0, low_open=True)
    finetune_steps: int = param(150, help="Most optimisation steps of behaviour fine-tuning after the linear probe (pretrained and from scratch alike; 0 = skip behaviour decoding).", low=0, high=1_000_000)
    finetune_backbone_lr: float = param(0.1, help="Backbone learning rate of behaviour fine-tuning relative to the head's (after a closed-form linear probe; 0 = the probe only).", low=0.0, high=10.0)
    finetune_repeats: int = param(3, help="Independent draws of the labelled windows (R^2 is averaged over them).", low=1, high=100)
    temperature: float = param(1.0, help="Sampling temperature for generation.", low=0.0, high=10.0, low_open=True)
    top_p: float = param(1.0, help="Nucleus (top-p) sampling mass for generation.", low=0.0, high=1.0, low_open=True)
    checkpoint_dir: str = param("", help="Folder for checkpoints and the metrics.jsonl loss log (empty: none); an existing checkpoint there is resumed.")
    checkpoint_every: int = param(100, help="Steps between checkpoints (and validation evaluations).", low=1, high=1_000_000)

    def validate(self) -> None:
        """Check the fields and that the windows fit the token time step."""
        super().validate()
        step = self.token_step()
        if abs(self.window_s / step - round(self.window_s / step)) > 1e-6:
            raise UserError(
                f"The 'window_s' parameter of neuroformer ({self.window_s:g} s) must be a multiple "
                f"of the token time step ({step:g} s); change window_s, bin_size or dt_bins."
            )

    def token_step(self) -> float:
        """Width of one dt step in seconds."""
        if self.dt_bins == "auto":
            return float(self.bin_size)
        return float(self.window_s) / int(self.dt_bins)

    def n_dt(self) -> int:
        """Number of dt values (time steps) in a current window."""
        return max(1, int(round(self.window_s / self.token_step())))

    def n_past(self) -> int:
        """Number of time steps in the past window."""
        return int(round(self.past_s / self.token_step()))

    def learning_rate(self) -> float:
        """The peak learning rate (the preset's when ``lr='auto'``)."""
        return float(PRESETS[self.preset]["lr"]) if self.lr == "auto" else float(self.lr)


@dataclass
class SimParams(ParamSet):
    """The spec's Poisson-GLM (Hawkes) network: hubs drive their blocks, repeated stimulus trials."""

    analysis = "neuroformer simulation"

    n_neurons: int = param(300, help="Number of neurons.", low=3, high=5000)
    n_blocks: int = param(3, help="Number of blocks, each with one hub neuron.", low=1, high=100)
    duration_s: float = param(1200.0, help="Length of the recording.", low=1.0, high=100000.0, unit="s")
    bin_size: float = param(0.01, help="Simulation time step.", low=0.0, high=0.1, low_open=True, unit="s")
    rate_hz: float = param(5.0, help="Baseline firing rate of every neuron.", low=0.0, high=200.0, low_open=True, unit="Hz")
    hub_fraction: float = param(0.8, help="Fraction of its block that each hub projects to.", low=0.0, high=1.0)
    hub_weight_low: float = param(1.0, help="Lower bound of hub weights (log-rate gain per spike).", low=0.0, high=10.0)
    hub_weight_high: float = param(2.0, help="Upper bound of hub weights (log-rate gain per spike).", low=0.0, high=10.0)
    background_p: float = param(0.03, help="Probability of a background connection.", low=0.0, high=1.0)
    background_sd: float = param(0.3, help="Standard deviation of background weights.", low=0.0, high=10.0)
    self_inhibition: float = param(-2.0, help="Self-coupling weight (refractoriness).", low=-20.0, high=0.0)
    delay_bins: int = param(1, help="Synaptic delay in time steps.", low=1, high=50)
    tau_s: float = param(0.02, help="Decay time constant of the coupling kernel.", low=0.0, high=1.0, low_open=True, unit="s")
    drive_hz: float = param(0.5, help="Frequency of the sinusoidal stimulus drive.", low=0.0, high=50.0, low_open=True, unit="Hz")
    drive_amplitude: float = param(1.0, help="Amplitude of the drive on the log rate.", low=0.0, high=10.0)
    drive_all: bool = param(True, help="Drive every neuron (each with its own gain and phase), not only the hubs.")
    behavior_tau_s: float = param(0.2, help="Time constant of the behaviour variable's filter of population activity.", low=0.0, high=100.0, low_open=True, unit="s")
    behavior_noise: float = param(0.1, help="Noise on the behaviour variable (in units of its standard deviation).", low=0.0, high=10.0)
    latent_gain: float = param(0.0, help="Strength of a slow latent state: SD of its per-neuron signed log-rate loadings ('rate') or of the log stimulus-response gain ('drive'); > 0 makes the behaviour that latent instead of a filter of block 0's activity.", low=0.0, high=10.0)
    latent_target: str = param("rate", help="What the latent modulates: 'rate' (adds loading x latent to each log rate) or 'drive' (multiplies the stimulus drive's amplitude by exp(latent_gain x latent), Poisson cycle-mean rates compensated).", choices=("rate", "drive"))
    latent_tau_s: float = param(1.0, help="Time constant of the latent state (Ornstein-Uhlenbeck process).", low=0.0, high=1000.0, low_open=True, unit="s")

    def validate(self) -> None:
        """Check fields and that the blocks fit."""
        super().validate()
        if self.n_blocks > self.n_neurons:
            raise UserError(
                f"The 'n_blocks' parameter of neuroformer simulation ({self.n_blocks}) must not "
                f"exceed 'n_neurons' ({self.n_neurons})."
            )
        if self.hub_weight_high < self.hub_weight_low:
            raise UserError("'hub_weight_high' must be at least 'hub_weight_low'.")
