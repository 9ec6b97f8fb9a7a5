"""Bayesian bi-clustering of spike counts (Wei 2024): neuron clusters x population states by MCMC.

Public API: ``NAME``, ``TITLE``, ``Params``, ``SimParams``, ``run``, ``simulate``.
"""

from neurotools.analyses.biclustering.fit import run
from neurotools.analyses.biclustering.params import BiclusterParams as Params
from neurotools.analyses.biclustering.params import SimParams
from neurotools.analyses.biclustering.simulate import simulate

NAME = "bicluster"
TITLE = "Bi-clustering (neuron clusters x states)"

__all__ = ["NAME", "TITLE", "Params", "SimParams", "run", "simulate"]
