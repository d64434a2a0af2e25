"""``plot_decision_boundary``: what a 2-D classifier predicts everywhere in the plane.

The model is evaluated on a ``resolution x resolution`` grid that covers the data; the colours show the
probability of class 1 (binary problems) or the predicted class (three or more classes), and the data
points are drawn on top in the colour of their true class.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from ..train.fit import predict

__all__ = ["plot_decision_boundary"]


def _parameter_dtype(model: Any) -> np.dtype:
    """The dtype of the model's first parameter, so the grid matches it (no float64 x float32 mixing)."""
    parameters = getattr(model, "parameters", None)
    for parameter in parameters() if callable(parameters) else ():
        return parameter.dtype
    return get_default_dtype()


def _class1_probability(scores: np.ndarray) -> np.ndarray | None:
    """P(class 1) from binary scores ``(M,)``/``(M, 1)`` (logits or probabilities, the rule of
    ``nnlearn.train.to_labels``) or two-class logits ``(M, 2)`` (softmax); None for 3+ classes."""
    if scores.ndim == 2 and scores.shape[1] == 2:
        shifted = scores - scores.max(axis=1, keepdims=True)  # a stable softmax
        exp = np.exp(shifted)
        return exp[:, 1] / exp.sum(axis=1)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim == 1:
        if np.all((scores >= 0) & (scores <= 1)):
            return scores
        return 1 / (1 + np.exp(-np.clip(scores, -60, 60)))  # logits; clip keeps exp() finite
    return None


def plot_decision_boundary(model: Any, X: Any, y: Any, ax: Any = None, resolution: int = 200) -> Any:
    """Colour the plane by the model's prediction and scatter the data on top.

    Args:
        model: a classifier taking ``(M, 2)`` inputs and returning ``(M, C)`` class scores or ``(M,)``/``(M, 1)``
            binary scores (logits or probabilities).
        X: ``(N, 2)`` points; y: ``(N,)`` their integer class labels.
        ax: the matplotlib Axes to draw into (default: a new figure).
        resolution: grid points per axis (``resolution**2`` predictions).

    Returns:
        The matplotlib Figure. Binary problems show P(class 1) from blue (0) to red (1) with the 0.5
        contour drawn in black; 3+ classes show the predicted class as coloured regions.
    """
    points = np.asarray(X.data if isinstance(X, Tensor) else X)
    labels = np.asarray(y.data if isinstance(y, Tensor) else y)
    if points.ndim != 2 or points.shape[1] != 2 or points.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric with shape (N, 2) (two input features), got shape {points.shape} "
                         f"and dtype {points.dtype}")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (len(points),):
        raise ValueError(f"y must have shape (N,) = ({len(points)},) to match X, got shape {labels.shape}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    # the grid covers the data plus a margin of 10% of its extent on every side
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * np.maximum(high - low, 1e-3)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()]).astype(_parameter_dtype(model))
    scores = predict(model, grid, batch_size=4096)

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
    probability = _class1_probability(scores)
    if probability is not None:
        surface = probability.reshape(grid_x.shape)
        ax.contourf(grid_x, grid_y, surface, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
        ax.contour(grid_x, grid_y, surface, levels=[0.5], colors="k", linewidths=1.5)
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="RdBu_r", vmin=0, vmax=1, edgecolors="k", s=20)
    else:
        n_classes = max(scores.shape[1], int(labels.max()) + 1)
        palette = matplotlib.colormaps["tab10" if n_classes <= 10 else "tab20"].colors
        cmap = ListedColormap([palette[i % len(palette)] for i in range(n_classes)])  # class i -> colour i
        regions = scores.argmax(axis=1).reshape(grid_x.shape)
        # one level per class, centred on the integer labels, so each class gets its own flat colour
        ax.contourf(grid_x, grid_y, regions, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.5)
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5,
                   edgecolors="k", s=20)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax.figure
