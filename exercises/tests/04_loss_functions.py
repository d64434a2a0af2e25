"""Public tests for the chapter 4 exercises (classification losses and their gradients, in NumPy).

Each test takes ``nb``, the learner's answers: ``nb.log_sum_exp`` is the function the notebook defines.
Losses are compared with ``nnlearn.functional`` (itself tested against PyTorch) and gradients with nnlearn's
autograd; small cases are worked out by hand in the comments. Test names start with the exercise they grade:
``test_lse_*``, ``test_bce_*``, ``test_ce_*``, ``test_hinge_*``.
"""
from __future__ import annotations

import numpy as np

import nnlearn
import nnlearn.functional as F
from nnlearn.grading import points


def library_loss_and_grad(loss_fn, scores, target):
    """The library's mean loss and its gradient with respect to ``scores`` (float64, by autograd)."""
    t = nnlearn.tensor(scores, requires_grad=True)
    loss = loss_fn(t, nnlearn.tensor(target))
    loss.backward()
    return float(loss.item()), t.grad


def unpack(result, shape, name):
    """``(loss, grad)`` from the learner's function, with the shapes checked."""
    assert isinstance(result, tuple) and len(result) == 2, \
        f"{name} should return a pair (loss, gradient), got {type(result).__name__}"
    loss, grad = result
    assert np.ndim(loss) == 0, f"the loss should be a single number (the mean), got shape {np.shape(loss)}"
    grad = np.asarray(grad)
    assert grad.shape == shape, f"the gradient should have the shape of the scores {shape}, got {grad.shape}"
    return float(loss), grad


def no_overflow(function, *args):
    """Call function(*args) with overflow and invalid operations (inf - inf, 0/0) raised as errors."""
    with np.errstate(over="raise", invalid="raise"):
        return function(*args)


# --- Exercise 1: log_sum_exp -------------------------------------------------------------------------------

@points(1)
def test_lse_hand_computed(nb):
    # e^0 + e^(ln 2) + e^(ln 3) = 1 + 2 + 3 = 6, so the answer is ln 6.
    got = nb.log_sum_exp(np.array([0.0, np.log(2.0), np.log(3.0)]))
    assert np.ndim(got) == 0, f"a 1-D input reduces to a single number, got shape {np.shape(got)}"
    np.testing.assert_allclose(float(got), np.log(6.0), rtol=1e-12)


@points(2)
def test_lse_matches_numpy_along_either_axis(nb):
    z = np.random.default_rng(1).normal(scale=4, size=(5, 3))
    got = np.asarray(nb.log_sum_exp(z))
    assert got.shape == (5,), f"(5, 3) logits reduced along axis=-1 give shape (5,), got {got.shape}"
    np.testing.assert_allclose(got, np.logaddexp.reduce(z, axis=1), rtol=1e-12, err_msg="axis=-1, the default")
    got = np.asarray(nb.log_sum_exp(z, axis=0))
    assert got.shape == (3,), f"(5, 3) logits reduced along axis=0 give shape (3,), got {got.shape}"
    np.testing.assert_allclose(got, np.logaddexp.reduce(z, axis=0), rtol=1e-12, err_msg="axis=0")


@points(2)
def test_lse_is_safe_for_huge_and_tiny_logits(nb):
    # [1000, 1000] -> 1000 + ln 2 (naive: inf);  [-1000, -1000] -> -1000 + ln 2 (naive: log(0) = -inf).
    z = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [1e4, -1e4]])
    got = np.asarray(no_overflow(nb.log_sum_exp, z))
    np.testing.assert_allclose(got, [1000 + np.log(2), -1000 + np.log(2), 1e4], rtol=1e-12)


@points(1)
def test_lse_leaves_input_alone(nb):
    z = np.random.default_rng(2).normal(size=(2, 6))
    before = z.copy()
    nb.log_sum_exp(z)
    np.testing.assert_array_equal(z, before, err_msg="log_sum_exp must not modify its input (z -= m)")


# --- Exercise 2: bce_with_logits ---------------------------------------------------------------------------

@points(1)
def test_bce_hand_computed(nb):
    # z = 0 gives sigmoid 0.5 and loss log 2 for either label; gradient (0.5 - y) / N with N = 2.
    loss, dz = unpack(nb.bce_with_logits(np.array([0.0, 0.0]), np.array([1.0, 0.0])), (2,), "bce_with_logits")
    np.testing.assert_allclose(loss, np.log(2.0), rtol=1e-12, err_msg="the mean loss")
    np.testing.assert_allclose(dz, [-0.25, 0.25], rtol=1e-12, err_msg="the gradient (sigmoid(z) - y) / N")


@points(2)
def test_bce_matches_the_library(nb):
    rng = np.random.default_rng(3)
    z, y = rng.normal(scale=4, size=9), rng.integers(0, 2, size=9).astype(np.float64)
    loss, dz = unpack(nb.bce_with_logits(z, y), (9,), "bce_with_logits")
    expected_loss, expected_dz = library_loss_and_grad(F.binary_cross_entropy_with_logits, z, y)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, err_msg="the mean loss on a random batch")
    np.testing.assert_allclose(dz, expected_dz, rtol=1e-10, atol=1e-15, err_msg="the gradient on a random batch")


@points(2)
def test_bce_is_safe_for_huge_logits(nb):
    # Confident and wrong: loss log(1 + e^1000) = 1000 each; sigmoid = 1 or 0 exactly, gradient (1 - 0)/2, (0 - 1)/2.
    # Confident and right (last two): loss 0, gradient 0.
    z, y = np.array([1000.0, -1000.0, 1000.0, -1000.0]), np.array([0.0, 1.0, 1.0, 0.0])
    loss, dz = unpack(no_overflow(nb.bce_with_logits, z, y), (4,), "bce_with_logits")
    np.testing.assert_allclose(loss, 500.0, rtol=1e-12, err_msg="losses 1000, 1000, 0, 0: mean 500")
    np.testing.assert_allclose(dz, [0.25, -0.25, 0.0, 0.0], atol=1e-15, err_msg="the gradient at logits of +-1000")


# --- Exercise 3: cross_entropy_from_logits ------------------------------------------------------------------

@points(1)
def test_ce_hand_computed(nb):
    # Equal logits: every probability is 1/4, the loss is log 4, the gradient (1/4 - one_hot) / 2.
    loss, d = unpack(nb.cross_entropy_from_logits(np.zeros((2, 4)), np.array([1, 3])), (2, 4),
                     "cross_entropy_from_logits")
    np.testing.assert_allclose(loss, np.log(4.0), rtol=1e-12, err_msg="equal logits: loss log C")
    expected = np.full((2, 4), 0.125)
    expected[0, 1] = expected[1, 3] = 0.125 - 0.5
    np.testing.assert_allclose(d, expected, rtol=1e-12, err_msg="(softmax - one_hot) / N")


@points(3)
def test_ce_matches_the_library(nb):
    rng = np.random.default_rng(4)
    logits, targets = rng.normal(scale=3, size=(7, 5)), rng.integers(0, 5, size=7)
    loss, d = unpack(nb.cross_entropy_from_logits(logits, targets), (7, 5), "cross_entropy_from_logits")
    expected_loss, expected_d = library_loss_and_grad(F.cross_entropy, logits, targets)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, err_msg="the mean loss on a random batch")
    np.testing.assert_allclose(d, expected_d, rtol=1e-10, atol=1e-15, err_msg="the gradient on a random batch")


@points(2)
def test_ce_is_safe_for_huge_logits(nb):
    # Row 0: LSE = 1000, target logit -1000: loss 2000, softmax (1, 0, 0).  Row 1: correct and confident: loss 0.
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    loss, d = unpack(no_overflow(nb.cross_entropy_from_logits, logits, np.array([2, 1])), (2, 3),
                     "cross_entropy_from_logits")
    np.testing.assert_allclose(loss, 1000.0, rtol=1e-12, err_msg="losses 2000 and 0: mean 1000")
    np.testing.assert_allclose(d, [[0.5, 0.0, -0.5], [0.0, 0.0, 0.0]], atol=1e-15,
                               err_msg="(softmax - one_hot) / N for logits of +-1000")


@points(1)
def test_ce_leaves_inputs_alone(nb):
    logits, targets = np.random.default_rng(5).normal(size=(3, 4)), np.array([0, 3, 3])
    before = logits.copy()
    nb.cross_entropy_from_logits(logits, targets)
    np.testing.assert_array_equal(logits, before, err_msg="cross_entropy_from_logits must not modify the logits")
    np.testing.assert_array_equal(targets, [0, 3, 3], err_msg="cross_entropy_from_logits must not modify the targets")


# --- Exercise 4: hinge_loss ----------------------------------------------------------------------------------

@points(1)
def test_hinge_hand_computed(nb):
    # y s = 2, 0.5, -1, 1: losses 0, 0.5, 2, 0 (mean 0.625); inside the margin (y s < 1): rows 1 and 2 -> -y / 4.
    loss, ds = unpack(nb.hinge_loss(np.array([2.0, 0.5, -1.0, 1.0]), np.ones(4)), (4,), "hinge_loss")
    np.testing.assert_allclose(loss, 0.625, rtol=1e-12, err_msg="the mean loss")
    np.testing.assert_allclose(ds, [0.0, -0.25, -0.25, 0.0], atol=1e-15,
                               err_msg="the gradient; at the kink y s = 1 it is 0")


@points(2)
def test_hinge_matches_the_library(nb):
    rng = np.random.default_rng(6)
    scores, y = rng.normal(scale=2, size=10), rng.choice([-1.0, 1.0], size=10)
    loss, ds = unpack(nb.hinge_loss(scores, y), (10,), "hinge_loss")
    expected_loss, expected_ds = library_loss_and_grad(F.hinge_loss, scores, y)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-12, err_msg="the mean loss on a random batch")
    np.testing.assert_allclose(ds, expected_ds, rtol=1e-12, atol=1e-15, err_msg="the gradient on a random batch")
