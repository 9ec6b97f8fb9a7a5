"""One-hot HMM-GLM: state-switching functional connectivity with a learnable connectome prior.

Li, Kim, Rodgers, Choi, Wu, "One-hot Generalized Linear Model for Switching Brain State
Discovery", ICLR 2024. See ``docs/analyses/hmmglm.md``.
"""

from neurotools.analyses.hmmglm.analysis import run
from neurotools.analyses.hmmglm.params import HmmGlmParams as Params
from neurotools.analyses.hmmglm.params import HmmGlmSimParams as SimParams
from neurotools.analyses.hmmglm.simulate import simulate

NAME = "hmmglm"
TITLE = "HMM-GLM: switching functional connectivity"

__all__ = ["NAME", "TITLE", "Params", "SimParams", "run", "simulate"]
