"""Keep torch on one thread in these tests (the CI machine has 2 shared cores)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield
