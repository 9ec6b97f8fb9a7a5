"""Neuroformer-style generative pretraining on spike tokens (Antoniades et al., ICLR 2024).

Spikes become (neuron, dt) tokens in short current windows; a causal decoder predicts them token
by token while attending to the past window's spikes and to any stimulus intervals and behaviour
series of the file. Downstream: held-out likelihood against a rate model and a coupled GLM,
autoregressive generation of trials (PSTHs), few-shot behaviour decoding, and attention-derived
directed connectivity.
"""

from neurotools.analyses.neuroformer.core import run
from neurotools.analyses.neuroformer.params import Params, SimParams
from neurotools.analyses.neuroformer.simulate import simulate

NAME = "neuroformer"
TITLE = "Neuroformer: generative pretraining on spike tokens"

__all__ = ["NAME", "TITLE", "Params", "SimParams", "run", "simulate"]
