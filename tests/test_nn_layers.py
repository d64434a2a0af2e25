"""nn layers: Linear, Identity, activations, Dropout, Flatten, containers and losses.

Gradients are checked against finite differences in float64 (every element), values and gradients against
PyTorch with the same weights.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor, nn
from nnlearn import functional as F
from nnlearn.testing import gradcheck


def away_from_zero(rng, *shape):
    """Standard-normal values pushed at least 0.1 from 0, where ReLU-like functions have a kink."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + 0.1)


# (our module, the torch.nn class name and its arguments): the same activation in both libraries
ACTIVATIONS = [
    (lambda: nn.ReLU(), "ReLU", {}),
    (lambda: nn.LeakyReLU(0.2), "LeakyReLU", {"negative_slope": 0.2}),
    (lambda: nn.LeakyReLU(), "LeakyReLU", {}),
    (lambda: nn.ELU(alpha=0.7), "ELU", {"alpha": 0.7}),
    (lambda: nn.GELU(), "GELU", {}),
    (lambda: nn.GELU(approximate="tanh"), "GELU", {"approximate": "tanh"}),
    (lambda: nn.Sigmoid(), "Sigmoid", {}),
    (lambda: nn.Tanh(), "Tanh", {}),
    (lambda: nn.Softmax(dim=1), "Softmax", {"dim": 1}),
    (lambda: nn.Softmax(dim=0), "Softmax", {"dim": 0}),
    (lambda: nn.LogSoftmax(dim=1), "LogSoftmax", {"dim": 1}),
    (lambda: nn.LogSoftmax(dim=-1), "LogSoftmax", {"dim": -1}),
]
ACTIVATION_IDS = [f"{name}{args}" for _, name, args in ACTIVATIONS]


# ---------------------------------------------------------------- Linear
def test_linear_shapes_and_layout():
    layer = nn.Linear(3, 5)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)  # PyTorch's (out, in) layout
    assert layer.weight.dtype == np.float32
    x = nnlearn.randn(7, 3)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    assert layer(nnlearn.randn(2, 4, 3)).shape == (2, 4, 5)  # any leading dims
    no_bias = nn.Linear(3, 5, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(no_bias(x).data, x.data @ no_bias.weight.data.T, rtol=1e-6)
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64


def test_linear_default_init_is_uniform_one_over_sqrt_fan_in():
    # kaiming_uniform_(a=sqrt(5)): bound = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in) = 1 / sqrt(fan_in)
    layer = nn.Linear(400, 25)  # 10,000 weights
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.98 * bound  # the whole range is used, not a narrower one
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)  # U(-c, c) has std c / sqrt(3)
    assert abs(w.mean()) < 0.03 * bound


def test_linear_init_is_reproducible_under_manual_seed():
    nnlearn.manual_seed(7)
    a = nn.Linear(4, 3)
    nnlearn.manual_seed(7)
    b = nn.Linear(4, 3)
    c = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(b.weight.data, c.weight.data)


def test_linear_rejects_the_wrong_input_width():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 3\).*got \(5, 4\)"):
        layer(nnlearn.randn(5, 4))
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 3\).*got \(\)"):
        layer(nnlearn.tensor(1.0))


def test_linear_rejects_bad_constructor_arguments():
    with pytest.raises(ValueError, match="in_features must be positive, got 0"):
        nn.Linear(0, 2)
    with pytest.raises(TypeError, match="out_features must be an int, got float"):
        nn.Linear(2, 2.5)
    with pytest.raises(TypeError, match="in_features must be an int, got bool"):
        nn.Linear(True, 2)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3), (3,)])
def test_linear_gradcheck(rng, shape):
    layer = nn.Linear(3, 4).double()
    x = Tensor(rng.standard_normal(shape))
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias], raise_exception=True)


def test_identity_passes_its_input_through():
    x = nnlearn.randn(2, 3)
    assert nn.Identity(54, unused="argument")(x) is x
    assert list(nn.Identity().parameters()) == []


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("make,name,args", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_gradcheck(rng, make, name, args):
    module = make()
    x = Tensor(away_from_zero(rng, 4, 5))
    assert gradcheck(lambda x: module(x), [x], raise_exception=True)


@pytest.mark.parametrize("make,name,args", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_matches_torch(torch, rng, make, name, args):
    ours, theirs = make(), getattr(torch.nn, name)(**args)
    x = rng.standard_normal((3, 6)) * 3
    upstream = rng.standard_normal((3, 6))
    xs, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_s, out_t = ours(xs), theirs(xt)
    np.testing.assert_allclose(out_s.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    out_s.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert out_s.dtype == np.float64  # float64 in, float64 out


def test_softmax_without_dim_uses_the_last_dim(rng):
    x = Tensor(rng.standard_normal((2, 3, 4)))
    np.testing.assert_allclose(nn.Softmax()(x).data, F.softmax(x, dim=-1).data)
    np.testing.assert_allclose(nn.Softmax()(x).data.sum(axis=-1), 1.0)
    np.testing.assert_allclose(nn.LogSoftmax()(x).data, F.log_softmax(x, dim=-1).data)


def test_activation_constructor_arguments_are_validated():
    with pytest.raises(TypeError, match="negative_slope must be a number, got str"):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="alpha must be a number"):
        nn.ELU(None)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="dim must be an int or None, got float"):
        nn.Softmax(dim=1.0)
    with pytest.raises(ValueError, match="dim"):
        nn.Softmax(dim=3)(nnlearn.randn(2, 3))  # the functional's check, with its message


# ---------------------------------------------------------------- Dropout
def test_dropout_in_eval_mode_is_the_identity():
    layer = nn.Dropout(0.5).eval()
    x = nnlearn.randn(10, 10)
    np.testing.assert_array_equal(layer(x).data, x.data)


def test_dropout_in_train_mode_drops_and_rescales():
    p = 0.3
    layer = nn.Dropout(p)
    x = nnlearn.ones(100, 100)
    out = layer(x).data
    dropped = out == 0
    assert dropped.mean() == pytest.approx(p, abs=0.015)  # 10,000 draws: std of the fraction is 0.0046
    np.testing.assert_allclose(out[~dropped], 1 / (1 - p), rtol=1e-6)  # survivors keep the expected value


def test_dropout_gradient_follows_the_mask():
    layer = nn.Dropout(0.5)
    x = nnlearn.randn(20, 5, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, (out.data != 0) / 0.5)  # kept: 1 / (1 - p); dropped: 0


def test_dropout_is_reproducible_under_manual_seed():
    x = nnlearn.ones(50)
    nnlearn.manual_seed(3)
    a = nn.Dropout(0.5)(x).data
    nnlearn.manual_seed(3)
    b = nn.Dropout(0.5)(x).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, nn.Dropout(0.5)(x).data)


def test_dropout_follows_the_parent_mode():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))
    x = nnlearn.randn(8, 4)
    model.eval()
    np.testing.assert_array_equal(model(x).data, model(x).data)
    model.train()
    assert (model(x).data == 0).mean() > 0.5


def test_dropout_rejects_a_bad_probability():
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="p must be a number"):
        nn.Dropout("0.5")
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25)"


# ---------------------------------------------------------------- Flatten
@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (2, 3), (-2, -1), (0, 0), (3, 3)])
def test_flatten_matches_torch(torch, rng, start, end):
    x = rng.standard_normal((2, 3, 4, 5))
    ours = nn.Flatten(start, end)(Tensor(x))
    theirs = torch.nn.Flatten(start, end)(torch.tensor(x))
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_flatten_gradient_and_empty_batch():
    x = nnlearn.randn(2, 3, 4, requires_grad=True)
    out = nn.Flatten()(x)
    assert out.shape == (2, 12)
    (out * out).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)
    assert nn.Flatten()(nnlearn.zeros(0, 3, 4)).shape == (0, 12)


def test_flatten_rejects_bad_dims():
    with pytest.raises(ValueError, match=r"start_dim=3 is out of range for an input of shape \(2, 3\)"):
        nn.Flatten(3)(nnlearn.zeros(2, 3))
    with pytest.raises(ValueError, match="start_dim .* must not come after end_dim"):
        nn.Flatten(2, 1)(nnlearn.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="start_dim must be an int"):
        nn.Flatten(1.0)


# ---------------------------------------------------------------- Sequential and ModuleList
def test_sequential_is_indexable_iterable_and_sliceable():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b, c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    assert [n for n, _ in model[1:].named_parameters()] == ["2.weight", "2.bias"]  # names are kept
    x = nnlearn.randn(4, 2)
    np.testing.assert_array_equal(model(x).data, c(b(a(x))).data)
    with pytest.raises(IndexError, match="index 3 is out of range for a Sequential of length 3"):
        model[3]
    with pytest.raises(TypeError, match="indices must be integers or slices, got str"):
        model["0"]


def test_sequential_from_an_ordered_dict_and_editing():
    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 4)), ("act", nn.Tanh()), ("out", nn.Linear(4, 1))]))
    assert [n for n, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert model.act is model[1]
    model[1] = nn.ReLU()
    assert isinstance(model.act, nn.ReLU)
    plain = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1))
    del plain[1]
    assert [n for n, _ in plain.named_children()] == ["0", "1"]  # renumbered, as in PyTorch
    plain.append(nn.Sigmoid())
    assert isinstance(plain[2], nn.Sigmoid)


def test_sequential_explains_non_module_arguments():
    with pytest.raises(TypeError, match=r"argument 1 must be a Module, got function.*nn.ReLU\(\)"):
        nn.Sequential(nn.Linear(2, 2), F.relu)
    with pytest.raises(TypeError, match=r"got the class ReLU.*ReLU\(...\), with parentheses"):
        nn.Sequential(nn.ReLU)


def test_modulelist_registers_its_layers():
    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x).tanh()
            return x

    model = Deep()
    names = [n for n, _ in model.named_parameters()]
    assert names == [f"layers.{i}.{kind}" for i in range(3) for kind in ("weight", "bias")]
    assert model(nnlearn.randn(5, 2)).shape == (5, 2)
    layers = model.layers
    layers.append(nn.Linear(2, 3))
    layers.insert(0, nn.Identity())
    assert len(layers) == 5 and isinstance(layers[0], nn.Identity) and layers[-1].out_features == 3
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert isinstance(layers[0], nn.Linear) and len(layers) == 4
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    with pytest.raises(TypeError, match="iterable of Modules"):
        layers.extend(nn.Linear(1, 1))
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        layers(nnlearn.zeros(1))


def test_mlp_gradcheck_through_sequential(rng):
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.GELU(), nn.Linear(4, 2),
                          nn.LogSoftmax(dim=1)).double()
    x = Tensor(rng.standard_normal((4, 3)))
    assert gradcheck(lambda x, *params: model(x), [x, *model.parameters()], raise_exception=True)


def test_mlp_outputs_and_gradients_match_torch(torch, rng):
    def build(lib):
        return lib.Sequential(lib.Linear(3, 16), lib.ReLU(), lib.Linear(16, 8), lib.Tanh(), lib.Linear(8, 4))

    theirs = build(torch.nn).double()
    ours = build(nn).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((10, 3))
    labels = rng.integers(0, 4, size=10)
    xs, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss_s = nn.CrossEntropyLoss()(ours(xs), Tensor(labels))
    loss_t = torch.nn.CrossEntropyLoss()(theirs(xt), torch.tensor(labels))
    np.testing.assert_allclose(loss_s.item(), loss_t.item(), rtol=1e-12)
    loss_s.backward()
    loss_t.backward()
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_grads = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_grads[name], rtol=1e-9, atol=1e-12, err_msg=name)


# ---------------------------------------------------------------- losses
def _loss_cases(rng):
    """(our module, torch module, input, target) for every loss, built from the same arrays."""
    x = rng.standard_normal((6, 4))
    y = rng.standard_normal((6, 4))
    probs = 1 / (1 + np.exp(-x))
    bits = (rng.random((6, 4)) > 0.5).astype(np.float64)
    labels = rng.integers(0, 4, size=6)
    labels[2] = -100  # for ignore_index
    class_w = np.array([0.5, 1.0, 2.0, 1.5])
    pos_w = np.array([1.0, 2.0, 0.5, 3.0])
    valid = labels.copy()
    valid[2] = 1
    cases = []
    for reduction in ("mean", "sum", "none"):
        cases += [
            ("MSELoss", {"reduction": reduction}, x, y),
            ("L1Loss", {"reduction": reduction}, x, y),
            ("BCELoss", {"reduction": reduction}, probs, bits),
            ("BCELoss", {"reduction": reduction, "weight": class_w}, probs, bits),
            ("BCEWithLogitsLoss", {"reduction": reduction, "pos_weight": pos_w}, x, bits),
            ("CrossEntropyLoss", {"reduction": reduction}, x, valid),
            ("CrossEntropyLoss", {"reduction": reduction, "weight": class_w, "ignore_index": -100}, x, labels),
            ("CrossEntropyLoss", {"reduction": reduction, "label_smoothing": 0.1}, x, valid),
            ("NLLLoss", {"reduction": reduction, "weight": class_w}, x, labels),
            ("MultiMarginLoss", {"reduction": reduction, "p": 2, "margin": 0.5}, x, valid),
        ]
    return cases


def test_loss_modules_match_torch(torch, rng):
    for name, kwargs, x, target in _loss_cases(rng):
        torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**torch_kwargs)
        xs, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_s, out_t = ours(xs, Tensor(target)), theirs(xt, torch.tensor(target))
        np.testing.assert_allclose(out_s.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}{kwargs}")
        upstream = rng.standard_normal(out_s.shape)
        out_s.backward(upstream)
        out_t.backward(torch.tensor(upstream))
        np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{name}{kwargs}")


def test_loss_modules_gradcheck(rng):
    x = Tensor(rng.standard_normal((5, 3)))
    y = Tensor(rng.standard_normal((5, 3)))
    labels = Tensor(rng.integers(0, 3, size=5))
    for criterion, target in [(nn.MSELoss(), y), (nn.CrossEntropyLoss(label_smoothing=0.2), labels),
                              (nn.BCEWithLogitsLoss(), Tensor((y.data > 0).astype(np.float64)))]:
        assert gradcheck(lambda x: criterion(x, target), [x], raise_exception=True)


def test_loss_modules_validate_reduction_and_keep_weights_as_buffers():
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be one of 'mean', 'sum', 'none', "
                                         "got 'average'"):
        nn.CrossEntropyLoss(reduction="average")
    criterion = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    assert isinstance(criterion.weight, Tensor) and list(criterion.state_dict()) == ["weight"]
    assert list(criterion.parameters()) == []
    assert repr(nn.MSELoss()) == "MSELoss()" and repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    with pytest.raises(ValueError, match="p must be 1 or 2, got 3"):
        nn.MultiMarginLoss(p=3)
