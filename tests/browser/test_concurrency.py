"""Two browser sessions on one app server: jobs at the same time, isolation, reload, cancel.

One ``streamlit run app.py`` (default executor: local worker processes) serves two browser
contexts, i.e. two sessions. Each loads a different recording and starts a rate-statistics job at
the same time; both finish; neither session's Load page or job list shows the other's file. A
reload mid-job (a new session opened by the ``?job=`` URL alone) finds the job and sees it finish;
a cancelled job leaves no result that looks complete.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AppServer, chromium_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SMALL = "pynapple_A8604-211122.nwb"  # 3 units, ~1 s per 300 bin widths
OTHER = "dandicli_sub-anm369963_ses-20170228.nwb"  # 1 unit
BIG = "pynapple_sub-4_ses-4_ecephys+image.nwb"  # minutes at 2000 bin widths: to cancel


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    chromium_or_skip()
    workdir = tmp_path_factory.mktemp("concurrency")
    srv = AppServer(workdir)
    srv.jobs_dir = workdir / "jobs"
    yield srv
    srv.stop()


def _session(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.get_by_text("Load recordings").first.wait_for()
    return ctx, page


def _load(page, path: Path) -> None:
    inputs = page.locator('input[type="file"]')
    expect(inputs).to_have_count(1, timeout=60_000)
    inputs.set_input_files(str(path))
    page.get_by_text(f"Loaded {path.name}.").wait_for()


def _go(page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()


def _start_rate_job(page, n_widths: int) -> None:
    _go(page, "Jobs")
    widths = page.get_by_label("Bin widths")
    widths.fill(str(n_widths))
    widths.press("Enter")
    expect(widths).to_have_value(str(n_widths))


def _job_id(page) -> str:
    page.wait_for_url(re.compile(r"[?&]job=[\w-]+"))
    return re.search(r"[?&]job=([\w-]+)", page.url).group(1)


def _finished(page, job_id: str, name: str) -> None:
    page.get_by_text(re.compile(rf"Job {job_id} \(rate statistics on {re.escape(name)} .*\) finished\.")).wait_for(
        timeout=90_000)


def _text(page) -> str:
    return page.locator("body").inner_text()


def _status(server, job_id: str) -> dict:
    return json.loads((server.jobs_dir / job_id / "status.json").read_text())


def test_two_sessions_run_jobs_at_once_and_see_only_their_own(browser, server, nwb_dir):
    (ctx_a, a), (ctx_b, b) = _session(browser, server), _session(browser, server)
    try:
        _load(a, nwb_dir / SMALL)
        _load(b, nwb_dir / OTHER)
        _start_rate_job(a, 600)
        _start_rate_job(b, 1500)
        a.get_by_role("button", name="Start").click()
        b.get_by_role("button", name="Start").click()
        job_a, job_b = _job_id(a), _job_id(b)
        assert job_a != job_b
        _finished(a, job_a, SMALL)
        _finished(b, job_b, OTHER)
        # the two jobs ran side by side: B was submitted before A finished
        sa, sb = _status(server, job_a), _status(server, job_b)
        assert sa["state"] == sb["state"] == "done"
        assert sb["created"] < sa["updated"] and sa["created"] < sb["updated"]
        for d in (job_a, job_b):
            assert (server.jobs_dir / d / "result" / "result.json").is_file()
        # isolation: each job list and each Load page shows only the session's own file
        for page, own, other, job in ((a, SMALL, OTHER, job_a), (b, OTHER, SMALL, job_b)):
            page.get_by_text("Jobs of this session").wait_for()
            text = _text(page)
            assert job in text and own in text
            assert other not in text and (job_b if job == job_a else job_a) not in text
            _go(page, "Load")
            page.get_by_text("Loaded files (1)").wait_for()
            text = _text(page)
            assert own in text and other not in text
    finally:
        ctx_a.close()
        ctx_b.close()


def test_reload_mid_job_finds_it_and_cancel_leaves_no_result(browser, server, nwb_dir):
    ctx, page = _session(browser, server)
    try:
        _load(page, nwb_dir / SMALL)
        _start_rate_job(page, 2000)
        page.get_by_role("button", name="Start").click()
        job_id = _job_id(page)
        page.get_by_text(re.compile(r"running: \d+% - bin width")).wait_for()
        page.reload()  # a new session: nothing loaded, the job found from the URL alone
        page.get_by_text(f"Job {job_id}", exact=True).wait_for()
        _finished(page, job_id, SMALL)
        assert _status(server, job_id)["state"] == "done"

        # a long job, cancelled while it runs
        _go(page, "Load")
        _load(page, nwb_dir / BIG)
        _start_rate_job(page, 2000)
        page.get_by_role("button", name="Start").click()
        page.wait_for_url(re.compile(rf"[?&]job=(?!{job_id})[\w-]+"))
        long_id = _job_id(page)
        page.get_by_text(re.compile(r"running: \d+% - bin width")).wait_for()
        page.get_by_role("button", name="Cancel job").click()
        page.get_by_text(re.compile(f"Job {long_id} was cancelled")).wait_for()
        status = _status(server, long_id)
        assert status["state"] == "cancelled" and status["progress"] < 1.0
        job_dir = server.jobs_dir / long_id
        assert not (job_dir / "result" / "result.json").exists()
        assert not (job_dir / "result").exists()
    finally:
        ctx.close()
