"""nnlearn.viz.feature_maps: recording layer outputs, the static figure and the explorer widget (Agg backend).

The model is built from simple layers whose feature maps are known in closed form: ``Scale`` turns a
1-channel image into 3 channels ``x * w_c + b_c``, ``Subsample`` keeps every second pixel.
"""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import nn
from nnlearn.viz import FeatureMapExplorer, feature_maps, plot_feature_maps

plt = pytest.importorskip("matplotlib.pyplot")

WEIGHTS = np.array([1.0, -1.0, 2.0], np.float32)
OFFSETS = np.array([0.0, 0.5, -0.25], np.float32)


class Scale(nn.Module):
    """(N, 1, H, W) -> (N, 3, H, W): channel c is x * WEIGHTS[c] + OFFSETS[c]."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(nnlearn.tensor(WEIGHTS.reshape(3, 1, 1)))
        self.bias = nn.Parameter(nnlearn.tensor(OFFSETS.reshape(3, 1, 1)))

    def forward(self, x):
        return x * self.weight + self.bias


class Subsample(nn.Module):
    """(N, C, H, W) -> (N, C, ceil(H/2), ceil(W/2)): every second row and column."""

    def forward(self, x):
        return x[:, :, ::2, ::2]


def make_model():
    return nn.Sequential(Scale(), nn.ReLU(), Subsample(), nn.Flatten(), nn.Dropout(0.5), nn.Linear(3 * 16, 4))


def expected_maps(image):
    """image: (1, H, W) -> the maps of layers '0' (Scale), '1' (ReLU) and '2' (Subsample)."""
    scaled = image * WEIGHTS[:, None, None] + OFFSETS[:, None, None]
    relu = np.maximum(scaled, 0)
    return {"0": scaled, "1": relu, "2": relu[:, ::2, ::2]}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def images(rng):
    return rng.normal(size=(5, 1, 8, 8)).astype(np.float32)


def shown(figure, panel):
    """The array drawn in panel ``panel`` of a figure."""
    return np.asarray(figure.axes[panel].images[0].get_array())


# ---------------------------------------------------------------------- feature_maps
def test_feature_maps_records_every_layer_in_order(images):
    model = make_model()
    maps = feature_maps(model, images[0])
    assert list(maps) == ["0", "1", "2", "3", "4", "5"]
    assert [maps[k].shape for k in maps] == [(3, 8, 8), (3, 8, 8), (3, 4, 4), (48,), (48,), (4,)]
    for name, value in expected_maps(images[0]).items():
        np.testing.assert_allclose(maps[name], value, rtol=1e-6, err_msg=f"layer {name}")
    # Dropout ran in evaluation mode (the identity), and the final output is the model's own.
    np.testing.assert_array_equal(maps["4"], maps["3"])
    model.eval()
    np.testing.assert_allclose(maps["5"], model(nnlearn.tensor(images[:1])).numpy()[0], rtol=1e-6)


def test_feature_maps_of_a_batch_keep_the_batch_axis_and_restore_the_model(images):
    model = make_model()
    model.train()
    model[4].eval()  # a mixed state must come back exactly as it was
    maps = feature_maps(model, nnlearn.tensor(images.astype(np.float64)))  # float64 in, float32 model
    assert maps["2"].shape == (5, 3, 4, 4) and maps["0"].dtype == np.float32
    np.testing.assert_allclose(maps["1"][3], expected_maps(images[3])["1"], rtol=1e-6)
    assert model.training and model[0].training and not model[4].training
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_feature_maps_remove_hooks_when_the_forward_pass_fails(images):
    model = make_model()
    with pytest.raises(Exception):
        feature_maps(model, images[0, :, :6, :6])  # 3 * 3 * 3 features do not fit Linear(48, 4)
    assert all(len(m._forward_hooks) == 0 for m in model.modules()) and model.training


def test_feature_maps_of_a_single_layer_model(images):
    maps = feature_maps(Scale(), images[1])
    assert list(maps) == ["Scale"]
    np.testing.assert_allclose(maps["Scale"], expected_maps(images[1])["0"], rtol=1e-6)


def test_feature_maps_bad_input(images):
    with pytest.raises(ValueError, match=r"image must have shape \(C, H, W\) or \(N, C, H, W\), got shape \(8, 8\)"):
        feature_maps(make_model(), images[0, 0])
    with pytest.raises(TypeError, match="model must be an nn.Module, got function"):
        feature_maps(lambda x: x, images[0])


# ---------------------------------------------------------------------- plot_feature_maps
def test_plot_feature_maps_draws_the_input_then_every_channel(images):
    fig = plot_feature_maps(make_model(), images[2], "1")
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 4
    np.testing.assert_array_equal(shown(fig, 0), images[2, 0])
    for c in range(3):
        np.testing.assert_allclose(shown(fig, 1 + c), expected_maps(images[2])["1"][c], rtol=1e-6)
        assert fig.axes[1 + c].get_title() == f"channel {c}"
    # Colour limits are symmetric about 0, so white always means zero.
    low, high = fig.axes[1].images[0].get_clim()
    assert low == -high and high > 0


def test_plot_feature_maps_chosen_channels_and_grid(images):
    fig = plot_feature_maps(make_model(), images[0][None], "2", channels=[2, 0], ncols=2)
    assert [ax.get_title() for ax in fig.axes if ax.images][1:] == ["channel 2", "channel 0"]
    assert shown(fig, 1).shape == (4, 4)
    assert len(fig.axes) == 4 and not fig.axes[3].axison  # a 2x2 grid with one empty cell switched off
    fig = plot_feature_maps(make_model(), images[0], "0", channels=1)
    np.testing.assert_allclose(shown(fig, 1), expected_maps(images[0])["0"][1], rtol=1e-6)


@pytest.mark.parametrize("layer, channels, message", [
    ("9", None, r"the model has no layer '9'; layers with feature maps: \['0', '1', '2'\]"),
    ("5", None, r"layer '5' gives activations of shape \(4,\), not feature maps"),
    ("1", [3], r"channels must be ints in \[0, 2\] \(layer '1' has 3 channels\), got 3"),
    ("1", [], "channels is empty"),
])
def test_plot_feature_maps_bad_choices(images, layer, channels, message):
    with pytest.raises(ValueError, match=message):
        plot_feature_maps(make_model(), images[0], layer, channels=channels)


def test_plot_feature_maps_needs_one_image(images):
    with pytest.raises(ValueError, match=r"one image of shape \(C, H, W\) or \(1, C, H, W\), got shape \(5, 1, 8, 8\)"):
        plot_feature_maps(make_model(), images, "0")


# ---------------------------------------------------------------------- FeatureMapExplorer
@pytest.fixture
def explorer(images):
    pytest.importorskip("ipywidgets")
    return FeatureMapExplorer(make_model(), images, labels=np.arange(10, 15))


def test_explorer_starts_on_the_first_layer_channel_and_image(explorer, images):
    assert explorer.layers == ["0", "1", "2"]
    assert (explorer.layer, explorer.channel, explorer.index) == ("0", 0, 0)
    np.testing.assert_array_equal(shown(explorer.figure, 0), images[0, 0])
    np.testing.assert_allclose(shown(explorer.figure, 1), expected_maps(images[0])["0"][0], rtol=1e-6)
    assert explorer.figure.axes[0].get_title() == "image 0, label 10"
    assert explorer.figure.axes[1].get_title() == "layer '0' (Scale): channel 0 of 3"
    assert [label for label, _ in explorer.layer_dropdown.options] == ["0 (Scale)", "1 (ReLU)", "2 (Subsample)"]


def test_moving_the_channel_slider_redraws_the_map(explorer, images):
    before = shown(explorer.figure, 1).copy()
    explorer.channel_slider.value = 2
    after = shown(explorer.figure, 1)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, expected_maps(images[0])["0"][2], rtol=1e-6)
    assert explorer.channel == 2 and explorer.figure.axes[1].get_title().endswith("channel 2 of 3")
    limit = np.abs(after).max()
    np.testing.assert_allclose(explorer.figure.axes[1].images[0].get_clim(), (-limit, limit), rtol=1e-6)


def test_choosing_a_layer_with_smaller_maps_redraws_at_its_size(explorer, images):
    explorer.channel_slider.value = 1
    explorer.layer_dropdown.value = "2"
    after = shown(explorer.figure, 1)
    assert after.shape == (4, 4) and explorer.channel == 1  # the channel is kept: layer '2' has one too
    np.testing.assert_allclose(after, expected_maps(images[0])["2"][1], rtol=1e-6)
    assert explorer.figure.axes[1].get_xlim() == (-0.5, 3.5)
    assert explorer.figure.axes[1].images[0].get_extent() == [-0.5, 3.5, 3.5, -0.5]


def test_moving_the_image_slider_redraws_input_and_map(explorer, images):
    explorer.layer_dropdown.value = "1"
    explorer.image_slider.value = 3
    np.testing.assert_array_equal(shown(explorer.figure, 0), images[3, 0])
    np.testing.assert_allclose(shown(explorer.figure, 1), expected_maps(images[3])["1"][0], rtol=1e-6)
    assert explorer.figure.axes[0].get_title() == "image 3, label 13"


def test_select_moves_the_controls_and_a_displayed_picture_is_updated(explorer, images):
    updates = []

    class FakeHandle:  # what IPython's display(..., display_id=True) returns
        def update(self, obj):
            updates.append(obj)

    explorer._display = FakeHandle()
    explorer.select(layer="1", channel=2, index=4)
    assert (explorer.layer_dropdown.value, explorer.channel_slider.value, explorer.image_slider.value) == ("1", 2, 4)
    np.testing.assert_allclose(explorer.current_map(), expected_maps(images[4])["1"][2], rtol=1e-6)
    assert len(updates) == 1 and updates[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"index must be an int in \[0, 4\], got 5"):
        explorer.select(index=5)


def test_channel_falls_back_to_zero_on_a_layer_with_fewer_channels(images):
    pytest.importorskip("ipywidgets")

    class OneChannel(nn.Module):
        def forward(self, x):
            return x[:, :1]

    model = nn.Sequential(Scale(), OneChannel())
    explorer = FeatureMapExplorer(model, images, channel=2)
    explorer.layer_dropdown.value = "1"
    assert explorer.channel == 0 and explorer.channel_slider.max == 0 and explorer.channel_slider.value == 0
    np.testing.assert_allclose(shown(explorer.figure, 1), expected_maps(images[0])["0"][0], rtol=1e-6)


def test_static_fallback_outside_a_notebook_is_the_figure(explorer):
    assert explorer.show_static() is explorer.figure
    explorer._ipython_display_()  # outside a kernel: no widgets, nothing raised
    assert explorer._display is None


def test_explorer_bad_input(images):
    model = make_model()
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\) with N >= 1, got shape \(1, 8, 8\)"):
        FeatureMapExplorer(model, images[0])
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\) = \(5,\) to match images, got shape \(3,\)"):
        FeatureMapExplorer(model, images, labels=[1, 2, 3])
    with pytest.raises(ValueError, match="layer '3' gives activations of shape"):
        FeatureMapExplorer(model, images, layer="3")
    with pytest.raises(ValueError, match="no layer of the model outputs feature maps"):
        FeatureMapExplorer(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), images)
