"""The app in headless Chromium: upload -> raster -> PSTH -> PNG; bad uploads; jobs survive reloads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BIG = "pynapple_sub-4_ses-4_ecephys+image.nwb"


def _upload(page, path) -> None:
    inputs = page.locator('input[type="file"]')
    expect(inputs).to_have_count(1, timeout=60_000)  # no stale uploader left from a rerun
    inputs.set_input_files(str(path))


def _go(page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()


def test_upload_raster_psth_png(page, nwb_dir, tmp_path):
    _upload(page, nwb_dir / BIG)
    page.get_by_text(f"Loaded {BIG}.").wait_for()
    _go(page, "Explore")
    # the whole session first: 214,278 spikes, binned per pixel column
    page.locator(".js-plotly-plot .gtitle", has_text=re.compile(r"214,278 spikes of 35 units\W*binned at")).wait_for()
    # a 5-minute window: every spike a WebGL tick
    to = page.get_by_label("To (s)", exact=True)
    to.fill("300")
    to.press("Enter")
    page.locator(".js-plotly-plot .gtitle", has_text=re.compile(r"- [\d,]+ spikes of 35 units$")).wait_for()
    expect(page.locator(".js-plotly-plot").first.locator(".gl-container canvas")).not_to_have_count(0)
    psth = page.locator(".js-plotly-plot .gtitle", has_text="aligned to encoding_table.start")
    psth.wait_for()
    expect(page.locator(".js-plotly-plot .y2title", has_text="rate (Hz)")).to_have_count(1)
    buttons = page.get_by_role("button", name="Download PNG")
    expect(buttons).to_have_count(2)
    with page.expect_download(timeout=90_000) as dl:
        buttons.nth(1).click()
    download = dl.value
    assert re.fullmatch(r".*_psth\.png", download.suggested_filename)
    out = tmp_path / download.suggested_filename
    download.save_as(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_upload_shows_error_and_app_still_works(page, nwb_dir, bad_dir):
    _upload(page, nwb_dir / "pynapple_A8604-211122.nwb")
    page.get_by_text("Loaded pynapple_A8604-211122.nwb.").wait_for()
    _upload(page, bad_dir / "random.nwb")
    error = page.locator('[data-testid="stAlert"]', has_text="random.nwb is not an HDF5 file")
    error.wait_for()
    assert page.locator('[data-testid="stAlert"]', has_text="Traceback").count() == 0
    expect(page.get_by_text("Loaded files (1)")).to_have_count(1)
    _go(page, "Explore")
    page.locator(".js-plotly-plot .gtitle", has_text="21,354 spikes of 3 units").wait_for()


def test_job_progress_survives_reload_and_cancels(page, nwb_dir):
    _upload(page, nwb_dir / BIG)
    page.get_by_text(f"Loaded {BIG}.").wait_for()
    _go(page, "Jobs")
    widths = page.get_by_label("Bin widths")
    widths.fill("2000")
    widths.press("Enter")
    page.get_by_role("button", name="Start").click()
    page.get_by_text(re.compile(r"running: \d+% - bin width")).wait_for()
    job_id = re.search(r"[?&]job=([\w-]+)", page.url).group(1)
    page.reload()  # a new session: nothing loaded, the job found from the URL alone
    page.get_by_text(f"Job {job_id}", exact=True).wait_for()
    page.get_by_text(re.compile(r"running: \d+% - bin width")).wait_for()
    page.get_by_role("button", name="Cancel job").click()
    page.get_by_text(re.compile(f"Job {job_id} was cancelled")).wait_for()


def test_bicluster_job_shows_each_chain_live_after_a_reload(page, tmp_path):
    from neurotools.analyses.biclustering import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    sim = write_nwb(simulate(SimParams(n_neurons=9, n_bins=300), seed=1), tmp_path / "sim.nwb")
    _upload(page, sim)
    page.get_by_text("Loaded sim.nwb.").wait_for()
    _go(page, "Bi-clustering")
    for label, value in (("iterations", "20000"), ("chains", "2")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")  # commits the value, starts nothing: only Run starts a job
    page.wait_for_timeout(2000)
    assert "job=" not in page.url
    expect(page.get_by_text(re.compile(r"chain 1: iteration"))).to_have_count(0)
    page.get_by_role("button", name="Run").click()
    chain1 = re.compile(r"chain 1: iteration \d+ of 20000")
    page.get_by_text(chain1).wait_for(timeout=120_000)
    # (the polled fragment may briefly hold the previous chart too: check the newest one)
    plot = page.locator(".js-plotly-plot .gtitle", has_text="log-joint while the fit runs").last
    plot.wait_for()
    expect(page.locator(".js-plotly-plot .ytitle", has_text="log-joint (nats)").last).to_be_visible()
    job_id = re.search(r"[?&]job=([\w-]+)", page.url).group(1)
    page.reload()  # a refresh finds the job, and its chains' traces, from the address alone
    page.get_by_text(chain1).wait_for(timeout=60_000)
    plot.wait_for()
    page.get_by_role("button", name="Cancel job").click()
    page.get_by_text(re.compile(f"Job {job_id} was cancelled")).wait_for(timeout=60_000)


def test_explore_selectors_show_the_new_recordings_options(page, nwb_dir):
    # switching recording must not leave the browser showing the old file's interval table
    sample = Path(__file__).resolve().parents[2] / "sample_data" / "spikes_trials.nwb"
    _upload(page, sample)
    page.get_by_text("Loaded spikes_trials.nwb.").wait_for()
    _upload(page, nwb_dir / BIG)
    page.get_by_text(f"Loaded {BIG}.").wait_for()
    _go(page, "Explore")
    trials = page.get_by_role("combobox", name="Trials from")
    expect(trials).to_have_value("trials", timeout=60_000)
    page.get_by_role("combobox", name="Recording").click()
    page.keyboard.type("pynapple")
    page.keyboard.press("Enter")
    page.locator(".js-plotly-plot .gtitle", has_text="aligned to encoding_table.start").wait_for()
    expect(trials).to_have_value("encoding_table")


def test_a_page_opened_first_on_a_fresh_server_gets_the_apps_navigation(browser, tmp_path):
    # a bookmark, or a tab reconnecting after a restart: the first request names a page
    from tests.browser.conftest import AppServer

    server = AppServer(tmp_path)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/jobs?job=unknown-job")
        page.get_by_role("heading", name="Jobs").first.wait_for()
        nav = page.locator('[data-testid="stSidebarNav"]')
        expect(nav.get_by_text("Analyses", exact=True)).to_have_count(1)   # the app's sections,
        expect(nav.get_by_text("shared", exact=True)).to_have_count(0)     # not the file list
        assert page.url.endswith("/jobs?job=unknown-job")
        page.get_by_text("No job 'unknown-job'").wait_for()   # the job id reached the page
        ctx.close()
    finally:
        server.stop()
