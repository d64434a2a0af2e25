"""Public tests for the chapter 8 exercises (initialization and training stability).

Each test takes ``nb``, the learner's answers: ``nb.xavier_uniform_bound`` is the function the notebook defines.
The reference implementations are ``nnlearn.nn.init`` and ``nnlearn.nn.utils`` (PyTorch's formulas).
Test names start with the exercise they grade: ``test_xavier_*``, ``test_he_*``, ``test_clip_*``,
``test_classify_*``.
"""
from __future__ import annotations

import math

import numpy as np

import nnlearn
from nnlearn import nn
from nnlearn.grading import points
from nnlearn.nn import init


def sample(shape, fill, seed=0):
    """A float64 Parameter of ``shape`` (fan_out, fan_in) filled by an nnlearn.nn.init function."""
    nnlearn.manual_seed(seed)
    weight = nn.Parameter(np.empty(shape, dtype=np.float64))
    fill(weight)
    return weight.data


# --- Exercise 1: xavier_uniform_bound --------------------------------------------------------------------

@points(1)
def test_xavier_by_hand(nb):
    # sqrt(6 / (3 + 3)) = 1 and sqrt(6 / (100 + 200)) = sqrt(0.02)
    assert math.isclose(nb.xavier_uniform_bound(3, 3), 1.0, rel_tol=1e-12), "fan_in = fan_out = 3 gives a = 1"
    assert math.isclose(nb.xavier_uniform_bound(100, 200), math.sqrt(0.02), rel_tol=1e-12), \
        "fan_in = 100, fan_out = 200 gives a = sqrt(6 / 300)"
    assert math.isclose(nb.xavier_uniform_bound(3, 3, gain=2.0), 2.0, rel_tol=1e-12), "the gain multiplies the bound"


@points(2)
def test_xavier_matches_nnlearn_init(nb):
    for (fan_out, fan_in), gain in (((400, 600), 1.0), ((64, 256), init.calculate_gain("tanh"))):
        drawn = sample((fan_out, fan_in), lambda w: init.xavier_uniform_(w, gain=gain))
        bound = nb.xavier_uniform_bound(fan_in, fan_out, gain=gain)
        largest = np.abs(drawn).max()
        # U(-a, a) samples stay inside the bound and, with this many of them, come within 0.5% of it
        assert largest <= bound * (1 + 1e-12), \
            f"init.xavier_uniform_ drew |w| = {largest:.5f} > your bound {bound:.5f} for a weight ({fan_out}, {fan_in})"
        assert largest >= 0.995 * bound, \
            f"init.xavier_uniform_ never came near your bound {bound:.5f} (largest |w| {largest:.5f}): too large"
        # and the variance is the Xavier variance: a^2 / 3 = gain^2 * 2 / (fan_in + fan_out)
        np.testing.assert_allclose(bound ** 2 / 3, gain ** 2 * 2 / (fan_in + fan_out), rtol=1e-12)


# --- Exercise 2: he_normal_std ---------------------------------------------------------------------------

@points(1)
def test_he_by_hand(nb):
    assert math.isclose(nb.he_normal_std(8), 0.5, rel_tol=1e-12), "sqrt(2 / 8) = 0.5"
    assert math.isclose(nb.he_normal_std(2), 1.0, rel_tol=1e-12), "sqrt(2 / 2) = 1"


@points(1)
def test_he_matches_nnlearn_init(nb):
    drawn = sample((500, 800), lambda w: init.kaiming_normal_(w, nonlinearity="relu"))
    # 400,000 samples: the sample standard deviation is within 0.5% of the true one with overwhelming odds
    expected = nb.he_normal_std(800)
    np.testing.assert_allclose(drawn.std(), expected, rtol=0.01,
                               err_msg="init.kaiming_normal_(w, nonlinearity='relu') on a (500, 800) weight "
                                       "draws with a different standard deviation than yours")


@points(1)
def test_he_keeps_a_deep_relu_signal_steady(nb):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((400, 128))
    for _ in range(30):
        W = nb.he_normal_std(128) * rng.standard_normal((128, 128))
        a = np.maximum(a @ W.T, 0.0)
    second_moment = np.mean(a ** 2)
    # with Var(W) = 2 / fan_in every ReLU layer keeps E[a^2]; the input has E[a^2] = 1 and the first layer halves it
    assert 0.1 < second_moment < 3, f"after 30 ReLU layers E[a^2] = {second_moment:.3g}: the signal did not stay steady"


# --- Exercise 3: clip_by_global_norm ---------------------------------------------------------------------

@points(1)
def test_clip_by_hand(nb):
    # |g| = sqrt(9 + 16 + 144) = 13; scaled by 1 / (13 + 1e-6) the pieces become 3/13, 4/13 and 12/13.
    clipped, total = nb.clip_by_global_norm([np.array([3.0, 4.0]), np.array([[12.0]])], 1.0)
    assert math.isclose(float(total), 13.0, rel_tol=1e-12), f"the total norm is 13, got {total}"
    np.testing.assert_allclose(clipped[0], [3 / 13, 4 / 13], rtol=1e-6)
    np.testing.assert_allclose(clipped[1], [[12 / 13]], rtol=1e-6)
    assert np.shape(clipped[1]) == (1, 1), "each clipped array keeps the shape of its gradient"


@points(2)
def test_clip_matches_nnlearn_utils(nb):
    rng = np.random.default_rng(5)
    for max_norm in (0.5, 3.0, 100.0):
        grads = [rng.standard_normal((4, 3)) * 2, rng.standard_normal(3), rng.standard_normal((2, 2, 2))]
        params = [nn.Parameter(np.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        expected_total = nn.utils.clip_grad_norm_(params, max_norm).item()
        clipped, total = nb.clip_by_global_norm([g.copy() for g in grads], max_norm)
        assert math.isclose(float(total), expected_total, rel_tol=1e-9), \
            f"max_norm={max_norm}: total norm {total} differs from clip_grad_norm_'s {expected_total}"
        assert len(clipped) == len(grads), f"return one clipped array per gradient ({len(grads)}), got {len(clipped)}"
        for k, (mine, p) in enumerate(zip(clipped, params)):
            np.testing.assert_allclose(mine, p.grad, rtol=1e-9, atol=1e-15,
                                       err_msg=f"max_norm={max_norm}: clipped gradient {k} differs from "
                                               "nn.utils.clip_grad_norm_")


@points(1)
def test_clip_leaves_its_inputs_alone(nb):
    grads = [np.array([30.0, -40.0]), np.array([1.0])]
    originals = [g.copy() for g in grads]
    clipped, _ = nb.clip_by_global_norm(grads, 1.0)
    for g, original in zip(grads, originals):
        np.testing.assert_array_equal(g, original, err_msg="clip_by_global_norm must not change the arrays passed in")
    short = [np.array([0.3, 0.4])]                     # norm 0.5 <= max_norm: nothing to clip
    kept, total = nb.clip_by_global_norm(short, 1.0)
    np.testing.assert_allclose(kept[0], [0.3, 0.4], rtol=1e-12, err_msg="gradients under max_norm stay as they are")
    assert math.isclose(float(total), 0.5, rel_tol=1e-12)


# --- Exercise 4: classify_critical_point -----------------------------------------------------------------

@points(1)
def test_classify_diagonal_cases(nb):
    cases = {
        "minimum": np.diag([2.0, 3.0]),
        "maximum": -np.eye(3),
        "saddle": np.diag([1.0, -1.0, 2.0]),
        "degenerate": np.diag([0.0, 4.0]),
    }
    for expected, hessian in cases.items():
        got = nb.classify_critical_point(hessian)
        assert got == expected, f"eigenvalues {np.diag(hessian)} describe a {expected}, got {got!r}"


@points(1)
def test_classify_the_chapters_chain_network(nb):
    # L(w1, w2) = (1 - w1 w2)^2. At (0, 0): H = [[0, -2], [-2, 0]], eigenvalues -2 and 2. At (1, 1):
    # H = [[2 w2^2, 4 w1 w2 - 2], [4 w1 w2 - 2, 2 w1^2]] = [[2, 2], [2, 2]], eigenvalues 0 and 4.
    assert nb.classify_critical_point(np.array([[0.0, -2.0], [-2.0, 0.0]])) == "saddle"
    assert nb.classify_critical_point(np.array([[2.0, 2.0], [2.0, 2.0]])) == "degenerate"


@points(1)
def test_classify_rotated_matrices_and_tolerance(nb):
    rng = np.random.default_rng(7)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))    # a random rotation hides the eigenvalues
    cases = [
        ([1.0, 2.0, 0.5, 3.0, 0.1], "minimum"),
        ([-1.0, -2.0, -0.5, -3.0, -0.1], "maximum"),
        ([1.0, 2.0, 0.0, 3.0, -0.1], "saddle"),          # a zero eigenvalue does not hide the mixed signs
        ([1.0, 2.0, 1e-12, 3.0, 0.1], "degenerate"),     # 1e-12 <= tol counts as zero
    ]
    for eigenvalues, expected in cases:
        hessian = Q @ np.diag(eigenvalues) @ Q.T
        hessian = (hessian + hessian.T) / 2
        got = nb.classify_critical_point(hessian)
        assert got == expected, f"a Hessian with eigenvalues {eigenvalues} describes a {expected}, got {got!r}"
    assert nb.classify_critical_point(np.diag([1.0, 1e-6]), tol=1e-3) == "degenerate", "tol decides what counts as 0"
