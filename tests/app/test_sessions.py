"""Two sessions in one server process (AppTest): each sees only its own files and jobs.

The cheap companion of ``tests/browser/test_concurrency.py`` (which runs real worker processes
in two browser sessions): here jobs run inline, but the job store and the recording cache are the
same shared objects as in a real server.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, upload

SMALL = "pynapple_A8604-211122.nwb"
OTHER = "dandicli_sub-anm369963_ses-20170228.nwb"


def _start_rate_job(at: AppTest) -> str:
    at.switch_page("pages/jobs.py").run()
    at.number_input(key="jobs_n_widths").set_value(4)
    at.button(key="jobs_start").click().run()
    assert not at.exception and not at.error
    return at.query_params["job"]


def _page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [s.value for s in at.success] + [c.value for c in at.caption]
    parts += [str(s.value) for s in at.selectbox]
    return "\n".join(parts)


def test_two_sessions_see_only_their_own_files_and_jobs(app, nwb_dir):
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    other.run()
    upload(app, nwb_dir / SMALL)
    upload(other, nwb_dir / OTHER)
    job_a, job_b = _start_rate_job(app), _start_rate_job(other)
    assert job_a != job_b
    for at, own, theirs, own_job, their_job in ((app, SMALL, OTHER, job_a, job_b),
                                                (other, OTHER, SMALL, job_b, job_a)):
        at.run()
        text = _page_text(at)
        assert own_job in text and f"rate statistics on {own}" in text
        assert their_job not in text and theirs not in text
        assert [e["name"] for e in at.session_state["nt_files"]] == [own]
    # a third session opened by A's job URL finds that job, and only that one
    third = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    third.query_params["job"] = job_a
    third.run()
    third.switch_page("pages/jobs.py").run()
    text = _page_text(third)
    assert job_a in text and job_b not in text and OTHER not in text
