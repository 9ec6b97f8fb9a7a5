"""In headless Chromium: run an analysis, export its bundle, open the bundle's NWB copy in the app."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from neurotools.results_nwb import read_results

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
    page.get_by_role("button", name="Build bundle").click()
    download_button = page.get_by_role("button", name=re.compile(r"Download bundle \("))
    download_button.wait_for(timeout=180_000)
    with page.expect_download(timeout=60_000) as dl:
        download_button.click()
    zpath = tmp_path / dl.value.suggested_filename
    dl.value.save_as(zpath)
    assert zpath.name == "neurotools_hmmglm_bundle.zip"
    with zipfile.ZipFile(zpath) as z:
        names = set(z.namelist())
        assert {"recipe.json", "result/result.json", "result/arrays.npz",
                "hmmglm_states.neurotools.nwb"} <= names
        assert any(n.startswith("figures/") for n in names)
        copy = Path(z.extract("hmmglm_states.neurotools.nwb", tmp_path))
    assert [s.result.analysis for s in read_results(copy)] == ["hmmglm"]

    # a second session opens only the copy and sees the stored result, not a new job
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = ctx.new_page()
        other.set_default_timeout(60_000)
        other.goto(app_server.url)
        other.get_by_text("Load recordings").first.wait_for()
        _upload(other, copy)
        other.get_by_text(f"Loaded {copy.name}.").wait_for()
        other.get_by_text("neurotools results stored in this file").wait_for()
        other.get_by_role("link", name="HMM-GLM").first.click()
        other.get_by_text(re.compile(r"Showing the hmmglm result stored in")).wait_for()
        other.locator(".js-plotly-plot .gtitle", has_text="Viterbi states over the raster").wait_for()
        expect(other.get_by_role("button", name="Cancel job")).to_have_count(0)
    finally:
        ctx.close()
