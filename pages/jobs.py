"""Jobs page: background runs with progress, cancel, and the job id in the URL.

The demonstration job is a real one: firing-rate and Fano-factor statistics of every unit at many
bin widths (``RateSweepTask``). Analysis pages start their own jobs; a session lists the jobs it started or opened by URL.
"""

from __future__ import annotations

import time

import streamlit as st

from neurotools.errors import UserError
from neurotools.figures.recording import rate_sweep_figure
from neurotools.jobs import RateSweepTask, default_bin_widths
from pages._shared import (
    ANALYSIS_PAGE_FILES,
    current_job_id,
    figure_downloads,
    job_panel,
    kept,
    loaded_recordings,
    open_on_analysis_page,
    session_jobs,
    show_error,
    start_job,
)

st.title("Jobs")

# -- start a rate sweep -----------------------------------------------------------------------------
with_units = [f for f in loaded_recordings() if f.recording.n_units > 0]
with st.expander("Rate statistics over bin widths (a background job)", expanded=not current_job_id()):
    if not with_units:
        st.info("Load a recording with spike-sorted units to run rate statistics.")
    else:
        c1, c2 = st.columns([3, 1])
        pick = c1.selectbox(
            "Recording", range(len(with_units)), format_func=lambda i: with_units[i].name, key=kept("jobs_file", ids=[f.sha256 for f in with_units])
        )
        n_widths = c2.number_input("Bin widths", min_value=2, max_value=2000, value=120, step=10, key=kept("jobs_n_widths"))
        if st.button("Start", key="jobs_start", type="primary"):
            try:
                start_job(RateSweepTask(with_units[pick].path, default_bin_widths(int(n_widths))))
            except Exception as exc:  # noqa: BLE001 - shown to the user, app stays usable
                show_error(exc)

# -- the job in the URL -----------------------------------------------------------------------------
job_id = current_job_id()
if job_id:
    st.subheader(f"Job {job_id}")
    result = job_panel(job_id)
    if result is not None and result.analysis == "rate_sweep":
        name = result.inputs[0]["name"] if result.inputs else ""
        fig = rate_sweep_figure(result.arrays, title=f"{name}: Fano factor vs bin width")
        st.plotly_chart(fig, key="jobs_result_fig")
        figure_downloads(fig, f"{name.removesuffix('.nwb')}_fano", key="dl_fano")
        st.caption(f"Computed in {result.runtime_s:.2f} s.")
    elif result is not None:
        if result.analysis in ANALYSIS_PAGE_FILES:
            if st.button("Show the result on its analysis page", type="primary",
                         key="jobs_show_result"):
                try:
                    open_on_analysis_page(job_id)
                except UserError as exc:
                    show_error(exc)
        with st.expander("Result summary (JSON)"):
            st.json(result.manifest(), expanded=False)

# -- every job ----------------------------------------------------------------------------------------
st.subheader("Jobs of this session")
jobs = session_jobs()  # never other sessions' jobs: their labels name their files
if not jobs:
    st.info("No jobs yet.")
for s in jobs[:50]:
    c1, c2, c3 = st.columns([4, 2, 1])
    c1.markdown(f"`{s.job_id}` {s.label}")
    c2.markdown(f"{s.state} ({100 * s.progress:.0f}%) - {time.strftime('%H:%M:%S', time.localtime(s.created))}")
    if s.state == "failed" and s.error:
        c1.caption(s.error)
    if c3.button("Open", key=f"jobs_open_{s.job_id}"):
        st.query_params["job"] = s.job_id
        st.rerun()
