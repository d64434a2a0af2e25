"""Public tests for the chapter 3 exercises (activation functions in NumPy).

Each test takes ``nb``, the learner's answers: ``nb.leaky_relu_forward`` is the function the notebook defines.
Random cases are compared with ``nnlearn.functional`` (itself tested against PyTorch); small cases are worked out
by hand in the comments. Test names start with the exercise they grade: ``test_forward_*``, ``test_backward_*``,
``test_softmax_*``, ``test_gelu_*``.
"""
from __future__ import annotations

import numpy as np

import nnlearn
import nnlearn.functional as F
from nnlearn.grading import points


def random_array(seed, shape, scale=3.0, dtype=np.float64):
    return (scale * np.random.default_rng(seed).normal(size=shape)).astype(dtype)


def library_grad(function, z, dout):
    """dL/dz for L = sum(function(z) * dout), by nnlearn's autograd: the backward pass of ``function``."""
    t = nnlearn.tensor(z, requires_grad=True)
    (function(t) * nnlearn.tensor(dout)).sum().backward()
    return t.grad


def as_result(got, shape, what):
    got = np.asarray(got)
    assert got.shape == shape, f"{what} should have shape {shape}, got {got.shape}"
    return got


# --- Exercise 1: leaky_relu_forward -----------------------------------------------------------------------

@points(1)
def test_forward_hand_computed(nb):
    # z > 0 passes through; z <= 0 is scaled by 0.1: -2 -> -0.2, -0.5 -> -0.05, 0 -> 0, 3 -> 3.
    got = as_result(nb.leaky_relu_forward(np.array([-2.0, -0.5, 0.0, 3.0]), 0.1), (4,), "the output")
    np.testing.assert_allclose(got, [-0.2, -0.05, 0.0, 3.0], err_msg="leaky_relu([-2, -0.5, 0, 3], 0.1)")


@points(1)
def test_forward_matches_the_library_and_its_default_slope(nb):
    z = random_array(1, (6, 7))
    for slope in (0.0, 0.01, 0.2):
        got = as_result(nb.leaky_relu_forward(z, slope), z.shape, "the output")
        np.testing.assert_allclose(got, F.leaky_relu(nnlearn.tensor(z), slope).numpy(), rtol=1e-12,
                                   err_msg=f"random (6, 7) input, negative_slope={slope}")
    np.testing.assert_allclose(nb.leaky_relu_forward(z), F.leaky_relu(nnlearn.tensor(z)).numpy(), rtol=1e-12,
                               err_msg="the default negative_slope should be 0.01")


@points(1)
def test_forward_keeps_dtype_and_leaves_input_alone(nb):
    z = random_array(2, (3, 4, 5), dtype=np.float32)
    before = z.copy()
    got = as_result(nb.leaky_relu_forward(z, 0.1), z.shape, "the output of a (3, 4, 5) input")
    assert got.dtype == np.float32, f"a float32 input should give a float32 output, got {got.dtype}"
    np.testing.assert_array_equal(z, before, err_msg="leaky_relu_forward must not modify its input")


# --- Exercise 2: leaky_relu_backward ----------------------------------------------------------------------

@points(1)
def test_backward_hand_computed(nb):
    # f'(z) = 1 for z > 0 and 0.1 for z <= 0 (z = 0 included): dz = dout * [0.1, 0.1, 1].
    z = np.array([-2.0, 0.0, 1.5])
    got = as_result(nb.leaky_relu_backward(np.array([3.0, -2.0, 4.0]), z, 0.1), (3,), "dz")
    np.testing.assert_allclose(got, [0.3, -0.2, 4.0], err_msg="dout = [3, -2, 4] at z = [-2, 0, 1.5], slope 0.1")


@points(2)
def test_backward_matches_autograd(nb):
    z, dout = random_array(3, (5, 8)), random_array(4, (5, 8), scale=1.0)
    for slope in (0.01, 0.3):
        got = as_result(nb.leaky_relu_backward(dout, z, slope), z.shape, "dz")
        expected = library_grad(lambda t: F.leaky_relu(t, slope), z, dout)
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f"random (5, 8) case, negative_slope={slope}")


@points(1)
def test_backward_uses_the_negative_slope_at_zero(nb):
    got = as_result(nb.leaky_relu_backward(np.ones(3), np.zeros(3), 0.25), (3,), "dz")
    np.testing.assert_allclose(got, [0.25] * 3, err_msg="at z = 0 use the negative slope, as PyTorch does")


@points(1)
def test_backward_default_slope_and_inputs_unchanged(nb):
    z, dout = random_array(5, (4,)), random_array(6, (4,))
    z_before, dout_before = z.copy(), dout.copy()
    got = nb.leaky_relu_backward(dout, z)
    np.testing.assert_allclose(got, library_grad(F.leaky_relu, z, dout), rtol=1e-12,
                               err_msg="the default negative_slope should be 0.01")
    np.testing.assert_array_equal(z, z_before, err_msg="leaky_relu_backward must not modify z")
    np.testing.assert_array_equal(dout, dout_before, err_msg="leaky_relu_backward must not modify dout")


# --- Exercise 3: softmax -----------------------------------------------------------------------------------

@points(1)
def test_softmax_hand_computed(nb):
    # e^0, e^ln2, e^ln3 = 1, 2, 3, whose sum is 6: the probabilities are 1/6, 2/6, 3/6.
    got = as_result(nb.softmax(np.array([0.0, np.log(2.0), np.log(3.0)])), (3,), "softmax of 3 logits")
    np.testing.assert_allclose(got, [1 / 6, 2 / 6, 3 / 6], rtol=1e-12)


@points(2)
def test_softmax_matches_the_library_along_either_axis(nb):
    z = random_array(7, (6, 4))
    got = as_result(nb.softmax(z), (6, 4), "softmax of (6, 4) logits")
    np.testing.assert_allclose(got, F.softmax(nnlearn.tensor(z), dim=-1).numpy(), rtol=1e-12,
                               err_msg="axis=-1 (the default): each row is a probability vector")
    got = as_result(nb.softmax(z, axis=0), (6, 4), "softmax along axis 0")
    np.testing.assert_allclose(got, F.softmax(nnlearn.tensor(z), dim=0).numpy(), rtol=1e-12,
                               err_msg="axis=0: each column is a probability vector")
    np.testing.assert_allclose(got.sum(axis=0), np.ones(4), rtol=1e-12, err_msg="columns must sum to 1")


@points(2)
def test_softmax_does_not_overflow(nb):
    # 1000, 1000 + ln 2, 1000 + ln 3 differ by the same amounts as 0, ln 2, ln 3: the answer is 1/6, 2/6, 3/6.
    with np.errstate(over="raise", invalid="raise"):  # an overflow (inf) or inf - inf (nan) raises here
        got = np.asarray(nb.softmax(np.array([1000.0, 1000.0 + np.log(2.0), 1000.0 + np.log(3.0)])))
        np.testing.assert_allclose(got, [1 / 6, 2 / 6, 3 / 6], rtol=1e-12, err_msg="logits near 1000")
        huge = np.asarray(nb.softmax(np.array([[-1e4, 0.0, 1e4], [5.0, 5.0, 5.0]])))
    np.testing.assert_allclose(huge, [[0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12,
                               err_msg="logits of -1e4, 0, 1e4 (row 0) and equal logits (row 1)")


@points(1)
def test_softmax_leaves_input_alone(nb):
    z = random_array(8, (3, 5))
    before = z.copy()
    nb.softmax(z)
    np.testing.assert_array_equal(z, before, err_msg="softmax must not modify its input (e.g. z -= z.max())")


# --- Exercise 4: gelu_tanh ---------------------------------------------------------------------------------

@points(1)
def test_gelu_hand_computed(nb):
    # z = 0 gives 0; for large |z| tanh(...) = +-1 in float64, so GELU(10) = 10 and GELU(-10) = 0.
    got = as_result(nb.gelu_tanh(np.array([0.0, 10.0, -10.0])), (3,), "the output")
    np.testing.assert_allclose(got, [0.0, 10.0, 0.0], atol=1e-12)


@points(2)
def test_gelu_matches_the_library(nb):
    z = random_array(9, (4, 6))
    got = as_result(nb.gelu_tanh(z), z.shape, "the output")
    np.testing.assert_allclose(got, F.gelu(nnlearn.tensor(z), approximate="tanh").numpy(), rtol=1e-12, atol=1e-15,
                               err_msg="random (4, 6) input against F.gelu(z, approximate='tanh')")
    exact = F.gelu(nnlearn.tensor(z)).numpy()
    assert np.abs(got - exact).max() < 1e-3, "the tanh approximation should stay within 1e-3 of the exact GELU"
