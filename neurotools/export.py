"""Figures to bytes: PNG, SVG, PDF (through kaleido and a local Chromium) and self-contained HTML.

(Results go into NWB through :mod:`neurotools.results_nwb`; bundles are :mod:`neurotools.bundle`.)

Static formats are drawn by ONE persistent kaleido server per process (a headless Chromium that
stays open), started on the first export and shared by every later one, so an image costs a page
render rather than a browser start. HTML needs no browser: it is the figure's JSON with plotly.js
inlined, so the file opens offline.

The browser is found, in order, at ``$NEUROTOOLS_BROWSER``, ``chromium``, ``chromium-browser``,
``google-chrome`` on ``PATH`` (Debian: ``apt-get install chromium``). Nothing is ever downloaded.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import threading

import numpy as np
import plotly.graph_objects as go

#: Formats :func:`figure_bytes` writes, in the order the app offers them.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "html")

#: MIME type of each format.
MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "html": "text/html",
}

_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_lock = threading.Lock()
_server: _KaleidoServer | None = None

#: Seconds allowed for starting the browser, and for rendering one image.
START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 60.0


class ExportUnavailable(Exception):
    """Static export (PNG/SVG/PDF) is impossible here, said in one sentence; HTML still works."""


def browser_path() -> str | None:
    """Path of the Chromium used for static export, or None when none is installed.

    ``$NEUROTOOLS_BROWSER`` wins when set (an empty value disables static export).
    """
    env = os.environ.get("NEUROTOOLS_BROWSER")
    if env is not None:
        if not env:
            return None
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else shutil.which(env)
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def static_export_available() -> bool:
    """Whether PNG/SVG/PDF export can run (a Chromium is installed)."""
    return browser_path() is not None


#: Why PNG/SVG/PDF are missing when no browser is installed.
NO_BROWSER_MESSAGE = (
    "PNG, SVG and PDF export need Chromium, which is not installed here; install the Debian "
    "package 'chromium' (or set NEUROTOOLS_BROWSER), or download the HTML figure."
)


class _KaleidoServer:
    """One headless Chromium driven by kaleido on a private asyncio loop in a daemon thread.

    Every call waits with a timeout, so a dead or hung browser raises instead of blocking.
    """

    def __init__(self, browser: str) -> None:
        import kaleido

        self.browser = browser
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="neurotools-kaleido", daemon=True
        )
        self.thread.start()
        # mathjax=False: never fetch from a CDN (our labels are plain text).
        self.kaleido = kaleido.Kaleido(path=browser, mathjax=False, timeout=RENDER_TIMEOUT_S)
        try:
            self._call(self.kaleido.open(), START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    def _call(self, coro, timeout: float):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def render(self, fig: go.Figure, opts: dict) -> bytes:
        """Bytes of one image (``opts``: format, width, height, scale)."""
        return self._call(self.kaleido.calc_fig(fig, opts=opts), RENDER_TIMEOUT_S + 5)

    def close(self) -> None:
        """Close the browser and stop the loop (best effort)."""
        try:
            self._call(self.kaleido.close(), 20)
        except Exception:  # noqa: BLE001 - closing a broken browser: nothing more to do
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def shutdown() -> None:
    """Stop the kaleido server if it runs (also registered to run at interpreter exit)."""
    global _server
    with _lock:
        if _server is not None:
            _server.close()
            _server = None


atexit.register(shutdown)


def server_running() -> bool:
    """Whether the persistent kaleido server is open in this process."""
    return _server is not None


#: WebGL traces with more points than this are redrawn for print (see :func:`print_ready`).
MAX_VECTOR_POINTS = 20_000


def _tick_occupancy(trace: dict, x_range: tuple[float, float] | None, n_cols: int) -> go.Heatmap:
    """A tick raster (markers ``line-ns``) as a heatmap: dark where a row has a tick in a column.

    Exact at the output resolution: each column is one pixel-wide time bin.
    """
    x = np.asarray(trace["x"], dtype=float)
    y = np.rint(np.asarray(trace["y"], dtype=float)).astype(np.int64)
    lo, hi = x_range if x_range is not None else (float(np.min(x)), float(np.max(x)))
    edges = np.linspace(lo, hi, n_cols + 1)
    col = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_cols - 1)
    y0 = int(y.min()) if len(y) else 0
    rows = (int(y.max()) - y0 + 1) if len(y) else 1
    z = np.zeros((rows, n_cols), dtype=np.uint8)
    z[y - y0, col] = 1
    marker = trace.get("marker") or {}
    color = (marker.get("line") or {}).get("color") or marker.get("color") or "#222"
    return go.Heatmap(
        z=z, x=0.5 * (edges[:-1] + edges[1:]), y=np.arange(y0, y0 + rows),
        colorscale=[[0, "rgba(0,0,0,0)"], [1, color]], zmin=0, zmax=1, showscale=False,
        hoverinfo="skip", xaxis=trace.get("xaxis"), yaxis=trace.get("yaxis"), name=trace.get("name"),
    )


def print_ready(fig: go.Figure, width_px: int) -> go.Figure:
    """A copy of ``fig`` that a headless browser draws fast and that prints well.

    WebGL traces are slow to rasterise without a GPU (a 200,000-spike raster takes minutes) and
    appear as bitmaps in SVG/PDF. So: a WebGL trace of at most :data:`MAX_VECTOR_POINTS` points
    becomes its SVG twin (vector output); a larger tick raster (markers ``line-ns``) becomes a
    heatmap with one column per output pixel, which looks the same at that resolution.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    width_px : int
        Output width in device pixels (sets the raster's time resolution).
    """
    out = go.Figure(fig)
    layout = out.layout
    new_data = []
    for tr in out.data:
        if tr.type != "scattergl":
            new_data.append(tr)
            continue
        d = tr.to_plotly_json()
        n = len(d.get("x") if d.get("x") is not None else [])
        symbol = str((d.get("marker") or {}).get("symbol") or "")
        if n > MAX_VECTOR_POINTS and symbol.startswith("line-ns"):
            axis = layout[(d.get("xaxis") or "x").replace("x", "xaxis", 1)]
            rng = tuple(axis.range) if axis is not None and axis.range is not None else None
            new_data.append(_tick_occupancy(d, rng, max(int(width_px), 100)))
        elif n <= MAX_VECTOR_POINTS:
            d.pop("type", None)
            try:
                new_data.append(go.Scatter(**d))
            except ValueError:  # a WebGL-only property: keep the trace as it is
                new_data.append(tr)
        else:
            new_data.append(tr)
    out.data = ()
    out.add_traces(new_data)
    return out


def figure_html(fig: go.Figure) -> bytes:
    """A self-contained HTML page of the figure (plotly.js inlined, works offline).

    Returns
    -------
    bytes
        UTF-8 HTML, a few MB (the plotly.js bundle).
    """
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    return html.encode("utf-8")


def figure_bytes(
    fig: go.Figure,
    fmt: str,
    width: int | None = None,
    height: int | None = None,
    scale: float = 2.0,
) -> bytes:
    """Render a figure as PNG, SVG, PDF or HTML bytes.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure.
    fmt : str
        ``"png"``, ``"svg"``, ``"pdf"`` or ``"html"``.
    width, height : int or None
        Size in CSS pixels (default: the figure's layout size, else 1000 x 600).
    scale : float
        Pixel density multiplier for PNG (2 gives print-friendly 2x images).

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    ValueError
        For an unknown format.
    ExportUnavailable
        For PNG/SVG/PDF when no Chromium is installed or it fails to start.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"Unknown figure format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if fmt == "html":
        return figure_html(fig)
    browser = browser_path()
    if browser is None:
        raise ExportUnavailable(NO_BROWSER_MESSAGE)
    opts = {
        "format": fmt,
        "width": int(width or fig.layout.width or 1000),
        "height": int(height or fig.layout.height or 600),
        "scale": float(scale),
    }
    fig = print_ready(fig, int(opts["width"] * (scale if fmt == "png" else 2)))
    global _server
    with _lock:  # one render at a time on the shared browser
        try:
            if _server is None:
                _server = _KaleidoServer(browser)
            return _server.render(fig, opts)
        except Exception as exc:  # the browser died, hung or never started: say so once
            if _server is not None:
                _server.close()
                _server = None
            raise ExportUnavailable(
                f"Figure export through Chromium ({browser}) failed ({type(exc).__name__}); "
                "download the HTML figure instead."
            ) from exc
