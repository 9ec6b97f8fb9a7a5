"""Shared fixtures of the neuroformer tests: one thread, one small simulated network."""

from __future__ import annotations

import pytest
import torch

from neurotools.analyses.neuroformer import SimParams, simulate


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_network():
    """The spec's hub network at CI size: 30 neurons in 3 blocks, 240 s, drive on every neuron."""
    return simulate(SimParams(n_neurons=30, duration_s=240.0), seed=0)
