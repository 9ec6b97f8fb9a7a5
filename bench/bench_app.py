"""Upload-to-raster time in the browser, for the 35-unit file.

Starts ``streamlit run app.py`` on a free port, drives headless Chromium (Playwright) and times,
for each repeat in a fresh browser session:

- upload -> summary: from handing the file to the uploader until "Loaded <file>." shows;
- Explore -> raster: from clicking Explore until the whole-session raster (all 214,278 spikes,
  counted per pixel-wide bin) is drawn;
- upload -> raster: the sum, what a user waits for;
- 0-300 s WebGL ticks: from typing a 300 s window until its spikes are drawn one by one;
- PNG export: clicking "Download PNG" until the file arrives (first click starts the one
  persistent kaleido browser; later ones reuse it).

Run::

    .venv/bin/python bench/bench_app.py [--repeats 5] [--file PATH]

Prints a table (median, min, max in seconds). Needs Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM_ARGS, AppServer  # noqa: E402

DEFAULT_FILE = (
    Path(os.environ.get("NEUROTOOLS_TEST_DATA", ROOT.parent / "shared" / "data"))
    / "nwb"
    / "pynapple_sub-4_ses-4_ecephys+image.nwb"
)


def one_session(
    browser, url: str, path: Path, title_text: str, with_png: bool, window_s: float
) -> dict[str, float]:
    """Time one upload -> summary -> raster (-> PNG) sequence in a fresh browser context."""
    from playwright.sync_api import expect

    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.get_by_text("Load recordings").first.wait_for()
    inputs = page.locator('input[type="file"]')
    expect(inputs).to_have_count(1)
    t0 = time.perf_counter()
    inputs.set_input_files(str(path))
    page.get_by_text(f"Loaded {path.name}.").wait_for()
    t1 = time.perf_counter()
    page.get_by_role("link", name="Explore").first.click()
    page.locator(".js-plotly-plot .gtitle", has_text=title_text).wait_for()
    t2 = time.perf_counter()
    out = {"upload -> summary": t1 - t0, "Explore -> raster": t2 - t1, "upload -> raster": t2 - t0}
    to = page.get_by_label("To (s)", exact=True)
    t4 = time.perf_counter()
    to.fill(str(window_s))
    to.press("Enter")
    page.locator(".js-plotly-plot .gtitle", has_text=re.compile(r"- [\d,]+ spikes of \d+ units$")).wait_for()
    out[f"0-{window_s:g} s WebGL ticks"] = time.perf_counter() - t4
    if with_png:
        t3 = time.perf_counter()
        with page.expect_download(timeout=120_000) as dl:
            page.get_by_role("button", name="Download PNG").first.click()
        dl.value.path()
        out["PNG export (click -> file)"] = time.perf_counter() - t3
    ctx.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--title", default="214,278 spikes of 35 units", help="raster title text to wait for")
    ap.add_argument("--window", type=float, default=300.0, help="window (s) redrawn as single spikes")
    args = ap.parse_args(argv)
    if not args.file.exists():
        print(f"error: {args.file} not found; set NEUROTOOLS_TEST_DATA", file=sys.stderr)
        return 2
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        print("error: chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t_start = time.perf_counter()
        server = AppServer(Path(tmp))
        t_server = time.perf_counter() - t_start
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                for i in range(args.repeats):
                    res = one_session(browser, server.url, args.file, args.title, i < 2, args.window)
                    for k, v in res.items():
                        rows.setdefault(k, []).append(v)
                browser.close()
        finally:
            server.stop()
    size_mb = args.file.stat().st_size / 1e6
    print(f"\nApp benchmark: {args.file.name} ({size_mb:.1f} MB), {args.repeats} fresh sessions, "
          f"{os.cpu_count()} CPUs; app start {t_server:.1f} s")
    print(f"{'step':<30} {'median s':>9} {'min s':>8} {'max s':>8} {'n':>3}")
    for k, v in rows.items():
        print(f"{k:<30} {statistics.median(v):>9.2f} {min(v):>8.2f} {max(v):>8.2f} {len(v):>3}")
    png = rows.get("PNG export (click -> file)", [])
    if len(png) == 2:
        print(f"PNG: first click {png[0]:.2f} s (starts the kaleido browser), second {png[1]:.2f} s "
              f"(reuses it): ratio {png[0] / png[1]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
