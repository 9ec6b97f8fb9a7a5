"""Export bundles: chosen figures, the result files, the recipe (and an NWB copy) in one zip.

Layout of a bundle::

    README.txt              what is inside and how to recompute it
    recipe.json             analysis, parameters, seed, inputs (see neurotools.recipe)
    rerun.sh                `neurotools rerun .` (run inside the unpacked bundle)
    result/result.json      the result, as `neurotools run` writes it
    result/arrays.npz
    figures/<name>.<fmt>    each chosen figure in each chosen format
    <input>.neurotools.nwb  optional: a copy of the input file with the result inside
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go

from neurotools.analyses.base import Result
from neurotools.export import FORMATS, ExportUnavailable, figure_bytes
from neurotools.recipe import RECIPE_NAME, recipe_of


@dataclass
class Bundle:
    """A built bundle.

    Attributes
    ----------
    data : bytes
        The zip file.
    files : list of str
        Paths inside the zip.
    skipped : list of str
        Figures or formats left out, each with its reason (e.g. no Chromium for PNG).
    """

    data: bytes
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _readme(result: Result, files: list[str], skipped: list[str]) -> str:
    lines = [
        f"neurotools {result.analysis} result (neurotools {result.neurotools_version}, seed {result.seed})",
        "",
        "Inputs:",
        *[f"  {i.get('name')}  sha256 {i.get('sha256')}  ({i.get('source')})" for i in result.inputs],
        "",
        "Recompute (arrays identical on the CPU with the same neurotools version):",
        "  neurotools rerun .            # inside the unpacked bundle; --input FILE if the input moved",
        "",
        "Files:",
        *[f"  {f}" for f in files],
    ]
    warnings = result.info.get("convergence_warnings") or []
    if warnings:
        lines += ["", "Convergence warnings (read before trusting the result):",
                  *[f"  - {w}" for w in warnings]]
    notes = result.info.get("warnings") or []  # e.g. recordings cut to a common length
    if notes:
        lines += ["", "Warnings (read before trusting the result):", *[f"  - {w}" for w in notes]]
    if skipped:
        lines += ["", "Left out:", *[f"  {s}" for s in skipped]]
    return "\n".join(lines) + "\n"


def build_bundle(
    result: Result,
    figures: Mapping[str, go.Figure | Callable[[], go.Figure]] | None = None,
    formats: Iterable[str] = ("html",),
    nwb_source: str | os.PathLike | None = None,
    nwb_holds_result: bool = False,
) -> Bundle:
    """Build an export bundle in memory.

    Parameters
    ----------
    result : Result
        The result.
    figures : mapping of str to Figure (or zero-argument callable), optional
        Figures to include, by file-name stem.
    formats : iterable of str
        Figure formats (``png``, ``svg``, ``pdf``, ``html``). A static format that cannot be made
        here (no Chromium) is left out and listed in ``skipped``; HTML always works.
    nwb_source : path, optional
        The analysed NWB file: when given, a copy of it with the result inside is added.
    nwb_holds_result : bool
        ``nwb_source`` already holds this result (a loaded NWB export): include it as it is.

    Returns
    -------
    Bundle
    """
    formats = [f.lower() for f in formats]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"Unknown figure format {bad[0]!r}; use one of {', '.join(FORMATS)}.")
    buf = io.BytesIO()
    files: list[str] = []
    skipped: list[str] = []
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z, \
            tempfile.TemporaryDirectory(prefix="neurotools-bundle-") as tmp:
        rdir = result.save(Path(tmp) / "result")
        for name in ("result.json", "arrays.npz"):
            (rdir / name).chmod(0o644)  # the temporary folder's files are private (0600)
            z.write(rdir / name, f"result/{name}")
            files.append(f"result/{name}")
        _write_text(z, RECIPE_NAME, json.dumps(recipe_of(result), indent=1))
        _write_text(z, "rerun.sh", "#!/bin/sh\n# Recompute this result and compare its arrays with result/\n"
                                   "cd \"$(dirname \"$0\")\" && exec neurotools rerun . --check \"$@\"\n",
                    mode=0o755)
        files += [RECIPE_NAME, "rerun.sh"]
        static_failed: str | None = None
        for stem, fig in (figures or {}).items():
            try:
                figure = fig() if callable(fig) else fig
            except Exception as exc:  # noqa: BLE001 - one bad figure must not sink the bundle
                skipped.append(f"figures/{stem}: could not be drawn ({type(exc).__name__}: {exc})")
                continue
            for fmt in formats:
                if fmt != "html" and static_failed:
                    skipped.append(f"figures/{stem}.{fmt}: {static_failed}")
                    continue
                try:
                    data = figure_bytes(figure, fmt)
                except ExportUnavailable as exc:
                    static_failed = str(exc)
                    skipped.append(f"figures/{stem}.{fmt}: {exc}")
                    continue
                _write_text(z, f"figures/{stem}.{fmt}", data)
                files.append(f"figures/{stem}.{fmt}")
        if nwb_source is not None:
            from neurotools.results_nwb import write_results_copy

            src = Path(nwb_source)
            name = src.name if nwb_holds_result else f"{src.stem}.neurotools.nwb"
            if nwb_holds_result:
                z.write(src, name)
            else:
                copy = write_results_copy(src, [result], Path(tmp) / name)
                copy.chmod(0o644)
                z.write(copy, name)
            files.append(name)
        _write_text(z, "README.txt", _readme(result, files, skipped))
        files.insert(0, "README.txt")
    return Bundle(buf.getvalue(), files, skipped)


def _write_text(z: zipfile.ZipFile, name: str, data: str | bytes, mode: int = 0o644) -> None:
    """Add ``data`` as ``name`` with Unix permissions ``mode`` (``writestr`` alone gives 0600, so an
    unpacked ``rerun.sh`` could not be run and other users could not read the files)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    z.writestr(info, data)
