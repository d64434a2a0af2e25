"""Public tests for the chapter 5 exercises (backpropagation).

Each test takes ``nb``, the learner's answers: ``nb.value_pow`` is the function the notebook defines.
Gradients are checked in float64 against hand derivations (in the comments), against ``nnlearn``'s autograd,
and with ``nnlearn.testing.gradcheck`` (central finite differences, element by element).
Test names start with the exercise they grade: ``test_pow_*``, ``test_numerical_*``, ``test_silu_*``,
``test_mlp_*``.
"""
from __future__ import annotations

import math

import numpy as np

import nnlearn
from nnlearn import Function, Value
from nnlearn.grading import points
from nnlearn.testing import gradcheck


# --- Exercise 1: value_pow ---------------------------------------------------------------------------------

@points(1)
def test_pow_forward_and_graph(nb):
    a = Value(3.0)
    out = nb.value_pow(a, 2)
    assert isinstance(out, Value), f"value_pow must return a Value, got {type(out).__name__}"
    assert out is not a, "value_pow must return a new Value, not change a"
    assert out.data == 9.0, f"value_pow(Value(3), 2).data should be 3 ** 2 = 9, got {out.data}"
    assert a.data == 3.0, f"value_pow must not change a.data (it became {a.data})"
    assert tuple(out._parents) == (a,), "the new Value's parents must be (a,), so backward() can reach a"


@points(2)
def test_pow_gradient_by_hand(nb):
    # d(x^3)/dx = 3 x^2 = 12 at x = 2;  d(x^-1)/dx = -x^-2 = -0.25 at x = 2;  d(x^0.5)/dx = 0.5 / sqrt(x) at x = 4
    for x0, n, expected in [(2.0, 3, 12.0), (2.0, -1, -0.25), (4.0, 0.5, 0.25), (1.5, 1, 1.0)]:
        x = Value(x0)
        out = nb.value_pow(x, n)
        out.backward()
        assert math.isclose(x.grad, expected, rel_tol=1e-12), \
            f"d(x ** {n})/dx at x = {x0} should be n x^(n-1) = {expected}, got {x.grad}"


@points(1)
def test_pow_uses_the_upstream_gradient(nb):
    # y = 5 * x^2 at x = 3: dy/dx = 5 * 2x = 30; the factor 5 arrives as out.grad
    x = Value(3.0)
    y = nb.value_pow(x, 2) * 5.0
    y.backward()
    assert math.isclose(x.grad, 30.0), \
        f"d(5 x^2)/dx at x = 3 should be 30, got {x.grad}: multiply the local derivative by out.grad"
    # chained: y = (x^2)^3 = x^6, dy/dx = 6 x^5 = 192 at x = 2
    x = Value(2.0)
    y = nb.value_pow(nb.value_pow(x, 2), 3)
    y.backward()
    assert math.isclose(x.grad, 192.0), f"d((x^2)^3)/dx at x = 2 should be 6 x^5 = 192, got {x.grad}"


@points(1)
def test_pow_gradients_accumulate(nb):
    # y = x^3 + x^2 + x at x = 2: dy/dx = 3x^2 + 2x + 1 = 17; x is used three times, so the += matters
    x = Value(2.0)
    y = nb.value_pow(x, 3) + nb.value_pow(x, 2) + x
    y.backward()
    assert math.isclose(x.grad, 17.0), \
        f"d(x^3 + x^2 + x)/dx at x = 2 should be 17, got {x.grad}: add to a.grad (+=), don't overwrite it"


# --- Exercise 2: numerical_gradient ----------------------------------------------------------------------

@points(1)
def test_numerical_gradient_of_a_quadratic(nb):
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.5]])
    got = np.asarray(nb.numerical_gradient(lambda v: float(np.sum(v ** 2)), x))
    assert got.shape == x.shape, f"the gradient must have x's shape {x.shape}, got {got.shape}"
    np.testing.assert_allclose(got, 2 * x, atol=1e-6, err_msg="the gradient of sum(x^2) is 2x")


@points(1)
def test_numerical_gradient_leaves_x_unchanged(nb):
    x = np.array([0.3, -0.7, 1.1, 2.0])
    original = x.copy()
    nb.numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    np.testing.assert_array_equal(x, original, err_msg="numerical_gradient must leave x as it found it")


@points(1)
def test_numerical_gradient_is_central(nb):
    # f = x^3 at x = 1 with eps = 1e-3: the central difference is 3 + eps^2 = 3.000001; the one-sided
    # (f(x + eps) - f(x)) / eps would be 3 + 3 eps + eps^2 = 3.003001.
    got = np.asarray(nb.numerical_gradient(lambda v: float(np.sum(v ** 3)), np.array([1.0]), eps=1e-3))
    np.testing.assert_allclose(got, [3.000001], rtol=1e-9,
                               err_msg="use the central difference (f(x + eps) - f(x - eps)) / (2 eps)")


@points(1)
def test_numerical_gradient_matches_autograd(nb):
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 4))
    x = rng.normal(size=(4, 2))

    def f(v):
        return float(np.sum(np.tanh(A @ v)))

    t = nnlearn.tensor(x.copy(), requires_grad=True)
    (nnlearn.tensor(A) @ t).tanh().sum().backward()
    np.testing.assert_allclose(np.asarray(nb.numerical_gradient(f, x)), t.grad, atol=1e-7,
                               err_msg="the gradient of sum(tanh(A @ x)) with respect to x")


# --- Exercise 3: SiLU.backward ---------------------------------------------------------------------------

@points(2)
def test_silu_gradcheck(nb):
    rng = np.random.default_rng(3)
    x = nnlearn.tensor(rng.normal(size=(4, 5)) * 2.0, requires_grad=True)
    result = gradcheck(nb.SiLU.apply, [x])
    assert result, str(result)


@points(1)
def test_silu_gradient_by_hand(nb):
    # silu'(x) = s + x s (1 - s) with s = sigmoid(x): at 0 it is 1/2; at large |x| it tends to 1 (x > 0) or 0
    x = nnlearn.tensor(np.array([0.0, 2.0, -40.0, 40.0]), requires_grad=True)
    nb.SiLU.apply(x).sum().backward()
    s = 1.0 / (1.0 + np.exp(-2.0))
    expected = np.array([0.5, s + 2.0 * s * (1.0 - s), 0.0, 1.0])
    assert x.grad is not None and x.grad.shape == (4,), \
        f"backward must return a gradient shaped like x, (4,); got {None if x.grad is None else x.grad.shape}"
    np.testing.assert_allclose(x.grad, expected, atol=1e-12, err_msg="silu'(x) at x = 0, 2, -40, 40")


@points(1)
def test_silu_inside_a_larger_graph(nb):
    # silu used twice and followed by other operations: the upstream gradient is not all ones
    rng = np.random.default_rng(4)
    x = nnlearn.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    W = nnlearn.tensor(rng.normal(size=(3, 3)), requires_grad=True)

    def f(x, W):
        h = nb.SiLU.apply(x @ W)
        return nb.SiLU.apply(h * h - x)

    result = gradcheck(f, [x, W])
    assert result, str(result)


# --- Exercise 4: mlp_backward ----------------------------------------------------------------------------

def _network(seed: int, N: int, D: int, M: int, K: int):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N, D)), rng.normal(size=(N, K)), rng.normal(size=(M, D)), rng.normal(size=M),
            rng.normal(size=(K, M)), rng.normal(size=K))


def _autograd(X, Y, W1, b1, W2, b2):
    """The reference: the same network with nnlearn's Tensor autograd (itself gradchecked in the library tests)."""
    params = [nnlearn.tensor(p.copy(), requires_grad=True) for p in (W1, b1, W2, b2)]
    tW1, tb1, tW2, tb2 = params
    out = (nnlearn.tensor(X) @ tW1.T + tb1).tanh() @ tW2.T + tb2
    loss = ((out - nnlearn.tensor(Y)) ** 2).mean()
    loss.backward()
    return loss.item(), [p.grad for p in params]


class _StudentLoss(Function):
    """The learner's loss as an autograd Function whose backward is the learner's gradients."""

    @staticmethod
    def forward(ctx, W1, b1, W2, b2, X=None, Y=None, fn=None):
        loss, *grads = fn(X, Y, W1, b1, W2, b2)
        ctx.save_for_backward(*[np.asarray(g, dtype=np.float64) for g in grads])
        return np.asarray(loss, dtype=np.float64)

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad * g for g in ctx.saved)


@points(1)
def test_mlp_loss_and_shapes(nb):
    X, Y, W1, b1, W2, b2 = _network(0, N=6, D=3, M=4, K=2)
    result = nb.mlp_backward(X, Y, W1, b1, W2, b2)
    assert len(result) == 5, f"return (loss, dW1, db1, dW2, db2): 5 values, got {len(result)}"
    loss, *grads = result
    expected_loss, _ = _autograd(X, Y, W1, b1, W2, b2)
    assert math.isclose(float(loss), expected_loss, rel_tol=1e-10), \
        f"the loss should be the mean of (out - Y)^2 over all N * K entries, {expected_loss:.6f}; got {float(loss)}"
    for name, g, p in zip(["dW1", "db1", "dW2", "db2"], grads, (W1, b1, W2, b2)):
        assert np.shape(g) == p.shape, f"{name} must have its parameter's shape {p.shape}, got {np.shape(g)}"


@points(2)
def test_mlp_gradients_match_autograd(nb):
    for seed, (N, D, M, K) in enumerate([(6, 3, 4, 2), (10, 5, 7, 3)]):
        X, Y, W1, b1, W2, b2 = _network(seed, N, D, M, K)
        _, *grads = nb.mlp_backward(X, Y, W1, b1, W2, b2)
        _, expected = _autograd(X, Y, W1, b1, W2, b2)
        for name, g, e in zip(["dW1", "db1", "dW2", "db2"], grads, expected):
            np.testing.assert_allclose(np.asarray(g), e, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name} for N={N}, D={D}, M={M}, K={K}")


@points(1)
def test_mlp_gradcheck(nb):
    X, Y, W1, b1, W2, b2 = _network(7, N=4, D=2, M=3, K=1)
    result = gradcheck(lambda *w: _StudentLoss.apply(*w, X=X, Y=Y, fn=nb.mlp_backward), [W1, b1, W2, b2])
    assert result, str(result)


@points(1)
def test_mlp_single_example(nb):
    # N = 1: the bias gradients are the single row, not a sum that lost its axis
    X, Y, W1, b1, W2, b2 = _network(8, N=1, D=3, M=2, K=2)
    _, *grads = nb.mlp_backward(X, Y, W1, b1, W2, b2)
    _, expected = _autograd(X, Y, W1, b1, W2, b2)
    for name, g, e in zip(["dW1", "db1", "dW2", "db2"], grads, expected):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-9, atol=1e-12, err_msg=f"{name} with one example")
