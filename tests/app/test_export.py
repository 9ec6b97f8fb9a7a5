"""neurotools.export: static formats through one persistent kaleido server, HTML offline."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import plotly.graph_objects as go
import pytest

from neurotools import export


def _fig() -> go.Figure:
    return go.Figure(go.Scattergl(x=[0, 1, 2], y=[2, 0, 1], mode="markers"), layout=dict(width=300, height=200))


def test_html_is_self_contained():
    html = export.figure_bytes(_fig(), "html").decode()
    assert html.lstrip().lower().startswith("<html") or html.lstrip().lower().startswith("<!doctype")
    assert '<script src="http' not in html and "scattergl" in html
    assert len(html) > 1_000_000  # plotly.js itself is inlined


def test_unknown_format_and_missing_browser(monkeypatch):
    with pytest.raises(ValueError, match="Unknown figure format 'gif'"):
        export.figure_bytes(_fig(), "gif")
    monkeypatch.setenv("NEUROTOOLS_BROWSER", "")
    with pytest.raises(export.ExportUnavailable, match="need Chromium.*HTML"):
        export.figure_bytes(_fig(), "png")
    assert export.figure_bytes(_fig(), "html")  # HTML still works


def test_a_browser_that_dies_gives_a_clear_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(export, "_server", None)
    monkeypatch.setenv("NEUROTOOLS_BROWSER", shutil.which("false") or "/bin/false")
    t0 = time.monotonic()
    with pytest.raises(export.ExportUnavailable, match="failed .*download the HTML figure"):
        export.figure_bytes(_fig(), "png")
    assert time.monotonic() - t0 < 30 and not export.server_running()


def test_one_persistent_server_renders_every_format():
    if shutil.which("chromium") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required for figure export in CI")
        pytest.skip("chromium is not installed")
    png = export.figure_bytes(_fig(), "png", scale=1)
    server = export._server
    assert server is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (300, 200)
    assert export.figure_bytes(_fig(), "svg").startswith(b"<svg")
    assert export.figure_bytes(_fig(), "pdf")[:5] == b"%PDF-"
    t0 = time.monotonic()
    export.figure_bytes(_fig(), "png")
    assert export._server is server  # the same browser served every image
    assert time.monotonic() - t0 < 10  # a render, not a browser start
    export.shutdown()
    assert not export.server_running()


def test_print_ready_turns_big_tick_rasters_into_exact_pixel_occupancy():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, 30_000)
    y = rng.integers(0, 7, 30_000)
    fig = go.Figure(
        [
            go.Scattergl(x=x, y=y, mode="markers", marker=dict(symbol="line-ns-open", color="#222")),
            go.Scattergl(x=[1, 2], y=[3, 4], mode="lines", name="small"),
        ],
        layout=dict(xaxis=dict(range=[0, 100])),
    )
    out = export.print_ready(fig, width_px=500)
    assert [t.type for t in out.data] == ["heatmap", "scatter"]
    z = np.asarray(out.data[0].z)
    assert z.shape == (7, 500)
    expected = np.zeros((7, 500), dtype=np.uint8)
    expected[y, np.minimum((x / 0.2).astype(int), 499)] = 1
    np.testing.assert_array_equal(z, expected)
    assert out.data[1].name == "small" and fig.data[0].type == "scattergl"  # input untouched
