"""Parameters of the HMM-GLM analysis and of its simulator."""

from __future__ import annotations

from dataclasses import dataclass

from neurotools.errors import UserError
from neurotools.params import Params, ParamSet, param

PRIORS = ("none", "gaussian", "onehot")
LINKS = ("sigmoid", "softplus")
EMISSIONS = ("poisson", "bernoulli")


@dataclass
class HmmGlmParams(Params):
    """Settings of ``neurotools run hmmglm`` (names shared with the app's widgets)."""

    analysis = "hmmglm"

    n_states: int = param(3, help="Number of hidden states K.", low=1, high=20)
    prior: str = param("onehot", help="Prior on the per-state weights: none (HMM-GLM), gaussian around a shared mean, or onehot (the paper's learnable connectome).", choices=PRIORS)
    link: str = param("softplus", help="Link from the linear predictor to the rate: sigmoid (rate <= 1 spike per bin, the paper) or softplus.", choices=LINKS)
    emission: str = param("poisson", help="Spike count distribution given the rate: poisson, or bernoulli (counts clipped at 1).", choices=EMISSIONS)
    history_bins: int = param(5, help="Length L of the spike-history window, in bins.", low=1, high=200)
    history_span: float = param(5.0, help="Decay of the exponential basis over the window: phi_l proportional to exp(-l*span/L).", low=0.0, high=100.0, low_open=True)
    n_basis: int = param(1, help="Number of exponential history basis functions (time constants halving).", low=1, high=5)
    epochs: int = param(20, help="Generalised EM iterations (one E-step and m_steps gradient steps each).", low=1, high=10000)
    m_steps: int = param(10, help="Adam steps per minibatch of about 10,000 bins (whole sequences) in each M-step.", low=1, high=10000)
    learning_rate: float = param(0.05, help="Adam step size of the M-step.", low=0.0, high=10.0, low_open=True)
    restarts: int = param(3, help="Independent initialisations, each fitted for the warm-up epochs; the one with the best training objective is continued.", low=1, high=100)
    warmup_epochs: int = param(5, help="Epochs of unconstrained weights (prior none) that screen the restarts and seed the chosen prior; 0 runs every restart to the end.", low=0, high=10000)
    test_fraction: float = param(0.2, help="Fraction of sequences held out for test bits/spike.", low=0.0, high=0.9)
    sigma: float = param(1 / 3, help="Standard deviation of the gaussian prior around the state-mean weights.", low=0.0, high=100.0, low_open=True)
    temperature: float = param(0.2, help="Gumbel-softmax temperature of the onehot prior.", low=0.0, high=10.0, low_open=True)
    weight_threshold: float = param(0.2, help="|weight| above which a connection counts as excitatory/inhibitory for the none and gaussian priors.", low=0.0, high=100.0)
    sequence_table: str = param("auto", help="Interval table whose rows are the sequences: auto (trials, else every table with 2+ rows, else blocks), blocks, or a table name.")
    block_s: float = param(None, help="Length of the contiguous blocks cut when no table gives the sequences (none: 20 blocks).", low=0.0, high=1e6, low_open=True, unit="s", allow_none=True)
    k_values: str = param("", help="Comma-separated K values (or a range such as 1-6) for the cross-validated K-selection curve; empty skips it.")
    cv_folds: int = param(2, help="Folds over training sequences for the K-selection curve.", low=2, high=20)
    learn_initial: bool = param(False, help="Learn the initial state distribution (else uniform, as in the paper).")
    l2: float = param(0.0, help="Ridge penalty (l2/2)*sum(W^2) on the weights, in nats; guards against overfitting sparse real data.", low=0.0, high=1e6)
    init_noise: float = param(0.5, help="Standard deviation of the noise added to the one-state GLM weights to start each state (breaks state symmetry).", low=0.0, high=10.0, low_open=True)
    state_bias: bool = param(False, help="Give each state its own bias (else one bias per neuron shared by all states).")

    def validate(self) -> None:
        """Check every field and the K list."""
        super().validate()
        self.k_list()

    def k_list(self) -> list[int]:
        """The ``k_values`` setting as a sorted list of distinct positive integers."""
        text = (self.k_values or "").replace(" ", "")
        if not text:
            return []
        out: set[int] = set()
        try:
            for tok in text.split(","):
                if not tok:
                    continue
                if "-" in tok:
                    lo, hi = (int(v) for v in tok.split("-", 1))
                    out.update(range(lo, hi + 1))
                else:
                    out.add(int(tok))
        except ValueError:
            out = {0}
        if not out or min(out) < 1 or max(out) > 20:
            raise UserError(
                f"The 'k_values' parameter of hmmglm must be integers in [1, 20] such as 1,2,3 or "
                f"1-6. Got {self.k_values!r} instead."
            )
        return sorted(out)


@dataclass
class HmmGlmSimParams(ParamSet):
    """Settings of ``neurotools simulate hmmglm``: the paper's simulation by default."""

    analysis = "hmmglm simulation"

    n_states: int = param(5, help="Number of hidden states K.", low=1, high=20)
    n_neurons: int = param(20, help="Number of neurons N.", low=1, high=500)
    n_sequences: int = param(50, help="Number of independent sequences (written as trials).", low=1, high=10000)
    sequence_bins: int = param(2000, help="Bins per sequence.", low=2, high=1_000_000)
    bin_size: float = param(0.05, help="Bin width.", low=0.0, high=60.0, low_open=True, unit="s")
    history_bins: int = param(5, help="History window L in bins.", low=1, high=200)
    history_span: float = param(5.0, help="Decay of the exponential history basis.", low=0.0, high=100.0, low_open=True)
    self_transition: float = param(0.98, help="Probability of staying in a state from one bin to the next.", low=0.0, high=1.0)
    link: str = param("sigmoid", help="Link of the generator.", choices=LINKS)
    dirichlet_scale: float = param(2.0, help="Concentration scale of the per-pair Dirichlet(scale*[0.1, 0.8, 0.1]) over [inh, none, exc].", low=0.0, high=1000.0, low_open=True)
