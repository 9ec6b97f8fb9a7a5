"""Neuroformer page: pretrain on spike tokens as a job, follow its losses, explore what it learned."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st
import torch

from neurotools.analyses.base import Result
from neurotools.analyses.neuroformer import Params
from neurotools.analyses.neuroformer.training import CHECKPOINT, read_metrics
from neurotools.figures import neuroformer as nff
from neurotools.jobs import AnalysisTask
from pages._shared import (
    check_selection,
    current_job_id,
    download_name,
    export_section,
    figure_downloads,
    follow_job,
    job_panel,
    job_reload_button,
    job_running,
    job_task,
    jobs_root,
    kept,
    loaded_recordings,
    metric_text,
    page_job_id,
    params_form,
    result_matches,
    result_settings,
    show_error,
    start_job,
    stored_result_choice,
)

#: A job's live loss curve is redrawn this often (s).
LIVE_POLL_S = 2.0

st.title("Neuroformer")
st.caption("Generative pretraining on spike tokens: losses, generated spikes, behaviour, connectivity.")


def checkpoint_panel(folder: str, key: str) -> None:
    """Live loss curves of a checkpoint folder and its checkpoint download."""
    records = read_metrics(folder)
    if not records:
        st.info(f"No metrics.jsonl in {folder} yet.")
        return
    fig = nff.loss_figure_from_records(records)
    st.plotly_chart(fig, key=f"{key}_loss")
    ckpt = Path(folder) / CHECKPOINT
    if ckpt.exists():
        st.download_button("Download checkpoint.pt", ckpt.read_bytes(), file_name="checkpoint.pt",
                           key=f"{key}_ckpt")


def job_checkpoint_dir(job_id: str) -> str:
    """The checkpoint folder a neuroformer job writes its metrics to ("" if none), from its task,
    so a refreshed page (a new session) still finds it."""
    return str(job_task(job_id).get("params", {}).get("checkpoint_dir", "") or "")


def devices() -> list[str]:
    """Devices this server can train on: ``cuda`` only where PyTorch sees a GPU."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def live_losses(job_id: str) -> None:
    """While a job runs, its loss curves from its checkpoint folder, redrawn every few seconds."""
    folder = job_checkpoint_dir(job_id)
    if folder:
        st.fragment(run_every=LIVE_POLL_S)(checkpoint_panel)(folder, "nf_live")


def offer_job_recordings(job_id: str) -> None:
    """After a refresh (no recording loaded), a button that loads the finished job's recordings."""
    if job_task(job_id).get("analysis") != "neuroformer":
        return
    st.info("No recording is loaded in this session: the result below is shown from the job alone. "
            "Load its recordings to train again on them or to export the result with its data.")
    job_reload_button(job_id)


def behaviour_tab(result: Result) -> None:
    """The series predicted (or why none was), a warning for R² < 0, and the figure."""
    caption, warning = nff.behavior_notes(result)
    if not nff.has_behavior(result):
        st.info(caption)
        return
    st.caption(caption)
    if warning:
        st.warning(warning)
    fig = nff.behavior_figure(result)
    st.plotly_chart(fig, key="nf_fig_behavior")
    figure_downloads(fig, download_name(result, "neuroformer_behavior"), "nf_dl_behavior")


train_tab, follow_tab = st.tabs(["Train", "Follow a run"])
with follow_tab:
    folder = st.text_input("Checkpoint folder of a run (e.g. one started with torchrun)", key="nf_follow_dir")
    if folder and st.toggle("Refresh every 2 s", key="nf_follow_live"):
        st.fragment(run_every=2.0)(checkpoint_panel)(folder, "nf_follow")
    elif folder:
        checkpoint_panel(folder, "nf_follow")

with train_tab:
    files = loaded_recordings()
    job_id = page_job_id("neuroformer", "nf") if files else current_job_id()
    if not files and not job_id:
        st.info("Load a recording first (Load page).")
        st.stop()
    chosen: list[int] = []
    if files:
        follow_job(files, "nf", "neuroformer", "nf_files", multiple=True)
        names = [f.name for f in files]
        kept("nf_files", ids=[f.sha256 for f in files])  # the choice survives other pages
        chosen_now = [i for i in st.session_state.get("nf_files", [0]) if i < len(files)]
        st.session_state.nf_files = chosen_now or [0]  # the widget's value (follow_job may set it)
        chosen = st.multiselect("Recordings (same neurons)", range(len(files)),
                                format_func=lambda i: names[i], key="nf_files")
        with st.expander("Settings", expanded=not job_id):
            params = params_form(Params, "nf", exclude=("checkpoint_dir",))
            c1, c2 = st.columns(2)
            seed = c1.number_input("Seed", value=0, step=1, key=kept("nf_seed"))
            device = c2.selectbox("Device", devices(), key=kept("nf_device", devices()),
                                  help="cuda is offered only when this server has a GPU.")
        if st.button("Train", type="primary", key="nf_run", disabled=params is None or not chosen):
            values = params.to_dict()
            values["checkpoint_dir"] = str(jobs_root().parent / "neuroformer" / uuid.uuid4().hex[:12])
            paths = [str(files[i].path) for i in chosen]
            try:
                check_selection(params, paths)
                job_id = start_job(AnalysisTask("neuroformer", paths, values, int(seed), device))
                # started on the chosen files: the selector need not follow it (follow_job)
                st.session_state.nf_job = st.session_state.nf_followed = job_id
            except Exception as exc:  # noqa: BLE001 - shown to the user
                show_error(exc)
    result = job_panel(job_id) if job_id else None
    if job_id and result is None and job_running(job_id):
        live_losses(job_id)
        st.stop()
    if result is not None and not files:
        offer_job_recordings(job_id)
    if result is not None and result.analysis != "neuroformer":
        st.warning(f"Job {job_id} holds a {result.analysis} result.")
        result = None
    if result is not None and files and not result_matches(result, [files[i] for i in chosen]):
        used = ", ".join(i.get("name", "?") for i in result.inputs)
        st.info(f"Job {job_id} was trained on {used}: choose those recordings above to explore "
                "its result, or press Train for the ones chosen.")
        result = None
    if result is None and files:
        result = stored_result_choice("neuroformer", [str(files[i].path) for i in chosen], "nf")
    if result is None:
        st.stop()
    result_settings(result, params if files else None, exclude=("checkpoint_dir",))
    m = result.metrics
    c = st.columns(4)
    c[0].metric("bits/spike vs rate model", metric_text(m.get('test_token_bits_per_spike')))
    c[1].metric("coupled GLM (bits/spike)", metric_text(m.get('test_glm_bits_per_spike')))
    c[2].metric("validation token accuracy", metric_text(m.get('val_token_accuracy')))
    c[3].metric("PSTH r (median)", metric_text(m.get('psth_pearson_r'), '.2f'))
    tabs = st.tabs(["Losses", "Generated vs real", "Behaviour", "Connectivity", "Checkpoint"])
    with tabs[0]:
        fig = nff.result_loss_figure(result)
        st.plotly_chart(fig, key="nf_fig_loss")
        figure_downloads(fig, download_name(result, "neuroformer_losses"), "nf_dl_loss")
    with tabs[1]:
        n_trials = len(result.arrays["real_counts"])
        label = "Pseudo-trial (chunk of the test range)" if nff.is_pseudo_trials(result) else "Trial"
        trial = st.slider(label, 0, max(0, n_trials - 1), 0, key="nf_trial") if n_trials > 1 else 0
        fig = nff.raster_figure(result, trial)
        st.plotly_chart(fig, key="nf_fig_raster")
        figure_downloads(fig, download_name(result, "neuroformer_raster"), "nf_dl_raster")
        fig = nff.psth_figure(result)
        st.plotly_chart(fig, key="nf_fig_psth")
        figure_downloads(fig, download_name(result, "neuroformer_psth"), "nf_dl_psth")
    with tabs[2]:
        behaviour_tab(result)
    with tabs[3]:
        fig = nff.connectivity_figure(result)
        st.plotly_chart(fig, key="nf_fig_conn")
        figure_downloads(fig, download_name(result, "neuroformer_connectivity"), "nf_dl_conn")
        fig = nff.connectivity_graph(result)
        st.plotly_chart(fig, key="nf_fig_graph")
        figure_downloads(fig, download_name(result, "neuroformer_graph"), "nf_dl_graph")
    with tabs[4]:
        folder = result.params.get("checkpoint_dir", "")
        if folder and (Path(folder) / CHECKPOINT).exists():
            checkpoint_panel(folder, "nf_done")
        else:
            st.info("This run kept no checkpoint folder.")

rec_by_sha = {f.sha256: f for f in loaded_recordings()}
first_input = rec_by_sha.get(result.inputs[0]["sha256"]) if result.inputs else None
export_section(result, first_input.recording if first_input else None, "nf_export")
