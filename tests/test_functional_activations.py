"""nnlearn.functional activations, linear and dropout: closed forms, gradchecks, PyTorch parity, stability,
dropout statistics and the messages of bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nnlearn
import nnlearn.functional as F
from nnlearn import Tensor
from nnlearn.functional.activations import erf
from nnlearn.testing import gradcheck


def _phi(x):
    return 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x.ravel()]).reshape(x.shape))


# name -> (nnlearn call, NumPy closed form, torch call)
ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), lambda t, x: t.relu(x)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                   lambda t, x: t.nn.functional.leaky_relu(x, 0.2)),
    "leaky_relu_default": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                           lambda t, x: t.nn.functional.leaky_relu(x)),
    "elu": (lambda x: F.elu(x, alpha=1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1)),
            lambda t, x: t.nn.functional.elu(x, alpha=1.5)),
    "gelu": (F.gelu, lambda x: x * _phi(x), lambda t, x: t.nn.functional.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
                  lambda t, x: t.nn.functional.gelu(x, approximate="tanh")),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda t, x: t.sigmoid(x)),
    "tanh": (F.tanh, np.tanh, lambda t, x: t.tanh(x)),
    "softmax": (F.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
                lambda t, x: t.softmax(x, dim=-1)),
    "softmax_dim0": (lambda x: F.softmax(x, dim=0), lambda x: np.exp(x) / np.exp(x).sum(0, keepdims=True),
                     lambda t, x: t.softmax(x, dim=0)),
    "log_softmax": (F.log_softmax, lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
                    lambda t, x: t.log_softmax(x, dim=-1)),
    "log_softmax_dim1": (lambda x: F.log_softmax(x, dim=1),
                         lambda x: x - np.log(np.exp(x).sum(1, keepdims=True)),
                         lambda t, x: t.log_softmax(x, dim=1)),
}


# ---------------------------------------------------------------------------------------------- erf
def test_erf_matches_math_erf_to_the_last_few_bits():
    x = np.concatenate([np.linspace(-10, 10, 20001), np.random.default_rng(0).standard_normal(5000) * 3,
                        [0.0, -0.0, 1.0, -1.0, np.nextafter(1.0, 2.0), 8.0, -8.0, 7.999, 1e-300, 40.0]])
    expected = np.array([math.erf(v) for v in x])
    got = erf(x)
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)
    assert relative.max() < 2e-15, f"worst relative error {relative.max():.2e} at x = {x[relative.argmax()]}"
    assert erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np.isnan(erf(np.array([np.nan]))).all()
    assert erf(0.5) == pytest.approx(math.erf(0.5), rel=1e-15)  # 0-d input works too


def run_both(name, x, upstream, torch):
    """Forward and backward of activation ``name`` in nnlearn and in PyTorch: (out, grad, torch_out, torch_grad)."""
    ours, _, theirs = ACTIVATIONS[name]
    X = Tensor(x.copy(), requires_grad=True)
    out = ours(X)
    out.backward(upstream)
    tx = torch.tensor(x, requires_grad=True)
    tout = theirs(torch, tx)
    tout.backward(torch.tensor(upstream))
    return out.data, X.grad, tout.detach().numpy(), tx.grad.numpy()


# ---------------------------------------------------------------------------------------------- forward + gradient
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_forward_matches_closed_form(name, rng):
    ours, closed, _ = ACTIVATIONS[name]
    x = rng.standard_normal((4, 5)) * 2
    np.testing.assert_allclose(ours(Tensor(x)).data, closed(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_gradcheck(name, rng):
    ours, _, _ = ACTIVATIONS[name]
    x = rng.standard_normal((3, 4)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kinks of relu-like functions
    assert gradcheck(ours, [x]), name


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_matches_pytorch_forward_and_backward(name, dtype, tol, rng, torch):
    x = (rng.standard_normal((2, 3, 5)) * 3).astype(dtype)
    upstream = rng.standard_normal((2, 3, 5)).astype(dtype)
    out, grad, tout, tgrad = run_both(name, x, upstream, torch)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, tout, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, tgrad, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_stable_for_huge_inputs_like_pytorch(name, torch):
    x = np.array([[-1e4, -50.0, 0.5, 1e4], [1e4, 1e4, -1e4, 3.0], [-1e4, -1e4, -1e4, -1e4]])
    upstream = np.arange(1.0, 13.0).reshape(3, 4)
    out, grad, tout, tgrad = run_both(name, x, upstream, torch)
    assert np.isfinite(out).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(out, tout, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-12, atol=1e-12)


def test_sigmoid_saturates_exactly_without_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # an overflow in exp would raise here
        out = F.sigmoid(Tensor(np.array([-1e4, 0.0, 1e4])))
    assert out.data.tolist() == [0.0, 0.5, 1.0]


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log(rng):
    x = rng.standard_normal((6, 7)) * 10
    p = F.softmax(Tensor(x), dim=1).data
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(F.log_softmax(Tensor(x), dim=1).data, np.log(p), rtol=1e-12, atol=1e-12)
    # invariant to adding a constant to every logit: the max-subtraction trick relies on it
    np.testing.assert_allclose(F.softmax(Tensor(x + 1000.0), dim=1).data, p, rtol=1e-12, atol=1e-15)


def test_softmax_handles_an_empty_dimension():
    assert F.softmax(Tensor(np.zeros((2, 0))), dim=1).shape == (2, 0)


def test_tensor_methods_use_functional(rng):
    x = rng.standard_normal(5)
    X = Tensor(x, requires_grad=True)
    (X.tanh() + X.sigmoid() + X.relu()).sum().backward()
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(X.grad, (1 - np.tanh(x) ** 2) + s * (1 - s) + (x > 0), rtol=1e-12)


def test_activations_keep_float32_and_accept_arrays_and_lists():
    assert F.gelu(Tensor(np.ones(3, dtype=np.float32))).dtype == np.float32
    assert F.elu(np.array([-1.0, 2.0])).dtype == np.float64  # a NumPy array keeps its dtype
    out = F.relu([-1.0, 2.0])  # a list becomes a default-dtype Tensor
    assert isinstance(out, Tensor) and out.dtype == np.float32 and out.tolist() == [0.0, 2.0]


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    x = Tensor(np.array([0.0]), requires_grad=True)
    F.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0]


# ---------------------------------------------------------------------------------------------- bad input
def test_activation_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"relu: input must have a floating-point dtype .* got int64"):
        F.relu(Tensor(np.array([1, -2])))
    with pytest.raises(TypeError, match=r"sigmoid: input must be a Tensor or an array-like of numbers, got str"):
        F.sigmoid("abc")
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(Tensor([1.0]), approximate="erf")
    with pytest.raises(TypeError, match=r"leaky_relu: negative_slope must be a number, got str"):
        F.leaky_relu(Tensor([1.0]), "0.1")
    with pytest.raises(ValueError, match=r"softmax: dim must be in \[-2, 1\] for a 2-d input, got 2"):
        F.softmax(Tensor(np.zeros((2, 3))), dim=2)
    with pytest.raises(TypeError, match=r"log_softmax: dim must be an int, got float"):
        F.log_softmax(Tensor(np.zeros((2, 3))), dim=1.0)
    with pytest.raises(ValueError, match=r"softmax: input must have at least one dimension"):
        F.softmax(Tensor(1.0))


# ---------------------------------------------------------------------------------------------- linear
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_forward_and_gradcheck(shape, with_bias, rng):
    x, w, b = rng.standard_normal(shape), rng.standard_normal((2, 3)), rng.standard_normal(2)
    expected = x @ w.T + (b if with_bias else 0)
    out = F.linear(Tensor(x), Tensor(w), Tensor(b) if with_bias else None)
    assert out.shape == shape[:-1] + (2,)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    if with_bias:
        assert gradcheck(F.linear, [x, w, b])
    else:
        assert gradcheck(lambda x, w: F.linear(x, w), [x, w])


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_linear_matches_pytorch(dtype, tol, rng, torch):
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(2, 3, 4), (5, 4), (5,)])
    upstream = rng.standard_normal((2, 3, 5)).astype(dtype)
    X, W, B = (Tensor(a.copy(), requires_grad=True) for a in (x, w, b))
    out = F.linear(X, W, B)
    out.backward(upstream)
    tX, tW, tB = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.linear(tX, tW, tB)
    tout.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    for ours, theirs in [(X, tX), (W, tW), (B, tB)]:
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=tol, atol=tol)


def test_linear_bad_shapes_and_dtypes_are_named():
    x, w = Tensor(np.zeros((4, 3))), Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"linear: input must have shape \(\*, in_features\) = \(\*, 3\) to "
                                         r"match weight of shape \(2, 3\), got input of shape \(4, 5\)"):
        F.linear(Tensor(np.zeros((4, 5))), w)
    with pytest.raises(ValueError, match=r"linear: weight must have shape \(out_features, in_features\), "
                                         r"got shape \(3,\)"):
        F.linear(x, Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(out_features,\) = \(2,\) .* "
                                         r"got bias of shape \(3,\)"):
        F.linear(x, w, Tensor(np.zeros(3)))
    with pytest.raises(TypeError, match=r"linear: input and weight must have the same dtype, got input float32 "
                                        r"and weight float64"):
        F.linear(Tensor(np.zeros((4, 3), dtype=np.float32)), w)


# ---------------------------------------------------------------------------------------------- dropout
def test_dropout_statistics_with_a_seed():
    nnlearn.manual_seed(0)
    x = Tensor(np.ones((400, 500)))
    for p in (0.1, 0.5, 0.8):
        out = F.dropout(x, p=p).data
        zeroed = (out == 0).mean()
        # 200,000 Bernoulli(p) draws: the fraction's standard deviation is < 0.0012, so 0.006 is 5 sigma
        assert abs(zeroed - p) < 0.006, (p, zeroed)
        np.testing.assert_allclose(out[out != 0], 1 / (1 - p))  # survivors are scaled up...
        assert abs(out.mean() - 1.0) < 0.006 / (1 - p)  # ...so the mean is preserved


def test_dropout_is_reproducible_under_manual_seed():
    x = Tensor(np.ones((20, 30)))
    nnlearn.manual_seed(7)
    first = F.dropout(x, 0.3).data
    second = F.dropout(x, 0.3).data
    nnlearn.manual_seed(7)
    assert np.array_equal(F.dropout(x, 0.3).data, first)
    assert not np.array_equal(first, second)  # a new mask on every call


def test_dropout_eval_and_edge_probabilities():
    x = Tensor(np.arange(1.0, 7.0), requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    out = F.dropout(x, 1.0)
    assert out.data.tolist() == [0.0] * 6
    out.sum().backward()
    assert x.grad.tolist() == [0.0] * 6


def test_dropout_gradient_is_the_scaled_mask(rng):
    x = Tensor(rng.standard_normal((5, 6)), requires_grad=True)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    mask = out.data / x.data  # 0 where dropped, 1 / 0.6 where kept
    np.testing.assert_allclose(x.grad, mask, rtol=1e-12)
    assert set(np.round(np.unique(mask), 12)) == {0.0, round(1 / 0.6, 12)}
    assert out.dtype == np.float64 and F.dropout(Tensor(np.ones(3, dtype=np.float32)), 0.5).dtype == np.float32


def test_dropout_bad_p_is_named():
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        F.dropout(Tensor([1.0]), 1.5)
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got -0.1"):
        F.dropout(Tensor([1.0]), -0.1)
    with pytest.raises(TypeError, match=r"dropout: p must be a number, got str"):
        F.dropout(Tensor([1.0]), "0.5")


def test_relu_propagates_nan_like_pytorch():
    # A NaN must reach the loss so that training can notice it; a ReLU that zeroes NaN hides divergence.
    from nnlearn import Tensor
    import nnlearn.functional as F
    out = F.relu(Tensor(np.array([np.nan, -1.0, 2.0]))).numpy()
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == 2.0
