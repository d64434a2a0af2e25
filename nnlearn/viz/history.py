"""Learning curves: ``plot_history`` draws what ``fit`` recorded, one panel per quantity.

A panel shows the training value and, when there was a validation set, the validation value per epoch:
the gap between the two lines is how a reader sees over- and underfitting.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..train.history import History

__all__ = ["plot_history"]


def _as_history(history: Any) -> History:
    if isinstance(history, History):
        return history
    if isinstance(history, Mapping):
        return History.from_dict(history)
    raise TypeError(f"history must be a History (what fit returns) or a dict name -> list of values, "
                    f"got {type(history).__name__}")


def history_panels(history: History, metrics: Sequence[str] | None) -> list[str]:
    """The panel names: ``"loss"`` first, then ``metrics`` (default: the metrics ``fit`` recorded)."""
    if metrics is None:
        metrics = history.metrics()
    elif isinstance(metrics, str):
        metrics = [metrics]
    panels = list(dict.fromkeys(["loss", *metrics]))
    for name in panels:
        if name not in history and f"val_{name}" not in history:
            raise ValueError(f"cannot plot {name!r}: it was not recorded; the history has {history.keys()}")
    return panels


def draw_history_panels(axes: Sequence[Any], history: History, panels: Sequence[str]) -> None:
    """Draw each panel's train (and validation) curve on the matching Axes."""
    from matplotlib.ticker import MaxNLocator

    epochs = history.epochs
    marker = "o" if len(epochs) <= 30 else None  # dots help to read a short run, clutter a long one
    for ax, name in zip(axes, panels):
        if name in history:
            ax.plot(epochs, history[name], marker=marker, markersize=3, label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker=marker, markersize=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.grid(True, alpha=0.3)
        ax.legend()


def plot_history(history: Any, metrics: Sequence[str] | None = None, ax: Any = None) -> Any:
    """Plot learning curves: a loss panel, then one panel per metric, train and validation in each.

    Args:
        history: what ``fit`` returned (or a dict ``{"loss": [...], "val_loss": [...], ...}``).
        metrics: the metrics to show after the loss panel (default: the ones ``fit`` computed); any recorded
            name works, e.g. ``["accuracy", "lr"]``.
        ax: a matplotlib Axes, or a sequence with one Axes per panel, to draw into; default: a new figure.

    Returns:
        The matplotlib Figure. (In a notebook, end the line with ``;`` or assign the result, or the figure
        shows twice: once as the cell's value, once by the inline backend.)
    """
    history = _as_history(history)
    if len(history) == 0:
        raise ValueError("history has no epochs to plot")
    panels = history_panels(history, metrics)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.5), squeeze=False,
                                 layout="constrained")
        axes = list(axes[0])
    else:
        # one Axes, a list of them, or the 2-D array that plt.subplots returns
        axes = list(ax.flat) if hasattr(ax, "flat") else list(ax) if isinstance(ax, Sequence) else [ax]
        if len(axes) != len(panels):
            raise ValueError(f"ax must hold one Axes per panel: {len(panels)} panels ({', '.join(panels)}), "
                             f"got {len(axes)} Axes")
    draw_history_panels(axes, history, panels)
    return axes[0].figure
