"""Hostile input: build the fuzz corpus from the real recordings and count its outcomes.

The corpus is the one ``tests/data/test_fuzz.py`` checks (``tests/data/fuzz_corpus.py``):
truncations, flipped bytes, removed datasets and attributes, wrong dtypes, NaNs and infinities,
empty tables, zero-length series and huge declared shapes, built from ``$NEUROTOOLS_TEST_DATA/nwb``
into a temporary folder. Each case runs ``summarize``, ``read_nwb`` and ``neural_matrix`` in a
forked child under a time limit.

Run::

    .venv/bin/python bench/bench_fuzz.py [--timeout 20] [--workers 2] [--cases] [--sweep N --seed S]

Prints the corpus size and a table of outcomes (ok / clear error / crash / timeout) per family,
and with ``--cases`` one line per case. ``--sweep N`` adds N random single-byte flips per base
recording (family ``sweep``; seed ``--seed``): a wider search whose crashes become fixed cases of
the corpus.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data.fuzz_corpus import (  # noqa: E402
    OUTCOMES,
    build_corpus,
    outcome_counts,
    random_flips,
    run_corpus,
)

LABELS = {"ok": "ok", "error": "clear error", "crash": "crash", "timeout": "timeout"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("NEUROTOOLS_TEST_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cases", action="store_true", help="print every case's outcome")
    ap.add_argument("--sweep", type=int, default=0, help="random byte flips per base recording")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    nwb_dir = Path(args.data) / "nwb"
    with tempfile.TemporaryDirectory(prefix="nt-fuzz-") as tmp:
        t0 = time.perf_counter()
        cases = build_corpus(nwb_dir, Path(tmp) / "corpus")
        if args.sweep:
            cases += random_flips(nwb_dir, Path(tmp) / "sweep", args.sweep, args.seed)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        results = run_corpus(cases, timeout_s=args.timeout, workers=args.workers)
        t_run = time.perf_counter() - t0
    print(f"fuzz corpus: {len(cases)} cases from {nwb_dir} (built in {t_build:.1f} s, run in {t_run:.1f} s "
          f"with {args.workers} workers, {args.timeout:g} s limit per case)\n")
    families = sorted({c.family for c in cases}, key=lambda f: [c.family for c in cases].index(f))
    header = f"| {'family':10s} | {'cases':>5s} | " + " | ".join(f"{LABELS[o]:>11s}" for o in OUTCOMES) + " | slowest (s) |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for fam in families + ["all"]:
        rows = [r for r in results if fam == "all" or r[0].family == fam]
        counts = outcome_counts(rows)
        slowest = max(r[3] for r in rows)
        print(f"| {fam:10s} | {len(rows):5d} | " + " | ".join(f"{counts[o]:11d}" for o in OUTCOMES)
              + f" | {slowest:11.2f} |")
    bad = [r for r in results if r[1] in ("crash", "timeout")]
    for case, outcome, detail, secs in (results if args.cases else bad):
        print(f"{outcome:8s} {secs:6.2f} s  {case.name}: {detail[:200]}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
