"""In headless Chromium: run an analysis, export its bundle, open the bundle's NWB copy in the app."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from neurotools.results_nwb import read_results
from tests.browser.conftest import open_load_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "hmmglm_states.nwb"


def _upload(page, path) -> None:
    inputs = page.locator('input[type="file"]')
    expect(inputs).to_have_count(1, timeout=60_000)
    inputs.set_input_files(str(path))


def _set_number(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.blur()


def _build_bundle(page, download_button, timeout_s: float = 180.0) -> None:
    """Click "Build bundle" and wait for its download button; fail with the app's message if it
    shows one, and click again once if the click was lost (no spinner, no button after 20 s)."""
    page.get_by_role("button", name="Build bundle").click()
    spinner = page.get_by_text("Building the bundle...")
    errors = page.locator('[data-testid="stAlert"]', has_text=re.compile("error|failed|Could not", re.I))
    t0, clicked_again = time.monotonic(), False
    while time.monotonic() - t0 < timeout_s:
        if download_button.count():
            return
        if errors.count():
            pytest.fail(f"building the bundle failed: {errors.first.inner_text()}")
        if not clicked_again and not spinner.count() and time.monotonic() - t0 > 20:
            page.get_by_role("button", name="Build bundle").click()
            clicked_again = True
        page.wait_for_timeout(500)
    pytest.fail(f"no bundle after {timeout_s:.0f} s (spinner shown: {bool(spinner.count())})")


def test_export_bundle_then_open_its_nwb_copy(page, browser, app_server, tmp_path):
    _upload(page, SAMPLE)
    page.get_by_text(f"Loaded {SAMPLE.name}.").wait_for()
    page.get_by_role("link", name="HMM-GLM").first.click()
    for label, value in (("epochs", "3"), ("restarts", "1")):
        _set_number(page, label, value)
    page.get_by_role("button", name="Run").click()
    page.get_by_text(re.compile(r"Job \S+ \(hmmglm on .*\) finished\.")).wait_for(timeout=120_000)
    page.locator(".js-plotly-plot .gtitle", has_text="Viterbi states over the raster").wait_for()

    page.get_by_text("Export bundle: figures, result files, recipe and an NWB copy").click()
    download_button = page.get_by_role("button", name=re.compile(r"Download bundle \("))
    _build_bundle(page, download_button)
    with page.expect_download(timeout=60_000) as dl:
        download_button.click()
    zpath = tmp_path / dl.value.suggested_filename
    dl.value.save_as(zpath)
    # the file names the recording, the analysis, the seed and the result
    assert re.fullmatch(r"hmmglm_states_hmmglm_bundle_seed0_[0-9a-f]{6}\.zip", zpath.name), zpath.name
    with zipfile.ZipFile(zpath) as z:
        names = set(z.namelist())
        assert {"recipe.json", "result/result.json", "result/arrays.npz",
                "hmmglm_states.neurotools.nwb"} <= names
        assert any(n.startswith("figures/") for n in names)
        copy = Path(z.extract("hmmglm_states.neurotools.nwb", tmp_path))
    assert [s.result.analysis for s in read_results(copy)] == ["hmmglm"]

    # a second session opens only the copy and sees the stored result, not a new job
    ctx, other = open_load_page(browser, app_server.url)
    try:
        _upload(other, copy)
        other.get_by_text(f"Loaded {copy.name}.").wait_for()
        other.get_by_text("neurotools results stored in this file").wait_for()
        other.get_by_role("link", name="HMM-GLM").first.click()
        other.get_by_text(re.compile(r"Showing the hmmglm result stored in")).wait_for()
        other.locator(".js-plotly-plot .gtitle", has_text="Viterbi states over the raster").wait_for()
        expect(other.get_by_role("button", name="Cancel job")).to_have_count(0)
    finally:
        ctx.close()
