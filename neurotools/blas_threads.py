"""One BLAS thread for chains that run as threads of the same process.

With OpenBLAS on pthreads (numpy's wheels) or any other BLAS with one thread pool per process,
the thread count is one setting for the whole process. ``threadpoolctl`` (3.8) lets only one
Python thread at a time change it and ignores the others, and each ``threadpool_limits`` block
restores the count it found when it leaves. So chains that overlap as threads (a Dask worker
with several threads) undo each other's limit: the first to leave gives the others every core
while they still run, and the last may leave the process limited for good.
:func:`one_blas_thread` keeps one shared limit while any thread is inside and restores the
process's own setting when the last one leaves. BLAS libraries on OpenMP keep a count per thread,
so each thread also sets its own; there the shared limit only touches the first thread to enter
(left at one thread) and the last to leave (given the first's original count).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import threadpoolctl
from threadpoolctl import threadpool_limits

_lock = threading.Lock()
_inside = 0
_shared_limit: threadpool_limits | None = None


def _release_control() -> None:
    # threadpoolctl >= 3.8 lets only a "controlling" thread set OpenBLAS's shared pool; the shared
    # limit below is set and restored under our own lock, by whichever thread comes first/last.
    openblas = getattr(threadpoolctl, "OpenBLASController", None)
    clear = getattr(openblas, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS limited to one thread, however many threads enter it at once.

    Yields
    ------
    None
        BLAS uses one thread until the last thread inside such a block leaves; then the
        thread counts the process had before the first one entered are restored.
    """
    global _inside, _shared_limit
    with _lock:
        if _inside == 0:
            _release_control()
            _shared_limit = threadpool_limits(limits=1, user_api="blas")
            _release_control()
        _inside += 1
    try:
        with threadpool_limits(limits=1, user_api="blas"):  # per-thread counts (OpenMP)
            yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _shared_limit is not None:
                _release_control()
                _shared_limit.restore_original_limits()
                _release_control()
                _shared_limit = None
