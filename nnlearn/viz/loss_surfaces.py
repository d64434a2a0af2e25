"""Two-dimensional test functions for watching optimizers: a banana valley, a saddle and a stretched bowl.

Real loss surfaces have millions of dimensions, but their troubles show up already in two: long curved
valleys (the Rosenbrock function), saddle points where the gradient nearly vanishes (the saddle), and
directions of very different curvature (the ill-conditioned bowl). Each function here

* evaluates on NumPy arrays (for contour plots) *and* on scalar :class:`~nnlearn.Tensor` s, because it uses
  only ``+ - * **`` — so ``surface.loss(p)`` of a 2-element Parameter ``p`` builds an autograd graph and the
  real optimizers of :mod:`nnlearn.optim` can minimise it;
* has its gradient written out by hand (``surface.gradient(x, y)``), which the tests compare with autograd.

>>> s = SURFACES["rosenbrock"]
>>> float(s.value(1.0, 1.0)), s.gradient(1.0, 1.0)
(0.0, (0.0, 0.0))
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor

__all__ = ["SURFACES", "Surface", "ill_conditioned_bowl", "ill_conditioned_bowl_grad", "rosenbrock",
           "rosenbrock_grad", "saddle", "saddle_grad"]


# ---------------------------------------------------------------------- the functions
def rosenbrock(x: Any, y: Any, a: float = 1.0, b: float = 100.0) -> Any:
    """Rosenbrock's banana: ``(a - x)^2 + b (y - x^2)^2``; minimum 0 at ``(a, a^2)``.

    The minimum lies at the bottom of a long, narrow, curved valley: the walls are steep (``b`` large), the
    floor nearly flat, so gradient descent bounces between the walls and crawls along the floor.
    """
    return (a - x) ** 2 + b * (y - x ** 2) ** 2


def rosenbrock_grad(x: Any, y: Any, a: float = 1.0, b: float = 100.0) -> tuple[Any, Any]:
    """``(df/dx, df/dy)`` of :func:`rosenbrock`: ``(-2 (a - x) - 4 b x (y - x^2),  2 b (y - x^2))``."""
    return -2 * (a - x) - 4 * b * x * (y - x ** 2), 2 * b * (y - x ** 2)


def saddle(x: Any, y: Any) -> Any:
    """A saddle between two valleys: ``x^2 + (y^2 - 1)^2 / 4``.

    ``(0, 0)`` is a saddle point (value 1/4): a minimum along ``x``, a maximum along ``y``. The minima, value 0,
    are at ``(0, -1)`` and ``(0, 1)``. Started near the ridge ``y = 0``, gradient descent slides to the saddle and
    lingers there, because the gradient along ``y`` is proportional to the (tiny) distance from the ridge.
    """
    return x ** 2 + (y ** 2 - 1) ** 2 / 4


def saddle_grad(x: Any, y: Any) -> tuple[Any, Any]:
    """``(df/dx, df/dy)`` of :func:`saddle`: ``(2 x, y (y^2 - 1))``."""
    return 2 * x, y * (y ** 2 - 1)


def _rotated(x: Any, y: Any, angle: float) -> tuple[Any, Any]:
    c, s = math.cos(angle), math.sin(angle)
    return c * x + s * y, -s * x + c * y  # coordinates along the bowl's two axes


def ill_conditioned_bowl(x: Any, y: Any, condition: float = 50.0, angle: float = math.pi / 6) -> Any:
    """A stretched quadratic bowl: ``(u^2 + condition * v^2) / 2`` in axes ``(u, v)`` turned by ``angle``.

    The curvature is 1 along ``u`` and ``condition`` along ``v``, so the condition number of the Hessian is
    ``condition``. Gradient descent needs ``lr < 2 / condition`` not to diverge along ``v``, and then moves only
    ``lr`` of the way along ``u`` per step: the larger the condition number, the slower. Minimum 0 at the origin.
    Turning the axes (``angle``) keeps per-coordinate methods (Adagrad, RMSprop, Adam) from simply rescaling
    ``x`` and ``y`` to undo the stretch.
    """
    u, v = _rotated(x, y, angle)
    return (u ** 2 + condition * v ** 2) / 2


def ill_conditioned_bowl_grad(x: Any, y: Any, condition: float = 50.0,
                              angle: float = math.pi / 6) -> tuple[Any, Any]:
    """``(df/dx, df/dy)`` of :func:`ill_conditioned_bowl`: the chain rule through the rotation,
    ``df/dx = u cos(angle) - condition v sin(angle)``, ``df/dy = u sin(angle) + condition v cos(angle)``."""
    u, v = _rotated(x, y, angle)
    c, s = math.cos(angle), math.sin(angle)
    return c * u - s * condition * v, s * u + c * condition * v


# ---------------------------------------------------------------------- the surfaces, ready to plot
@dataclass(frozen=True)
class Surface:
    """A 2-D test function with what is needed to race optimizers on it.

    Attributes:
        name: the key in :data:`SURFACES`.
        formula: the function in LaTeX, for titles.
        function: ``f(x, y)`` on arrays or scalar Tensors.
        grad: ``(df/dx, df/dy)`` on arrays.
        start: where a race starts.
        minima: the global minima, ``((x, y), ...)``, marked on plots.
        xlim, ylim: the window to draw.
    """

    name: str
    formula: str
    function: Callable[[Any, Any], Any]
    grad: Callable[[Any, Any], tuple[Any, Any]]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def value(self, x: Any, y: Any) -> Any:
        """``f(x, y)``: arrays of any (matching) shape, numbers, or scalar Tensors."""
        return self.function(x, y)

    def gradient(self, x: Any, y: Any) -> tuple[Any, Any]:
        """The hand-written gradient ``(df/dx, df/dy)`` at ``(x, y)`` (arrays or numbers)."""
        return self.grad(x, y)

    def loss(self, p: Tensor) -> Tensor:
        """``f(p[0], p[1])`` for a Tensor ``p`` of shape ``(2,)``: a scalar Tensor with an autograd graph."""
        if not isinstance(p, Tensor):
            raise TypeError(f"{self.name}.loss: p must be a Tensor of shape (2,), got {type(p).__name__}")
        if p.shape != (2,):
            raise ValueError(f"{self.name}.loss: p must have shape (2,) (the point (x, y)), got shape {p.shape}")
        return self.function(p[0], p[1])

    def grid(self, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, Z)``, each ``(resolution, resolution)``: the function on a grid covering ``xlim x ylim``."""
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
            raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
        X, Y = np.meshgrid(np.linspace(*self.xlim, resolution), np.linspace(*self.ylim, resolution))
        return X, Y, self.function(X, Y)

    def levels(self, count: int = 25) -> np.ndarray:
        """``count + 1`` contour levels: the lowest value on the grid, then ``count`` levels log-spaced above it
        (from 1e-3 above to the highest value), so the rings crowd where the minimum is."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 2:
            raise ValueError(f"count must be an int >= 2, got {count!r}")
        _, _, Z = self.grid(120)
        low, high = float(Z.min()), float(Z.max())
        return low + np.r_[0.0, np.geomspace(1e-3, max(high - low, 2e-3), count)]


SURFACES: dict[str, Surface] = {
    "rosenbrock": Surface("rosenbrock", r"$(1-x)^2 + 100\,(y-x^2)^2$", rosenbrock, rosenbrock_grad,
                          start=(-1.2, 1.0), minima=((1.0, 1.0),), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0)),
    "saddle": Surface("saddle", r"$x^2 + (y^2-1)^2/4$", saddle, saddle_grad,
                      start=(-1.8, 0.005), minima=((0.0, -1.0), (0.0, 1.0)), xlim=(-2.0, 2.0),
                      ylim=(-1.6, 1.6)),
    "bowl": Surface("bowl", r"$(u^2 + 50\,v^2)/2$, axes turned by 30°", ill_conditioned_bowl,
                    ill_conditioned_bowl_grad, start=(-2.0, -0.8), minima=((0.0, 0.0),), xlim=(-2.5, 2.5),
                    ylim=(-2.0, 2.0)),
}
"""The three surfaces of the optimizer race, by name."""
