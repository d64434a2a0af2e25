"""Public tests for the chapter 2 exercises (perceptrons).

Each test takes ``nb``, the learner's answers: ``nb.perceptron_predict`` is the function the notebook defines.
Labels are 0 and 1 throughout; a perceptron says 1 exactly when ``w @ x + b > 0``.
Test names start with the exercise they grade: ``test_predict_*``, ``test_update_*``, ``test_train_*``,
``test_xor_*``.
"""
from __future__ import annotations

import numpy as np

from nnlearn.grading import points

# The four corners of the unit square, and the truth tables of AND and XOR on them.
CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
AND = np.array([0, 0, 0, 1])
XOR = np.array([0, 1, 1, 0])


def separable_blobs(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in 2-D labelled by a fixed line, keeping only points at least 0.2 away from it.

    The margin makes the perceptron converge in a few epochs (Novikoff: at most (R / margin)^2 mistakes).
    """
    rng = np.random.default_rng(seed)
    w_true, b_true = np.array([2.0, -1.0]), 0.5
    X = rng.uniform(-2.0, 2.0, size=(4 * n, 2))
    distance = (X @ w_true + b_true) / np.linalg.norm(w_true)
    keep = np.abs(distance) > 0.2
    X = X[keep][:n]
    return X, (X @ w_true + b_true > 0).astype(np.int64)


# --- Exercise 1: perceptron_predict ----------------------------------------------------------------------

@points(1)
def test_predict_and_gate(nb):
    # w = (1, 1), b = -1.5: the score w @ x + b is -1.5, -0.5, -0.5, 0.5 on the corners, so only (1, 1) fires.
    got = nb.perceptron_predict(np.array([1.0, 1.0]), -1.5, CORNERS)
    np.testing.assert_array_equal(np.asarray(got), AND,
                                  err_msg="w = (1, 1), b = -1.5 should compute AND on the four corners")


@points(1)
def test_predict_boundary_is_zero(nb):
    # Points exactly on the boundary (score 0) are labelled 0: the rule is `score > 0`, not `>= 0`.
    got = nb.perceptron_predict(np.array([1.0, -1.0]), 0.0, np.array([[2.0, 2.0], [0.0, 0.0], [3.0, 1.0]]))
    np.testing.assert_array_equal(np.asarray(got), [0, 0, 1],
                                  err_msg="a point with w @ x + b == 0 must get label 0 (the rule is > 0)")


@points(1)
def test_predict_shape_and_dtype(nb):
    rng = np.random.default_rng(1)
    X, w = rng.normal(size=(7, 3)), rng.normal(size=3)
    got = nb.perceptron_predict(w, 0.1, X)
    assert isinstance(got, np.ndarray), f"expected a NumPy array, got {type(got).__name__}"
    assert got.shape == (7,), f"X has shape (7, 3), so the labels should have shape (7,), got {got.shape}"
    assert np.issubdtype(got.dtype, np.integer), f"labels should be integers, got dtype {got.dtype}"
    np.testing.assert_array_equal(got, (X @ w + 0.1 > 0).astype(int), err_msg="labels on random data")
    one = nb.perceptron_predict(w, 0.1, X[:1])
    assert np.asarray(one).shape == (1,), \
        f"a single sample X of shape (1, 3) gives labels of shape (1,), got {np.shape(one)}"


# --- Exercise 2: perceptron_update -----------------------------------------------------------------------

@points(1)
def test_update_correct_sample_changes_nothing(nb):
    w, b = np.array([1.0, 1.0]), -1.5
    # x = (1, 1) scores 0.5 > 0: predicted 1, and y = 1, so the perceptron is right.
    new_w, new_b = nb.perceptron_update(w, b, np.array([1.0, 1.0]), 1, lr=0.5)
    np.testing.assert_allclose(new_w, [1.0, 1.0], err_msg="a correctly classified sample must not change w")
    np.testing.assert_allclose(new_b, -1.5, err_msg="a correctly classified sample must not change b")


@points(1)
def test_update_missed_positive(nb):
    # Predicted 0 (score -0.5) but y = 1: w += lr * x = (1, 1) + 0.5 * (1, 0), b += lr = -1.5 + 0.5.
    new_w, new_b = nb.perceptron_update(np.array([1.0, 1.0]), -1.5, np.array([1.0, 0.0]), 1, lr=0.5)
    np.testing.assert_allclose(new_w, [1.5, 1.0], err_msg="missed positive: w should move by +lr * x")
    np.testing.assert_allclose(new_b, -1.0, err_msg="missed positive: b should grow by lr")


@points(1)
def test_update_missed_negative(nb):
    # Predicted 1 (score 0.5) but y = 0: w -= lr * x = (1, 1) - 2 * (1, 1), b -= lr = -1.5 - 2.
    new_w, new_b = nb.perceptron_update(np.array([1.0, 1.0]), -1.5, np.array([1.0, 1.0]), 0, lr=2.0)
    np.testing.assert_allclose(new_w, [-1.0, -1.0], err_msg="false positive: w should move by -lr * x")
    np.testing.assert_allclose(new_b, -3.5, err_msg="false positive: b should shrink by lr")


@points(1)
def test_update_does_not_modify_inputs(nb):
    w, x = np.array([0.0, 0.0]), np.array([1.0, 2.0])
    new_w, _ = nb.perceptron_update(w, 0.0, x, 1, lr=1.0)  # score 0: predicted 0, y = 1 -> an update
    np.testing.assert_allclose(new_w, [1.0, 2.0], err_msg="from w = 0, a missed positive gives w = x")
    np.testing.assert_array_equal(w, [0.0, 0.0], err_msg="perceptron_update must return a new w, "
                                                         "not change the one passed in")
    np.testing.assert_array_equal(x, [1.0, 2.0], err_msg="perceptron_update must not change x")


# --- Exercise 3: train_perceptron ------------------------------------------------------------------------

@points(1)
def test_train_learns_and_gate(nb):
    w, b = nb.train_perceptron(CORNERS, AND, epochs=20, lr=1.0)
    got = (CORNERS @ np.asarray(w) + b > 0).astype(int)
    np.testing.assert_array_equal(got, AND, err_msg=f"the trained perceptron (w={w}, b={b}) gets AND wrong")


@points(2)
def test_train_separates_separable_data(nb):
    X, y = separable_blobs()
    w, b = nb.train_perceptron(X, y, epochs=100, lr=0.1)
    w = np.asarray(w, dtype=float)
    assert w.shape == (2,), f"w should have shape (D,) = (2,), got {w.shape}"
    errors = int(np.sum((X @ w + b > 0).astype(int) != y))
    assert errors == 0, f"the data are linearly separable, yet {errors} of {len(y)} points are misclassified"


@points(1)
def test_train_hand_traced_epoch(nb):
    # One epoch from w = 0, b = 0, lr = 1, samples in order:
    #   x = (1, 0), y = 1: score 0 -> predict 0, wrong -> w = (1, 0), b = 1
    #   x = (0, 1), y = 0: score 0 + 1 = 1 -> predict 1, wrong -> w = (1, -1), b = 0
    w, b = nb.train_perceptron(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 0]), epochs=1, lr=1.0)
    np.testing.assert_allclose(w, [1.0, -1.0], err_msg="start from zeros, visit samples in order, one epoch")
    np.testing.assert_allclose(b, 0.0, err_msg="start from zeros, visit samples in order, one epoch")


@points(1)
def test_train_zero_epochs_returns_zeros(nb):
    w, b = nb.train_perceptron(CORNERS, AND, epochs=0, lr=1.0)
    np.testing.assert_array_equal(w, [0.0, 0.0], err_msg="with epochs=0 the weights stay at their start, 0")
    assert float(b) == 0.0, f"with epochs=0 the bias stays at its start, 0, got {b}"


# --- Exercise 4: xor_network -----------------------------------------------------------------------------

@points(2)
def test_xor_truth_table(nb):
    got = nb.xor_network(CORNERS)
    np.testing.assert_array_equal(np.asarray(got), XOR, err_msg="xor_network on (0,0), (0,1), (1,0), (1,1)")


@points(1)
def test_xor_any_order_and_repeats(nb):
    order = np.array([3, 3, 1, 0, 2, 1])
    got = nb.xor_network(CORNERS[order])
    np.testing.assert_array_equal(np.asarray(got), XOR[order],
                                  err_msg="each row is a separate sample: order and repeats must not matter")


@points(1)
def test_xor_output_shape_and_labels(nb):
    got = np.asarray(nb.xor_network(CORNERS[:1]))
    assert got.shape == (1,), f"X of shape (1, 2) gives labels of shape (1,), got {got.shape}"
    assert np.issubdtype(got.dtype, np.integer), f"labels should be integers 0/1, got dtype {got.dtype}"
