"""What every analysis shares: the Result type, progress callbacks and a parallel map.

An analysis package ``neurotools/analyses/<name>/`` exposes, from its ``__init__``:

- ``NAME`` (the CLI name), ``TITLE`` (for the app);
- ``Params``: a :class:`neurotools.params.Params` subclass with ``analysis = NAME``;
- ``SimParams``: a :class:`neurotools.params.ParamSet` for its simulator;
- ``run(recordings, params, progress=None, seed=0, device="cpu", executor=None) -> Result``;
- ``simulate(params: SimParams, seed: int) -> Recording`` (ground truth in ``recording.ground_truth``).

Analyses never import Streamlit, plotly, pynwb or the job store.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurotools import __version__
from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Progress callback: ``progress(fraction in [0, 1], message)``. It may raise
#: :class:`neurotools.errors.Cancelled` to stop the work between iterations.
Progress = Callable[[float, str], None]


def null_progress(fraction: float, message: str = "") -> None:
    """A progress callback that ignores its arguments."""


def sub_progress(progress: Progress | None, lo: float, hi: float) -> Progress:
    """Map a sub-step's progress [0, 1] into [lo, hi] of the parent's."""
    parent = progress or null_progress

    def report(fraction: float, message: str = "") -> None:
        parent(lo + (hi - lo) * min(max(fraction, 0.0), 1.0), message)

    # a live-trace sink (neurotools.analyses.live) travels with the callback
    report.live = getattr(parent, "live", None)
    return report


def parallel_map(
    fn: Callable[..., Any],
    items: Iterable[Any],
    executor: Executor | None = None,
    progress: Progress | None = None,
    what: str = "fits",
    poll: Callable[[], tuple[float, str]] | None = None,
    poll_s: float = 1.0,
) -> list[Any]:
    """Apply ``fn`` to every item, through ``executor`` when given (restarts, chains, folds).

    ``fn`` must be a picklable module-level function for process or Dask executors. Results come
    back in input order, so seeds stay attached to their items.

    Parameters
    ----------
    fn : callable
        Applied to each item.
    items : iterable
        The work, one item per call.
    executor : concurrent.futures.Executor, optional
        Without one, the items run here, one after the other (callers report their own
        progress then).
    progress : callable, optional
        With an executor: called whenever an item finishes, and every ``poll_s`` seconds
        when ``poll`` is given, with the share of the work done. It may raise
        :class:`neurotools.errors.Cancelled`: the items not yet started are cancelled and the
        exception propagates. The first item that fails does the same with its exception.
    what : str
        Plural noun for the items in progress messages (``"chains"``).
    poll : callable, optional
        Returns ``(share done in [0, 1], message)`` while items run (e.g. read from live
        traces); the larger of its share and the share of finished items is reported.
    poll_s : float
        Seconds between polls.
    """
    items = list(items)
    if executor is None:
        return [fn(x) for x in items]
    futures = [executor.submit(fn, x) for x in items]
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=poll_s if poll and progress else None,
                                 return_when=FIRST_COMPLETED)
            for f in done:
                if f.exception() is not None:   # fail at once, not after the slowest item
                    raise f.exception()
            if progress is None:
                continue
            finished = len(futures) - len(pending)
            share, message = finished / len(futures), f"{finished}/{len(futures)} {what} finished"
            if poll is not None:
                polled, detail = poll()
                share = max(share, min(max(polled, 0.0), 1.0))
                message = f"{message}; {detail}" if detail else message
            progress(share, message)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return [f.result() for f in futures]


@dataclass
class Result:
    """Named arrays + metrics + provenance of one analysis run.

    Attributes
    ----------
    analysis : str
        Analysis name (``connectome``, ``bicluster``, ``hmmglm``, ``neuroformer``).
    params : dict
        Every parameter value used.
    seed : int
        Random seed.
    inputs : list of dict
        ``{"name", "sha256", "source"}`` per input file, in order.
    arrays : dict of str to ndarray
        Result arrays (numeric or fixed-width strings; no objects).
    metrics : dict
        Scalar summaries (JSON-ready).
    info : dict
        Any other JSON-ready description (labels, notes).
    runtime_s : float
        Wall time of the run in seconds.
    device : str
        ``"cpu"`` or ``"cuda"``.
    neurotools_version : str
        Version of the package that computed it.
    """

    analysis: str
    params: dict[str, Any]
    seed: int
    inputs: list[dict[str, str]]
    arrays: dict[str, np.ndarray]
    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    runtime_s: float = 0.0
    device: str = "cpu"
    neurotools_version: str = __version__

    def manifest(self) -> dict[str, Any]:
        """The ``result.json`` content."""
        return {
            "analysis": self.analysis,
            "neurotools_version": self.neurotools_version,
            "params": _jsonable(self.params),
            "seed": int(self.seed),
            "inputs": self.inputs,
            "runtime_s": float(self.runtime_s),
            "device": self.device,
            "metrics": _jsonable(self.metrics),
            "info": _jsonable(self.info),
            "arrays": {k: list(np.shape(v)) for k, v in self.arrays.items()},
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``result.json`` and ``arrays.npz`` into ``directory`` atomically.

        The files are written into a temporary sibling folder that is renamed into place only
        when complete, so an interrupted save never leaves a directory that looks finished.
        """
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        for k, v in self.arrays.items():
            if np.asarray(v).dtype == object:
                raise TypeError(f"array {k!r} has dtype object; store numbers or strings")
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            np.savez(tmp / "arrays.npz", **{k: np.asarray(v) for k, v in self.arrays.items()})
            (tmp / "result.json").write_text(json.dumps(self.manifest(), indent=1))
            if directory.exists():
                if directory.is_dir() and not any(directory.iterdir()):
                    directory.rmdir()
                elif (directory / "result.json").exists() or (directory / "arrays.npz").exists():
                    shutil.rmtree(directory)
                else:
                    raise UserError(
                        f"The output directory {directory} exists and holds other files; "
                        "choose a new or empty directory."
                    )
            os.replace(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Result:
        """Read a result directory written by :meth:`save`."""
        directory = Path(directory)
        mpath = directory / "result.json"
        if not mpath.exists():
            raise UserError(f"{directory} holds no result.json; give a directory written by 'neurotools run'.")
        try:
            m = json.loads(mpath.read_text())
            with np.load(directory / "arrays.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise UserError(f"The result in {directory} cannot be read ({exc}); rerun the analysis.") from None
        return cls(
            analysis=m["analysis"],
            params=m["params"],
            seed=m["seed"],
            inputs=m["inputs"],
            arrays=arrays,
            metrics=m.get("metrics", {}),
            info=m.get("info", {}),
            runtime_s=m.get("runtime_s", 0.0),
            device=m.get("device", "cpu"),
            neurotools_version=m.get("neurotools_version", ""),
        )


def inputs_of(recordings: Sequence[Recording], source: str | Sequence[str]) -> list[dict[str, str]]:
    """Provenance entries ``{"name", "sha256", "source", "path"}`` for the input recordings.

    ``path`` is where the file was read from (absolute; a URL stays as given), so a recipe can find
    it again.
    """
    sources = [source] * len(recordings) if isinstance(source, str) else list(source)
    return [
        {"name": r.source.name, "sha256": r.source.sha256, "source": s, "path": _absolute(r.source.path)}
        for r, s in zip(recordings, sources)
    ]


def _absolute(path: str) -> str:
    if not path or "://" in path:
        return path
    return str(Path(path).resolve())


class Timer:
    """Measure wall time: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
