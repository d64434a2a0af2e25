"""nnlearn.viz.layer_stats: per-layer activation and gradient statistics, and their plots (Agg backend)."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import nn
from nnlearn.nn import init
from nnlearn.random import get_rng
from nnlearn.viz.layer_stats import LayerStats, layer_stats, plot_layer_histograms, plot_layer_stats

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def tanh_net(dtype=np.float64):
    """Linear(3, 4) -> Tanh -> Linear(4, 2) -> Tanh, in float64 so hand computations agree to 1e-12."""
    return nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.Tanh(), nn.Linear(4, 2, dtype=dtype), nn.Tanh())


def deep_net(activation, depth, width, weight_init):
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        weight_init(linear.weight)
        init.zeros_(linear.bias)
        layers += [linear, activation()]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------- what is recorded
def test_records_the_activation_layers_by_default_with_their_outputs(rng):
    model = tanh_net()
    x = rng.standard_normal((5, 3))
    stats = layer_stats(model, x)
    assert stats.names == ("1", "3") and stats.kinds == ("Tanh", "Tanh") and len(stats) == 2
    W1, b1 = model[0].weight.data, model[0].bias.data
    W2, b2 = model[2].weight.data, model[2].bias.data
    a1 = np.tanh(x @ W1.T + b1)
    a2 = np.tanh(a1 @ W2.T + b2)
    np.testing.assert_allclose(stats.activations[0], a1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats.activations[1], a2, rtol=1e-12, atol=1e-12)


def test_gradients_follow_the_chain_rule_from_the_default_upstream_draw(rng):
    model = tanh_net()
    x = rng.standard_normal((6, 3))
    nnlearn.manual_seed(7)
    stats = layer_stats(model, x)
    nnlearn.manual_seed(7)
    upstream = get_rng().standard_normal((6, 2))  # what layer_stats back-propagates without a loss_fn
    # The model ends in the second Tanh, so the gradient w.r.t. its output is the upstream gradient itself.
    np.testing.assert_allclose(stats.gradients[1], upstream, rtol=1e-12)
    # One step back by hand: a2 = tanh(a1 W2^T + b2), so dL/da1 = (g2 * (1 - a2^2)) @ W2.
    a2 = stats.activations[1]
    expected = (upstream * (1 - a2 ** 2)) @ model[2].weight.data
    np.testing.assert_allclose(stats.gradients[0], expected, rtol=1e-10, atol=1e-12)
    assert stats.loss == pytest.approx(float(np.sum(a2 * upstream)))


def test_gradients_match_pytorch_with_a_loss_function(rng):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
    model = tanh_net()
    x, target = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    stats = layer_stats(model, x, loss_fn=nn.MSELoss(), target=target)

    tx = torch.tensor(x)
    l1, l2 = torch.nn.Linear(3, 4).double(), torch.nn.Linear(4, 2).double()
    with torch.no_grad():
        for mine, theirs in ((model[0], l1), (model[2], l2)):
            theirs.weight.copy_(torch.tensor(mine.weight.data))
            theirs.bias.copy_(torch.tensor(mine.bias.data))
    a1 = torch.tanh(l1(tx))
    a1.retain_grad()
    a2 = torch.tanh(l2(a1))
    a2.retain_grad()
    loss = torch.nn.functional.mse_loss(a2, torch.tensor(target))
    loss.backward()
    assert stats.loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(stats.gradients[0], a1.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(stats.gradients[1], a2.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(stats.parameter_grad_norms["0.weight"], l1.weight.grad.norm().item(), rtol=1e-10)
    np.testing.assert_allclose(stats.parameter_grad_norms["2.bias"], l2.bias.grad.norm().item(), rtol=1e-10)


def test_the_model_is_left_as_it_was(rng):
    model = tanh_net()
    x = rng.standard_normal((4, 3))
    earlier = np.full((4, 3), 0.5)
    model[0].weight.grad = earlier.copy()  # a gradient the caller accumulated before: must survive
    layer_stats(model, x)
    np.testing.assert_array_equal(model[0].weight.grad, earlier)
    assert model[2].weight.grad is None, "a parameter without a gradient before must have none after"
    assert all(not m._forward_hooks for m in model.modules()), "the forward hooks must be removed"


def test_hooks_are_removed_when_the_forward_pass_fails():
    model = tanh_net()
    with pytest.raises(ValueError, match="in_features"):
        layer_stats(model, np.zeros((2, 5)))  # Linear(3, 4) gets 5 features
    assert all(not m._forward_hooks for m in model.modules())


def test_layer_selection_by_type_and_by_name(rng):
    model = tanh_net()
    x = rng.standard_normal((4, 3))
    by_type = layer_stats(model, x, layers=nn.Linear)
    assert by_type.names == ("0", "2") and by_type.kinds == ("Linear", "Linear")
    assert by_type.activations[1].shape == (4, 2)
    by_name = layer_stats(model, x, layers=["2", "1"])
    assert by_name.names == ("1", "2"), "layers are recorded in the order they ran"
    both = layer_stats(model, x, layers=(nn.Linear, nn.Tanh))
    assert both.names == ("0", "1", "2", "3")


def test_a_model_without_activations_records_every_layer(rng):
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    stats = layer_stats(model, rng.standard_normal((4, 3)).astype(np.float32))
    assert stats.names == ("0", "1")


def test_a_layer_used_twice_is_recorded_twice(rng):
    shared = nn.Tanh()
    model = nn.Sequential(nn.Linear(3, 3), shared, nn.Linear(3, 3))
    model.add_module("again", shared)  # the same Tanh object runs a second time
    stats = layer_stats(model, rng.standard_normal((4, 3)).astype(np.float32))
    assert stats.names == ("1", "1 (call 2)")
    assert stats.gradients[0] is not None and stats.gradients[1] is not None


def test_an_activation_applied_to_the_input_still_gets_a_gradient(rng):
    model = nn.Sequential(nn.Tanh(), nn.Linear(3, 2))  # nothing with parameters before the Tanh
    stats = layer_stats(model, rng.standard_normal((4, 3)).astype(np.float32))
    assert stats.gradients[0] is not None
    np.testing.assert_allclose(stats.gradients[0].shape, (4, 3))


def test_without_gradients_only_activations_are_recorded(rng):
    model = tanh_net()
    stats = layer_stats(model, rng.standard_normal((4, 3)), with_gradients=False)
    assert stats.gradients == (None, None) and stats.loss is None and stats.parameter_grad_norms == {}
    assert np.all(np.isnan(stats.gradient_std))
    assert np.all(np.isfinite(stats.activation_std))


def test_inputs_take_the_dtype_of_the_model(rng):
    model = tanh_net(dtype=np.float32)
    stats = layer_stats(model, rng.standard_normal((4, 3)))  # float64 input, float32 weights
    assert stats.activations[0].dtype == np.float32 and stats.gradients[0].dtype == np.float32


# ---------------------------------------------------------------------- statistics
def test_statistics_are_those_of_the_recorded_arrays(rng):
    stats = layer_stats(tanh_net(), rng.standard_normal((50, 3)))
    for i in range(2):
        assert stats.activation_mean[i] == pytest.approx(stats.activations[i].mean())
        assert stats.activation_std[i] == pytest.approx(stats.activations[i].std())
        assert stats.gradient_mean[i] == pytest.approx(stats.gradients[i].mean())
        assert stats.gradient_std[i] == pytest.approx(stats.gradients[i].std())
        assert stats.fraction_where(lambda a: a > 0)[i] == pytest.approx(np.mean(stats.activations[i] > 0))
    np.testing.assert_array_equal(stats.statistic("gradient", "std"), stats.gradient_std)
    table = stats.table()
    assert len(table.splitlines()) == 3 and "Tanh" in table and "grad std" in table


def test_he_initialisation_keeps_relu_statistics_flat_and_a_tiny_one_does_not():
    # The variance argument of chapter 8: with Var(W) = 2 / fan_in each ReLU layer keeps E[a^2]; with
    # std 0.01 and fan_in 64 each layer multiplies the std by about 0.01 * sqrt(64 / 2) = 0.057.
    x = np.random.default_rng(0).standard_normal((256, 64)).astype(np.float32)
    he = layer_stats(deep_net(nn.ReLU, 15, 64, lambda w: init.kaiming_normal_(w, nonlinearity="relu")), x)
    ratio = he.activation_std[-1] / he.activation_std[0]
    assert 0.3 < ratio < 3, f"He init: the activation std changed by a factor {ratio:.3g} over 15 layers"
    grad_ratio = he.gradient_std[0] / he.gradient_std[-1]
    assert 0.3 < grad_ratio < 3, f"He init: the gradient std changed by a factor {grad_ratio:.3g} over 15 layers"
    tiny = layer_stats(deep_net(nn.ReLU, 15, 64, lambda w: init.normal_(w, 0.0, 0.01)), x)
    assert tiny.activation_std[-1] < 1e-12 * tiny.activation_std[0]
    assert tiny.gradient_std[0] < 1e-12 * tiny.gradient_std[-1]


# ---------------------------------------------------------------------- bad input
def test_bad_input_is_explained(rng):
    model = tanh_net()
    x = rng.standard_normal((4, 3))
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        layer_stats(lambda t: t, x)
    with pytest.raises(ValueError, match=r"no layers named \['7'\].*'0', '1', '2', '3'"):
        layer_stats(model, x, layers=["7"])
    with pytest.raises(ValueError, match="no layer of type Sigmoid"):
        layer_stats(model, x, layers=nn.Sigmoid)
    with pytest.raises(ValueError, match="empty list"):
        layer_stats(model, x, layers=[])
    with pytest.raises(TypeError, match="layers must be None, a Module type"):
        layer_stats(model, x, layers="1")
    with pytest.raises(ValueError, match="loss_fn needs the targets"):
        layer_stats(model, x, loss_fn=nn.MSELoss())
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        layer_stats(model, x, loss_fn="mse", target=x)
    with pytest.raises(ValueError, match="x must be a numeric batch"):
        layer_stats(model, np.array(["a", "b"]))
    with pytest.raises(ValueError, match="single-number Tensor"):
        layer_stats(model, x, loss_fn=nn.MSELoss(reduction="none"), target=np.zeros((4, 2)))
    with pytest.raises(TypeError, match="with_gradients must be True or False"):
        layer_stats(model, x, with_gradients="yes")


# ---------------------------------------------------------------------- plots
def test_plot_layer_stats_draws_the_statistics_of_every_run(rng):
    x = rng.standard_normal((20, 3))
    a, b = layer_stats(tanh_net(), x), layer_stats(tanh_net(), 3 * x)
    fig = plot_layer_stats({"small": a, "large": b})
    act_ax, grad_ax = fig.axes
    assert act_ax.get_yscale() == "log"
    assert [t.get_text() for t in act_ax.get_legend().get_texts()] == ["small", "large"]
    np.testing.assert_allclose(act_ax.lines[1].get_ydata(), b.activation_std)
    np.testing.assert_allclose(grad_ax.lines[0].get_ydata(), a.gradient_std)
    np.testing.assert_array_equal(act_ax.lines[0].get_xdata(), [1, 2])

    fig = plot_layer_stats(a, stat="mean", kinds="gradient")
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear" and ax.get_legend() is None
    np.testing.assert_allclose(ax.lines[0].get_ydata(), a.gradient_mean)


def test_plot_layer_stats_leaves_zero_std_off_the_log_axis():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    init.constant_(model[0].weight, -1.0)
    init.zeros_(model[0].bias)
    stats = layer_stats(model, np.ones((4, 2), dtype=np.float32))  # every ReLU is off: std 0
    fig = plot_layer_stats(stats, kinds=("activation",))
    assert np.isnan(fig.axes[0].lines[0].get_ydata()[0])


def test_plot_layer_histograms_draws_the_chosen_layers(rng):
    stats = layer_stats(deep_net(nn.Tanh, 8, 16, lambda w: init.xavier_normal_(w)),
                        rng.standard_normal((64, 16)).astype(np.float32))
    fig = plot_layer_histograms(stats)
    assert len(fig.axes) == 5  # five layers, evenly spread, by default
    assert fig.axes[0].get_title().startswith("layer 1:") and fig.axes[-1].get_title().startswith("layer 8:")
    heights = sum(patch.get_height() for patch in fig.axes[0].patches)
    assert heights == stats.activations[0].size, "the histogram counts every value of the layer"

    fig = plot_layer_histograms({"a": stats, "b": stats}, kind="gradient", layers=[0, -1], bins=10)
    assert len(fig.axes) == 4 and len(fig.axes[0].patches) == 10
    assert fig.axes[0].get_ylabel() == "a" and fig.axes[2].get_ylabel() == "b"
    assert f"{stats.gradients[-1].std():.2g}" in fig.axes[1].get_title()


def test_plot_arguments_are_checked(rng):
    stats = layer_stats(tanh_net(), rng.standard_normal((4, 3)))
    with pytest.raises(ValueError, match="stat must be one of 'std', 'mean', got 'var'"):
        plot_layer_stats(stats, stat="var")
    with pytest.raises(ValueError, match="kinds must be one of"):
        plot_layer_stats(stats, kinds=("weights",))
    with pytest.raises(TypeError, match="stats must be a LayerStats or a non-empty dict"):
        plot_layer_stats([stats])
    with pytest.raises(ValueError, match=r"layers must be integer indices in \[0, 1\].*got 5"):
        plot_layer_histograms(stats, layers=[5])
    with pytest.raises(ValueError, match="bins must be a positive int"):
        plot_layer_histograms(stats, bins=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_layer_histograms(stats, kind="weights")
    assert isinstance(stats, LayerStats)
