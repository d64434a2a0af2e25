"""CNN layers: Conv2d, MaxPool2d, AvgPool2d, and a small LeNet-like network built from them.

Runs on the reference kernels (tests/test_backends.py runs the same model on every backend): layouts, default
initialisation and reprs as PyTorch's, values and gradients against PyTorch with copied weights, gradients
against finite differences.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import copy_from_torch

import nnlearn
from nnlearn import Tensor, nn
from nnlearn import functional as F
from nnlearn.testing import gradcheck


@pytest.fixture(autouse=True)
def _reference_kernels():
    with nnlearn.use_backend("reference"):
        yield


def lenet(module):
    """Conv2d -> ReLU -> MaxPool2d -> Conv2d -> ReLU -> AvgPool2d -> Flatten -> Linear, in either library.

    (N, 1, 12, 12) -> conv 3x3 pad 1 -> (N, 4, 12, 12) -> pool 2 -> (N, 4, 6, 6) -> conv (3, 2) stride (1, 2)
    -> (N, 6, 4, 3) -> avg pool (2, 3) -> (N, 6, 2, 1) -> (N, 12) -> (N, 3).
    """
    return module.Sequential(
        module.Conv2d(1, 4, 3, padding=1), module.ReLU(), module.MaxPool2d(2),
        module.Conv2d(4, 6, (3, 2), stride=(1, 2)), module.ReLU(), module.AvgPool2d((2, 3)),
        module.Flatten(), module.Linear(12, 3))


# ---------------------------------------------------------------- Conv2d
def test_conv2d_shapes_layout_and_names():
    layer = nn.Conv2d(3, 8, (5, 3))
    assert layer.weight.shape == (8, 3, 5, 3) and layer.bias.shape == (8,)  # (C_out, C_in, kH, kW)
    assert layer.weight.dtype == np.float32
    assert layer.kernel_size == (5, 3) and layer.stride == (1, 1) and layer.padding == (0, 0)
    assert layer(nnlearn.randn(2, 3, 10, 10)).shape == (2, 8, 6, 8)
    assert nn.Conv2d(3, 8, 3, stride=2, padding=1)(nnlearn.randn(2, 3, 10, 9)).shape == (2, 8, 5, 5)
    no_bias = nn.Conv2d(3, 8, 3, bias=False)
    assert no_bias.bias is None and [name for name, _ in no_bias.named_parameters()] == ["weight"]
    assert nn.Conv2d(1, 1, 1, dtype=np.float64).weight.dtype == np.float64


def test_conv2d_default_init_is_uniform_one_over_sqrt_fan_in():
    # kaiming_uniform_(a=sqrt(5)): bound = sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in) = 1 / sqrt(fan_in),
    # fan_in = C_in * kH * kW = 16 * 5 * 5 = 400; the bias uses the same bound.
    layer = nn.Conv2d(16, 25, 5)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.98 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)  # U(-c, c) has std c / sqrt(3)
    nnlearn.manual_seed(3)
    again = nn.Conv2d(16, 25, 5)
    nnlearn.manual_seed(3)
    np.testing.assert_array_equal(nn.Conv2d(16, 25, 5).weight.data, again.weight.data)  # seeded


@pytest.mark.parametrize("args,kwargs", [((1, 6, 5), {}), ((3, 4, (3, 2)), {"stride": 2, "padding": (1, 2)}),
                                         ((2, 2, 3), {"bias": False, "padding": 1})])
def test_conv2d_repr_and_state_dict_match_pytorch(torch, args, kwargs):
    ours, theirs = nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-11)], ids=["float32", "float64"])
def test_conv2d_module_matches_pytorch(torch, rng, dtype, tol):
    theirs = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 2)).to(getattr(torch, np.dtype(dtype).name))
    ours = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 2), dtype=dtype)
    copy_from_torch(ours, theirs)
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    x_ours, x_theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    dout = rng.standard_normal(out.shape).astype(dtype)
    out.backward(dout)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=tol, atol=tol)


def test_conv2d_module_gradcheck(rng):
    layer = nn.Conv2d(2, 3, (3, 2), stride=2, padding=(1, 2)).double()
    x = Tensor(rng.standard_normal((2, 2, 5, 4)))
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias], raise_exception=True)


def test_conv2d_bad_arguments_are_named():
    with pytest.raises(ValueError, match="Conv2d: in_channels must be positive, got 0"):
        nn.Conv2d(0, 2, 3)
    with pytest.raises(TypeError, match="Conv2d: out_channels must be an int, got float"):
        nn.Conv2d(1, 2.0, 3)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be positive, got 0"):
        nn.Conv2d(1, 2, 0)
    with pytest.raises(TypeError, match=r"Conv2d: stride must be an int or a pair of ints \(height, width\), "
                                        r"got \(1, 2, 3\)"):
        nn.Conv2d(1, 2, 3, stride=(1, 2, 3))
    with pytest.raises(ValueError, match=r"Conv2d: padding must be >= 0, got -1"):
        nn.Conv2d(1, 2, 3, padding=-1)
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"input has 1 channels, weight expects 3: shapes \(2, 1, 8, 8\) and "
                                         r"\(4, 3, 3, 3\)"):
        layer(nnlearn.randn(2, 1, 8, 8))
    with pytest.raises(TypeError, match="input and weight must have the same dtype, got input float64 and weight "
                                        "float32"):
        layer(np.zeros((2, 3, 8, 8)))


# ---------------------------------------------------------------- pooling layers
@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d"])
def test_pool_modules_match_functional_and_pytorch(torch, rng, name):
    x = rng.standard_normal((2, 3, 7, 6))
    for args in [(2,), (3, 2, 1), ((2, 3), (1, 2), (1, 0))]:
        ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        functional = getattr(F, name.lower().replace("pool2d", "_pool2d"))
        np.testing.assert_array_equal(ours(Tensor(x)).data, functional(x, *args).data)
        np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).numpy(), rtol=1e-12)
        assert list(ours.parameters()) == [] and ours.state_dict() == {}


def test_pool_module_reprs():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool2d(3, 1, 1)) == "AvgPool2d(kernel_size=3, stride=1, padding=1)"
    assert repr(nn.MaxPool2d((2, 3), (1, 2), (1, 1))) == "MaxPool2d(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1))"


def test_pool_module_bad_arguments_are_named():
    with pytest.raises(ValueError, match="MaxPool2d: kernel_size must be positive, got 0"):
        nn.MaxPool2d(0)
    with pytest.raises(TypeError, match=r"AvgPool2d: stride must be an int or a pair of ints \(height, width\), "
                                        r"got 'x'"):
        nn.AvgPool2d(2, "x")
    with pytest.raises(ValueError, match=r"max_pool2d: padding must be at most half of kernel_size"):
        nn.MaxPool2d(2, padding=2)(nnlearn.randn(1, 1, 6, 6))


# ---------------------------------------------------------------- a LeNet-like CNN
def test_lenet_matches_pytorch(torch, rng):
    theirs = lenet(torch.nn).double()
    ours = lenet(nn).double()
    copy_from_torch(ours, theirs)
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in theirs.named_parameters()]
    x = rng.standard_normal((3, 1, 12, 12))
    y = np.array([0, 2, 1])
    loss = F.cross_entropy(ours(Tensor(x)), y)
    loss.backward()
    expected = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    for (name, ours_p), (_, theirs_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(ours_p.grad, theirs_p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_lenet_gradcheck(rng):
    model = lenet(nn).double()
    x = Tensor(rng.standard_normal((2, 1, 12, 12)))
    params = list(model.parameters())
    # Checks every element of every parameter (and the input) through conv, ReLU, both pools and Linear.
    assert gradcheck(lambda x, *ps: model(x), [x, *params], raise_exception=True)


def test_lenet_learns_to_tell_bars_apart():
    """Vertical vs horizontal bars at random places: a CNN separates them within a few dozen Adam steps."""
    rng = np.random.default_rng(0)
    n = 32
    images = rng.standard_normal((n, 1, 12, 12)).astype(np.float32) * 0.1
    labels = np.arange(n) % 2
    for i, where in enumerate(rng.integers(1, 11, size=n)):
        if labels[i]:
            images[i, 0, :, where] += 1.0   # a vertical bar
        else:
            images[i, 0, where, :] += 1.0   # a horizontal bar
    model = nn.Sequential(*lenet(nn)[:-1], nn.Linear(12, 2))
    optimizer = nnlearn.optim.Adam(model.parameters(), lr=0.03)
    first = None
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(Tensor(images)), labels)
        first = loss.item() if first is None else first
        loss.backward()
        optimizer.step()
    accuracy = (model(Tensor(images)).argmax(axis=1).data == labels).mean()
    assert loss.item() < 0.3 * first and accuracy == 1.0
