"""Hostile input: a fuzz corpus built from the real recordings gives clear errors or correct results.

The corpus (``tests/data/fuzz_corpus.py``) is written once per session under a temporary folder;
each case runs in a forked child under a time limit. What the reader promises, checked here:

- a damaged file (truncated, flipped bytes, malformed layout) raises ``UserError`` with one
  sentence, never another exception, never a hang;
- NaN or infinite spike times are dropped with a warning, and the summary counts agree;
- neural traces whose sample times are not finite are refused; NaN or infinite trace *values*
  count as missing samples when binned;
- datasets declaring far more data than the file can hold are refused before anything is read.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from neurotools.data import read_nwb, summarize
from neurotools.data.binning import MAX_BINS, bin_edges, neural_matrix, resample_traces
from neurotools.errors import UserError
from tests.data.fuzz_corpus import (
    OUTCOMES,
    Case,
    build_corpus,
    clear_message,
    outcome_counts,
    run_corpus,
)

ROOT = Path(__file__).resolve().parents[2]
#: A hard cap per test (the corpus itself runs each case under its own 20 s limit).
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="session")
def corpus(nwb_dir, tmp_path_factory) -> list[Case]:
    return build_corpus(nwb_dir, tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="session")
def results(corpus):
    t0 = time.perf_counter()
    res = run_corpus(corpus, timeout_s=20.0, workers=2)
    counts = outcome_counts(res)
    print(f"\nfuzz corpus: {len(corpus)} cases in {time.perf_counter() - t0:.1f} s: "
          + ", ".join(f"{o} {counts[o]}" for o in OUTCOMES))
    return res


def _case(corpus: list[Case], name: str) -> Case:
    (case,) = [c for c in corpus if c.name == name]
    return case


def test_corpus_is_large_and_covers_every_family(corpus):
    assert len(corpus) >= 150
    families = {c.family for c in corpus}
    assert families == {"truncate", "flip", "remove", "dtype", "nonfinite", "empty", "huge"}
    assert all(c.path.is_file() for c in corpus)
    assert sum(1 for c in corpus if c.expect) >= 100  # most cases know what must happen


def test_every_case_gives_a_clear_error_or_a_consistent_result(results):
    bad = [f"{c.name}: {o} ({d})" for c, o, d, _ in results if o not in ("ok", "error")]
    assert not bad, "\n".join(bad)
    counts = outcome_counts(results)
    assert counts["ok"] >= 50 and counts["error"] >= 50
    # every truncation is refused
    assert {o for c, o, _, _ in results if c.family == "truncate"} == {"error"}


def test_runner_reports_hangs_and_dead_workers(corpus):
    cases = corpus[:2]

    def hang(path, expect):
        time.sleep(60)
        return "ok", ""

    def die(path, expect):
        import os

        os._exit(3)

    t0 = time.perf_counter()
    assert [r[1] for r in run_corpus(cases, timeout_s=1.0, check=hang)] == ["timeout", "timeout"]
    assert time.perf_counter() - t0 < 10
    out = run_corpus(cases[:1], timeout_s=5.0, check=die)
    assert out[0][1] == "crash" and "exit code 3" in out[0][2]


def test_nan_and_inf_spike_times_are_dropped_with_a_warning(corpus, nwb_dir):
    clean = read_nwb(nwb_dir / "pynapple_A8604-211122.nwb")
    case = _case(corpus, "nonfinite/units/8 nan/inf spike times")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = read_nwb(case.path)
    # one warning, about the dropped times (an infinity is not an unsorted spike)
    assert [str(w.message) for w in caught] == rec.warnings
    assert len(rec.warnings) == 1
    assert re.search(r"8 spike time\(s\) of [1-3] unit\(s\) were not finite.*dropped", rec.warnings[0])
    assert rec.n_spikes == clean.n_spikes - 8 == summarize(case.path)["n_spikes"]
    assert all(np.isfinite(t).all() for t in rec.spike_times)
    # the spikes that were kept are exactly the finite ones of the file
    kept = np.sort(np.concatenate(rec.spike_times))
    assert np.isin(kept, np.concatenate(clean.spike_times)).all()


def test_nonfinite_trace_times_are_refused(corpus):
    for name in ("nonfinite/stack/nan in timestamps", "nonfinite/ophys/starting_time nan"):
        with pytest.raises(UserError, match="not finite"):
            read_nwb(_case(corpus, name).path)
    # the summary reads only the first and last sample times
    with pytest.raises(UserError, match="not finite"):
        summarize(_case(corpus, "nonfinite/ophys/starting_time nan").path)


def test_huge_declared_shape_is_refused_before_reading(corpus):
    t0 = time.perf_counter()
    for name in ("huge/units/spike_times declared 1e12", "huge/ophys/data declared 1e12 x 75"):
        path = _case(corpus, name).path
        for fn in (summarize, read_nwb):
            with pytest.raises(UserError, match="declares shape") as err:
                fn(path)
            assert clear_message(err.value.message)
    assert time.perf_counter() - t0 < 10


def test_zero_length_series_is_a_clear_error_in_the_matrix(corpus):
    rec = read_nwb(_case(corpus, "empty/ophys/zero-length series").path)
    assert rec.traces[0].data.shape == (0, 75)
    with pytest.raises(UserError, match="has no samples"):
        neural_matrix(rec)


def test_resample_averages_only_finite_samples():
    ts = np.arange(8) * 0.5  # two samples per 1-s bin
    data = np.array([[1, 10], [3, np.nan], [np.inf, 20], [5, 40], [2, np.nan], [4, np.nan],
                     [6, 1], [-np.inf, 3]], dtype=float)
    out = resample_traces(data, ts, np.arange(5.0))
    # channel 0: (1+3)/2, 5 (inf is missing), (2+4)/2, 6; channel 1: 10, 30, empty -> interpolated, 2
    np.testing.assert_allclose(out[:, 0], [2, 5, 3, 6])
    np.testing.assert_allclose(out[:, 1], [10, 30, 16, 2])


def test_bin_edges_refuses_nonfinite_and_gigantic_ranges():
    with pytest.raises(UserError, match="not finite"):
        bin_edges(0.0, float("nan"), 0.05)
    with pytest.raises(UserError, match="shorter range or a wider bin"):
        bin_edges(0.0, 1e209, 0.05)
    with pytest.raises(UserError, match=re.escape(f"more than {MAX_BINS:.0e}")):
        bin_edges(0.0, 2.0 * MAX_BINS, 1.0)
    assert len(bin_edges(0.0, 10.0, 1.0)) == 11


CLI_SAMPLE = (
    "truncate/units/at 600 of 442304 bytes",
    "flip/units/superblock byte 0",
    "huge/units/index points past the end",
    "nonfinite/units/8 nan/inf spike times",
    "remove/units/root nwb_version",
    "empty/units/0-row units table",
)


def test_cli_info_on_a_sample_of_cases(corpus):
    cases = [_case(corpus, n) for n in CLI_SAMPLE]

    def info(case: Case) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "neurotools", "info", str(case.path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(info, cases))
    for case, r in zip(cases, runs):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = summarize(case.path)
        except UserError as exc:
            assert r.returncode == 2, (case.name, r.stderr)
            assert r.stderr.strip() == f"error: {exc.message}" and "Traceback" not in r.stderr
        else:
            assert r.returncode == 0, (case.name, r.stderr)
            assert f"units:     {expected['n_units']}  ({expected['n_spikes']} spikes)" in r.stdout
