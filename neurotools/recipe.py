"""Recipes: everything needed to recompute a result, and ``neurotools rerun``.

A recipe is a small JSON object derived from a result's manifest: the analysis, every parameter
value, the seed, the device, the package version and the input files (name, SHA-256, data source
and the path they were read from). Rerunning it on the same files, on the CPU, with the same version
gives arrays that are bit-for-bit identical to the original's.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurotools import __version__
from neurotools.analyses.base import Progress, Result
from neurotools.errors import UserError

#: Recipe file name inside an export bundle.
RECIPE_NAME = "recipe.json"


def recipe_of(result: Result) -> dict[str, Any]:
    """The recipe of a result (JSON-ready)."""
    manifest = result.manifest()
    recipe = {
        "neurotools_version": manifest["neurotools_version"],
        "analysis": manifest["analysis"],
        "params": manifest["params"],
        "seed": manifest["seed"],
        "device": manifest["device"],
        "inputs": manifest["inputs"],
    }
    recipe["command"] = command_line(recipe)
    return recipe


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def command_line(recipe: dict[str, Any], inputs: Sequence[str] | None = None, out: str = "RESULT_DIR") -> str:
    """The ``neurotools run`` command line that recomputes a recipe.

    Parameters
    ----------
    recipe : dict
        From :func:`recipe_of`.
    inputs : sequence of str, optional
        Input paths (default: the recorded paths, else the file names).
    out : str
        The ``--out`` directory.
    """
    files = list(inputs) if inputs is not None else [
        i.get("path") or i.get("name", "FILE.nwb") for i in recipe["inputs"]]
    parts = ["neurotools", "run", recipe["analysis"], *files, "--out", out]
    for key, value in recipe["params"].items():
        parts += ["--set", f"{key}={_format_value(value)}"]
    parts += ["--seed", str(recipe["seed"])]
    if recipe.get("device", "cpu") != "cpu":
        parts += ["--device", recipe["device"]]
    return shlex.join(parts)


def load_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """Read a recipe from a result directory, an unpacked export bundle or a recipe file.

    Accepts ``DIR`` holding ``recipe.json`` or ``result.json``, ``DIR/result/result.json`` (an
    unpacked bundle) or the JSON file itself.

    Raises
    ------
    UserError
        When no recipe or result manifest is found, or it cannot be read.
    """
    p = Path(path)
    candidates = [p] if p.is_file() else [p / RECIPE_NAME, p / "result.json", p / "result" / "result.json"]
    for c in candidates:
        if c.is_file():
            try:
                data = json.loads(c.read_text())
            except (OSError, ValueError) as exc:
                raise UserError(f"{c} cannot be read as JSON ({exc}); give a result directory or bundle.") from None
            missing = {"analysis", "params", "seed", "inputs"} - set(data)
            if missing:
                raise UserError(f"{c} is not a neurotools recipe (it lacks {', '.join(sorted(missing))}).")
            return data
    raise UserError(f"{p} holds no recipe.json or result.json; give a directory written by "
                    "'neurotools run' or an unpacked export bundle.")


def resolve_inputs(recipe: dict[str, Any], explicit: Sequence[str] | None = None,
                   search_dirs: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Find the recipe's input files and check that their bytes are the recorded ones.

    Parameters
    ----------
    recipe : dict
    explicit : sequence of str, optional
        Paths given by the user, one per recorded input, in order.
    search_dirs : sequence of path
        Folders searched for a file of the recorded name when the recorded path is gone.

    Raises
    ------
    UserError
        When an input cannot be found, the count is wrong, or a file's SHA-256 differs.
    """
    from neurotools.data.validate import file_identity

    inputs = recipe["inputs"]
    if explicit:
        if len(explicit) != len(inputs):
            raise UserError(f"The recipe has {len(inputs)} input file(s) but {len(explicit)} were given "
                            "with --input; give one per input, in order.")
        paths = [Path(e) for e in explicit]
    else:
        paths = []
        for item in inputs:
            candidates = [Path(item["path"])] if item.get("path") else []
            candidates += [Path(d) / item["name"] for d in search_dirs]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise UserError(f"The input {item['name']} is not at its recorded path "
                                f"({item.get('path') or 'none recorded'}); pass it with --input FILE.")
            paths.append(found)
    for item, path in zip(inputs, paths):
        if not path.is_file():
            raise UserError(f"{path} does not exist; check the --input path.")
        digest = file_identity(path)
        if item.get("sha256") and digest != item["sha256"]:
            raise UserError(f"{path.name} is not the file the result was computed from (its SHA-256 "
                            f"{digest[:12]}... differs from the recorded {item['sha256'][:12]}...); "
                            "give the original file.")
    return paths


def run_on_files(analysis: str, params: Any, paths: Sequence[str | os.PathLike], seed: int = 0,
                 device: str = "cpu", progress: Progress | None = None, executor: Any = None) -> Result:
    """Read NWB files (only the parameters' selection of units, time range and source) and run an
    analysis on them: the one way ``neurotools run``, ``rerun`` and the app's jobs compute.

    Parameters
    ----------
    analysis : str
        Analysis name (``connectome``, ``bicluster``, ``hmmglm``, ``neuroformer``).
    params : Params
        Its validated parameters.
    paths : sequence of path or URL
        The input files, in order.
    seed : int
    device : str
        ``cpu`` or ``cuda``.
    progress : callable, optional
    executor : concurrent.futures.Executor, optional
        For the analysis's independent fits.

    Returns
    -------
    Result
        Not saved; ``runtime_s`` is the analysis's wall time when it does not set one itself.
    """
    import time

    from neurotools.analyses import get_analysis
    from neurotools.data import read_nwb
    from neurotools.data.selection import read_kwargs

    module = get_analysis(analysis)
    if progress is not None:
        progress(0.0, "reading files")
    recordings = [read_nwb(p, **read_kwargs(params)) for p in paths]  # same result as reading all
    t0 = time.perf_counter()
    result = module.run(recordings, params, progress=progress, seed=int(seed), device=device,
                        executor=executor)
    if not result.runtime_s:
        result.runtime_s = time.perf_counter() - t0
    return result


#: Parameters that name where a run writes on its own machine (not what it computes).
RUN_LOCAL_PARAMS = ("checkpoint_dir",)


def rerun(recipe: dict[str, Any], inputs: Sequence[str | os.PathLike], progress: Progress | None = None,
          device: str | None = None, executor: Any = None) -> Result:
    """Recompute a recipe on the given input files (checked with :func:`resolve_inputs`).

    ``device`` overrides the recorded one; see :func:`run_on_files` for the rest. A recorded
    checkpoint folder (:data:`RUN_LOCAL_PARAMS`) is left out: it belongs to the original run,
    often on another machine, and a checkpoint found there would be resumed instead of
    recomputed. The rerun keeps no checkpoints; its arrays do not depend on them.
    """
    from neurotools.analyses import get_analysis

    values = dict(recipe["params"])
    for name in RUN_LOCAL_PARAMS:
        if values.get(name):
            values[name] = ""
    params = get_analysis(recipe["analysis"]).Params.from_record(values)
    return run_on_files(recipe["analysis"], params, inputs, recipe["seed"],
                        device or recipe.get("device", "cpu"), progress, executor)


def compare_arrays(original: Result, new: Result) -> dict[str, str]:
    """Array-by-array comparison: name -> ``"identical"``, ``"missing"``, ``"new"`` or a difference."""
    out: dict[str, str] = {}
    for name in sorted(set(original.arrays) | set(new.arrays)):
        if name not in new.arrays:
            out[name] = "missing"
            continue
        if name not in original.arrays:
            out[name] = "new"
            continue
        a, b = np.asarray(original.arrays[name]), np.asarray(new.arrays[name])
        if a.shape != b.shape or a.dtype != b.dtype:
            out[name] = f"shape/dtype {a.shape} {a.dtype} -> {b.shape} {b.dtype}"
        elif a.tobytes() == b.tobytes():
            out[name] = "identical"
        elif a.dtype.kind in "fc":
            out[name] = f"max |difference| {np.nanmax(np.abs(a - b)):.3g}"
        else:
            out[name] = f"{int(np.sum(a != b))} of {a.size} values differ"
    return out


def version_note(recipe: dict[str, Any]) -> str | None:
    """A warning when the recipe was made by another neurotools version, else None."""
    v = recipe.get("neurotools_version")
    if v and v != __version__:
        return (f"the result was computed with neurotools {v}; this is {__version__}, "
                "so arrays may differ")
    return None
