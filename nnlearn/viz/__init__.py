"""Plots and widgets: learning curves, decision boundaries, live training curves, computation graphs, activation
and optimizer explorers, per-layer statistics and feature maps.

matplotlib and ipywidgets load only when a function here is called, so importing this package is cheap.

>>> from nnlearn.viz import plot_history, plot_decision_boundary
>>> fig = plot_history(history)                          # doctest: +SKIP
>>> fig = plot_decision_boundary(model, X, y)            # doctest: +SKIP
>>> fig = plot_feature_maps(cnn, X[0], layer="0")        # doctest: +SKIP
"""
from __future__ import annotations

from .activation_explorer import ActivationExplorer, activation_and_derivative, layer_activations
from .boundary import plot_decision_boundary
from .feature_maps import FeatureMapExplorer, feature_maps, plot_feature_maps
from .graph import draw_graph, graph_layout
from .history import plot_history
from .layer_stats import LayerStats, layer_stats, plot_layer_histograms, plot_layer_stats
from .live import LiveLearningCurves, in_notebook_kernel
from .loss_surfaces import SURFACES
from .optimizer_race import OptimizerRace, plot_race, trajectory

__all__ = [
    "ActivationExplorer", "FeatureMapExplorer", "LayerStats", "LiveLearningCurves", "OptimizerRace", "SURFACES",
    "activation_and_derivative", "draw_graph", "feature_maps", "graph_layout", "in_notebook_kernel",
    "layer_activations", "layer_stats", "plot_decision_boundary", "plot_feature_maps", "plot_history",
    "plot_layer_histograms", "plot_layer_stats", "plot_race", "trajectory",
]
