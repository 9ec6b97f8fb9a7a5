"""Keep the connectome tests on one thread (the CI machine has two cores)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scipy's stack
        yield
        return
    with threadpool_limits(1):
        yield
