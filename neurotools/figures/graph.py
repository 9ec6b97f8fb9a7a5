"""Pieces shared by the directed neuron graphs (HMM-GLM connectome, Neuroformer attention).

Neurons sit on a circle; labels are written beside the nodes only while they fit, and shown on
hover beyond.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

#: Most nodes whose labels a graph writes beside them (more: hover only).
MAX_GRAPH_LABELS = 24
#: Marker diameter of a graph node (px); arrowheads stop at its edge.
NODE_SIZE_PX = 12
#: Standoff (px) that ends an arrowhead at a node's edge.
ARROW_STANDOFF_PX = NODE_SIZE_PX / 2 + 1


def circle_layout(n: int) -> np.ndarray:
    """Node positions on the unit circle, clockwise from the top.

    Parameters
    ----------
    n : int
        Number of nodes.

    Returns
    -------
    ndarray, shape (n, 2)
        x and y in layout units (no physical meaning).
    """
    ang = np.pi / 2 - 2 * np.pi * np.arange(n) / max(n, 1)
    return np.stack([np.cos(ang), np.sin(ang)], axis=1)


def node_label_trace(pos: np.ndarray, labels: Sequence[str], radius: float = 1.15) -> go.Scatter | None:
    """Labels written just outside the circle, or None when there are too many to read.

    Parameters
    ----------
    pos : ndarray, shape (n, 2)
        Node positions from :func:`circle_layout`.
    labels : sequence of str
        One per node.
    radius : float
        Where the labels sit, as a multiple of the circle's radius.

    Returns
    -------
    plotly.graph_objects.Scatter or None
        None beyond :data:`MAX_GRAPH_LABELS` nodes (the nodes' hover then names them).
    """
    if len(labels) > MAX_GRAPH_LABELS:
        return None
    return go.Scatter(x=radius * pos[:, 0], y=radius * pos[:, 1], mode="text", text=list(labels),
                      hoverinfo="skip", showlegend=False, name="labels",
                      textfont=dict(color="#444444"))


def label_note(n: int, noun: str = "label") -> str:
    """Where a graph of ``n`` nodes shows their labels (for its subtitle)."""
    return f"{noun}s beside the nodes" if n <= MAX_GRAPH_LABELS else f"hover a node for its {noun}"
