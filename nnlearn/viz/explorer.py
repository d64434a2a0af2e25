"""What the book's interactive explorers share: controls above a picture that the controls redraw in place.

The picture is an ordinary image output, not a widget: a saved notebook and the rendered book therefore show
the explorer's starting state (the static fallback, never an empty box), while in a live kernel every move of a
control redraws the figure and replaces the image. Outside a kernel, or without ipywidgets, the explorer simply
shows that picture.
"""
from __future__ import annotations

from typing import Any

from .live import _png, in_notebook_kernel


class PictureExplorer:
    """Base class of the explorers. Subclasses draw into ``self.figure``, call :meth:`_update_picture` after
    redrawing, and set ``self.controls`` (an ipywidgets box) when ipywidgets is available."""

    figure: Any = None
    controls: Any = None  # stays None without ipywidgets: the explorer then works through its methods alone
    _display: Any = None  # the IPython display handle of the picture, once the explorer has been displayed

    def _update_picture(self) -> None:
        """Replace the displayed picture with the current figure (nothing to do before it is displayed)."""
        if self._display is not None:
            self._display.update(_png(self.figure))

    def show_static(self) -> Any:
        """Show the current state as a plain picture (in a notebook) and return the figure."""
        if in_notebook_kernel():
            from IPython.display import display

            display(_png(self.figure))
        return self.figure

    def _ipython_display_(self) -> None:
        if self.controls is None or not in_notebook_kernel():
            self.show_static()
            return
        from IPython.display import display

        display(self.controls)
        self._display = display(_png(self.figure), display_id=True)
