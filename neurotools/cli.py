"""The ``neurotools`` command: the same backend as the app, without Streamlit.

Exit status 0 on success and 2 for any user error, which is printed as ONE line on stderr starting
with ``error:``. Progress goes to stderr; results and JSON go to stdout or files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from neurotools import __version__
from neurotools.analyses.live import LiveTraceSink
from neurotools.errors import UserError

ANALYSIS_NAMES = ("connectome", "bicluster", "hmmglm", "neuroformer")
EXPORT_FORMATS = ("png", "svg", "pdf", "html", "nwb", "json", "npz")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one ``error:`` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see '{self.prog} --help').")


def parse_settings(pairs: Sequence[str] | None) -> dict[str, str]:
    """Turn ``["key=value", ...]`` into a dict; a malformed item is a UserError."""
    out: dict[str, str] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value, got '{item}'.")
        if key.strip() in out:
            raise UserError(f"--set gives '{key.strip()}' twice; give each parameter once.")
        out[key.strip()] = value.strip()
    return out


class StderrProgress:
    """Progress on stderr: one updating line on a terminal, a line per 10% otherwise.

    With ``live_dir``, the callback carries a live-trace sink there
    (:mod:`neurotools.analyses.live`), so that work running in other processes (MCMC chains)
    can report its iterations, as it does in the app.
    """

    def __init__(self, stream=None, live_dir: str | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_decile = -1
        self._t0 = time.perf_counter()
        self.live = LiveTraceSink(live_dir) if live_dir else None

    def __call__(self, fraction: float, message: str = "") -> None:
        pct = int(100 * min(max(fraction, 0.0), 1.0))
        elapsed = time.perf_counter() - self._t0
        line = f"[{pct:3d}%] {elapsed:7.1f} s  {message}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if pct >= 100:
                self.stream.write("\n")
        elif pct // 10 != self._last_decile:
            self._last_decile = pct // 10
            self.stream.write(line + "\n")
        self.stream.flush()


# -- commands ------------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    """``neurotools info FILE [--json]``."""
    from neurotools.data import summarize

    s = summarize(args.file)
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"{s['file']}  (NWB {s['nwb_version']}, {s['size_bytes'] / 1e6:.1f} MB)")
    print(f"  session:   {s['session_description']}")
    print(f"  time:      {s['t_start_s']:.3f} - {s['t_stop_s']:.3f} s  ({s['duration_s']:.1f} s)")
    print(f"  units:     {s['n_units']}  ({s['n_spikes']} spikes)")
    for t in s["trace_series"]:
        rate = f"{t['rate_hz']:.3g} Hz" if t["rate_hz"] else "irregular"
        print(f"  traces:    {t['path']}  {t['n_samples']} samples x {t['n_channels']} channels, {rate} [{t['kind']}]")
    for b in s["behavior_series"]:
        print(f"  behaviour: {b['path']}  {b['n_samples']} samples [{b['kind']}]")
    for name, rows in s["intervals"].items():
        print(f"  intervals: {name}  {rows} rows")
    print(f"  analysable sources: {', '.join(s['sources']) or 'none (no neural data)'}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """``neurotools run ANALYSIS FILE... --out DIR``."""
    from neurotools.analyses import get_analysis
    from neurotools.recipe import run_on_files

    module = get_analysis(args.analysis)
    params = module.Params.from_strings(parse_settings(args.set))
    device = resolve_device(args.device)
    out = checked_out_dir(args.out)
    compute_and_save(lambda executor, progress: run_on_files(args.analysis, params, args.files, args.seed,
                                                             device, progress, executor),
                     args.executor, out)
    return 0


def checked_out_dir(path: str | os.PathLike) -> Path:
    """An ``--out`` directory that may be written: new, empty, or an earlier result."""
    out = Path(path)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "result.json").exists())):
        raise UserError(f"--out {out} exists and is not an empty or result directory; choose a new directory.")
    return out


def compute_and_save(compute, executor_spec: str, out: Path):
    """Run ``compute(executor, progress)`` with the ``--executor`` choice and progress on
    stderr, time it, save the result to ``out``."""
    from neurotools.jobs import make_executor

    executor = make_executor(executor_spec) if executor_spec != "inline" else None
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="neurotools-live-") as live_dir:
            result = compute(executor, StderrProgress(live_dir=live_dir))
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    result.runtime_s = time.perf_counter() - t0
    result.save(out)
    print(f"wrote {out / 'result.json'} and {out / 'arrays.npz'} ({result.runtime_s:.1f} s)", file=sys.stderr)
    for warning in [*result.info.get("convergence_warnings", []), *result.info.get("warnings", [])]:
        print(f"warning: {warning}", file=sys.stderr)
    return result


def resolve_device(device: str) -> str:
    """Check a ``--device`` choice; ``cuda`` without a GPU is a user error."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda was asked for but no CUDA GPU is available; use --device cpu.")
    return device


def simulation_kinds() -> dict[str, tuple[Any, Any]]:
    """Simulation kind -> (parameter class, simulate function)."""
    from neurotools.analyses import ANALYSES, get_analysis
    from neurotools.data.simulate import SpikesSimParams, simulate_spikes

    kinds: dict[str, tuple[Any, Any]] = {"spikes": (SpikesSimParams, simulate_spikes)}
    for name in ANALYSES:
        try:
            mod = get_analysis(name)
        except UserError:
            continue
        if hasattr(mod, "SimParams") and hasattr(mod, "simulate"):
            kinds[name] = (mod.SimParams, mod.simulate)
    return kinds


def cmd_simulate(args: argparse.Namespace) -> int:
    """``neurotools simulate KIND --out FILE.nwb``."""
    from neurotools.data.nwb_writer import write_nwb

    kinds = simulation_kinds()
    if args.kind not in kinds:
        raise UserError(f"Unknown simulation '{args.kind}'; choose one of {', '.join(kinds)}.")
    params_cls, simulate = kinds[args.kind]
    params = params_cls.from_strings(parse_settings(args.set))
    out = Path(args.out)
    if out.suffix.lower() != ".nwb":
        raise UserError(f"--out must end in .nwb, got '{out.name}'.")
    recording = simulate(params, args.seed)
    recording.session_description = recording.session_description or f"neurotools simulate {args.kind}"
    write_nwb(recording, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``neurotools export DIR --format FMT --out PATH``."""
    from neurotools.analyses.base import Result

    result = Result.load(args.dir)
    fmt = args.format
    out = Path(args.out)
    if fmt == "json":
        out.write_text(json.dumps(result.manifest(), indent=1))
    elif fmt == "npz":
        import numpy as np

        np.savez(out, **result.arrays)
    elif fmt == "nwb":
        from neurotools.recipe import resolve_inputs
        from neurotools.results_nwb import write_results_copy

        if out.suffix.lower() != ".nwb":
            raise UserError(f"--out must end in .nwb, got '{out.name}'.")
        if not result.inputs:
            raise UserError(f"The result in {args.dir} records no input file; it cannot be written into one.")
        first = {"inputs": result.inputs[:1]}  # the copy is of the first input file
        source = resolve_inputs(first, [args.input] if args.input else None,
                                search_dirs=[Path(args.dir), Path(args.dir).parent])[0]
        write_results_copy(source, [result], out)
    else:
        from neurotools import export
        from neurotools.figures.result import result_figure

        fig = result_figure(result)
        out.write_bytes(export.figure_bytes(fig, fmt))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """``neurotools rerun DIR [--out OUT] [--input FILE ...]``: recompute a result from its recipe."""
    from neurotools.analyses.base import Result
    from neurotools.recipe import compare_arrays, load_recipe, rerun, resolve_inputs, version_note

    src = Path(args.dir).resolve()  # "." names no folder to put "-rerun" after
    recipe = load_recipe(src)
    base = src if src.is_dir() else src.parent
    inputs = resolve_inputs(recipe, args.input, search_dirs=[base, base.parent])
    out = checked_out_dir(args.out or base.with_name(base.name + "-rerun"))
    note = version_note(recipe)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    device = resolve_device(args.device or recipe.get("device", "cpu"))
    result = compute_and_save(lambda executor, progress: rerun(recipe, inputs, progress, device, executor),
                              args.executor, out)
    original = None
    for cand in (base, base / "result"):
        if (cand / "arrays.npz").is_file():
            original = Result.load(cand)
            break
    if original is None:
        print("no original arrays next to the recipe: nothing to compare", file=sys.stderr)
        return 0
    diff = compare_arrays(original, result)
    same = [k for k, v in diff.items() if v == "identical"]
    print(f"{len(same)} of {len(diff)} arrays identical to the original", file=sys.stderr)
    for k, v in diff.items():
        if v != "identical":
            print(f"  {k}: {v}", file=sys.stderr)
    return 1 if args.check and len(same) != len(diff) else 0


def cmd_app(args: argparse.Namespace) -> int:
    """``neurotools app [--port N]``: start the Streamlit app."""
    app = Path(__file__).resolve().parents[1] / "app.py"
    if not app.exists():
        raise UserError(f"The app script was not found at {app}; run from a source checkout.")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port)]
    if args.headless:
        cmd += ["--server.headless", "true"]
    os.chdir(app.parent)
    os.execv(sys.executable, cmd)
    return 0  # pragma: no cover


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``neurotools`` command."""
    p = _Parser(prog="neurotools", description="Analyse NWB neural recordings.")
    p.add_argument("--version", action="version", version=f"neurotools {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("info", help="summarise an NWB file (exact counts)")
    s.add_argument("file")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("run", help="run an analysis and write DIR/result.json + DIR/arrays.npz")
    s.add_argument("analysis", choices=ANALYSIS_NAMES)
    s.add_argument("files", nargs="+", metavar="FILE.nwb")
    s.add_argument("--out", required=True, metavar="DIR")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="set a parameter (repeatable)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    s.add_argument("--executor", default="inline", help="inline | process | dask://HOST:PORT | dask-local")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("simulate", help="write a simulated NWB file with its ground truth inside")
    s.add_argument("kind", help="spikes | connectome | bicluster | hmmglm | neuroformer")
    s.add_argument("--out", required=True, metavar="FILE.nwb")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--set", action="append", metavar="KEY=VALUE")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("export", help="export a result directory")
    s.add_argument("dir")
    s.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    s.add_argument("--out", required=True, metavar="PATH")
    s.add_argument("--input", metavar="FILE.nwb",
                   help="for --format nwb: the analysed file, when it is no longer at its recorded path")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("rerun", help="recompute a result from its recipe and compare the arrays")
    s.add_argument("dir", help="a result directory, an unpacked export bundle or a recipe.json")
    s.add_argument("--out", metavar="DIR", help="where to write the new result (default: DIR-rerun)")
    s.add_argument("--input", action="append", metavar="FILE.nwb",
                   help="input file (repeat, in order) when not at its recorded path")
    s.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: the recorded device")
    s.add_argument("--executor", default="inline", help="inline | process | dask://HOST:PORT | dask-local")
    s.add_argument("--check", action="store_true", help="exit 1 when an array differs from the original")
    s.set_defaults(func=cmd_rerun)

    s = sub.add_parser("app", help="start the Streamlit app")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--headless", action="store_true", help="do not open a browser")
    s.set_defaults(func=cmd_app)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run a command, turning user errors into ``error: ...`` and exit status 2."""
    warnings.simplefilter("ignore")  # library chatter; repairs are reported by the reader
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted by the user; no result was written.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
