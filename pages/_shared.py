"""What every page uses: loaded files, parameter forms, jobs, figure downloads, errors.

The UI layer only: widgets call the backend (``neurotools.data``, ``neurotools.jobs``,
``neurotools.figures``, ``neurotools.export``) and show what comes back. Session state holds the
*paths* of loaded files (never their bytes); the recordings themselves are read once per file
content (keyed by sha256) and shared.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import plotly.graph_objects as go
import streamlit as st

from neurotools.data import Recording, file_identity, read_nwb, summarize
from neurotools.errors import UserError
from neurotools.export import (
    FORMATS,
    MIME_TYPES,
    NO_BROWSER_MESSAGE,
    ExportUnavailable,
    figure_bytes,
    static_export_available,
)
from neurotools.jobs import AnalysisTask
from neurotools.params import ParamSet

ROOT = Path(__file__).resolve().parents[1]
#: Bundled recordings written by ``neurotools simulate``.
SAMPLE_DIR = ROOT / "sample_data"
#: Upload limit in MB (also in ``.streamlit/config.toml``); see :func:`max_upload_mb`.
MAX_UPLOAD_MB = 1024
#: Bytes copied per chunk when spooling an upload to disk.
SPOOL_CHUNK = 8 << 20

_FILES_KEY = "nt_files"


_KEPT_KEY = "nt_kept_settings"


def kept(key: str, options: Iterable[Any] | None = None, ids: Sequence[str] | None = None) -> str:
    """The key of a widget whose value survives a visit to another page.

    Streamlit drops the value of every widget a run does not draw, so a page's settings came back
    at their defaults after the user looked at another page. Wrap a widget's key in this call:
    the last value seen is kept apart and given back when the widget is drawn again.

    Parameters
    ----------
    key : str
        The widget's key.
    options : iterable, optional
        The widget's current options: a kept value (or, for a multiselect, any of its values) no
        longer among them is not given back, and the widget starts at its default.
    ids : sequence of str, optional
        For a selector whose options are the positions ``0..n-1`` of a list (the loaded files):
        the identity of each position (e.g. SHA-256). The choice is kept by identity and given
        back at the item's current position, so removing a file never points the selector at
        another one; a kept item no longer listed is not given back.

    Returns
    -------
    str
        ``key``, for the widget's ``key=`` argument.
    """
    store = st.session_state.setdefault(_KEPT_KEY, {})
    if key in st.session_state:
        value = st.session_state[key]
        store[key] = _positions_to_ids(value, ids) if ids is not None else value
        return key
    if key not in store:
        return key
    value = store[key]
    if ids is not None:
        value = _ids_to_positions(value, ids)
        if value is None:
            return key
    allowed = None if options is None else list(options)
    wanted = value if isinstance(value, list) else [value]
    if allowed is None or all(v in allowed for v in wanted):
        st.session_state[key] = value
    return key


def _positions_to_ids(value: Any, ids: Sequence[str]) -> Any:
    """A selector's positions (one, or a list) as ``("ids", ...)`` of the items they point at."""
    if isinstance(value, list):
        return ("ids", [ids[v] for v in value if 0 <= v < len(ids)])
    return ("ids", ids[value] if isinstance(value, int) and 0 <= value < len(ids) else None)


def _ids_to_positions(kept_value: Any, ids: Sequence[str]) -> Any:
    """The current positions of kept items (:func:`_positions_to_ids`), or None when one is gone."""
    if not (isinstance(kept_value, tuple) and len(kept_value) == 2 and kept_value[0] == "ids"):
        return None
    where = {identity: i for i, identity in enumerate(ids)}
    wanted = kept_value[1]
    if isinstance(wanted, list):
        return [where[w] for w in wanted] if wanted and all(w in where for w in wanted) else None
    return where.get(wanted)


def forget_setting(key: str) -> None:
    """Drop a widget's value and its kept copy (:func:`kept`): it starts at its default.

    Parameters
    ----------
    key : str
        The widget's key.
    """
    st.session_state.pop(key, None)
    st.session_state.setdefault(_KEPT_KEY, {}).pop(key, None)


def metric_text(value: Any, fmt: str = ".3f") -> str:
    """A metric for ``st.metric``: formatted, or "not defined" when the result has none
    (None in a saved result, e.g. test bits/spike of a fit without held-out sequences, or NaN).

    Parameters
    ----------
    value : float, None or other
        The metric's value.
    fmt : str
        Format spec for a finite number.

    Returns
    -------
    str
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "not defined" if value is None else str(value)
    return format(number, fmt) if math.isfinite(number) else "not defined"


def _leave_the_automatic_page_list() -> None:
    """Send a page that Streamlit ran without ``app.py`` through ``app.py``'s navigation.

    Streamlit treats a ``pages/`` folder beside the main script as an automatic page list until
    the main script has called ``st.navigation`` once in this server. So the very first request
    to a fresh server that names a page (a bookmark, or a tab reconnecting after a restart) ran
    that page alone, under a raw list of file names. Here the page hands over to ``app.py``,
    which opens the same page (``?page=``) with the app's navigation.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this flag: nothing to correct
        return
    if not getattr(PagesManager, "uses_pages_directory", None):
        return
    target = urlparse(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    st.switch_page("app.py", query_params={**st.query_params.to_dict(), "page": target})


_leave_the_automatic_page_list()


# -- where things live ---------------------------------------------------------------------------
def jobs_root() -> Path:
    """Job store folder: ``$NEUROTOOLS_JOBS_DIR`` or ``~/.neurotools/jobs``."""
    return Path(os.environ.get("NEUROTOOLS_JOBS_DIR") or "~/.neurotools/jobs").expanduser()


def uploads_dir() -> Path:
    """Spool folder for uploads: ``$NEUROTOOLS_UPLOADS_DIR`` or ``uploads/`` beside the jobs."""
    env = os.environ.get("NEUROTOOLS_UPLOADS_DIR")
    return Path(env).expanduser() if env else jobs_root().parent / "uploads"


def sample_files() -> list[Path]:
    """The bundled sample recordings (``sample_data/*.nwb``), by name."""
    return sorted(SAMPLE_DIR.glob("*.nwb"))


# -- loaded files --------------------------------------------------------------------------------
@st.cache_resource(max_entries=8, show_spinner="Reading the recording...")
def _read_cached(sha256: str, path: str) -> Recording:
    """Read a recording once per file content; shared read-only by every session.

    ``st.cache_resource`` (not ``cache_data``) so a large recording is not pickled and copied on
    every rerun; figures never modify it.
    """
    return read_nwb(path, sha256=sha256)


@st.cache_data(max_entries=64, show_spinner=False)
def _summary_cached(sha256: str, path: str) -> dict[str, Any]:
    return summarize(path)


@st.cache_resource(max_entries=16, show_spinner=False)
def _stored_cached(sha256: str, path: str) -> list[Any]:
    """Results stored in a file's ``neurotools`` module (read once per file content)."""
    from neurotools.data.remote import is_url
    from neurotools.results_nwb import read_results

    return [] if is_url(path) else read_results(path)  # stored results are read from local files only


@dataclass(frozen=True)
class LoadedFile:
    """A file the user loaded in this session.

    Attributes
    ----------
    path : str
        Where it is on the server (a spool file for uploads).
    name : str
        Its file name as the user knows it.
    sha256 : str
        Digest of its bytes (the cache key).
    origin : str
        ``"upload"``, ``"sample"`` or ``"path"``.
    """

    path: str
    name: str
    sha256: str
    origin: str

    @property
    def recording(self) -> Recording:
        """The recording (read once per content, then cached)."""
        return _read_cached(self.sha256, self.path)

    @property
    def summary(self) -> dict[str, Any]:
        """The ``neurotools info --json`` summary of the file."""
        return _summary_cached(self.sha256, self.path)

    @property
    def recording_sha256s(self) -> frozenset[str]:
        """Digests that stand for this recording: the file's own and, for an NWB-export copy, the
        original each stored result was computed from (the copy holds the same recording)."""
        originals = {s.result.inputs[0].get("sha256", "") for s in self.stored_results if s.result.inputs}
        return frozenset({self.sha256} | originals) - {""}

    @property
    def stored_results(self) -> list[Any]:
        """Results stored inside the file by a neurotools NWB export
        (:class:`~neurotools.results_nwb.StoredResult`), oldest first; empty for most files."""
        return _stored_cached(self.sha256, self.path)


def _file_entries() -> list[dict[str, str]]:
    if _FILES_KEY not in st.session_state:
        st.session_state[_FILES_KEY] = []
        _open_startup_files()
    return st.session_state[_FILES_KEY]


def _open_startup_files() -> None:
    """Load the files named in ``$NEUROTOOLS_OPEN`` (``os.pathsep``-separated) into a new session.

    ``./dev app`` sets it to the bundled samples, so the app starts with data to explore.
    """
    for item in filter(None, os.environ.get("NEUROTOOLS_OPEN", "").split(os.pathsep)):
        try:
            add_file(item, origin="sample")
        except UserError as exc:
            st.warning(f"Could not open {item} at start-up: {exc}")


def loaded_recordings() -> list[LoadedFile]:
    """Every file loaded in this session, in load order.

    Returns
    -------
    list of LoadedFile
        ``.path`` on the server and ``.recording`` (a :class:`~neurotools.data.Recording`).
    """
    return [LoadedFile(**e) for e in _file_entries()]


def pick_recording(key: str) -> LoadedFile:
    """A "Recording" selector over the loaded files; stops the page with a link to Load when none.

    Parameters
    ----------
    key : str
        Widget key of the selector.
    """
    files = loaded_recordings()
    if not files:
        st.info("Load a recording first (Load page).")
        st.page_link("pages/load.py", label="Go to Load", icon=":material/upload_file:")
        st.stop()
    chosen = st.selectbox("Recording", range(len(files)), format_func=lambda i: files[i].name,
                          key=kept(key, ids=[f.sha256 for f in files]))
    return files[chosen]


def add_file(path: str | os.PathLike, origin: str = "path") -> LoadedFile:
    """Check, read and remember one NWB file (nothing changes when it fails).

    Parameters
    ----------
    path : str or PathLike
        The file on the server, or an ``http(s)://`` URL (streamed, e.g. a DANDI asset; see
        :mod:`neurotools.data.remote`; its identity stands for the sha256).
    origin : str
        ``"upload"``, ``"sample"`` or ``"path"`` (``"url"`` is set for URLs).

    Returns
    -------
    LoadedFile
        The loaded file (the existing entry when the same content was loaded before).

    Raises
    ------
    UserError
        One sentence: missing path, a folder, an unreachable URL (or HTTP error), or a file that is
        not a readable NWB 2 recording.
    """
    from neurotools.data.remote import is_url, probe

    if is_url(str(path)):
        info = probe(str(path))  # reachability, HTTP status, HDF5 signature
        for entry in _file_entries():
            if entry["sha256"] == info.identity:
                return LoadedFile(**entry)
        _read_cached(info.identity, info.url)  # validates the file; raises UserError on a bad one
        entry = dict(path=info.url, name=info.name, sha256=info.identity, origin="url")
        _file_entries().append(entry)
        return LoadedFile(**entry)
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"There is no file at {p}; check the path on the server.")
    if p.is_dir():
        raise UserError(f"{p} is a folder; give the path of one .nwb file.")
    try:
        digest = file_identity(p)
    except OSError as exc:
        raise UserError(f"{p.name} cannot be read ({exc.strerror or exc}); check its permissions.") from None
    for entry in _file_entries():
        if entry["sha256"] == digest:
            return LoadedFile(**entry)
    _read_cached(digest, str(p))  # validates the whole file; raises UserError on a bad one
    entry = dict(path=str(p), name=p.name, sha256=digest, origin=origin)
    _file_entries().append(entry)
    return LoadedFile(**entry)


def remove_file(sha256: str) -> None:
    """Forget a loaded file (its spool file, if any, stays for other sessions)."""
    st.session_state[_FILES_KEY] = [e for e in _file_entries() if e["sha256"] != sha256]


def _safe_name(name: str) -> str:
    base = Path(name).name or "upload.nwb"
    return re.sub(r"[^A-Za-z0-9._+\-]", "_", base)[:200]


def max_upload_mb() -> int:
    """The upload limit in MB (of 2**20 bytes), enforced by the browser and again by the server.

    ``$NEUROTOOLS_MAX_UPLOAD_MB`` when set (tests, small servers), else Streamlit's
    ``server.maxUploadSize`` (``.streamlit/config.toml``), else :data:`MAX_UPLOAD_MB`.
    """
    env = os.environ.get("NEUROTOOLS_MAX_UPLOAD_MB", "").strip()
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            pass
    try:
        return int(st.get_option("server.maxUploadSize"))
    except (RuntimeError, TypeError, ValueError):
        return MAX_UPLOAD_MB


def _too_large(name: str, size: int, limit_mb: int) -> UserError:
    return UserError(
        f"{name} is {size / 2**20:,.1f} MB, over the upload limit of {limit_mb:,} MB; load it by its "
        "path on the server instead (Server path tab), or ask the administrator to raise the limit."
    )


def spool_upload(uploaded: Any) -> Path:
    """Write an uploaded file to disk in chunks, under ``uploads_dir()/<sha256>/<name>``.

    Parameters
    ----------
    uploaded : streamlit UploadedFile (or any binary file object with ``.name``)

    Returns
    -------
    Path
        The spooled file; identical content is stored once.

    Raises
    ------
    UserError
        When the upload is over :func:`max_upload_mb` (by its declared ``.size`` or by the bytes
        actually read); nothing is kept on disk then.
    """
    limit_mb = max_upload_mb()
    limit = limit_mb * 2**20
    name = Path(str(getattr(uploaded, "name", "upload"))).name
    declared = getattr(uploaded, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise _too_large(name, declared, limit_mb)
    root = uploads_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".part-{os.getpid()}-{secrets.token_hex(6)}"
    h = hashlib.sha256()
    uploaded.seek(0)
    try:
        written = 0
        with open(tmp, "wb") as out:
            while chunk := uploaded.read(SPOOL_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise _too_large(name, written, limit_mb)
                h.update(chunk)
                out.write(chunk)
        dest_dir = root / h.hexdigest()
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / _safe_name(uploaded.name)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def discard_spool(path: str | os.PathLike) -> None:
    """Delete a spooled upload (after it failed to load) and its folder when empty."""
    p = Path(path)
    if uploads_dir().resolve() not in p.resolve().parents:
        return
    p.unlink(missing_ok=True)
    try:
        p.parent.rmdir()
    except OSError:
        pass


# -- parameters ----------------------------------------------------------------------------------
def params_form(params_cls: type[ParamSet], key: str, exclude: Iterable[str] = ()) -> ParamSet | None:
    """One widget per parameter; returns validated parameters or shows ``st.error`` and None.

    Parameters
    ----------
    params_cls : type of ParamSet
        The analysis's ``Params`` (or a simulator's ``SimParams``).
    key : str
        Prefix of the widget keys: each widget's key is ``f"{key}_{field}"``.
    exclude : iterable of str
        Fields not shown (they keep their defaults).

    Returns
    -------
    ParamSet or None
        None when a value is invalid (the message is shown with ``st.error``).
    """
    skip = set(exclude)
    raw: dict[str, Any] = {}
    for spec in params_cls.spec():
        name = spec["name"]
        if name in skip:
            continue
        label = f"{name} ({spec['unit']})" if spec.get("unit") else name
        tip = f"{spec.get('help', '')} Accepts {spec['constraint']}."
        default = spec["default"]
        choices = list(spec.get("choices") or [])
        wkey = kept(f"{key}_{name}", choices or None)
        if choices:
            raw[name] = st.selectbox(label, choices, index=choices.index(default) if default in choices else 0, key=wkey, help=tip)
        elif spec["type"] == "bool":
            raw[name] = st.checkbox(label, value=bool(default), key=wkey, help=tip)
        elif spec.get("allow_none") or spec.get("allow_auto") or spec["type"] == "str":
            text = "" if default is None else str(default)
            raw[name] = st.text_input(label, value=text, key=wkey, help=tip)
        elif spec["type"] == "int":
            raw[name] = st.number_input(label, value=int(default), step=1, key=wkey, help=tip)
        else:
            raw[name] = st.number_input(label, value=float(default), format="%g", key=wkey, help=tip)
    try:
        return params_cls.from_strings(raw)
    except UserError as exc:
        show_error(exc)
        return None


# -- jobs ----------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _executor(spec: str, code: int):
    from neurotools.jobs import make_executor

    return make_executor(spec)


@st.cache_resource(show_spinner=False)
def _job_store(root: str, code: int):
    from neurotools.jobs import JobStore

    return JobStore(root)


def _jobs_code() -> int:
    """Identifies the loaded ``neurotools.jobs`` module.

    Streamlit's file watcher imports the project's modules again after their files change on disk
    (an edit, a ``git pull``). A job store or process pool cached before that would hand the
    workers the old module's ``execute_job``, which no longer pickles ("not the same object"),
    and every job would fail until a restart; keyed by this, they are made again.
    """
    return id(sys.modules.get("neurotools.jobs"))


@st.cache_resource(show_spinner=False)
def _process_pools() -> dict[int, Any]:
    """The local process pool made for each loaded version of ``neurotools.jobs``."""
    return {}


def executor():
    """The shared executor: ``$NEUROTOOLS_EXECUTOR`` (``process`` by default, ``inline`` in tests).

    After a code reload (:func:`_jobs_code`) a new one is made; a local process pool of the old
    code is shut down without waiting, so its running jobs finish and its idle workers exit.
    """
    from concurrent.futures import ProcessPoolExecutor

    code = _jobs_code()
    current = _executor(os.environ.get("NEUROTOOLS_EXECUTOR") or "process", code)
    pools = _process_pools()
    for old_code in [c for c in pools if c != code]:
        pools.pop(old_code).shutdown(wait=False)
    if isinstance(current, ProcessPoolExecutor):
        pools[code] = current
    return current


def job_store():
    """The shared :class:`~neurotools.jobs.JobStore` at :func:`jobs_root`."""
    return _job_store(str(jobs_root()), _jobs_code())


def start_job(task: Any) -> str:
    """Submit a task to the shared executor and put ``?job=<id>`` in the page URL.

    Parameters
    ----------
    task : AnalysisTask or RateSweepTask
        A picklable task (see ``neurotools.jobs``).

    Returns
    -------
    str
        The job id.
    """
    job_id = job_store().submit(task, executor())
    st.query_params["job"] = job_id
    remember_job(job_id)
    return job_id


def current_job_id() -> str | None:
    """The job id in the page URL (``?job=``), if any."""
    return st.query_params.get("job")


_JOBS_KEY = "nt_jobs"


def remember_job(job_id: str) -> None:
    """Add a job to this session's job list (jobs it started, or opened by their ``?job=`` URL)."""
    ids = st.session_state.setdefault(_JOBS_KEY, [])
    if job_id not in ids:
        ids.append(job_id)


def session_jobs() -> list[Any]:
    """This session's jobs, newest first: other sessions' jobs (and their files) are not shown.

    Returns
    -------
    list of JobStatus
        Jobs started in this session or opened by their ``?job=`` URL (the id is the key to a job).
    """
    store = job_store()
    out = []
    for job_id in st.session_state.get(_JOBS_KEY, []):
        try:
            out.append(store.status(job_id))
        except UserError:  # deleted meanwhile
            continue
    return sorted(out, key=lambda s: s.created, reverse=True)


def _show_status(status: Any) -> None:
    pct = int(round(100 * float(status.progress)))
    if status.state == "done":
        st.success(f"Job {status.job_id} ({status.label}) finished.")
    elif status.state == "failed":
        st.error(f"Job {status.job_id} ({status.label}) failed: {status.error or 'no reason given'}")
    elif status.state == "cancelled":
        st.warning(f"Job {status.job_id} was cancelled ({status.message}).")
    else:
        st.progress(min(max(pct, 0), 100) / 100, text=f"{status.state}: {pct}% - {status.message or '...'}")


def _show_live_traces(job_id: str, traces: list) -> None:
    """Progress of each traced series (e.g. each MCMC chain) and a plot of its main value."""
    from neurotools.figures.live import live_trace_figure

    traces = [t for t in traces if t.get("x")]
    if not traces:
        return
    for t in traces:
        done = int(t["x"][-1])
        total = max(int(t.get("total") or done), 1)
        st.progress(min(done / total, 1.0), text=f"{t['label']}: iteration {done} of {total}")
    names = list(traces[0].get("y", {}))
    if names:
        value = "log_joint" if "log_joint" in names else names[0]
        st.plotly_chart(live_trace_figure(traces, value), width="stretch",
                        key=f"job_live_{job_id}")


def job_panel(job_id: str, poll_s: float = 1.0):
    """Show a job's state; while it runs, a fragment polls its progress and offers Cancel.

    Parameters
    ----------
    job_id : str
        The job (e.g. from ``?job=`` in the URL).
    poll_s : float
        Seconds between progress polls.

    Returns
    -------
    Result or None
        The job's Result once it is done, else None.
    """
    store = job_store()
    try:
        status = store.status(job_id)
    except UserError as exc:
        show_error(exc)
        return None
    remember_job(job_id)
    if status.finished:
        _show_status(status)
        return store.result(job_id) if status.state == "done" else None

    @st.fragment(run_every=poll_s)
    def _poll() -> None:
        s = store.status(job_id)
        if s.finished:
            st.rerun(scope="app")
        st.caption(f"Job `{job_id}`: {s.label}")
        _show_status(s)
        _show_live_traces(job_id, store.live(job_id))
        if st.button("Cancel job", key=f"job_cancel_{job_id}"):
            store.cancel(job_id)
            st.info("Cancelling: the job stops at its next progress report.")

    _poll()
    return None


# -- figures and errors --------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._\-]+", "_", name).strip("_") or "figure"


def state_interval_section(recording: Recording, key: str, bin_times, bin_size: float,
                           states, download_stem: str | None = None) -> tuple[str | None, str | None]:
    """Pick one of the file's interval tables (and a column grouping it), then show the time each
    group spends in each inferred state; returns the chosen (table, column) for other figures.
    ``download_stem`` names the figure's downloads (see :func:`download_name`).

    Nothing is shown for a recording without interval tables; a table that does not overlap the
    analysed bins gives one ``st.error`` line.
    """
    from neurotools.figures.states import state_interval_heatmap

    if not recording.intervals:
        return None, None
    c1, c2 = st.columns(2)
    table = c1.selectbox("Compare the states with the file's intervals",
                         [None, *recording.intervals],
                         format_func=lambda v: "none" if v is None else v,
                         key=kept(f"{key}_interval_table", [None, *recording.intervals]))
    if table is None:
        return None, None
    columns = [None, *recording.intervals[table].categorical_columns()]
    column = c2.selectbox("Group intervals by", columns,
                          format_func=lambda v: "all intervals together" if v is None else v,
                          key=kept(f"{key}_interval_column", columns))
    try:
        fig = state_interval_heatmap(bin_times, bin_size, states, recording, table, column)
    except UserError as err:
        st.error(err.message)
    else:
        st.plotly_chart(fig, width="stretch", key=f"{key}_state_intervals")
        figure_downloads(fig, download_stem or f"{key}_state_intervals", key=f"{key}_state_intervals_dl")
    return table, column


def figure_downloads(fig: go.Figure, name: str, key: str) -> None:
    """PNG/SVG/PDF/HTML download buttons; a figure is exported only when its button is clicked.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure as shown.
    name : str
        File name stem of the downloads.
    key : str
        Prefix of the button keys (``f"{key}_{fmt}"``).
    """
    stem = _slug(name)
    static_ok = static_export_available()
    cols = st.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS):
        with col:
            if fmt != "html" and not static_ok:
                continue
            st.download_button(
                f"Download {fmt.upper()}",
                data=_deferred_export(fig, fmt),
                file_name=f"{stem}.{fmt}",
                mime=MIME_TYPES[fmt],
                key=f"{key}_{fmt}",
                on_click="ignore",
            )
    if not static_ok:
        st.info(NO_BROWSER_MESSAGE)


def download_name(result: Any, name: str) -> str:
    """A download's file stem that tells two results apart: the first input file, the figure's
    name, the seed and a short digest of the result (e.g. ``rec_bicluster_states_seed0_3f2a1c``)."""
    first = result.inputs[0].get("name", "") if result.inputs else ""
    stem = Path(first).stem if first else "result"
    return f"{stem}_{name}_seed{result.seed}_{_result_id(result)[:6]}"


def _deferred_export(fig: go.Figure, fmt: str):
    """A no-argument callable that renders ``fig`` when the user clicks (Streamlit calls it)."""
    frozen = go.Figure(fig)  # a snapshot: later edits of ``fig`` do not change the download

    def render() -> bytes:
        return figure_bytes(frozen, fmt)

    return render


def show_error(exc: BaseException) -> None:
    """Show an error the way the app always does.

    A :class:`UserError` is one ``st.error`` sentence (no traceback); an export problem is a
    warning; anything else is a bug: its message, with the traceback folded away.
    """
    if isinstance(exc, UserError):
        st.error(exc.message)
    elif isinstance(exc, ExportUnavailable):
        st.warning(str(exc))
    else:
        st.error(f"Unexpected error ({type(exc).__name__}: {exc}). Please report it.")
        with st.expander("Details"):
            st.code("".join(traceback.format_exception(exc)))



#: Most processes a job's form offers for its independent fits (Windows allows 61 per pool).
MAX_JOB_WORKERS = 61 if sys.platform == "win32" else 64


def default_job_workers() -> int:
    """Processes a job offers for its independent fits by default: ``$NEUROTOOLS_JOB_WORKERS``
    (1 to :data:`MAX_JOB_WORKERS`), else the machine's cores (at most 8)."""
    raw = os.environ.get("NEUROTOOLS_JOB_WORKERS", "").strip()
    wanted = int(raw) if raw.isdigit() else min(os.cpu_count() or 1, 8)
    return max(1, min(wanted, MAX_JOB_WORKERS))


def analysis_run_section(
    analysis: str, params_cls: type[ParamSet], paths: list[str | LoadedFile], key: str,
    exclude: Iterable[str] = (), parallel: str | None = None,
):
    """The settings form, the Run button and the job panel of an analysis page.

    Widget keys are ``f"{key}_form"``, ``f"{key}_seed"`` (and ``f"{key}_workers"`` with
    ``parallel``), and the job id is kept in ``st.session_state[f"{key}_job"]`` (else taken from
    ``?job=``).

    Parameters
    ----------
    analysis : str
        CLI name of the analysis (``connectome``, ``bicluster``, ``hmmglm``...).
    params_cls : type
        Its parameter class (one widget per field).
    paths : list of str or LoadedFile
        Files to analyse (on the server); loaded files also identify their content, so a result
        is shown only with the very files it was computed on.
    key : str
        Prefix of the widget keys.
    exclude : iterable of str
        Parameters not shown (left at their defaults).
    parallel : str, optional
        Plural noun of the analysis's independent fits (``"chains"``): the form then offers the
        number of processes that run them side by side (:func:`default_job_workers`).

    Returns
    -------
    Result or None
        The finished result of this analysis, or None while nothing is done (the page should stop).
    """
    chosen = list(paths)
    paths = [str(p.path) if isinstance(p, LoadedFile) else str(p) for p in chosen]
    exclude = tuple(exclude)
    # Enter in a box must not start a job (half-typed settings); only the Run button does
    with st.form(f"{key}_form", enter_to_submit=False):
        params = params_form(params_cls, key=key, exclude=exclude)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key=kept(f"{key}_seed"))
        workers = 1
        if parallel:
            workers = st.number_input(
                f"Processes for the {parallel}", 1, MAX_JOB_WORKERS, default_job_workers(), step=1,
                key=kept(f"{key}_workers", range(1, MAX_JOB_WORKERS + 1)),
                help=f"The {parallel} run side by side in this many processes (up to one per "
                     f"core helps; the result does not depend on it).")
        submitted = st.form_submit_button("Run", type="primary")
    if submitted and params is not None:
        if not paths:
            st.error("Choose at least one recording.")
        else:
            try:
                check_selection(params, paths)
                job_id = start_job(AnalysisTask(analysis, list(paths), params.to_dict(),
                                                int(seed), workers=int(workers)))
                # started on the chosen files: the selector need not follow it (follow_job)
                st.session_state[f"{key}_job"] = st.session_state[f"{key}_followed"] = job_id
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
                show_error(exc)
    job_id = page_job_id(analysis, key)
    if job_id:
        result = job_panel(job_id)
        if result is not None and result.analysis == analysis:
            if result_matches(result, chosen):
                result_settings(result, params, exclude)
                return result
            names = ", ".join(i.get("name", "?") for i in result.inputs)
            st.info(f"Job {job_id} was computed on {names}: choose that recording above to "
                    "explore its result, or press Run for the one chosen.")
        elif job_running(job_id):
            return None
    stored = stored_result_choice(analysis, paths, key)
    if stored is not None:
        result_settings(stored, params, exclude)
    return stored


def result_settings(result: Any, form: ParamSet | None = None, exclude: Iterable[str] = ()) -> None:
    """The settings a shown result was computed with (seed and parameters), in a collapsed table.

    The table opens, with the differing parameters marked, when the form above holds other
    values: after a refresh or a visit to another page put the form back at its defaults, for a
    result stored in a file, or on a page without a form (Neuroformer) after an edit.

    Parameters
    ----------
    result : Result
        The result shown.
    form : ParamSet, optional
        The parameters the page's form holds now (None: nothing to compare).
    exclude : iterable of str
        Fields the form does not show (never marked).
    """
    import json

    hidden = set(exclude)
    shown = {k: v for k, v in form.to_dict().items() if k not in hidden} if form is not None else {}
    differ = {k for k, v in result.params.items() if k in shown and shown[k] != v}
    label = f"Settings of this result (seed {result.seed})"
    if differ:
        label += f": {len(differ)} differ from the form above"
    with st.expander(label, expanded=bool(differ)):
        rows = [{"parameter": k, "value": json.dumps(v, default=str),
                 "form above": "differs" if k in differ else ""}
                for k, v in result.params.items()]
        st.dataframe(rows, hide_index=True)


#: The page that shows each analysis's results: CLI name -> page file (menu: app.py).
ANALYSIS_PAGE_FILES = {
    "connectome": "pages/connectome.py",
    "bicluster": "pages/biclustering.py",
    "hmmglm": "pages/hmmglm.py",
    "neuroformer": "pages/neuroformer.py",
}
#: Widget-key prefix of a page where it differs from the analysis's CLI name.
ANALYSIS_PAGE_KEYS = {"neuroformer": "nf"}


def open_on_analysis_page(job_id: str) -> None:
    """Load a finished job's files and go to its analysis page, which shows the result.

    Raises
    ------
    UserError
        A file of the job that can no longer be read.
    """
    analysis = job_store().task(job_id).get("analysis")
    load_job_files(job_id)
    page_key = ANALYSIS_PAGE_KEYS.get(analysis, analysis)
    st.session_state.pop(f"{page_key}_followed", None)  # the page's selector follows this job
    st.switch_page(ANALYSIS_PAGE_FILES[analysis], query_params={"job": job_id})


def job_task(job_id: str) -> dict[str, Any]:
    """A job's stored task (``{}`` when the job is unknown or its task unreadable)."""
    try:
        return job_store().task(job_id)
    except (UserError, OSError, ValueError):
        return {}


def page_job_id(analysis: str, key: str) -> str | None:
    """The job an analysis page shows: the ``?job=`` of the address when it is a job of this
    analysis (a refresh, a link, **Open** on the Jobs page), else the last one the page started.
    """
    url_job = current_job_id()
    if url_job and url_job != st.session_state.get(f"{key}_job") \
            and job_task(url_job).get("analysis") == analysis:
        st.session_state[f"{key}_job"] = url_job
    return st.session_state.get(f"{key}_job") or url_job


def result_matches(result: Any, files: Iterable[str | LoadedFile]) -> bool:
    """Whether a result was computed on exactly the chosen files.

    Content decides (SHA-256) wherever both sides know it: a file changed on disk since the job
    ran does not match, even at the same path. A plain path is matched against the loaded file
    at that path (the newest one, if several were loaded there) or else by path.
    """
    loaded = {}
    for f in loaded_recordings():
        loaded[f.path] = f  # the newest entry of a path wins
    chosen = [f if isinstance(f, LoadedFile) else loaded.get(str(f), str(f)) for f in files]
    if len(chosen) != len(result.inputs):
        return False

    def key(item: Any) -> str:
        return item.sha256 if isinstance(item, LoadedFile) else f"path:{item}"

    def computed(entry: dict) -> str:
        return entry["sha256"] if entry.get("sha256") else f"path:{entry.get('path')}"

    return sorted(map(key, chosen)) == sorted(map(computed, result.inputs))


def check_selection(params: Any, paths: Iterable[str]) -> None:
    """Check the neuron selection (``units``) against the chosen loaded files before a job starts.

    Raises
    ------
    UserError
        An index past a file's last neuron (the message the job would fail with).
    """
    from neurotools.data.binning import check_neuron_indices

    if not hasattr(params, "unit_indices"):
        return
    units = params.unit_indices()
    by_path = {f.path: f for f in loaded_recordings()}
    for p in paths:
        if units and str(p) in by_path:
            check_neuron_indices(by_path[str(p)].recording, getattr(params, "source", "auto"), units)


def stop_without_recordings(message: str, analysis: str | None = None) -> None:
    """Say what to load and stop the page, but first show the job in the page address.

    After a browser refresh the session has no loaded files; a job started from this page is
    still found from ``?job=`` (progress, live traces, cancel). When it is a finished job of
    ``analysis``, a button loads its files again, and the page then shows the result.
    """
    st.info(message)
    job_id = current_job_id()
    if not job_id or job_panel(job_id) is None:
        st.stop()
    if analysis is None or job_task(job_id).get("analysis") != analysis:
        st.info("The job has finished: load its recording again (Load page) to explore the "
                "result, or open it from the Jobs page.")
    else:
        job_reload_button(job_id)
    st.stop()


def job_reload_button(job_id: str) -> None:
    """**Load its recording and show the result**: loads a finished job's files again (after a
    refresh started a new session) and reruns the page, or shows why a file cannot be read."""
    if st.button("Load its recording and show the result", type="primary",
                 key=f"job_reload_{job_id}"):
        try:
            load_job_files(job_id)
        except UserError as exc:
            show_error(exc)
        else:
            st.rerun()


def load_job_files(job_id: str) -> list[LoadedFile]:
    """Load the files a job analysed (again), e.g. after a browser refresh started a new session.

    Raises
    ------
    UserError
        A file that is gone or no longer readable (one sentence).
    """
    return [add_file(p) for p in job_store().task(job_id).get("paths", [])]


def follow_job(files: list[LoadedFile], key: str, analysis: str, widget_key: str,
               multiple: bool = False) -> None:
    """Point a page's recording selector at its job's files, once per job.

    Call before the selector is drawn. When the page's job (:func:`page_job_id`) is new to the
    selector and all its files are loaded, the selector's value becomes those files (an index,
    or a list with ``multiple``); afterwards the user chooses freely.
    """
    job_id = page_job_id(analysis, key)
    if not job_id or st.session_state.get(f"{key}_followed") == job_id:
        return
    task = job_task(job_id)
    if task.get("analysis") != analysis:  # e.g. a rate-sweep job in the address
        return
    wanted = [str(p) for p in task.get("paths", [])]
    index = {f.path: i for i, f in enumerate(files)}
    if not wanted or any(p not in index for p in wanted):
        return
    st.session_state[widget_key] = [index[p] for p in wanted] if multiple else index[wanted[0]]
    st.session_state[f"{key}_followed"] = job_id


def job_running(job_id: str) -> bool:
    """Whether a job exists and is still queued or running."""
    try:
        return not job_store().status(job_id).finished
    except UserError:
        return False


def stored_result_choice(analysis: str, paths: Iterable[str], key: str):
    """Offer the results of ``analysis`` stored inside the chosen files (an NWB export's copy).

    Returns
    -------
    Result or None
        The chosen stored result (shown without recomputing), or None when the files hold none.
    """
    by_path = {f.path: f for f in loaded_recordings()}
    stored = [s for p in paths if p in by_path for s in by_path[p].stored_results
              if s.result.analysis == analysis]
    if not stored:
        return None
    labels = [f"{s.key} (seed {s.result.seed}, neurotools {s.result.neurotools_version or '?'})"
              for s in stored]
    i = st.selectbox("Result stored in the file", range(len(stored)), format_func=lambda j: labels[j],
                     key=f"{key}_stored")
    st.info(f"Showing the {analysis} result stored in {by_path[stored[i].path].name} "
            "(not recomputed). Press Run to compute a new one.")
    return stored[i].result


def result_source(result: Any) -> tuple[str | None, bool]:
    """The loaded file a result belongs to, and whether that file already holds it.

    A loaded NWB export that stores the result comes first; then a loaded file with the result's
    first input's SHA-256; then the input's recorded path, when it still exists.

    Returns
    -------
    (str or None, bool)
        Path on the server (None when unknown) and whether the result is stored inside it.
    """
    files = loaded_recordings()
    manifest = result.manifest()
    for f in files:
        if any(s.result.manifest() == manifest for s in f.stored_results):
            return f.path, True
    first = result.inputs[0] if result.inputs else {}
    for f in files:
        if first.get("sha256") and f.sha256 == first["sha256"]:
            return f.path, False
    recorded = first.get("path")
    if recorded and "://" not in recorded and Path(recorded).is_file():
        return recorded, False
    return None, False


def export_section(result: Any, recording: Recording | None, key: str,
                   window: tuple[float, float] | None = None) -> None:
    """The export bundle of a result: chosen figures and formats, result files, recipe, NWB copy.

    Parameters
    ----------
    result : Result
        The result shown on the page.
    recording : Recording or None
        The analysed recording (for figures drawn over its raster).
    key : str
        Prefix of the widget keys.
    window : (float, float), optional
        The time window (s) the page shows, for bundle figures of a stretch of the recording.

    The analysed NWB file (see :func:`result_source`) is offered as a copy with the result inside;
    a loaded file that already holds this result is included as it is.
    """
    from neurotools.bundle import build_bundle
    from neurotools.figures.catalog import standard_figures

    with st.expander("Export bundle: figures, result files, recipe and an NWB copy", expanded=False):
        source_path, holds = result_source(result)
        makers = standard_figures(result, recording, window)
        names = list(makers)
        chosen = st.multiselect("Figures", names, default=names[: min(3, len(names))], key=f"{key}_bfigs")
        offered = [f for f in FORMATS if f == "html" or static_export_available()]
        fmts = st.multiselect("Formats", offered, default=["png" if "png" in offered else "html"],
                              key=f"{key}_bfmts")
        with_nwb = st.checkbox("Include a copy of the NWB file with the result inside",
                               value=source_path is not None, disabled=source_path is None,
                               key=f"{key}_bnwb")
        if st.button("Build bundle", key=f"{key}_bbuild"):
            try:
                with st.spinner("Building the bundle..."):
                    bundle = build_bundle(result, {n: makers[n] for n in chosen}, fmts,
                                          nwb_source=source_path if with_nwb else None,
                                          nwb_holds_result=holds)
                st.session_state[f"{key}_bundle"] = (_result_id(result), bundle)
            except Exception as exc:  # noqa: BLE001 - one message, the page keeps working
                show_error(exc)
        built = st.session_state.get(f"{key}_bundle")
        if built and built[0] == _result_id(result):
            bundle = built[1]
            for note in bundle.skipped:
                st.warning(f"Left out: {note}")
            st.download_button(f"Download bundle ({len(bundle.data) / 1e6:.1f} MB, {len(bundle.files)} files)",
                               data=bundle.data, file_name=f"{_slug(download_name(result, result.analysis + '_bundle'))}.zip",
                               mime="application/zip", key=f"{key}_bdl", on_click="ignore")


def _result_id(result: Any) -> str:
    import json

    return hashlib.sha256(json.dumps(result.manifest(), sort_keys=True, default=str).encode()).hexdigest()


# -- finished results of a recording (overlays, Compare page) ------------------------------------
@st.cache_resource(max_entries=64, show_spinner=False)
def _load_result_cached(directory: str, mtime_ns: int):
    """A saved Result, read once per directory version (shared read-only)."""
    from neurotools.analyses.base import Result

    return Result.load(directory)


def available_results(loaded: LoadedFile) -> list[tuple[str, Any]]:
    """Finished analysis results of a loaded file, newest first.

    The single source of results for overlays (Explore) and the Compare page: every finished
    analysis job of this session (:func:`session_jobs`) whose result inputs carry the file's SHA-256 (or whose task
    names the file's path), then the results stored inside the file (an NWB export's copy).

    Parameters
    ----------
    loaded : LoadedFile
        The recording shown.

    Returns
    -------
    list of (str, Result)
        A label such as ``"hmmglm · job 1a2b3c4d · 12:03"`` and the result.
    """
    import json
    import time

    store = job_store()
    out: list[tuple[str, Any]] = []
    for status in session_jobs():  # never other sessions' jobs
        if status.state != "done" or status.kind != "analysis":
            continue
        rdir = store.root / status.job_id / "result"
        try:
            manifest = json.loads((rdir / "result.json").read_text())
            task = json.loads((store.root / status.job_id / "task.json").read_text())
        except (OSError, ValueError):
            continue
        hashes = {i.get("sha256") for i in manifest.get("inputs", [])}
        if loaded.sha256 not in hashes and loaded.path not in task.get("paths", []):
            continue
        try:
            result = _load_result_cached(str(rdir), (rdir / "arrays.npz").stat().st_mtime_ns)
        except (OSError, UserError):
            continue
        short = status.job_id.rsplit("-", 1)[-1]
        when = time.strftime("%H:%M", time.localtime(status.created))
        out.append((f"{result.analysis} · job {short} · {when}", result))
    try:
        stored = loaded.stored_results
    except UserError:
        stored = []
    out += [(f"{s.result.analysis} · stored in the file ({s.key})", s.result) for s in stored]
    return out
