"""The standard figures of each analysis's result, by name (for export bundles).

:func:`standard_figures` names every figure an analysis page shows for a result; each is built only
when asked for, so listing them costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go

from neurotools.analyses.base import Result
from neurotools.data.recording import Recording

FigureMaker = Callable[[], go.Figure]
#: A time window (start, stop) in seconds on the file's clock.
Window = tuple[float, float]


def _connectome(result: Result, rec: Recording | None, window: Window | None = None
                ) -> dict[str, FigureMaker]:
    from neurotools.figures import connectome as f

    out: dict[str, FigureMaker] = {
        "rank_selection": lambda: f.rank_selection_figure(result),
        "component_activity": lambda: f.activity_timeline_figure(result, rec),
    }
    for c in range(f.n_components(result)):
        out[f"component_{c + 1}_time"] = lambda c=c: f.component_time_figure(result, c, rec)
        out[f"component_{c + 1}_affinity"] = lambda c=c: f.affinity_matrix_figure(result, c)
        out[f"component_{c + 1}_communities"] = lambda c=c: f.community_graph_figure(result, c)
    return out


def _bicluster(result: Result, rec: Recording | None, window: Window | None = None
               ) -> dict[str, FigureMaker]:
    from neurotools.figures import biclustering as f

    return {
        "neuron_coclustering": lambda: f.coclustering_figure(result, rec),
        "states_over_raster": lambda: f.state_raster_figure(result, rec),
        "posterior_counts": lambda: f.posterior_counts_figure(result),
        "log_joint_trace": lambda: f.trace_figure(result),
        "latent_trajectory": lambda: f.latent_figure(result, 0),
        "predictive_checks": lambda: f.ppc_figure(result),
        "chain_partitions": lambda: f.chain_partitions_figure(result),
    }


def _hmmglm(result: Result, rec: Recording | None, window: Window | None = None
            ) -> dict[str, FigureMaker]:
    from neurotools.figures import hmmglm as f

    bt = np.asarray(result.arrays.get("bin_times", [0.0]), dtype=float)
    shown = window or (float(bt.min()), float(bt.min()) + 60.0)  # else the first minute, as the page opens
    out: dict[str, FigureMaker] = {
        "states_over_raster": lambda: f.states_raster_figure(result, rec, shown),
        "state_psth": lambda: f.state_psth_figure(result, rec),
        "dwell_times": lambda: f.dwell_time_figure(result),
        "weights": lambda: f.weights_figure(result),
        "connectome": lambda: f.connectome_figure(result),
        "transition_matrix": lambda: f.transition_figure(result),
        "objective": lambda: f.objective_figure(result),
    }
    if "k_values" in result.arrays:
        out["k_curve"] = lambda: f.k_curve_figure(result)
    return out


def _neuroformer(result: Result, rec: Recording | None, window: Window | None = None
                 ) -> dict[str, FigureMaker]:
    from neurotools.figures import neuroformer as f

    out: dict[str, FigureMaker] = {
        "loss_curves": lambda: f.result_loss_figure(result),
        "connectivity": lambda: f.connectivity_figure(result),
        "connectivity_graph": lambda: f.connectivity_graph(result),
    }
    if "generated_counts" in result.arrays:
        out["generated_raster"] = lambda: f.raster_figure(result)
        out["psth_generated_vs_real"] = lambda: f.psth_figure(result)
    if "behavior_true" in result.arrays and np.size(result.arrays["behavior_true"]):
        out["behaviour_prediction"] = lambda: f.behavior_figure(result)
    return out


_BUILDERS = {"connectome": _connectome, "bicluster": _bicluster, "hmmglm": _hmmglm,
             "neuroformer": _neuroformer}


def standard_figures(result: Result, recording: Recording | None = None,
                     window: Window | None = None) -> dict[str, FigureMaker]:
    """Name -> zero-argument function building the figure, for every standard figure of a result.

    Parameters
    ----------
    result : Result
    recording : Recording, optional
        The analysed recording (figures drawn over the raster need it; without it they show the
        result alone).
    window : (float, float), optional
        Time window (s) of figures that show a stretch of the recording (the HMM-GLM states over
        the raster): the one the page shows. Default: the first minute of the analysed bins.

    Returns
    -------
    dict of str to callable
        In the order the analysis page shows them; names are file-name safe. An analysis without
        its own figures gets one ``summary`` figure.
    """
    builder = _BUILDERS.get(result.analysis)
    if builder is None:
        from neurotools.figures.result import result_figure

        return {"summary": lambda: result_figure(result)}
    return builder(result, recording, window)
