"""Load page: upload NWB files, pick a bundled sample or a server path; see what each file holds."""

from __future__ import annotations

import streamlit as st

from neurotools.errors import UserError
from pages._shared import (
    LoadedFile,
    add_file,
    discard_spool,
    loaded_recordings,
    max_upload_mb,
    remove_file,
    sample_files,
    show_error,
    spool_upload,
)

ANALYSES = ("connectome", "bicluster", "hmmglm", "neuroformer")

st.title("Load recordings")
st.caption(
    "Open one or more NWB 2 files: several animals or sessions can be loaded side by side. "
    "Uploads are written to disk on the server, never kept in memory."
)

if "nt_upload_gen" not in st.session_state:
    st.session_state.nt_upload_gen = 0
messages: list[tuple[str, str]] = st.session_state.setdefault("nt_load_messages", [])


def _try_add(path, origin: str, spooled: bool = False) -> None:
    try:
        f = add_file(path, origin)
        messages.append(("success", f"Loaded {f.name}."))
    except UserError as exc:
        messages.append(("error", exc.message))
        if spooled:
            discard_spool(path)


upload_tab, sample_tab, path_tab = st.tabs(["Upload", "Bundled samples", "Server path or URL"])
with upload_tab:
    uploads = st.file_uploader(
        f"NWB files (up to {max_upload_mb():,} MB each)",
        accept_multiple_files=True,
        key=f"upload_{st.session_state.nt_upload_gen}",
        max_upload_size=max_upload_mb(),
    )
    if uploads:
        for up in uploads:
            try:  # over the size limit: refused here too, not only by the browser
                spooled = spool_upload(up)
            except UserError as exc:
                messages.append(("error", exc.message))
                continue
            _try_add(spooled, "upload", spooled=True)
        st.session_state.nt_upload_gen += 1  # a fresh uploader: Streamlit frees the bytes
        st.rerun()
with sample_tab:
    samples = {p.name: p for p in sample_files()}
    if samples:
        chosen = st.multiselect("Samples (simulated, ground truth inside)", list(samples), key="load_samples")
        if st.button("Load samples", key="load_samples_button"):
            if not chosen:
                messages.append(("error", "Pick at least one sample to load."))
            for name in chosen:
                _try_add(samples[name], "sample")
    else:
        st.info("No bundled samples found in sample_data/.")
with path_tab:
    server_path = st.text_input(
        "Path of an .nwb file on the server, or an http(s) URL (e.g. a DANDI asset download link)",
        key="load_path",
        help="URLs are streamed with HTTP Range requests: only the parts analysed are fetched.",
    )
    if st.button("Load path", key="load_path_button"):
        if server_path.strip():
            _try_add(server_path.strip(), "path")
        else:
            messages.append(("error", "Type the path of an .nwb file on the server (or its URL) first."))

# Messages of the last action, shown once (kept across the uploader's rerun).
for level, text in messages:
    (st.error if level == "error" else st.success)(text)
st.session_state.nt_load_messages = []


def _summary_block(f: LoadedFile) -> None:
    rec, info = f.recording, f.summary
    parts = [f"NWB {info['nwb_version']}" if info.get("nwb_version") else "",
             str(info.get("session_description") or "").strip(), f"{f.origin}: `{f.path}`"]
    st.caption(" - ".join(p for p in parts if p))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("units", f"{info['n_units']:,}")
    c2.metric("spikes", f"{info['n_spikes']:,}")
    c3.metric("duration (s)", f"{info['duration_s']:.1f}")
    c4.metric("interval tables", len(info["intervals"]))
    for w in rec.warnings:
        st.warning(w)
    if info["trace_series"]:
        st.markdown("**Trace series** (time x channels)")
        st.dataframe(info["trace_series"], hide_index=True)
    if info["behavior_series"]:
        st.markdown("**Behaviour**")
        st.dataframe(info["behavior_series"], hide_index=True)
    if info["intervals"]:
        st.markdown("**Interval tables**")
        st.dataframe(
            [{"table": k, "rows": v} for k, v in info["intervals"].items()], hide_index=True
        )
    try:
        stored = f.stored_results
    except UserError as exc:
        st.warning(exc.message)
        stored = []
    if stored:
        st.markdown("**neurotools results stored in this file** (shown on their analysis pages, "
                    "Explore and Compare without recomputing)")
        st.dataframe([{"result": s.key, "analysis": s.result.analysis, "seed": s.result.seed,
                       "computed from": ", ".join(i.get("name", "") for i in s.result.inputs),
                       "neurotools": s.result.neurotools_version} for s in stored], hide_index=True)
    try:
        source = rec.choose_source("auto")
        n = rec.n_units if source == "units" else rec.trace_for(source).n_channels
        st.markdown(
            f"**Analyses will use:** `{source}` ({n} neurons) - available: "
            f"{', '.join(rec.available_sources())}; change it with each analysis's `source`."
        )
        st.dataframe(
            [{"analysis": a, "data source": source, "neurons": n} for a in ANALYSES], hide_index=True
        )
    except UserError as exc:
        st.info(exc.message)


files = loaded_recordings()
st.subheader(f"Loaded files ({len(files)})")
if not files:
    st.info("Nothing loaded yet.")
for f in files:
    with st.expander(f.name, expanded=len(files) <= 2):
        try:
            _summary_block(f)
        except UserError as exc:
            show_error(exc)
        if st.button("Remove", key=f"remove_{f.sha256[:12]}"):
            remove_file(f.sha256)
            st.rerun()
