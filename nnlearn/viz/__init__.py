"""Plots and widgets: learning curves, decision boundaries, live training curves.

matplotlib and ipywidgets load only when a function here is called, so importing this package is cheap.

>>> from nnlearn.viz import plot_history, plot_decision_boundary
>>> fig = plot_history(history)                          # doctest: +SKIP
>>> fig = plot_decision_boundary(model, X, y)            # doctest: +SKIP
"""
from __future__ import annotations

from .boundary import plot_decision_boundary
from .history import plot_history
from .live import LiveLearningCurves, in_notebook_kernel

__all__ = ["LiveLearningCurves", "in_notebook_kernel", "plot_decision_boundary", "plot_history"]
