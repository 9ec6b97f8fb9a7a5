"""Live traces: numbers a long fit reports while it runs (e.g. each MCMC chain's log-joint).

A :class:`LiveTraceSink` names a folder (a job's ``live/``); each series of a run (one chain) gets a
:class:`LiveTraceWriter` that keeps its points and rewrites one small JSON file at most once per
``min_interval_s``, thinned to at most ``max_points`` points. Writers hold only a path, so they
can travel to worker processes with the chains. The app reads the folder back with
:func:`read_live_traces` to draw progress per chain while the job runs.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurotools.errors import Cancelled


@dataclass
class LiveTraceWriter:
    """Points of one series (x, and named y values), written to ``path`` now and then.

    Parameters
    ----------
    path : str
        The JSON file to (re)write.
    label : str
        Name of the series shown to the user (e.g. ``"chain 2"``).
    total : int
        Expected last x (e.g. the number of iterations), for progress.
    units : dict of str to str
        Unit of each y value (e.g. ``{"log_joint": "nats"}``).
    stop_files : tuple of str
        Flag files (a job's ``cancel`` and stop flags): once one exists, :meth:`add` raises
        :class:`~neurotools.errors.Cancelled` at its next write, so that a fit running in
        another process or on a Dask worker stops too.
    """

    path: str
    label: str
    total: int
    units: dict[str, str] = field(default_factory=dict)
    stop_files: tuple[str, ...] = ()
    min_interval_s: float = 1.0
    max_points: int = 400
    _x: list = field(default_factory=list, repr=False)
    _y: dict = field(default_factory=dict, repr=False)
    _last_point: tuple | None = field(default=None, repr=False)
    _stride: int = field(default=1, repr=False)
    _count: int = field(default=0, repr=False)
    _last: float = field(default=0.0, repr=False)

    def add(self, x: float, **values: float) -> None:
        """Record one point; the file is rewritten if ``min_interval_s`` has passed.

        Memory stays bounded: every ``stride``-th point is kept, and when more than
        ``2 * max_points`` are held every other one is dropped and the stride doubles.

        Raises
        ------
        Cancelled
            At a write, when one of ``stop_files`` exists.
        """
        point = (float(x), {k: float(v) for k, v in values.items()})
        self._last_point = point
        if self._count % self._stride == 0:
            self._x.append(point[0])
            for k, v in point[1].items():
                self._y.setdefault(k, []).append(v)
            if len(self._x) > 2 * self.max_points:
                self._x = self._x[::2]
                self._y = {k: v[::2] for k, v in self._y.items()}
                self._stride *= 2
        self._count += 1
        now = time.monotonic()
        if now - self._last >= self.min_interval_s:
            self._last = now
            self.flush()
            if any(os.path.exists(f) for f in self.stop_files):
                raise Cancelled()

    def flush(self) -> None:
        """Write the kept points (at most ``max_points``, and always the latest one) now; a
        folder that cannot be written is skipped."""
        xs, ys = list(self._x), {k: list(v) for k, v in self._y.items()}
        if self._last_point is not None and (not xs or xs[-1] != self._last_point[0]):
            xs.append(self._last_point[0])
            for k, v in self._last_point[1].items():
                ys.setdefault(k, []).append(v)
        step = max(1, -(-len(xs) // self.max_points))
        keep = list(range(0, len(xs), step))
        if xs and keep[-1] != len(xs) - 1:
            keep.append(len(xs) - 1)
        data: dict[str, Any] = {
            "label": self.label, "total": self.total, "units": self.units,
            "x": [xs[i] for i in keep],
            "y": {k: [v[i] for i in keep] for k, v in ys.items()},
        }
        path = Path(self.path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)
        except OSError:
            pass                        # e.g. a Dask worker on another machine: no live view


@dataclass(frozen=True)
class LiveTraceSink:
    """A folder that collects live traces, one file per series; its writers stop their fit
    once one of ``stop_files`` exists (see :class:`LiveTraceWriter`)."""

    directory: str
    stop_files: tuple[str, ...] = ()

    def writer(self, key: str, label: str, total: int, units: dict[str, str] | None = None,
               ) -> LiveTraceWriter:
        """A writer for the series ``key`` (file ``<key>.json``; key made filename-safe)."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key)
        return LiveTraceWriter(str(Path(self.directory) / f"{safe}.json"), label, int(total),
                               dict(units or {}), tuple(self.stop_files))


def live_sink(progress: Any) -> LiveTraceSink | None:
    """The live-trace sink a progress callback carries (attribute ``live``), if any."""
    sink = getattr(progress, "live", None)
    return sink if isinstance(sink, LiveTraceSink) else None


def read_live_traces(directory: str | Path) -> list[dict[str, Any]]:
    """Every series in the folder, sorted by file name; unreadable or half-written files skipped.

    Returns
    -------
    list of dict
        ``{"label", "total", "units", "x": [...], "y": {name: [...]}}`` per series.
    """
    d = Path(directory)
    if not d.is_dir():
        return []
    out = []
    for f in sorted(d.glob("*.json")):
        try:
            out.append(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue
    return out


def latest_x(traces: list[dict[str, Any]]) -> list[int]:
    """The last x of each series from :func:`read_live_traces` (e.g. the iteration a chain has
    reached), 0 for a series without points yet."""
    return [int(t["x"][-1]) if t.get("x") else 0 for t in traces]
