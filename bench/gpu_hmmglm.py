"""Time one EM epoch of the HMM-GLM on CUDA for the benchmark configuration (< 2 min).

K=5, N=20, 30 training sequences of 2000 bins (the paper's simulation), one-hot prior, sigmoid
link, 10 Adam steps per minibatch of ~10000 bins. Prints seconds per epoch on CPU (1 thread) and
on CUDA when present.

    .venv/bin/python bench/gpu_hmmglm.py
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from neurotools.analyses.hmmglm import SimParams
from neurotools.analyses.hmmglm.basis import exponential_basis, history_features
from neurotools.analyses.hmmglm.fit import FitConfig, fit_glm, fit_hmmglm, make_seqdata
from neurotools.analyses.hmmglm.simulate import simulate_counts


def _timed_fit(data, cfg: FitConfig, glm, seed: int, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fit_hmmglm(data, cfg, glm, seed)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def time_epochs(device: str, repeats: int = 2) -> float:
    """Seconds per EM epoch: (time of a 4-epoch fit - time of a 1-epoch fit) / 3, best of repeats.

    The difference removes the set-up and the final evaluation that every fit pays once.
    """
    sim = simulate_counts(SimParams(), 0)
    basis = exponential_basis()
    c = sim["counts"][:30]
    data = make_seqdata(list(c), [history_features(x, basis).astype(np.float32) for x in c],
                        "poisson", device)
    cfg = FitConfig(n_states=5, prior="onehot", link="sigmoid", epochs=1, m_steps=10, device=device)
    glm = fit_glm(data, cfg, steps=50)
    _timed_fit(data, cfg, glm, 0, device)  # warm-up (CUDA context, kernels)
    one = min(_timed_fit(data, cfg, glm, r, device) for r in range(repeats))
    four = min(_timed_fit(data, replace(cfg, epochs=4), glm, r, device) for r in range(repeats))
    return (four - one) / 3


def main() -> None:
    torch.set_num_threads(1)
    print(f"cpu (1 thread): {time_epochs('cpu'):.3f} s/epoch")
    if torch.cuda.is_available():
        print(f"cuda ({torch.cuda.get_device_name(0)}): {time_epochs('cuda'):.3f} s/epoch")
    else:
        print("cuda: not available")


if __name__ == "__main__":
    main()
