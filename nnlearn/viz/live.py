"""``LiveLearningCurves``: learning curves that redraw under the cell while ``fit`` trains.

``fit(..., live_plot=True)`` adds one of these callbacks. What it does depends on where the code runs:

* in Jupyter (an IPython kernel): an ipywidgets ``Output`` under the cell shows the curves, redrawn after
  every epoch (at most once per ``min_interval`` seconds, since drawing a figure costs ~0.1 s). When
  training ends the widget is cleared and closed, and the final figure is displayed as an ordinary image,
  so the saved notebook and the rendered book keep it without a running kernel;
* anywhere else (a script, pytest, terminal IPython): nothing is drawn during training; at the end the
  final figure is drawn once with pyplot — ``plt.show()`` or ``savefig`` it — and kept as ``.figure``.
"""
from __future__ import annotations

import io
import math
import sys
import time
from typing import Any, Sequence

from ..train.callbacks import Callback, TrainState
from .history import draw_history_panels, history_panels, plot_history

__all__ = ["LiveLearningCurves", "in_notebook_kernel"]


def in_notebook_kernel() -> bool:
    """True inside a Jupyter kernel, where widgets can be shown; False in scripts and terminal IPython."""
    if "IPython" not in sys.modules:  # IPython was never loaded, so this is no kernel (and don't load it)
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveLearningCurves(Callback):
    """Redraw the learning curves after each epoch in a notebook; draw them once at the end elsewhere.

    Args:
        metrics: the panels after the loss panel, as in :func:`~nnlearn.viz.plot_history`
            (default: the metrics ``fit`` computes).
        min_interval: the fewest seconds between two redraws (the last epoch is always drawn).

    After training: ``figure`` (the final matplotlib Figure) and ``frames`` (how many live redraws were shown).
    """

    def __init__(self, metrics: Sequence[str] | None = None, min_interval: float = 0.5) -> None:
        if isinstance(min_interval, bool) or not isinstance(min_interval, (int, float)) or not min_interval >= 0:
            raise ValueError(f"min_interval must be a number of seconds >= 0, got {min_interval!r}")
        self.metrics = metrics
        self.min_interval = float(min_interval)
        self.figure: Any = None
        self.frames = 0
        self._output: Any = None
        self._last_draw = -math.inf

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, state: TrainState) -> None:
        self.figure, self.frames, self._last_draw, self._output = None, 0, -math.inf, None
        if in_notebook_kernel():
            try:
                import ipywidgets
                from IPython.display import display
            except ImportError:  # no widgets installed: behave as outside a notebook
                return
            self._output = ipywidgets.Output()
            display(self._output)

    def on_epoch_end(self, state: TrainState) -> None:
        if self._output is None or time.perf_counter() - self._last_draw < self.min_interval:
            return
        from IPython.display import clear_output, display

        image = _png(self._draw(state))
        with self._output:  # what is displayed inside the block goes into the widget
            clear_output(wait=True)  # wait=True: swap in the new frame without a blank flicker
            display(image)
        self.frames += 1
        self._last_draw = time.perf_counter()  # from the end of drawing, so slow draws space out

    def on_train_end(self, state: TrainState) -> None:
        if len(state.history) == 0:
            return
        if self._output is None:
            self.figure = plot_history(state.history, self.metrics)
            return
        from IPython.display import display

        self.figure = self._draw(state)
        self._output.clear_output()
        self._output.close()  # the live view goes; a plain image (kept in the saved notebook) takes its place
        self._output = None
        display(_png(self.figure))

    # ------------------------------------------------------------------ drawing
    def _draw(self, state: TrainState) -> Any:
        """A new Figure that pyplot does not manage, so the inline backend does not show it a second time."""
        from matplotlib.figure import Figure

        panels = history_panels(state.history, self.metrics)
        figure = Figure(figsize=(4.5 * len(panels), 3.5), layout="constrained")
        axes = figure.subplots(1, len(panels), squeeze=False)[0]
        draw_history_panels(axes, state.history, panels)
        figure.suptitle(f"epoch {state.epoch} of {state.epochs}")
        return figure


def _png(figure: Any) -> Any:
    """The figure as an IPython ``Image`` (PNG): displays the same whatever matplotlib backend is active."""
    from IPython.display import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return Image(data=buffer.getvalue(), format="png")
