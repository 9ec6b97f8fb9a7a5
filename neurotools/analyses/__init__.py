"""The four analyses, found by name.

Each lives in its own package with the same shape (see :mod:`neurotools.analyses.base`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from neurotools.errors import UserError

#: CLI name -> module path.
ANALYSES: dict[str, str] = {
    "connectome": "neurotools.analyses.connectome",
    "bicluster": "neurotools.analyses.biclustering",
    "hmmglm": "neurotools.analyses.hmmglm",
    "neuroformer": "neurotools.analyses.neuroformer",
}


def get_analysis(name: str) -> ModuleType:
    """Import the analysis package called ``name`` (CLI spelling).

    Raises
    ------
    UserError
        For an unknown name, or an analysis not installed in this build.
    """
    if name not in ANALYSES:
        raise UserError(f"Unknown analysis '{name}'; choose one of {', '.join(ANALYSES)}.")
    try:
        module = importlib.import_module(ANALYSES[name])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(ANALYSES[name]):
            module = None
        else:
            raise
    if module is None or not all(hasattr(module, a) for a in ("Params", "run")):
        raise UserError(f"The '{name}' analysis is not available in this version of neurotools.")
    return module


def available_analyses() -> list[str]:
    """Names of the analyses that import in this build."""
    out = []
    for name in ANALYSES:
        try:
            get_analysis(name)
        except UserError:
            continue
        out.append(name)
    return out
