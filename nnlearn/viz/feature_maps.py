"""Feature maps: what each layer of a convolutional network computes for one image.

A convolution layer with ``C_out`` filters turns an image into ``C_out`` new images, one per filter: its
*feature maps*. Looking at them is the quickest way to see what a trained network responds to (edges in one
direction, strokes, blobs) and how the maps get coarser and more abstract layer after layer.

* :func:`feature_maps` runs the model once and returns every layer's output, recorded with forward hooks;
* :func:`plot_feature_maps` draws the input and the maps of one layer side by side (a static figure);
* :class:`FeatureMapExplorer` is the same as a widget: a dropdown for the layer, sliders for the channel and
  for the image. In Jupyter the picture under the controls is redrawn when they move; the picture is an
  ordinary image output, so the saved notebook and the rendered book show the explorer's starting state
  even without a running kernel.

matplotlib and ipywidgets are imported only when something is drawn.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .explorer import PictureExplorer

__all__ = ["FeatureMapExplorer", "feature_maps", "plot_feature_maps"]


# ---------------------------------------------------------------------- recording the activations
def _as_images(images: Any, name: str, fn: str) -> np.ndarray:
    """``images`` as a numeric NumPy array (a Tensor gives its data); shapes are checked by the caller."""
    array = images.data if isinstance(images, Tensor) else np.asarray(images)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must hold numbers, got an array of dtype {array.dtype}")
    return array


def _first_parameter(model: Any) -> Tensor | None:
    for parameter in model.parameters():
        return parameter
    return None


def _host(t: Tensor) -> np.ndarray:
    """A tensor's values in host memory (a copy from the GPU when it lives there)."""
    return t.cpu().data if getattr(t, "device", "cpu") != "cpu" else t.data


def _leaf_modules(model: Any) -> list[tuple[str, Any]]:
    """The modules that do the work: those without children (a Sequential's output is its last child's)."""
    if not callable(getattr(model, "named_modules", None)):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    leaves = [(name, module) for name, module in model.named_modules() if not any(True for _ in module.children())]
    return [(name or type(module).__name__, module) for name, module in leaves]


def feature_maps(model: Any, image: Any) -> dict[str, np.ndarray]:
    """Every layer's output for ``image``, in the order the layers ran.

    Args:
        model: an ``nn.Module``; each module without sub-modules (a layer) is recorded under its dotted name
            from ``model.named_modules()`` (``"0"``, ``"1"``, ... in a ``Sequential``).
        image: one image ``(C, H, W)`` or a batch ``(N, C, H, W)`` (array or Tensor).

    Returns:
        ``{layer name: activations}`` as NumPy arrays: ``(C_out, H_out, W_out)`` for a convolution or pooling
        layer given one image (``(N, C_out, H_out, W_out)`` for a batch), ``(D,)`` for a linear layer.

    The model runs once in evaluation mode (dropout off, batch norm with its running statistics) and without
    gradients; its mode is restored afterwards and the hooks are removed even if the forward pass fails.
    """
    array = _as_images(image, "image", "feature_maps")
    if array.ndim not in (3, 4):
        raise ValueError(f"feature_maps: image must have shape (C, H, W) or (N, C, H, W), got shape {array.shape}")
    single = array.ndim == 3
    batch = array[None] if single else array
    layers = _leaf_modules(model)  # checks that model is a Module before anything runs
    parameter = _first_parameter(model)
    if parameter is not None and batch.dtype != parameter.dtype:
        batch = batch.astype(parameter.dtype)  # the model's dtype: float64 images must not meet float32 weights
    x = Tensor(batch)
    device = getattr(parameter, "device", "cpu")
    if device != "cpu":
        x = x.to(device)  # a model moved to the GPU needs its input there too
    recorded: dict[str, np.ndarray] = {}

    def recorder(name: str):
        def hook(module: Any, inputs: tuple, output: Any) -> None:
            if isinstance(output, Tensor):
                recorded.pop(name, None)  # a layer used twice is recorded at its last use, in that position
                values = _host(output)
                recorded[name] = np.array(values[0] if single else values)

        return hook

    handles = [module.register_forward_hook(recorder(name)) for name, module in layers]
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
    return recorded


def _spatial_layers(maps: dict[str, np.ndarray]) -> list[str]:
    """The layers whose output for one image is a stack of 2-D maps ``(C, H, W)``."""
    return [name for name, value in maps.items() if value.ndim == 3]


def _layer_maps(maps: dict[str, np.ndarray], layer: str, fn: str) -> np.ndarray:
    if not isinstance(layer, str):
        raise TypeError(f"{fn}: layer must be a layer name (str), got {type(layer).__name__}")
    spatial = _spatial_layers(maps)
    if layer not in maps:
        raise ValueError(f"{fn}: the model has no layer {layer!r}; layers with feature maps: {spatial}")
    if layer not in spatial:
        raise ValueError(f"{fn}: layer {layer!r} gives activations of shape {maps[layer].shape}, not feature maps "
                         f"(C, H, W); layers with feature maps: {spatial}")
    return maps[layer]


# ---------------------------------------------------------------------- drawing
def _input_picture(image: np.ndarray) -> tuple[np.ndarray, str]:
    """What to show for an input ``(C, H, W)``: the grey image, an RGB image, or the first channel."""
    if image.shape[0] == 3:
        low, high = image.min(), image.max()
        return np.transpose((image - low) / (high - low if high > low else 1.0), (1, 2, 0)), "input"
    if image.shape[0] == 1:
        return image[0], "input"
    return image[0], f"input (channel 0 of {image.shape[0]})"


def _limit(values: np.ndarray) -> float:
    """Symmetric colour limits around 0: zero is white, positive red, negative blue, on every map."""
    largest = float(np.abs(values).max()) if values.size else 0.0
    return largest if largest > 0 else 1.0


def _draw_input(ax: Any, image: np.ndarray, title: str) -> Any:
    picture, label = _input_picture(image)
    shown = ax.imshow(picture, cmap="gray_r")
    ax.set_title(title or label, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def _draw_map(ax: Any, values: np.ndarray, title: str) -> Any:
    limit = _limit(values)
    shown = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def _check_channels(channels: Any, count: int, layer: str, fn: str) -> list[int]:
    if channels is None:
        return list(range(count))
    if isinstance(channels, (int, np.integer)) and not isinstance(channels, bool):
        channels = [channels]
    chosen = list(channels)
    for c in chosen:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < count:
            raise ValueError(f"{fn}: channels must be ints in [0, {count - 1}] (layer {layer!r} has {count} "
                             f"channels), got {c!r}")
    if not chosen:
        raise ValueError(f"{fn}: channels is empty; pass None for all {count} channels")
    return [int(c) for c in chosen]


def plot_feature_maps(model: Any, image: Any, layer: str, channels: Any = None, ncols: int = 8) -> Any:
    """Draw ``image`` and the feature maps that layer ``layer`` computes from it.

    Args:
        model: an ``nn.Module`` taking ``(N, C, H, W)`` images.
        image: one image ``(C, H, W)`` (or ``(1, C, H, W)``).
        layer: a layer name as :func:`feature_maps` reports it (e.g. ``"0"`` for the first layer of a
            ``Sequential``) whose output is a stack of maps.
        channels: which maps to draw: an int, a list of ints, or None for all of them.
        ncols: panels per row (the input takes the first panel).

    Returns:
        The matplotlib Figure: the input first, then one panel per channel. Each map has its own colour scale,
        symmetric around 0 (white): red is positive, blue negative.
    """
    array = _as_images(image, "image", "plot_feature_maps")
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"plot_feature_maps: image must be one image of shape (C, H, W) or (1, C, H, W), "
                         f"got shape {array.shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"plot_feature_maps: ncols must be an int >= 1, got {ncols!r}")
    maps = _layer_maps(feature_maps(model, array), layer, "plot_feature_maps")
    chosen = _check_channels(channels, maps.shape[0], layer, "plot_feature_maps")
    import matplotlib.pyplot as plt

    panels = 1 + len(chosen)
    cols = min(ncols, panels)
    rows = -(-panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.75 * rows + 0.4), squeeze=False,
                             layout="constrained")
    axes = axes.ravel()
    _draw_input(axes[0], array, "")
    for ax, c in zip(axes[1:], chosen):
        _draw_map(ax, maps[c], f"channel {c}")
    for ax in axes[panels:]:
        ax.axis("off")
    fig.suptitle(f"layer {layer!r}: {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}")
    return fig


# ---------------------------------------------------------------------- the widget
class FeatureMapExplorer(PictureExplorer):
    """Pick a layer, a channel and an image, and see that channel's feature map next to the image.

    Args:
        model: an ``nn.Module`` taking ``(N, C, H, W)`` images.
        images: ``(N, C, H, W)`` images to choose from.
        labels: optional ``(N,)`` labels, shown in the input's title.
        layer, channel, index: the starting choice (default: the first layer with feature maps, channel 0,
            image 0).

    In Jupyter, display the explorer (make it the last line of a cell): the controls appear above a picture
    that is redrawn when they move. The picture is an ordinary image output, so the saved notebook and the
    rendered book keep the starting state. Anywhere else :meth:`show_static` returns the figure.

    Attributes:
        figure: the matplotlib Figure that is shown (two panels: the input, the feature map).
        layer_dropdown, channel_slider, image_slider: the ipywidgets controls (None without ipywidgets);
            setting their ``value`` redraws, as moving them does.
        layers: the names of the layers that produce feature maps.
    """

    def __init__(self, model: Any, images: Any, labels: Any = None, layer: str | None = None, channel: int = 0,
                 index: int = 0) -> None:
        array = _as_images(images, "images", "FeatureMapExplorer")
        if array.ndim != 4 or len(array) == 0:
            raise ValueError(f"FeatureMapExplorer: images must have shape (N, C, H, W) with N >= 1, "
                             f"got shape {array.shape}")
        self.model = model
        self.images = array
        self.labels = None if labels is None else np.asarray(labels.data if isinstance(labels, Tensor) else labels)
        if self.labels is not None and self.labels.shape[:1] != (len(array),):
            raise ValueError(f"FeatureMapExplorer: labels must have shape (N,) = ({len(array)},) to match images, "
                             f"got shape {self.labels.shape}")
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        first = self._maps(0)
        self.layers = _spatial_layers(first)
        if not self.layers:
            raise ValueError("FeatureMapExplorer: no layer of the model outputs feature maps (C, H, W); "
                             f"its layers give {[(name, v.shape) for name, v in first.items()]}")
        self._kinds = {name: type(module).__name__ for name, module in _leaf_modules(model)}
        self._layer = self.layers[0] if layer is None else layer
        _layer_maps(first, self._layer, "FeatureMapExplorer")
        self._index = self._check_index(index)
        self._channel = _check_channels(channel, first[self._layer].shape[0], self._layer, "FeatureMapExplorer")[0]
        self._display = None  # the IPython display handle of the picture, once the explorer is displayed
        self.figure = self._build_figure()
        self.layer_dropdown = self.channel_slider = self.image_slider = None
        self._build_controls()

    # ------------------------------------------------------------------ state
    @property
    def layer(self) -> str:
        return self._layer

    @property
    def channel(self) -> int:
        return self._channel

    @property
    def index(self) -> int:
        return self._index

    def _check_index(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.images):
            raise ValueError(f"FeatureMapExplorer: index must be an int in [0, {len(self.images) - 1}], got {index!r}")
        return int(index)

    def _maps(self, index: int) -> dict[str, np.ndarray]:
        """Every layer's output for image ``index``, computed once per image."""
        if index not in self._cache:
            self._cache[index] = feature_maps(self.model, self.images[index])
        return self._cache[index]

    def current_map(self) -> np.ndarray:
        """The feature map on show: ``(H_out, W_out)``."""
        return self._maps(self._index)[self._layer][self._channel]

    def select(self, layer: str | None = None, channel: int | None = None, index: int | None = None) -> None:
        """Change the choice (what moving the controls does) and redraw. A new layer keeps the channel if it
        exists there, else shows channel 0."""
        if index is not None:
            self._index = self._check_index(index)
        maps = self._maps(self._index)
        if layer is not None:
            _layer_maps(maps, layer, "FeatureMapExplorer.select")
            self._layer = layer
        count = maps[self._layer].shape[0]
        if channel is not None:
            self._channel = _check_channels(channel, count, self._layer, "FeatureMapExplorer.select")[0]
        elif self._channel >= count:
            self._channel = 0
        self._sync_controls()
        self._redraw()

    # ------------------------------------------------------------------ drawing
    def _titles(self) -> tuple[str, str]:
        label = "" if self.labels is None else f", label {self.labels[self._index]}"
        count = self._maps(self._index)[self._layer].shape[0]
        kind = self._kinds.get(self._layer, "")
        return (f"image {self._index}{label}",
                f"layer {self._layer!r} ({kind}): channel {self._channel} of {count}")

    def _build_figure(self) -> Any:
        # A Figure that pyplot does not manage: the inline backend must not show it a second time.
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7.5, 3.4), layout="constrained")
        ax_in, ax_map = figure.subplots(1, 2)
        input_title, map_title = self._titles()
        self._input_artist = _draw_input(ax_in, self.images[self._index], input_title)
        self._map_artist = _draw_map(ax_map, self.current_map(), map_title)
        figure.colorbar(self._map_artist, ax=ax_map, shrink=0.8)
        return figure

    def _redraw(self) -> None:
        ax_in, ax_map = self.figure.axes[:2]
        input_title, map_title = self._titles()
        picture, _ = _input_picture(self.images[self._index])
        self._input_artist.set_data(picture)
        ax_in.set_title(input_title, fontsize=10)
        values = self.current_map()
        limit = _limit(values)
        self._map_artist.set_data(values)
        # A map of another size needs new bounds: imshow's extent is the pixel grid.
        self._map_artist.set_extent((-0.5, values.shape[1] - 0.5, values.shape[0] - 0.5, -0.5))
        ax_map.set_xlim(-0.5, values.shape[1] - 0.5)
        ax_map.set_ylim(values.shape[0] - 0.5, -0.5)
        self._map_artist.set_clim(-limit, limit)
        ax_map.set_title(map_title, fontsize=10)
        self._update_picture()

    # ------------------------------------------------------------------ controls
    def _build_controls(self) -> None:
        try:
            import ipywidgets
        except ImportError:  # no widgets: the explorer still works through select() and show_static()
            return
        options = [(f"{name} ({self._kinds.get(name, '')})", name) for name in self.layers]
        self.layer_dropdown = ipywidgets.Dropdown(options=options, value=self._layer, description="layer")
        self.channel_slider = ipywidgets.IntSlider(
            value=self._channel, min=0, max=self._maps(self._index)[self._layer].shape[0] - 1, description="channel",
            continuous_update=False)
        self.image_slider = ipywidgets.IntSlider(value=self._index, min=0, max=len(self.images) - 1,
                                                 description="image", continuous_update=False)
        self._syncing = False
        self.layer_dropdown.observe(lambda change: self._on_change(layer=change["new"]), names="value")
        self.channel_slider.observe(lambda change: self._on_change(channel=change["new"]), names="value")
        self.image_slider.observe(lambda change: self._on_change(index=change["new"]), names="value")
        self.controls = ipywidgets.HBox([self.layer_dropdown, self.channel_slider, self.image_slider])

    def _on_change(self, **choice: Any) -> None:
        if not self._syncing:  # ignore the echoes of _sync_controls setting the widgets
            self.select(**choice)

    def _sync_controls(self) -> None:
        """Make the controls show the current choice (a new layer can have another number of channels)."""
        if self.layer_dropdown is None:
            return
        self._syncing = True
        try:
            self.layer_dropdown.value = self._layer
            self.channel_slider.max = self._maps(self._index)[self._layer].shape[0] - 1
            self.channel_slider.value = self._channel
            self.image_slider.value = self._index
        finally:
            self._syncing = False

    def __repr__(self) -> str:
        return (f"FeatureMapExplorer({len(self.images)} images, layer={self._layer!r}, channel={self._channel}, "
                f"index={self._index}; layers with feature maps: {self.layers})")
