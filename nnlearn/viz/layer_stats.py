"""Layer statistics: how the activations and their gradients change from layer to layer of a deep network.

A deep network is trainable only when the signal going forward (the activations) and the signal coming back
(the gradients) keep a sensible size through all of its layers. Looking at both, layer by layer, is how
chapter 8 judges an initialisation:

* :func:`layer_stats` runs the model once forward and once backward and records, for every chosen layer, its
  output (with a forward hook, ``Module.register_forward_hook``) and the gradient of the loss with respect to
  that output (with ``Tensor.retain_grad()``), as a :class:`LayerStats`;
* :func:`plot_layer_stats` draws the standard deviation (or the mean) of both, per layer, for one or several
  runs side by side: a flat line is healthy, a line that falls or climbs steadily is vanishing or exploding;
* :func:`plot_layer_histograms` draws the distribution of the values in a few layers (saturated tanh units
  pile up at -1 and +1, dead ReLUs at 0).

matplotlib is imported only when something is drawn.

>>> net = nn.Sequential(*[m for _ in range(10) for m in (nn.Linear(64, 64), nn.Tanh())])   # doctest: +SKIP
>>> stats = layer_stats(net, np.random.default_rng(0).standard_normal((256, 64)))        # doctest: +SKIP
>>> stats.activation_std                        # one number per Tanh layer               # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..autograd import no_grad
from ..device import to_device
from ..random import get_rng
from ..tensor import Tensor

__all__ = ["LayerStats", "layer_stats", "plot_layer_histograms", "plot_layer_stats"]

KINDS = ("activation", "gradient")
STATS = ("std", "mean")


# ---------------------------------------------------------------------- the record
@dataclass(frozen=True)
class LayerStats:
    """What :func:`layer_stats` recorded: one entry per layer call, in the order the layers ran.

    Attributes:
        names: the layers' dotted names from ``model.named_modules()`` (``"1"``, ``"3"``, ... in a
            ``Sequential``); a layer that ran more than once gets ``" (call k)"`` added for its later calls.
        kinds: the layers' class names (``"Tanh"``, ``"ReLU"``, ...).
        activations: each layer's output, ``(N, ...)`` NumPy arrays (copies on the host).
        gradients: the gradient of the loss with respect to each output, same shapes, or None where no
            gradient was computed (``with_gradients=False``) or none reached the layer.
        loss: the value that was back-propagated (None without gradients).
        parameter_grad_norms: ``{parameter name: L2 norm of its gradient}`` from the same backward pass (empty
            without gradients): how big an update each weight matrix would get.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    activations: tuple[np.ndarray, ...]
    gradients: tuple[np.ndarray | None, ...]
    loss: float | None = None
    parameter_grad_norms: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    # Statistics over *all* values of a layer (every sample and every unit together), in float64.
    @staticmethod
    def _per_layer(arrays: Sequence[np.ndarray | None], statistic: Callable[[np.ndarray], float]) -> np.ndarray:
        return np.array([np.nan if a is None else statistic(a.astype(np.float64, copy=False)) for a in arrays])

    @property
    def activation_mean(self) -> np.ndarray:
        """``(L,)``: the mean of each layer's output."""
        return self._per_layer(self.activations, np.mean)

    @property
    def activation_std(self) -> np.ndarray:
        """``(L,)``: the standard deviation of each layer's output."""
        return self._per_layer(self.activations, np.std)

    @property
    def gradient_mean(self) -> np.ndarray:
        """``(L,)``: the mean of the gradient with respect to each layer's output (NaN where there is none)."""
        return self._per_layer(self.gradients, np.mean)

    @property
    def gradient_std(self) -> np.ndarray:
        """``(L,)``: the standard deviation of the gradient with respect to each layer's output (NaN where
        there is none). Backpropagation multiplies the gradient layer by layer, so this is where vanishing
        and exploding gradients show."""
        return self._per_layer(self.gradients, np.std)

    def fraction_where(self, condition: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``(L,)``: the fraction of each layer's outputs for which ``condition(values)`` is True, e.g.
        ``stats.fraction_where(lambda a: np.abs(a) > 0.99)`` (saturated tanh) or ``lambda a: a == 0`` (ReLUs
        that are off)."""
        if not callable(condition):
            raise TypeError(f"condition must be a function of an array returning booleans, "
                            f"got {type(condition).__name__}")
        return self._per_layer(self.activations, lambda a: float(np.mean(condition(a))))

    def statistic(self, kind: str, stat: str) -> np.ndarray:
        """``(L,)``: ``stat`` (``"std"`` or ``"mean"``) of ``kind`` (``"activation"`` or ``"gradient"``)."""
        _check_choice(kind, KINDS, "kind", "LayerStats.statistic")
        _check_choice(stat, STATS, "stat", "LayerStats.statistic")
        return getattr(self, f"{kind}_{stat}")

    def table(self) -> str:
        """A text table, one row per layer: name, kind, activation mean and std, gradient std."""
        act_mean, act_std, grad_std = self.activation_mean, self.activation_std, self.gradient_std
        rows = [f"{'layer':>6} {'name':<12} {'kind':<10} {'act mean':>10} {'act std':>10} {'grad std':>10}"]
        for i, (name, kind) in enumerate(zip(self.names, self.kinds)):
            rows.append(f"{i + 1:>6} {name:<12} {kind:<10} {act_mean[i]:>10.3g} {act_std[i]:>10.3g} "
                        f"{grad_std[i]:>10.3g}")
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"LayerStats({len(self)} layers: {', '.join(self.names[:4])}{', ...' if len(self) > 4 else ''})"


# ---------------------------------------------------------------------- recording
def _check_choice(value: Any, choices: Sequence[str], name: str, fn: str) -> str:
    if value not in choices:
        raise ValueError(f"{fn}: {name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def _activation_types() -> tuple[type, ...]:
    from ..nn import activation

    return (activation.ReLU, activation.LeakyReLU, activation.ELU, activation.GELU, activation.Sigmoid,
            activation.Tanh)


def _select_layers(model: Any, layers: Any) -> list[tuple[str, Any]]:
    """``(name, module)`` pairs to record, from the ``layers`` argument of :func:`layer_stats`."""
    if not callable(getattr(model, "named_modules", None)):
        raise TypeError(f"layer_stats: model must be an nn.Module, got {type(model).__name__}")
    named = [(name, module) for name, module in model.named_modules() if name]  # "" is the model itself
    leaves = [(name, module) for name, module in named if not any(True for _ in module.children())]
    if not named:  # a single layer used as the whole model
        leaves = named = [(type(model).__name__, model)]
    if layers is None:
        chosen = [(n, m) for n, m in leaves if isinstance(m, _activation_types())]
        return chosen or leaves  # no activation layers (a linear model): every layer
    if isinstance(layers, type) or (isinstance(layers, tuple) and layers and all(isinstance(t, type) for t in layers)):
        chosen = [(n, m) for n, m in named if isinstance(m, layers)]
        if not chosen:
            wanted = layers.__name__ if isinstance(layers, type) else ", ".join(t.__name__ for t in layers)
            raise ValueError(f"layer_stats: the model has no layer of type {wanted}; its layers are "
                             f"{[(n, type(m).__name__) for n, m in leaves]}")
        return chosen
    if isinstance(layers, str) or not isinstance(layers, Sequence):
        raise TypeError(f"layer_stats: layers must be None, a Module type (or a tuple of types) or a list of layer "
                        f"names, got {type(layers).__name__}")
    by_name = dict(named)
    unknown = [name for name in layers if name not in by_name]
    if unknown:
        raise ValueError(f"layer_stats: no layers named {unknown} in the model; its layers are "
                         f"{[n for n, _ in named]}")
    if not layers:
        raise ValueError("layer_stats: layers is an empty list; name at least one layer")
    return [(name, by_name[name]) for name in layers]


def _host(array: Any) -> np.ndarray:
    return np.array(to_device(array, "cpu"))  # a copy: later forward passes must not change what we keep


def _model_device(parameters: list[tuple[str, Tensor]]) -> str:
    return parameters[0][1].device if parameters else "cpu"


def _parameter_dtype(model: Any) -> np.dtype | None:
    for parameter in model.parameters():
        return parameter.dtype
    return None


def layer_stats(model: Any, x: Any, layers: Any = None, loss_fn: Callable | None = None, target: Any = None,
                with_gradients: bool = True) -> LayerStats:
    """Run ``model`` on ``x`` forward and backward and record each chosen layer's output and its gradient.

    Args:
        model: an ``nn.Module``.
        x: the input batch ``(N, ...)`` (array or Tensor); converted to the dtype of the model's parameters.
        layers: which layers to record: None (default) for every activation layer (ReLU, Tanh, ...; every
            layer without sub-layers if there is none), a Module type or tuple of types (e.g. ``nn.Linear``), or
            a list of names from ``model.named_modules()``.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor`` to back-propagate. Without one, the output is
            back-propagated with a gradient of independent standard normal numbers (drawn from the library's
            generator, so ``nnlearn.manual_seed`` repeats it): as if some loss sent back unit-variance
            gradients, which keeps the comparison between initialisations about the network alone.
        target: the targets for ``loss_fn``.
        with_gradients: False records only the activations (no backward pass, less memory).

    Returns:
        A :class:`LayerStats`.

    The model runs in its current mode (``train()`` or ``eval()``). It is left as it was: the hooks are removed
    even if the forward pass fails, and the gradients this backward pass puts on its parameters are taken off
    again (whatever ``.grad`` they held before is restored).
    """
    fn = "layer_stats"
    chosen = _select_layers(model, layers)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"{fn}: loss_fn must be callable, e.g. nn.CrossEntropyLoss(), got {type(loss_fn).__name__}")
    if loss_fn is not None and target is None:
        raise ValueError(f"{fn}: loss_fn needs the targets: pass target=")
    if not isinstance(with_gradients, (bool, np.bool_)):
        raise TypeError(f"{fn}: with_gradients must be True or False, got {with_gradients!r}")
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.ndim == 0 or data.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: x must be a numeric batch (N, ...), got "
                         f"{'a scalar' if data.ndim == 0 else f'dtype {data.dtype}'}")
    dtype = _parameter_dtype(model)
    if dtype is not None and data.dtype != dtype:
        data = data.astype(dtype)  # float64 inputs must not meet float32 weights (and vice versa)
    elif data.dtype.kind != "f":
        data = data.astype(np.float32)

    recorded: list[tuple[str, str, Tensor]] = []
    calls: dict[str, int] = {}

    def make_hook(name: str) -> Callable:
        def hook(module: Any, inputs: tuple, output: Any) -> None:
            if not isinstance(output, Tensor):
                raise TypeError(f"{fn}: layer {name!r} returned a {type(output).__name__}, not a Tensor")
            calls[name] = calls.get(name, 0) + 1
            label = name if calls[name] == 1 else f"{name} (call {calls[name]})"
            if output.requires_grad:
                output.retain_grad()  # keep d loss / d output on this intermediate tensor after backward()
            recorded.append((label, type(module).__name__, output))
        return hook

    handles = [module.register_forward_hook(make_hook(name)) for name, module in chosen]
    parameters = list(model.named_parameters())
    saved_grads = [p.grad for _, p in parameters]
    loss_value, grad_norms = None, {}
    try:
        if with_gradients:
            # The input requires grad too, so that layers with no parameters before them (an activation
            # applied straight to the input) are part of the graph and get their gradient.
            inputs = Tensor(data, requires_grad=data.dtype.kind == "f")
            inputs = inputs.to(_model_device(parameters))
            for _, p in parameters:
                p.grad = None
            output = model(inputs)
            if loss_fn is not None:
                target_t = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
                loss = loss_fn(output, target_t.to(inputs.device))
                if not isinstance(loss, Tensor) or loss.size != 1:
                    raise ValueError(f"{fn}: loss_fn must return a single-number Tensor, got "
                                     f"{getattr(loss, 'shape', type(loss).__name__)}")
                loss.backward()
                loss_value = float(loss.item())
            else:
                upstream = get_rng().standard_normal(output.shape).astype(output.dtype)
                output.backward(upstream)
                loss_value = float(np.sum(_host(output.data).astype(np.float64) * upstream))
            grad_norms = {name: float(np.linalg.norm(_host(p.grad).astype(np.float64)))
                          for name, p in parameters if p.grad is not None}
        else:
            with no_grad():
                model(Tensor(data).to(_model_device(parameters)))
    finally:
        for handle in handles:
            handle.remove()
        for (_, p), grad in zip(parameters, saved_grads):
            p.grad = grad

    if not recorded:
        raise ValueError(f"{fn}: none of the chosen layers {[n for n, _ in chosen]} ran in the forward pass")
    names, kinds, outputs = zip(*recorded)
    activations = tuple(_host(t.data) for t in outputs)
    gradients = tuple(None if t.grad is None else _host(t.grad) for t in outputs) if with_gradients \
        else (None,) * len(outputs)
    for t in outputs:  # drop the references to the graph's tensors' gradients: we keep our own copies
        t.grad = None
    return LayerStats(names=tuple(names), kinds=tuple(kinds), activations=activations, gradients=gradients,
                      loss=loss_value, parameter_grad_norms=grad_norms)


# ---------------------------------------------------------------------- plotting
def _as_runs(stats: Any, fn: str) -> dict[str, LayerStats]:
    """One LayerStats, or a mapping label -> LayerStats, as a dict (label "" for a single run)."""
    if isinstance(stats, LayerStats):
        return {"": stats}
    if isinstance(stats, Mapping) and stats and all(isinstance(v, LayerStats) for v in stats.values()):
        return {str(k): v for k, v in stats.items()}
    raise TypeError(f"{fn}: stats must be a LayerStats or a non-empty dict label -> LayerStats, "
                    f"got {type(stats).__name__}")


def plot_layer_stats(stats: Any, stat: str = "std", kinds: Sequence[str] = KINDS, axes: Any = None,
                     logy: bool | None = None) -> Any:
    """Plot a per-layer statistic of the activations and of the gradients, one line per run.

    Args:
        stats: a :class:`LayerStats`, or a dict ``{label: LayerStats}`` to compare runs (e.g. initialisations).
        stat: ``"std"`` (default) or ``"mean"``.
        kinds: the panels, a subset of ``("activation", "gradient")``.
        axes: matplotlib Axes to draw into, one per kind (default: a new figure).
        logy: logarithmic y axis (default: True for ``"std"``, where vanishing and exploding are straight
            lines, False for ``"mean"``).

    Returns:
        The matplotlib Figure. The x axis counts the recorded layers from 1 (the first is nearest the input).
    """
    fn = "plot_layer_stats"
    runs = _as_runs(stats, fn)
    _check_choice(stat, STATS, "stat", fn)
    kinds = tuple([kinds] if isinstance(kinds, str) else kinds)
    if not kinds:
        raise ValueError(f"{fn}: kinds must name at least one of {KINDS}")
    for kind in kinds:
        _check_choice(kind, KINDS, "kinds", fn)
    logy = (stat == "std") if logy is None else bool(logy)
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 3.8), layout="constrained", squeeze=False)
        axes = axes[0]
    axes = np.atleast_1d(axes)
    if len(axes) != len(kinds):
        raise ValueError(f"{fn}: axes must hold one Axes per kind ({len(kinds)}), got {len(axes)}")
    for ax, kind in zip(axes, kinds):
        for label, run in runs.items():
            values = run.statistic(kind, stat)
            if logy:
                values = np.where(values > 0, values, np.nan)  # a zero std (dead network) cannot sit on a log axis
            ax.plot(np.arange(1, len(run) + 1), values, marker="o", markersize=3, label=label or None)
        ax.set_xlabel("layer")
        ax.set_ylabel(f"{stat} of the {kind}s" if kind == "activation" else f"{stat} of the gradient")
        ax.set_title(f"{kind}s" if kind == "activation" else "gradients w.r.t. the activations")
        if logy:
            ax.set_yscale("log")
        if any(runs):
            ax.legend(fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
    return axes[0].figure


def _default_layers(n: int, count: int = 5) -> list[int]:
    return sorted(set(np.linspace(0, n - 1, min(count, n)).round().astype(int).tolist()))


def plot_layer_histograms(stats: Any, kind: str = "activation", layers: Sequence[int] | None = None,
                          bins: int = 50, range: tuple[float, float] | None = None, axes: Any = None) -> Any:
    """Histograms of the values in a few layers: one row per run, one column per layer.

    Args:
        stats: a :class:`LayerStats` or a dict ``{label: LayerStats}`` (one row each).
        kind: ``"activation"`` (default) or ``"gradient"``.
        layers: indices into the recorded layers (0 is the first); default: up to five, evenly spread from
            the first to the last.
        bins: the number of bins.
        range: the ``(low, high)`` of the bins, shared by all panels (default: each panel its own).
        axes: a 2-D array of Axes ``(runs, layers)`` to draw into (default: a new figure).

    Returns:
        The matplotlib Figure. Each panel's title gives the layer and the standard deviation of its values.
    """
    fn = "plot_layer_histograms"
    runs = _as_runs(stats, fn)
    _check_choice(kind, KINDS, "kind", fn)
    n = min(len(run) for run in runs.values())
    if layers is None:
        layers = _default_layers(n)
    layers = list(layers)
    if not layers:
        raise ValueError(f"{fn}: layers must list at least one layer index")
    for i in layers:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise ValueError(f"{fn}: layers must be integer indices in [0, {n - 1}] (the recorded layers), got {i!r}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"{fn}: bins must be a positive int, got {bins!r}")
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(len(runs), len(layers), figsize=(2.6 * len(layers), 2.3 * len(runs)),
                               layout="constrained", squeeze=False)
    axes = np.asarray(axes, dtype=object).reshape(len(runs), len(layers))
    for row, (label, run) in zip(axes, runs.items()):
        arrays = run.activations if kind == "activation" else run.gradients
        for ax, i in zip(row, layers):
            values = arrays[i]
            if values is None:
                ax.text(0.5, 0.5, "no gradient", ha="center", va="center", transform=ax.transAxes)
            else:
                values = values.astype(np.float64).ravel()
                values = values[np.isfinite(values)]
                ax.hist(values, bins=bins, range=range, color="tab:blue" if kind == "activation" else "tab:orange")
                ax.set_title(f"layer {int(i) % len(run) + 1}: std {values.std():.2g}" if values.size
                             else f"layer {int(i) % len(run) + 1}", fontsize=9)
            ax.set_yticks([])
        if label:
            row[0].set_ylabel(label)
    return axes.flat[0].figure
