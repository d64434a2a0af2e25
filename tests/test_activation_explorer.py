"""nnlearn.viz.activation_explorer: the curves and their autograd derivatives, the random layers, the widget."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nnlearn
from nnlearn.viz.activation_explorer import (ACTIVATIONS, ActivationExplorer, activation_and_derivative,
                                             layer_activations)

plt = pytest.importorskip("matplotlib.pyplot")

Z = np.linspace(-4.0, 4.0, 81) + 0.013  # avoids z = 0 exactly, where ReLU-like functions have a kink


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


_PHI = np.vectorize(lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0))))  # the standard normal CDF

# Each activation's value and derivative, written out by hand.
FORMULAS = {
    "relu": (lambda z, p: np.maximum(z, 0), lambda z, p: (z > 0).astype(float), None),
    "leaky_relu": (lambda z, p: np.where(z > 0, z, p * z), lambda z, p: np.where(z > 0, 1.0, p), 0.2),
    "elu": (lambda z, p: np.where(z > 0, z, p * (np.exp(z) - 1)), lambda z, p: np.where(z > 0, 1.0, p * np.exp(z)),
            1.7),
    "gelu": (lambda z, p: z * _PHI(z),
             lambda z, p: _PHI(z) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), None),
    "sigmoid": (lambda z, p: _sigmoid(z), lambda z, p: _sigmoid(z) * (1 - _sigmoid(z)), None),
    "tanh": (lambda z, p: np.tanh(z), lambda z, p: 1 - np.tanh(z) ** 2, None),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def hist_heights(explorer):
    return np.array([patch.get_height() for patch in explorer.figure.axes[2].patches])


def line_y(explorer, panel):
    return np.asarray(explorer.figure.axes[panel].lines[-1].get_ydata())


# ---------------------------------------------------------------------- activation_and_derivative
@pytest.mark.parametrize("name", list(FORMULAS))
def test_values_and_autograd_derivatives_match_the_formulas(name):
    f, df, param = FORMULAS[name]
    value, slope = activation_and_derivative(name, Z, param)
    assert value.shape == slope.shape == Z.shape and value.dtype == slope.dtype == np.float64
    np.testing.assert_allclose(value, f(Z, param), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(slope, df(Z, param), rtol=1e-10, atol=1e-12)


def test_default_parameters_are_pytorchs():
    # leaky_relu's negative_slope defaults to 0.01 and elu's alpha to 1.0, as in torch.nn.functional
    _, slope = activation_and_derivative("leaky_relu", np.array([-2.0]))
    assert slope[0] == pytest.approx(0.01)
    value, _ = activation_and_derivative("elu", np.array([-50.0]))
    assert value[0] == pytest.approx(-1.0)


def test_parity_with_pytorch_autograd():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
    functions = {"relu": torch.relu, "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
                 "elu": lambda t: torch.nn.functional.elu(t, 1.7), "gelu": torch.nn.functional.gelu,
                 "sigmoid": torch.sigmoid, "tanh": torch.tanh}
    for name, function in functions.items():
        t = torch.tensor(Z, dtype=torch.float64, requires_grad=True)
        out = function(t)
        out.sum().backward()
        value, slope = activation_and_derivative(name, Z, FORMULAS[name][2])
        np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
        np.testing.assert_allclose(slope, t.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


def test_activation_and_derivative_bad_input():
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', .*'tanh'\], got 'swish'"):
        activation_and_derivative("swish", Z)
    with pytest.raises(ValueError, match="relu has no parameter, got param=0.1"):
        activation_and_derivative("relu", Z, 0.1)
    with pytest.raises(ValueError, match="elu's alpha must be > 0, got -1"):
        activation_and_derivative("elu", Z, -1.0)
    with pytest.raises(TypeError, match="param \\(leaky_relu's negative_slope\\) must be a finite number, got 'a'"):
        activation_and_derivative("leaky_relu", Z, "a")
    with pytest.raises(TypeError, match="z must hold numbers, got dtype <U1"):
        activation_and_derivative("tanh", np.array(["a", "b"]))


# ---------------------------------------------------------------------- layer_activations
def test_layer_activations_shapes_and_first_layer_variance():
    layers = layer_activations("tanh", gain=2.0, depth=3, width=200, n_samples=300, seed=0)
    assert len(layers) == 3
    for z, h in layers:
        assert z.shape == h.shape == (300, 200)
        np.testing.assert_allclose(h, np.tanh(z), rtol=1e-12)
    # z_1 = x W^T * gain / sqrt(width) with x, W standard normal: Var(z_1) = gain^2 = 4
    assert layers[0][0].std() == pytest.approx(2.0, rel=0.05)


def test_layer_activations_are_repeatable():
    a = layer_activations("relu", depth=2, width=16, n_samples=8, seed=3)
    b = layer_activations("relu", depth=2, width=16, n_samples=8, seed=3)
    np.testing.assert_array_equal(a[1][1], b[1][1])
    nnlearn.manual_seed(5)
    c = layer_activations("relu", depth=2, width=16, n_samples=8)
    nnlearn.manual_seed(5)
    d = layer_activations("relu", depth=2, width=16, n_samples=8)
    np.testing.assert_array_equal(c[1][0], d[1][0])  # seed=None follows nnlearn.manual_seed


def test_large_gain_saturates_tanh_and_small_gain_does_not():
    def saturated(gain):
        z, h = layer_activations("tanh", gain=gain, depth=4, width=128, n_samples=128, seed=0)[-1]
        return np.mean(np.abs(h) > 0.99)

    assert saturated(0.5) == 0.0
    assert saturated(6.0) > 0.5


@pytest.mark.parametrize("kwargs, message", [
    (dict(gain=0), "gain must be a finite number > 0, got 0"),
    (dict(depth=0), "depth must be an int >= 1, got 0"),
    (dict(width=2.5), "width must be an int >= 1, got 2.5"),
])
def test_layer_activations_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layer_activations("relu", **kwargs)


# ---------------------------------------------------------------------- the explorer
def make_explorer(**kwargs):
    options = dict(depth=4, width=64, n_samples=64, seed=0)
    options.update(kwargs)
    return ActivationExplorer(**options)


def test_explorer_draws_the_function_its_derivative_and_the_histogram():
    explorer = make_explorer(activation="sigmoid")
    assert len(explorer.figure.axes) == 3
    np.testing.assert_allclose(line_y(explorer, 0), _sigmoid(explorer.z), rtol=1e-12)
    np.testing.assert_allclose(line_y(explorer, 1), _sigmoid(explorer.z) * (1 - _sigmoid(explorer.z)), rtol=1e-10)
    assert hist_heights(explorer).sum() == 64 * 64  # every activation of the chosen layer is counted once
    assert explorer.layer == 4 and "layer 4 of 4" in explorer.figure.axes[2].get_xlabel()


def test_changing_the_activation_control_redraws():
    explorer = make_explorer()
    if explorer.activation_dropdown is None:
        pytest.skip("ipywidgets not installed")
    before_f, before_hist = line_y(explorer, 0).copy(), hist_heights(explorer)
    explorer.activation_dropdown.value = "tanh"
    assert explorer.activation == "tanh"
    np.testing.assert_allclose(line_y(explorer, 0), np.tanh(explorer.z), rtol=1e-12)
    assert not np.array_equal(line_y(explorer, 0), before_f)
    assert not np.array_equal(hist_heights(explorer), before_hist)
    assert "tanh" in explorer.figure.axes[0].get_title()


def test_the_parameter_slider_follows_the_function_and_redraws():
    explorer = make_explorer()
    if explorer.param_slider is None:
        pytest.skip("ipywidgets not installed")
    assert explorer.param_slider.disabled  # relu has no parameter
    explorer.activation_dropdown.value = "leaky_relu"
    assert not explorer.param_slider.disabled and explorer.param_slider.description == "negative_slope"
    assert explorer.param_slider.value == pytest.approx(0.01)
    explorer.param_slider.value = 0.3
    assert explorer.param == pytest.approx(0.3)
    np.testing.assert_allclose(line_y(explorer, 1), np.where(explorer.z > 0, 1.0, 0.3))
    explorer.activation_dropdown.value = "elu"
    assert explorer.param_slider.description == "alpha" and explorer.param_slider.value == pytest.approx(1.0)
    explorer.param_slider.value = 2.5
    assert line_y(explorer, 0).min() == pytest.approx(2.5 * math.expm1(-5.0))
    explorer.activation_dropdown.value = "leaky_relu"  # each function remembers its own setting
    assert explorer.param_slider.value == pytest.approx(0.3)


def test_gain_and_layer_sliders_change_the_histogram_and_stats():
    explorer = make_explorer(activation="tanh")
    if explorer.gain_slider is None:
        pytest.skip("ipywidgets not installed")
    before, stats = hist_heights(explorer), dict(explorer.stats)
    explorer.gain_slider.value = 5.0
    assert explorer.gain == pytest.approx(5.0)
    assert not np.array_equal(hist_heights(explorer), before)
    assert explorer.stats["blocked"] > stats["blocked"] and explorer.stats["std"] > stats["std"]
    before = hist_heights(explorer)
    explorer.layer_slider.value = 1
    assert explorer.layer == 1 and not np.array_equal(hist_heights(explorer), before)
    np.testing.assert_allclose(explorer.activations, np.tanh(explorer.pre_activations))


def test_select_checks_everything_before_changing_anything():
    explorer = make_explorer()
    with pytest.raises(ValueError, match=r"layer must be an int in \[1, 4\], got 7"):
        explorer.select(activation="tanh", layer=7)
    assert explorer.activation == "relu" and explorer.layer == 4
    with pytest.raises(ValueError, match="relu has no parameter"):
        explorer.select(param=0.5)
    explorer.select(activation="elu", param=0.5, gain=2.0, layer=2)
    assert (explorer.activation, explorer.param, explorer.gain, explorer.layer) == ("elu", 0.5, 2.0, 2)
    if explorer.activation_dropdown is not None:
        assert explorer.activation_dropdown.value == "elu" and explorer.layer_slider.value == 2


def test_explorer_is_static_outside_a_kernel():
    explorer = make_explorer()
    assert explorer.show_static() is explorer.figure
    explorer._ipython_display_()  # outside Jupyter: shows the static figure, does not fail
    assert "ActivationExplorer(activation='relu'" in repr(explorer)


@pytest.mark.parametrize("kwargs, message", [
    (dict(activation="softmax"), "activation must be one of"),
    (dict(layer=0), r"layer must be an int in \[1, 4\], got 0"),
    (dict(z_range=(1, -1)), r"z_range must be a pair \(low, high\)"),
])
def test_explorer_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_explorer(**kwargs)


def test_every_activation_has_a_consistent_parameter_spec():
    for name, spec in ACTIVATIONS.items():
        assert (spec.param_name is None) == (spec.param_default is None) == (spec.param_range is None), name
        if spec.param_range is not None:
            low, high = spec.param_range
            assert low <= spec.param_default <= high, name
