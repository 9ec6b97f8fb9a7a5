"""Partial reads (units, time range) and streaming over HTTP Range requests (remfile).

The HTTP server here is a tiny threaded Range-capable server on 127.0.0.1 (Python's http.server
alone ignores Range); it counts the bytes it sends, so the tests see what a read really fetched.
"""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from neurotools.data import read_nwb, summarize
from neurotools.data.binning import neural_matrix
from neurotools.data.remote import normalize_url, remote_identity, url_name
from neurotools.data.selection import read_kwargs
from neurotools.errors import UserError

HUMAN = "pynapple_sub-4_ses-4_ecephys+image.nwb"


# -- a Range-capable HTTP server ---------------------------------------------------------------------
class _RangeHandler(BaseHTTPRequestHandler):
    root: Path
    sent: list[int]

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        p = self.root / self.path.lstrip("/").split("?")[0]
        if not p.is_file():
            self.send_error(404, "Not Found")
            return
        size = p.stat().st_size
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        start, end = (int(m.group(1)), min(int(m.group(2) or size - 1), size - 1)) if m else (0, size - 1)
        self.send_response(206 if m else 200)
        if m:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{int(p.stat().st_mtime)}-{size}"')
        self.end_headers()
        with open(p, "rb") as fh:
            fh.seek(start)
            remaining = end - start + 1
            try:
                while remaining > 0:
                    block = fh.read(min(remaining, 1 << 16))
                    self.wfile.write(block)
                    self.sent.append(len(block))
                    remaining -= len(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client read what it needed (e.g. a length probe)


@pytest.fixture(scope="module")
def http_root(tmp_path_factory, nwb_dir, bad_dir):
    root = tmp_path_factory.mktemp("served")
    for name in (HUMAN,):
        os.symlink(nwb_dir / name, root / name)
    os.symlink(bad_dir / "table.csv", root / "table.csv")
    return root


@pytest.fixture(scope="module")
def server(http_root):
    sent: list[int] = []
    handler = type("H", (_RangeHandler,), {"root": http_root, "sent": sent})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", sent
    httpd.shutdown()
    httpd.server_close()


# -- a small file with many spikes and a long trace --------------------------------------------------
def _write_small(path: Path, n_units: int = 40, spikes: int = 6000, n_rois: int = 20, n_t: int = 20000) -> None:
    from hdmf.backends.hdf5 import H5DataIO
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units
    from pynwb.ophys import DfOverF, ImageSegmentation, OpticalChannel

    rng = np.random.default_rng(0)
    nwb = NWBFile(session_description="subset test", identifier="subset",
                  session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    flat = np.sort(rng.uniform(0, 1000.0, (n_units, spikes)), axis=1).reshape(-1)
    # chunked like real files (hdmf would store this small dataset as one chunk)
    times = VectorData(name="spike_times", description="s", data=H5DataIO(flat, chunks=(4096,)))
    index = VectorIndex(name="spike_times_index", target=times,
                        data=np.arange(1, n_units + 1, dtype=np.int64) * spikes)
    nwb.units = Units(name="units", id=ElementIdentifiers(name="id", data=np.arange(n_units) + 100),
                      columns=[times, index], colnames=["spike_times"])
    ophys = nwb.create_processing_module("ophys", "traces")
    plane = nwb.create_imaging_plane("plane", OpticalChannel("g", "g", 525.0), "plane",
                                     nwb.create_device("scope"), 920.0, "GCaMP", "cortex")
    seg = ImageSegmentation()
    ophys.add(seg)
    ps = seg.create_plane_segmentation("rois", plane, "PlaneSegmentation")
    for i in range(n_rois):
        m = np.zeros((4, 8), bool)
        m[i % 4, i // 4] = True
        ps.add_roi(image_mask=m)
    region = ps.create_roi_table_region("all", region=list(range(n_rois)))
    dff = DfOverF(name="DfOverF")
    dff.create_roi_response_series(name="RoiResponseSeries", rois=region, unit="a.u.", rate=20.0,
                                   data=H5DataIO(rng.normal(size=(n_t, n_rois)), chunks=(256, n_rois)))
    ophys.add(dff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)


@pytest.fixture(scope="module")
def small_file(http_root) -> Path:
    path = http_root / "subset.nwb"
    _write_small(path)
    return path


def _same_matrix(full, sub, source, bin_size, units, t_start, t_stop) -> None:
    a = neural_matrix(full, source, bin_size, t_start, t_stop, units)
    b = neural_matrix(sub, source, bin_size, t_start, t_stop, units)
    for k in ("values", "bin_times", "neuron_indices"):
        assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True), k
    assert a.bin_size == b.bin_size and a.labels == b.labels


SELECTIONS = [
    dict(units=[3, 0], t_start=None, t_stop=None),
    dict(units=None, t_start=200.25, t_stop=260.0),
    dict(units=[1], t_start=100.0, t_stop=None),
    dict(units=[2, 5, 19], t_start=None, t_stop=400.0),
]


# -- partial reads --------------------------------------------------------------------------------
@pytest.mark.parametrize("sel", SELECTIONS)
def test_a_subset_read_gives_the_same_matrix_as_a_full_read(small_file, sel):
    full = read_nwb(small_file, sha256="-")
    sub = read_nwb(small_file, sha256="-", **sel)
    assert sub.n_units == full.n_units
    if sel["t_start"] is None or sel["t_stop"] is None:  # neural_matrix then uses the file's range
        assert sub.time_range() == full.time_range()
    assert sub.n_spikes < full.n_spikes
    _same_matrix(full, sub, "units", 0.05, **sel)
    _same_matrix(full, sub, "rois", 0.05, **sel)
    _same_matrix(full, sub, "rois", None, sel["units"], sel["t_start"], sel["t_stop"])


@pytest.mark.parametrize("name, source, units", [
    (HUMAN, "units", [2, 0]),
    ("dandicli_sub-anm369963_ses-20170228.nwb", "units", [0]),  # unsorted spike times
    ("converted_pynapple_suite2p_plane0.nwb", "rois", [2, 0]),
    ("osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb", "acquisition", [2, 0]),
])
def test_subsets_of_real_files_match_full_reads(nwb_dir, name, source, units):
    full = read_nwb(nwb_dir / name, sha256="-")
    lo, hi = full.time_range()
    for sel in (dict(units=units, t_start=lo + 0.3 * (hi - lo), t_stop=lo + 0.6 * (hi - lo)),
                dict(units=units, t_start=lo + 0.2 * (hi - lo), t_stop=None)):
        sub = read_nwb(nwb_dir / name, sha256="-", source=source, **sel)
        for bin_size in (0.05, None) if source != "units" else (0.05,):
            _same_matrix(full, sub, source, bin_size, **sel)


def test_large_units_are_searched_not_read_whole(tmp_path):
    import h5py

    from neurotools.data.selection import read_unit

    rng = np.random.default_rng(3)
    a = np.sort(rng.uniform(0, 1000, 200_000))
    b = a.copy()
    b[120_000], b[120_001] = b[120_001], b[120_000]  # one swapped pair inside the range below
    with h5py.File(tmp_path / "t.h5", "w") as f:
        f["x"] = np.concatenate([a, b])
    with h5py.File(tmp_path / "t.h5", "r") as f:
        ds = f["x"]
        for t0, t1 in ((100.0, 160.0), (None, 3.0), (999.0, None), (a[500], a[900]), (2000.0, 3000.0)):
            got, unsorted = read_unit(ds, 0, 200_000, t0, t1)
            keep = (a >= (-np.inf if t0 is None else t0)) & (a <= (np.inf if t1 is None else t1))
            assert np.array_equal(got, a[keep]) and not unsorted
        t0, t1 = b[119_000], b[121_000]
        got, unsorted = read_unit(ds, 200_000, 400_000, t0, t1)
        assert unsorted and np.array_equal(got, a[(a >= t0) & (a <= t1)])


def test_an_analysis_of_a_subset_equals_the_full_read_result(nwb_dir):
    from neurotools.analyses.hmmglm import Params, run

    p = Params(n_states=2, link="sigmoid", epochs=2, m_steps=2, restarts=1, warmup_epochs=1,
               units="0,2", t_start=100.0, t_stop=300.0, bin_size=0.2, sequence_table="blocks", block_s=20.0)
    path = nwb_dir / "pynapple_A8604-211122.nwb"
    a = run([read_nwb(path)], p, seed=1)
    b = run([read_nwb(path, **read_kwargs(p))], p, seed=1)
    assert a.inputs == b.inputs
    for k in a.arrays:
        assert np.array_equal(a.arrays[k], b.arrays[k], equal_nan=True), k


def _read_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_a_subset_read_touches_a_small_part_of_the_file(small_file):
    size = small_file.stat().st_size
    before = _read_bytes()
    read_nwb(small_file, sha256="-")
    full = _read_bytes() - before
    before = _read_bytes()
    sub = read_nwb(small_file, sha256="-", units=[4, 7], t_start=300.0, t_stop=360.0)
    part = _read_bytes() - before
    assert full > 0.9 * size
    assert part < 0.1 * size, (part, size)
    assert len(sub.spike_times[4]) > 100 and len(sub.spike_times[5]) == 0


# -- streaming over HTTP ----------------------------------------------------------------------------
def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "file"}


def test_summary_and_recording_over_http_equal_the_local_ones(server, nwb_dir):
    base, _ = server
    url = f"{base}/{HUMAN}"
    remote, local = summarize(url), summarize(nwb_dir / HUMAN)
    assert remote == local
    rec, ref = read_nwb(url), read_nwb(nwb_dir / HUMAN)
    assert rec.n_units == ref.n_units == 35
    assert all(np.array_equal(a, b) for a, b in zip(rec.spike_times, ref.spike_times))
    assert rec.unit_table.keys() == ref.unit_table.keys()
    assert all(np.array_equal(rec.unit_table[k], ref.unit_table[k]) for k in ref.unit_table)
    assert [b.path for b in rec.behavior] == [b.path for b in ref.behavior]
    assert all(np.array_equal(a.data, b.data, equal_nan=True) for a, b in zip(rec.behavior, ref.behavior))
    assert rec.intervals.keys() == ref.intervals.keys()
    assert rec.source.name == HUMAN and rec.source.path == url
    assert rec.source.sha256 != ref.source.sha256 and len(rec.source.sha256) == 64


def test_a_subset_over_http_fetches_a_small_part_of_the_file(server, small_file):
    base, sent = server
    url = f"{base}/{small_file.name}"
    sent.clear()
    sub = read_nwb(url, units=[4], t_start=300.0, t_stop=360.0)
    fetched = sum(sent)
    ref = read_nwb(small_file, sha256="-", units=[4], t_start=300.0, t_stop=360.0)
    assert np.array_equal(sub.spike_times[4], ref.spike_times[4]) and len(ref.spike_times[4]) > 100
    assert fetched < 0.5 * small_file.stat().st_size, (fetched, small_file.stat().st_size)


def test_http_errors_are_one_clear_sentence(server):
    base, _ = server
    with pytest.raises(UserError, match="HTTP 404"):
        summarize(f"{base}/missing.nwb")
    with pytest.raises(UserError, match="not an HDF5 file"):
        read_nwb(f"{base}/table.csv")
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(UserError, match="cannot be reached"):
        summarize(f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/x.nwb")


def test_cli_info_json_reads_a_url(server, capsys):
    from neurotools.cli import main

    base, _ = server
    assert main(["info", f"{base}/{HUMAN}", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["file"] == HUMAN and out["n_units"] == 35 and out["n_spikes"] == 214278


def test_dandi_urls_and_remote_identity():
    asset = "https://api.dandiarchive.org/api/assets/0a6c2d5c-3b36-4f4e-9a2f-6f3c1a0b9e11/"
    assert normalize_url(asset) == asset + "download/"
    versioned = ("https://api.dandiarchive.org/api/dandisets/000004/versions/0.220126.1852/assets/"
                 "0a6c2d5c-3b36-4f4e-9a2f-6f3c1a0b9e11")
    assert normalize_url(versioned) == versioned + "/download/"
    assert normalize_url(asset + "download/") == asset + "download/"
    assert url_name(asset + "download/") == "asset-0a6c2d5c-3b36-4f4e-9a2f-6f3c1a0b9e11.nwb"
    assert url_name("https://x.org/data/a%20b.nwb?x=1") == "a b.nwb"
    assert remote_identity("u", 10, '"e1"') != remote_identity("u", 10, '"e2"')


def test_the_load_page_opens_a_url_and_reports_a_404(server, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "inline")
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.delenv("NEUROTOOLS_OPEN", raising=False)
    base, _ = server
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/load.py").run()
    at.text_input(key="load_path").input(f"{base}/missing.nwb")
    at.button(key="load_path_button").click().run()
    assert not at.exception and len(at.error) == 1 and "HTTP 404" in at.error[0].value
    at.text_input(key="load_path").input(f"{base}/{HUMAN}")
    at.button(key="load_path_button").click().run()
    assert not at.exception and not at.error
    (entry,) = at.session_state["nt_files"]
    assert entry["origin"] == "url" and entry["path"] == f"{base}/{HUMAN}" and entry["name"] == HUMAN
    assert any(m.value == "214,278" for m in at.metric)
