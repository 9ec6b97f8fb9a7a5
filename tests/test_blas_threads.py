"""The BLAS limit of chains that run as threads of one process (a thread pool, a nanny-less worker)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from neurotools.blas_threads import _release_control, one_blas_thread


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def _overlap_two_threads() -> dict[str, list[set[int]]]:
    """Thread 1 enters, thread 2 enters, thread 1 leaves, thread 2 leaves; BLAS counts seen."""
    seen: dict[str, list[set[int]]] = {"first": [], "second": []}
    first_inside, second_inside = threading.Event(), threading.Event()

    def first():
        with one_blas_thread():
            seen["first"].append(_blas_threads())
            first_inside.set()
            second_inside.wait(5)

    def second():
        first_inside.wait(5)
        with one_blas_thread():
            seen["second"].append(_blas_threads())
            second_inside.set()
            first_thread.join(5)  # the first thread has left its block; this one is inside
            seen["second"].append(_blas_threads())

    first_thread = threading.Thread(target=first)
    second_thread = threading.Thread(target=second)
    first_thread.start()
    second_thread.start()
    second_thread.join(10)
    return seen


@pytest.mark.parametrize("main_thread_holds_a_limit", [False, True])
def test_overlapping_threads_run_with_one_blas_thread_and_the_setting_comes_back(
    main_thread_holds_a_limit,
):
    assert np.ones((2, 2)) @ np.ones(2) is not None and _blas_threads(), "BLAS not loaded"
    with threadpool_limits(limits=3, user_api="blas"):
        if not main_thread_holds_a_limit:
            # as on a fresh worker thread: no thread holds threadpoolctl's control when the chains start
            _release_control()
        seen = _overlap_two_threads()
        assert seen["first"] == [{1}]
        assert seen["second"] == [{1}, {1}]
        assert _blas_threads() == {3}


def test_chains_on_a_thread_pool_keep_one_blas_thread_to_the_end():
    from neurotools.analyses.biclustering.fit import ChainJob, run_chain
    from neurotools.analyses.biclustering.sampler import ModelConfig

    y = np.random.default_rng(0).poisson(1.0, (6, 100))

    def chain(i: int) -> set[int]:
        seen: set[int] = set()
        job = ChainJob(y, ModelConfig(), (i, 0), 20 + 40 * i, 5, i)  # the second ends later
        run_chain(job, lambda fraction, message: seen.update(_blas_threads()))
        return seen

    with threadpool_limits(limits=3, user_api="blas"):
        _release_control()
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(chain, range(2))) == [{1}, {1}]
        assert _blas_threads() == {3}
