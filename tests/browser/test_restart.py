"""A job cut off by an app restart: the restarted app says it failed, and why.

The app (local worker processes) starts a long rate-statistics job; the whole app, its worker
included, is then stopped, as a crash or a reboot would. A new app on the same job folder,
opened at the job's address, shows the job as failed with the reason instead of "running"
for ever.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import AppServer, chromium_or_skip, open_load_page

BIG = "pynapple_sub-4_ses-4_ecephys+image.nwb"
pytestmark = pytest.mark.timeout(300)


def test_a_job_cut_off_by_a_restart_is_shown_failed(browser, nwb_dir, tmp_path):
    chromium_or_skip()
    first = AppServer(tmp_path)
    ctx, page = open_load_page(browser, first.url)
    try:
        page.locator('input[type="file"]').set_input_files(str(nwb_dir / BIG))
        page.get_by_text(f"Loaded {BIG}.").wait_for()
        page.get_by_role("link", name="Jobs").first.click()
        widths = page.get_by_label("Bin widths")
        widths.fill("2000")
        widths.press("Enter")
        page.get_by_role("button", name="Start").click()
        page.get_by_text(re.compile(r"running: \d+% - bin width")).wait_for()
        job_url = page.url
        job_id = re.search(r"[?&]job=([\w-]+)", job_url).group(1)
        first.stop()                       # the app and its worker processes end mid-job
        status = json.loads((tmp_path / "jobs" / job_id / "status.json").read_text())
        assert status["state"] == "running"

        second = AppServer(tmp_path)       # same job folder, as after a restart
        try:
            page.goto(job_url.replace(first.url, second.url))
            page.get_by_text(f"Job {job_id}", exact=True).wait_for()
            page.get_by_text(re.compile("ended without finishing the job")).first.wait_for()
            status = json.loads((tmp_path / "jobs" / job_id / "status.json").read_text())
            assert status["state"] == "failed"
        finally:
            second.stop()
    finally:
        ctx.close()
        first.stop()
