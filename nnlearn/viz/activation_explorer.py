"""The activation explorer: an activation function, its derivative, and what it does to a layer's outputs.

Three panels, side by side:

1. the function ``f(z)``, with the range of pre-activations ``z`` that the chosen layer actually sees shaded
   (its 5th to 95th percentile), so you can read off whether the layer works in the flat, saturated parts;
2. its derivative ``f'(z)``, computed by autograd (not typed in by hand), the factor by which the function
   scales every gradient that flows back through it;
3. a histogram of the chosen layer's activations ``f(z)`` in a deep stack of random linear layers
   ``z = h W^T`` with ``W ~ N(0, gain^2 / width)``, fed standard normal inputs.

The functions are those of :mod:`nnlearn.functional`; two of them have a parameter (``leaky_relu``'s
``negative_slope``, ``elu``'s ``alpha``). :class:`ActivationExplorer` puts all of it behind a dropdown and
sliders; :func:`activation_and_derivative` and :func:`layer_activations` are the computations it draws, usable
on their own. matplotlib and ipywidgets are imported only when something is drawn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import functional as F
from ..autograd import no_grad
from ..data._checks import resolve_rng
from ..tensor import Tensor
from .explorer import PictureExplorer

__all__ = ["ACTIVATIONS", "ActivationExplorer", "activation_and_derivative", "layer_activations"]


@dataclass(frozen=True)
class _Activation:
    """One elementwise activation: how to call it, and its numeric parameter if it has one."""

    function: Callable[[Tensor, float | None], Tensor]
    param_name: str | None = None
    param_default: float | None = None
    param_range: tuple[float, float] | None = None  # what the explorer's slider offers


ACTIVATIONS: dict[str, _Activation] = {
    "relu": _Activation(lambda z, p: F.relu(z)),
    "leaky_relu": _Activation(lambda z, p: F.leaky_relu(z, p), "negative_slope", 0.01, (0.0, 0.5)),
    "elu": _Activation(lambda z, p: F.elu(z, p), "alpha", 1.0, (0.1, 3.0)),
    "gelu": _Activation(lambda z, p: F.gelu(z)),
    "sigmoid": _Activation(lambda z, p: F.sigmoid(z)),
    "tanh": _Activation(lambda z, p: F.tanh(z)),
}

# A gradient factor below this is counted as "blocked": the gradient through that unit has all but vanished.
BLOCKED = 0.01


# ---------------------------------------------------------------------- argument checks
def _check_activation(name: Any, fn: str) -> _Activation:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{fn}: activation must be one of {list(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def _resolve_param(name: str, param: Any, fn: str) -> float | None:
    """The parameter to use: the default when ``param`` is None; an error if the function has none."""
    spec = ACTIVATIONS[name]
    if spec.param_name is None:
        if param is not None:
            raise ValueError(f"{fn}: {name} has no parameter, got param={param!r}; pass param=None")
        return None
    if param is None:
        return spec.param_default
    if isinstance(param, bool) or not isinstance(param, (int, float, np.integer, np.floating)) \
            or not math.isfinite(param):
        raise TypeError(f"{fn}: param ({name}'s {spec.param_name}) must be a finite number, got {param!r}")
    if name == "elu" and param <= 0:
        raise ValueError(f"{fn}: elu's alpha must be > 0, got {param}")
    return float(param)


def _check_positive_int(value: Any, name: str, fn: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{fn}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_gain(gain: Any, fn: str) -> float:
    if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)) \
            or not (math.isfinite(gain) and gain > 0):
        raise ValueError(f"{fn}: gain must be a finite number > 0, got {gain!r}")
    return float(gain)


# ---------------------------------------------------------------------- the computations
def activation_and_derivative(name: str, z: Any, param: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``f(z)`` and ``f'(z)`` for the activation ``name``, elementwise; the derivative comes from autograd.

    Args:
        name: one of :data:`ACTIVATIONS` (``"relu"``, ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"sigmoid"``,
            ``"tanh"``).
        z: points ``(*)`` (array-like), evaluated in float64.
        param: ``negative_slope`` for leaky_relu, ``alpha`` for elu (None: PyTorch's default); None otherwise.

    Returns:
        ``(f(z), f'(z))``, two float64 arrays of the shape of ``z``. Because the function is elementwise, the
        gradient of ``sum(f(z))`` with respect to ``z`` is exactly ``f'(z)`` at every point.
    """
    spec = _check_activation(name, "activation_and_derivative")
    param = _resolve_param(name, param, "activation_and_derivative")
    points = np.asarray(z.data if isinstance(z, Tensor) else z)
    if points.dtype.kind not in "biuf":
        raise TypeError(f"activation_and_derivative: z must hold numbers, got dtype {points.dtype}")
    z_t = Tensor(points.astype(np.float64), requires_grad=True)
    out = spec.function(z_t, param)
    out.sum().backward()
    return out.data.copy(), z_t.grad.copy()


def _random_weights(depth: int, width: int, n_samples: int, seed: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """Standard normal inputs ``(n_samples, width)`` and ``depth`` standard normal matrices ``(width, width)``."""
    rng = resolve_rng(seed)
    inputs = rng.standard_normal((n_samples, width))
    weights = [rng.standard_normal((width, width)) for _ in range(depth)]
    return inputs, weights


def _forward(name: str, param: float | None, gain: float, inputs: np.ndarray,
             weights: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(z_1, f(z_1)), (z_2, f(z_2)), ...]``: every layer's pre-activations and activations."""
    spec = ACTIVATIONS[name]
    width = inputs.shape[1]
    scale = gain / math.sqrt(width)  # W ~ N(0, gain^2 / fan_in): gain 1 keeps Var(z) = E[h^2] of the layer below
    layers = []
    h = Tensor(inputs)
    with no_grad():
        for w in weights:
            z = h @ Tensor(w.T * scale)
            h = spec.function(z, param)
            layers.append((z.data, h.data))
    return layers


def layer_activations(name: str, param: float | None = None, gain: float = 1.0, depth: int = 6,
                      width: int = 256, n_samples: int = 256, seed: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Push standard normal inputs through ``depth`` random layers ``z = h W^T``, ``h = f(z)`` and record them.

    Args:
        name, param: the activation, as in :func:`activation_and_derivative`.
        gain: the weight scale: ``W ~ N(0, gain^2 / width)`` (1 keeps ``Var(z)`` equal to the mean square
            of the layer's input; chapter 8 derives the gains that keep it steady through many layers).
        depth, width, n_samples: the number of layers, units per layer, and input rows.
        seed: None draws from the library generator (``nnlearn.manual_seed`` makes it repeatable); an int
            gives the same weights whatever the global state.

    Returns:
        ``[(z_1, h_1), ..., (z_depth, h_depth)]``, each array ``(n_samples, width)`` float64: the
        pre-activations and activations of every layer, first layer first.
    """
    fn = "layer_activations"
    _check_activation(name, fn)
    param = _resolve_param(name, param, fn)
    gain = _check_gain(gain, fn)
    depth = _check_positive_int(depth, "depth", fn)
    width = _check_positive_int(width, "width", fn)
    n_samples = _check_positive_int(n_samples, "n_samples", fn)
    inputs, weights = _random_weights(depth, width, n_samples, seed)
    return _forward(name, param, gain, inputs, weights)


# ---------------------------------------------------------------------- the widget
class ActivationExplorer(PictureExplorer):
    """Pick an activation and its parameter, a weight scale and a layer; see ``f``, ``f'`` and the layer's outputs.

    Args:
        activation: the starting function, a key of :data:`ACTIVATIONS`.
        param: its parameter (``negative_slope`` or ``alpha``; None: the default).
        gain: the starting weight scale (``W ~ N(0, gain^2 / width)``).
        layer: which layer's activations the histogram shows, 1..depth (default: the last).
        depth, width, n_samples: the random network (drawn once, so only the controls change the picture).
        seed: for the random network, as in :func:`layer_activations`.
        z_range: the interval of ``z`` on which ``f`` and ``f'`` are drawn.

    In Jupyter, display the explorer (make it the last line of a cell): the controls appear above a picture
    that is redrawn when they move. The picture is an ordinary image output, so the saved notebook and the
    rendered book keep the starting state. Anywhere else :meth:`show_static` returns the figure.

    Attributes:
        figure: the matplotlib Figure (three panels: function, derivative, histogram).
        activation_dropdown, param_slider, gain_slider, layer_slider: the ipywidgets controls (None without
            ipywidgets); setting their ``value`` redraws, as moving them does. The parameter slider is
            disabled for functions without a parameter.
        stats: what the histogram's title reports, a dict with ``mean``, ``std`` of the activations and
            ``blocked``, the fraction of the layer's values (all samples, all units) whose gradient factor
            ``|f'(z)|`` is below 0.01.
    """

    def __init__(self, activation: str = "relu", param: float | None = None, gain: float = 1.0,
                 layer: int | None = None, depth: int = 6, width: int = 256, n_samples: int = 256,
                 seed: Any = None, z_range: tuple[float, float] = (-5.0, 5.0)) -> None:
        fn = "ActivationExplorer"
        _check_activation(activation, fn)
        self.depth = _check_positive_int(depth, "depth", fn)
        width = _check_positive_int(width, "width", fn)
        n_samples = _check_positive_int(n_samples, "n_samples", fn)
        if (not isinstance(z_range, (tuple, list)) or len(z_range) != 2
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in z_range)
                or not z_range[0] < z_range[1]):
            raise ValueError(f"{fn}: z_range must be a pair (low, high) of finite numbers with low < high, "
                             f"got {z_range!r}")
        self.z = np.linspace(float(z_range[0]), float(z_range[1]), 401)
        self._inputs, self._weights = _random_weights(self.depth, width, n_samples, seed)
        self._activation = activation
        self._params = {n: s.param_default for n, s in ACTIVATIONS.items()}  # each function keeps its own setting
        self._params[activation] = _resolve_param(activation, param, fn)
        self._gain = _check_gain(gain, fn)
        self._layer = self._check_layer(self.depth if layer is None else layer, fn)
        self._display = None  # the IPython display handle of the picture, once the explorer is displayed
        self._compute()
        self.figure = self._build_figure()
        self.activation_dropdown = self.param_slider = self.gain_slider = self.layer_slider = None
        self._build_controls()

    # ------------------------------------------------------------------ state
    @property
    def activation(self) -> str:
        return self._activation

    @property
    def param(self) -> float | None:
        return self._params[self._activation]

    @property
    def gain(self) -> float:
        return self._gain

    @property
    def layer(self) -> int:
        return self._layer

    def _check_layer(self, layer: Any, fn: str) -> int:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 1 <= layer <= self.depth:
            raise ValueError(f"{fn}: layer must be an int in [1, {self.depth}], got {layer!r}")
        return int(layer)

    def select(self, activation: str | None = None, param: float | None = None, gain: float | None = None,
               layer: int | None = None) -> None:
        """Change the choice (what moving the controls does) and redraw. A new activation comes with the
        parameter it had last (its default at first) unless ``param`` is given too."""
        fn = "ActivationExplorer.select"
        if activation is not None:
            _check_activation(activation, fn)
        name = self._activation if activation is None else activation
        new_param = self._params[name] if param is None else _resolve_param(name, param, fn)
        new_gain = self._gain if gain is None else _check_gain(gain, fn)
        new_layer = self._layer if layer is None else self._check_layer(layer, fn)
        # everything was checked before anything changes: a bad value leaves the explorer as it was
        self._activation, self._params[name], self._gain, self._layer = name, new_param, new_gain, new_layer
        self._compute()
        self._sync_controls()
        self._redraw()

    def _compute(self) -> None:
        """The curves and the chosen layer's values for the current choice."""
        self.f, self.df = activation_and_derivative(self._activation, self.z, self.param)
        layers = _forward(self._activation, self.param, self._gain, self._inputs, self._weights)
        self.pre_activations, self.activations = layers[self._layer - 1]
        _, slope = activation_and_derivative(self._activation, self.pre_activations, self.param)
        self.stats = {"mean": float(self.activations.mean()), "std": float(self.activations.std()),
                      "blocked": float(np.mean(np.abs(slope) < BLOCKED))}

    # ------------------------------------------------------------------ drawing
    def _label(self) -> str:
        spec = ACTIVATIONS[self._activation]
        if spec.param_name is None:
            return self._activation
        return f"{self._activation} ({spec.param_name}={self.param:g})"

    def _draw_panels(self) -> None:
        ax_f, ax_df, ax_hist = self.figure.axes[:3]
        low, high = np.percentile(self.pre_activations, [5, 95])
        for ax, values, title in ((ax_f, self.f, f"{self._label()}: $f(z)$"), (ax_df, self.df, "$f'(z)$ (autograd)")):
            ax.clear()
            ax.axhline(0, color="0.7", lw=0.8)
            ax.axvline(0, color="0.7", lw=0.8)
            ax.axvspan(max(low, self.z[0]), min(high, self.z[-1]), color="tab:orange", alpha=0.15,
                       label=f"layer {self._layer}'s $z$ (5-95%)")
            ax.plot(self.z, values, color="tab:blue", lw=2)
            ax.set_xlim(self.z[0], self.z[-1])
            ax.set_xlabel("$z$")
            ax.set_title(title, fontsize=10)
        ax_f.legend(loc="upper left", fontsize=8)
        ax_hist.clear()
        ax_hist.hist(self.activations.ravel(), bins=60, color="tab:orange", edgecolor="none")
        ax_hist.set_xlabel(f"$f(z)$ in layer {self._layer} of {self.depth}")
        ax_hist.set_ylabel("count")
        ax_hist.set_title(f"gain {self._gain:g}: mean {self.stats['mean']:.2f}, std {self.stats['std']:.2f}\n"
                          f"$|f'(z)| < {BLOCKED}$ for {100 * self.stats['blocked']:.0f}% of the values", fontsize=10)

    def _build_figure(self) -> Any:
        # A Figure that pyplot does not manage: the inline backend must not show it a second time.
        from matplotlib.figure import Figure

        figure = Figure(figsize=(12, 3.6), layout="constrained")
        figure.subplots(1, 3)
        self.figure = figure
        self._draw_panels()
        return figure

    def _redraw(self) -> None:
        self._draw_panels()
        self._update_picture()

    # ------------------------------------------------------------------ controls
    def _param_slider_settings(self) -> dict[str, Any]:
        spec = ACTIVATIONS[self._activation]
        if spec.param_name is None:
            return {"description": "(no param)", "disabled": True}
        low, high = spec.param_range
        return {"description": spec.param_name, "disabled": False, "min": low, "max": high}

    def _build_controls(self) -> None:
        try:
            import ipywidgets
        except ImportError:  # no widgets: the explorer still works through select() and show_static()
            return
        self._syncing = False
        self.activation_dropdown = ipywidgets.Dropdown(options=list(ACTIVATIONS), value=self._activation,
                                                       description="activation")
        self.param_slider = ipywidgets.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.01,
                                                   continuous_update=False, style={"description_width": "initial"})
        self.gain_slider = ipywidgets.FloatLogSlider(value=self._gain, base=10, min=-1, max=1, step=0.05,
                                                     description="gain", continuous_update=False)
        self.layer_slider = ipywidgets.IntSlider(value=self._layer, min=1, max=self.depth, description="layer",
                                                 continuous_update=False)
        self._sync_controls()
        self.activation_dropdown.observe(lambda change: self._on_change(activation=change["new"]), names="value")
        self.param_slider.observe(lambda change: self._on_change(param=change["new"]), names="value")
        self.gain_slider.observe(lambda change: self._on_change(gain=change["new"]), names="value")
        self.layer_slider.observe(lambda change: self._on_change(layer=change["new"]), names="value")
        self.controls = ipywidgets.VBox([ipywidgets.HBox([self.activation_dropdown, self.param_slider]),
                                         ipywidgets.HBox([self.gain_slider, self.layer_slider])])

    def _on_change(self, **choice: Any) -> None:
        if self._syncing:  # ignore the echoes of _sync_controls setting the widgets
            return
        if "param" in choice and ACTIVATIONS[self._activation].param_name is None:
            return  # the disabled slider of a function without a parameter
        self.select(**choice)

    def _sync_controls(self) -> None:
        """Make the controls show the current choice (the parameter slider follows the function)."""
        if self.activation_dropdown is None:
            return
        self._syncing = True
        try:
            self.activation_dropdown.value = self._activation
            settings = self._param_slider_settings()
            slider = self.param_slider
            slider.description, slider.disabled = settings["description"], settings["disabled"]
            if not settings["disabled"]:
                # widen the range first so that setting min/max never clips the value on the way
                slider.min, slider.max = min(slider.min, settings["min"]), max(slider.max, settings["max"])
                slider.value = self.param
                slider.min, slider.max = settings["min"], settings["max"]
            self.gain_slider.value = self._gain
            self.layer_slider.value = self._layer
        finally:
            self._syncing = False

    def __repr__(self) -> str:
        return (f"ActivationExplorer(activation={self._activation!r}, param={self.param}, gain={self._gain:g}, "
                f"layer={self._layer} of {self.depth})")
