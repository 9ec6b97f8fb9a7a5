"""Background jobs: a job store on disk, progress, cancel, and the executor seam.

A job is a directory ``ROOT/<job_id>/`` holding ``task.json`` (what to run), ``status.json``
(state, progress fraction, message, error, times), an optional ``cancel`` flag file and, once done,
``result/`` (a saved :class:`~neurotools.analyses.base.Result`). Because everything lives on disk,
a browser refresh, a second tab or another process finds the job again from its id alone.

Executors share the :class:`concurrent.futures.Executor` interface: ``inline`` (runs at submit;
tests), ``process`` (local processes, the default), ``dask://HOST:PORT`` (a Dask scheduler) and
``dask-local`` (a LocalCluster).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import shutil
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from neurotools.analyses.base import Result
from neurotools.analyses.live import LiveTraceSink, read_live_traces
from neurotools.errors import Cancelled, UserError

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL_STATES = ("done", "failed", "cancelled")


# -- executors ------------------------------------------------------------------------------------
class InlineExecutor(Executor):
    """Runs each task immediately in the caller's thread (for tests and debugging)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: D102
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, like other executors
            fut.set_exception(exc)
        return fut


#: Seconds to wait for a ``dask://HOST:PORT`` scheduler before giving up.
DASK_CONNECT_TIMEOUT_S = 10


class DaskExecutor(Executor):
    """A Dask client as an :class:`~concurrent.futures.Executor`; shutdown closes what it opened.

    Parameters
    ----------
    client : distributed.Client
        Connected client; closed by :meth:`shutdown`.
    cluster : distributed.LocalCluster, optional
        Cluster started for this executor (``dask-local``); closed by :meth:`shutdown`.
    """

    def __init__(self, client: Any, cluster: Any = None):
        self.client = client
        self.cluster = cluster
        # pure=False: every call runs (no key de-duplication, no hashing of large arguments)
        self._inner = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: D102
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Wait for (or cancel) submitted work, then close the client and any own cluster."""
        try:
            self._inner.shutdown(wait=wait and not cancel_futures)
        finally:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def make_executor(spec: str = "process", max_workers: int | None = None) -> Executor:
    """Create an executor from its name.

    Parameters
    ----------
    spec : str
        ``"inline"``, ``"process"``, ``"dask://HOST:PORT"`` or ``"dask-local"``.
    max_workers : int, optional
        Worker processes for ``process`` (default: the number of CPUs) and ``dask-local``.

    Raises
    ------
    UserError
        For an unknown spec or an unreachable Dask scheduler.
    """
    if spec == "inline":
        return InlineExecutor()
    if spec == "process":
        return ProcessPoolExecutor(max_workers=max_workers or os.cpu_count() or 1,
                                   mp_context=multiprocessing.get_context("spawn"))
    if spec.startswith("dask://") or spec == "dask-local":
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError("Dask executors need the 'distributed' package; pip install 'dask[distributed]'.") from None
        cluster = None
        try:
            if spec == "dask-local":
                cluster = LocalCluster(n_workers=max_workers or 2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
                client = Client(cluster)
            else:
                client = Client("tcp://" + spec[len("dask://"):], timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise UserError(f"Cannot reach the Dask scheduler at {spec} ({exc}); check the address.") from None
        return DaskExecutor(client, cluster)
    raise UserError(f"Unknown executor '{spec}'; use inline, process, dask://HOST:PORT or dask-local.")


#: Flag file a job's own worker pool watches besides ``cancel``: set when the job stops for
#: any other reason, so that the pool's processes do not run on.
STOP_WORKERS = ".stop_workers"


def stop_flags(job_dir: str | os.PathLike | None) -> tuple[str, ...]:
    """The files whose existence tells a job's fits to stop: its ``cancel`` and
    :data:`STOP_WORKERS` flags (none without a job folder)."""
    if job_dir is None:
        return ()
    return str(Path(job_dir) / "cancel"), str(Path(job_dir) / STOP_WORKERS)


def _exit_when_flagged(flags: tuple[str, ...], parent_pid: int, poll_s: float) -> None:
    """Initializer of a job's worker processes: a daemon thread ends the process as soon as one
    of ``flags`` (file paths) exists, so a cancel stops work that is already running, or when
    the job's process is gone (killed, so that it could not set a flag)."""

    def watch() -> None:
        while os.getppid() == parent_pid and not any(os.path.exists(f) for f in flags):
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="neurotools-stop-watch", daemon=True).start()


@contextmanager
def _stop_fits_on_error(job_dir: str | os.PathLike | None) -> Iterator[None]:
    """Set the job's :data:`STOP_WORKERS` flag when the body raises (then re-raise)."""
    try:
        yield
    except BaseException:
        if job_dir is not None:
            try:
                (Path(job_dir) / STOP_WORKERS).touch()
            except OSError:
                pass                    # the folder is gone: the fits' own checks cannot help
        raise


@contextmanager
def job_worker_pool(workers: int, job_dir: str | os.PathLike | None = None,
                    poll_s: float = 0.5) -> Iterator[Executor]:
    """Processes of one job for its analysis's independent fits (chains, restarts).

    Parameters
    ----------
    workers : int
        Number of processes (started as work arrives, so never more than the fits).
    job_dir : path, optional
        The job's folder. Its ``cancel`` flag ends the processes within ``poll_s`` seconds,
        even in the middle of a fit, and the job ends as cancelled; when the job stops for any
        other reason the processes are ended the same way. They also end when the process
        that opened the pool dies.
    poll_s : float
        Seconds between the processes' looks at the flags.

    Yields
    ------
    concurrent.futures.Executor
    """
    # spawned, not forked: the caller may be a threaded process (the app's server in tests)
    pool = ProcessPoolExecutor(max_workers=int(workers), initializer=_exit_when_flagged,
                               initargs=(stop_flags(job_dir), os.getpid(), poll_s),
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        with _stop_fits_on_error(job_dir):
            try:
                yield pool
            except BrokenProcessPool as exc:
                if job_dir is not None and (Path(job_dir) / "cancel").exists():
                    raise Cancelled() from None
                raise UserError(
                    f"A worker process of this job stopped unexpectedly ({exc}); if it ran out "
                    "of memory, run it again with fewer parallel processes."
                ) from exc
    except BaseException:
        if job_dir is None or not Path(job_dir, STOP_WORKERS).exists():
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()     # no flag could reach them: end them directly
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_dask_worker() -> bool:
    """Whether this code runs as a task on a Dask worker."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


# -- tasks ------------------------------------------------------------------------------------------
@dataclass
class AnalysisTask:
    """Run one analysis on NWB files (read by the worker itself).

    ``workers`` > 1 runs the analysis's independent fits (bi-clustering chains, restarts) in
    that many processes of the job's own (:func:`job_worker_pool`); results do not depend on it.
    A job running on a Dask worker sends them to the same cluster instead; in another daemonic
    process, which cannot start processes, they run in the job.
    """

    analysis: str
    paths: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    kind: str = "analysis"
    workers: int = 1

    @property
    def label(self) -> str:
        """Short description for job lists."""
        return f"{self.analysis} on {', '.join(Path(p).name for p in self.paths)}"

    def run(self, progress) -> Result:
        """Read the inputs (only the parameters' selection), validate the parameters and run."""
        from neurotools.analyses import get_analysis
        from neurotools.recipe import run_on_files

        params = get_analysis(self.analysis).Params.from_dict(self.params)
        workers = int(self.workers)
        if workers > 1 and _on_dask_worker():
            # the job is a Dask task: send its fits to the same cluster (the task secedes from
            # the worker's thread pool while it waits for them)
            from distributed import worker_client

            with _stop_fits_on_error(getattr(progress, "job_dir", None)), \
                    worker_client() as client:
                return run_on_files(self.analysis, params, self.paths, self.seed, self.device,
                                    progress, executor=client.get_executor(pure=False))
        if workers > 1 and multiprocessing.current_process().daemon:
            # daemonic processes cannot start processes of their own
            workers = 1
            progress(0.0, "this worker cannot start processes: the fits run one after the other")
        if workers <= 1:
            return run_on_files(self.analysis, params, self.paths, self.seed, self.device,
                                progress)
        with job_worker_pool(self.workers, getattr(progress, "job_dir", None)) as pool:
            return run_on_files(self.analysis, params, self.paths, self.seed, self.device,
                                progress, executor=pool)


@dataclass
class RateSweepTask:
    """Firing-rate and Fano-factor statistics of all units at many bin widths."""

    path: str
    bin_widths: list[float] = field(default_factory=lambda: default_bin_widths())
    kind: str = "rate_sweep"

    @property
    def label(self) -> str:
        """Short description for job lists."""
        return f"rate statistics on {Path(self.path).name} ({len(self.bin_widths)} bin widths)"

    def run(self, progress) -> Result:
        """Read the file and compute :func:`neurotools.data.rates.rate_statistics`."""
        from neurotools.analyses.base import inputs_of
        from neurotools.data import read_nwb
        from neurotools.data.rates import rate_statistics

        progress(0.0, "reading file")
        t0 = time.perf_counter()
        rec = read_nwb(self.path)
        arrays = rate_statistics(rec, self.bin_widths, progress)
        return Result("rate_sweep", {"bin_widths": list(self.bin_widths)}, 0,
                      inputs_of([rec], "units"), arrays, runtime_s=time.perf_counter() - t0)


def default_bin_widths(n: int = 120, lo_s: float = 0.0005, hi_s: float = 20.0) -> list[float]:
    """``n`` log-spaced bin widths from ``lo_s`` to ``hi_s`` seconds."""
    import numpy as np

    return [float(w) for w in np.geomspace(lo_s, hi_s, n)]


TASK_TYPES = {"analysis": AnalysisTask, "rate_sweep": RateSweepTask}


# -- status -----------------------------------------------------------------------------------------
@dataclass
class JobStatus:
    """What a job is doing, as stored in ``status.json``."""

    job_id: str
    kind: str
    label: str
    state: str = "queued"
    progress: float = 0.0
    message: str = ""
    error: str = ""
    created: float = 0.0
    updated: float = 0.0
    pid: int = 0
    #: host name of the machine whose process ``pid`` runs the job ("" before it starts)
    host: str = ""
    #: process that queued the job in a local process pool, which dies with it (0: another
    #: executor, whose queue may outlive the submitting process)
    queued_by: int = 0
    #: host name of the machine of ``queued_by``
    queued_on: str = ""

    @property
    def finished(self) -> bool:
        """Whether the job reached done, failed or cancelled."""
        return self.state in FINAL_STATES


def _process_exists(pid: int) -> bool:
    """Whether a process with this id exists on this machine (possibly another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _worker_is_gone(st: JobStatus) -> bool:
    """Whether a running job's recorded worker process, on this machine, no longer exists."""
    return (st.state == "running" and st.pid > 0 and st.host == socket.gethostname()
            and not _process_exists(st.pid))


def _queue_is_gone(st: JobStatus) -> bool:
    """Whether a queued job's local process pool died with the process that queued it."""
    return (st.state == "queued" and st.queued_by > 0 and st.queued_on == socket.gethostname()
            and not _process_exists(st.queued_by))


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _read_status(job_dir: Path) -> JobStatus:
    return JobStatus(**json.loads((job_dir / "status.json").read_text()))


def _update(job_dir: Path, **changes: Any) -> JobStatus:
    st = _read_status(job_dir)
    for k, v in changes.items():
        setattr(st, k, v)
    st.updated = time.time()
    _write_json(job_dir / "status.json", asdict(st))
    return st


class _JobProgress:
    """The progress callback of a running job: writes progress, honours the cancel flag."""

    def __init__(self, job_dir: Path, min_interval_s: float = 0.2):
        self.job_dir = job_dir
        self.min_interval_s = min_interval_s
        self._last = 0.0
        #: where analyses write live traces (read back by :meth:`JobStore.live`); fits that
        #: write them stop on the job's cancel flag even in other processes
        self.live = LiveTraceSink(str(job_dir / "live"), stop_files=stop_flags(job_dir))

    def __call__(self, fraction: float, message: str = "") -> None:
        if (self.job_dir / "cancel").exists():
            raise Cancelled()
        now = time.monotonic()
        if now - self._last >= self.min_interval_s or fraction >= 1.0:
            self._last = now
            _update(self.job_dir, progress=float(min(max(fraction, 0.0), 1.0)), message=str(message))


def execute_job(job_dir: str, task: Any) -> str:
    """Run ``task`` for the job in ``job_dir`` (inside a worker); return the final state."""
    jd = Path(job_dir)
    if (jd / "cancel").exists():
        _update(jd, state="cancelled", message="cancelled before it started")
        return "cancelled"
    _update(jd, state="running", pid=os.getpid(), host=socket.gethostname(), message="starting")
    try:
        result = task.run(_JobProgress(jd))
        result.save(jd / "result")
    except Cancelled:
        shutil.rmtree(jd / "result", ignore_errors=True)
        _update(jd, state="cancelled", message="cancelled by the user")
        return "cancelled"
    except UserError as exc:
        _update(jd, state="failed", error=exc.message, message="failed")
        return "failed"
    except Exception as exc:  # a bug: keep the traceback in the job directory
        (jd / "error.log").write_text(traceback.format_exc())
        _update(jd, state="failed", error=f"internal error ({type(exc).__name__}: {exc}); see {jd / 'error.log'}",
                message="failed")
        return "failed"
    _update(jd, state="done", progress=1.0, message="done")
    return "done"


class JobStore:
    """Jobs kept as directories under ``root``.

    Parameters
    ----------
    root : str or PathLike
        Folder holding one sub-folder per job (created if missing).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        self._futures: dict[str, Future] = {}

    def job_dir(self, job_id: str) -> Path:
        """Folder of a job; raises UserError for an unknown or malformed id."""
        if not job_id or not all(c.isalnum() or c in "-_" for c in job_id):
            raise UserError(f"'{job_id}' is not a job id.")
        d = self.root / job_id
        if not (d / "status.json").exists():
            raise UserError(f"No job '{job_id}' in {self.root}; it may have been deleted.")
        return d

    def submit(self, task: Any, executor: Executor) -> str:
        """Create the job directory and hand the task to ``executor``; return the job id."""
        job_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)
        d = self.root / job_id
        d.mkdir(parents=True)
        (d / "task.json").write_text(json.dumps(asdict(task), default=str))
        now = time.time()
        local = isinstance(executor, ProcessPoolExecutor)
        status = JobStatus(job_id, task.kind, task.label, created=now, updated=now,
                           queued_by=os.getpid() if local else 0,
                           queued_on=socket.gethostname() if local else "")
        _write_json(d / "status.json", asdict(status))
        self._futures[job_id] = executor.submit(execute_job, str(d), task)
        return job_id

    def status(self, job_id: str) -> JobStatus:
        """Current status; a job whose worker died is reported as failed.

        A job this store submitted is checked through its future. A running job that another
        store started (before a server restart or a reload of this module) is checked through
        the process it recorded, when that process ran on this machine; a queued one through
        the process whose local pool holds it (the pool ends with that process).
        """
        d = self.job_dir(job_id)
        st = _read_status(d)
        fut = self._futures.get(job_id)
        if not st.finished and fut is not None and fut.done():
            exc = fut.exception() if not fut.cancelled() else None
            if fut.cancelled():
                st = _update(d, state="cancelled", message="cancelled before it started")
            elif exc is not None:
                st = _update(d, state="failed", error=f"the worker stopped ({type(exc).__name__}: {exc})")
        elif fut is None and _worker_is_gone(st):
            st = _read_status(d)  # it may have finished since the first read
            if _worker_is_gone(st):
                st = _update(d, state="failed", message="failed",
                             error=f"the worker process ({st.pid}) ended without finishing the job: "
                                   "the app was restarted or the process was killed while it ran")
        elif fut is None and _queue_is_gone(st):
            st = _read_status(d)
            if _queue_is_gone(st):
                st = _update(d, state="failed", message="failed",
                             error=f"the app process ({st.queued_by}) that queued the job ended "
                                   "before the job started (the app was restarted); run it again")
        return st

    def cancel(self, job_id: str) -> None:
        """Ask a job to stop at its next progress report (or before it starts)."""
        d = self.job_dir(job_id)
        (d / "cancel").touch()
        fut = self._futures.get(job_id)
        # only a queued job: some executors' futures (Dask's) cancel even while running
        if fut is not None and _read_status(d).state == "queued" and fut.cancel():
            _update(d, state="cancelled", message="cancelled before it started")

    def result(self, job_id: str) -> Result | None:
        """The job's Result when it is done, else None."""
        d = self.job_dir(job_id)
        if _read_status(d).state != "done":
            return None
        return Result.load(d / "result")

    def live(self, job_id: str) -> list[dict[str, Any]]:
        """Live traces the job's analysis has written so far (one dict per series, e.g. per
        MCMC chain; :func:`neurotools.analyses.live.read_live_traces`); empty if none."""
        return read_live_traces(self.job_dir(job_id) / "live")

    def task(self, job_id: str) -> dict[str, Any]:
        """The stored task description (``task.json``)."""
        return json.loads((self.job_dir(job_id) / "task.json").read_text())

    def list_jobs(self) -> list[JobStatus]:
        """All jobs, newest first."""
        out = []
        for d in self.root.iterdir():
            if (d / "status.json").exists():
                try:
                    out.append(_read_status(d))
                except (OSError, ValueError, TypeError):
                    continue
        return sorted(out, key=lambda s: s.created, reverse=True)

    def wait(self, job_id: str, timeout_s: float = 600.0, poll_s: float = 0.1) -> JobStatus:
        """Block until the job finishes (or the timeout passes); return its status."""
        t_end = time.monotonic() + timeout_s
        while True:
            st = self.status(job_id)
            if st.finished or time.monotonic() > t_end:
                return st
            time.sleep(poll_s)
