"""Dynamic functional connectome (Dyballa et al., ICLR 2024).

Pairwise differential affinities over time form a pairs x time x animals (or trials) tensor; a
non-negative CP decomposition (HALS on tensorly's backends) gives components with a time course,
animal loadings and a pair pattern; each pattern's weighted graph is split into communities by a
weighted stochastic block model (or Leiden).
"""

from neurotools.analyses.connectome.params import NAME, Params, SimParams
from neurotools.analyses.connectome.pipeline import run
from neurotools.analyses.connectome.simulate import simulate, simulate_animals

TITLE = "Dynamic functional connectome"

__all__ = ["NAME", "TITLE", "Params", "SimParams", "run", "simulate", "simulate_animals"]
