"""Public tests for the chapter 10 exercises (the training workflow and debugging).

Each test takes ``nb``, the learner's answers: ``nb.confusion_matrix`` is the function the notebook defines.
Test names start with the exercise they grade: ``test_confusion_*``, ``test_precision_*``, ``test_split_*``,
``test_leak_*``. Where a test compares with ``nnlearn.train.metrics``, the library is the independent reference
(it is tested against hand-computed values in the project's own test suite).
"""
from __future__ import annotations

import time

import numpy as np

from nnlearn.grading import points

# A small example traced by hand (the one in the exercise notebook):
#   true 0: predicted 0, 1        -> row 0 = [1, 1, 0]
#   true 1: predicted 1, 1        -> row 1 = [0, 2, 0]
#   true 2: predicted 2, 0, 2     -> row 2 = [1, 0, 2]
Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0, 2])
CM = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 2]])


# --- Exercise 1: confusion_matrix --------------------------------------------------------------------------

@points(1)
def test_confusion_hand_traced(nb):
    got = np.asarray(nb.confusion_matrix(Y_TRUE, Y_PRED, 3))
    np.testing.assert_array_equal(got, CM, err_msg="rows are the true class, columns the predicted class")
    assert np.issubdtype(got.dtype, np.integer), f"counts should be integers, got dtype {got.dtype}"


@points(1)
def test_confusion_absent_classes_and_shape(nb):
    # classes 3 and 4 never occur: their rows and columns are zeros, but they are there
    got = np.asarray(nb.confusion_matrix(np.array([0, 1, 1]), np.array([1, 1, 0]), 5))
    assert got.shape == (5, 5), f"n_classes = 5 gives a (5, 5) matrix, got shape {got.shape}"
    expected = np.zeros((5, 5), dtype=int)
    expected[0, 1], expected[1, 1], expected[1, 0] = 1, 1, 1
    np.testing.assert_array_equal(got, expected, err_msg="classes that never occur keep rows/columns of zeros")


@points(2)
def test_confusion_matches_nnlearn_on_random_labels(nb):
    from nnlearn.train import confusion_matrix as reference

    rng = np.random.default_rng(4)
    for n in (1, 7, 500):
        y_true, y_pred = rng.integers(0, 6, size=n), rng.integers(0, 6, size=n)
        got = np.asarray(nb.confusion_matrix(y_true.copy(), y_pred.copy(), 6))
        np.testing.assert_array_equal(got, reference(y_pred, y_true, num_classes=6),
                                      err_msg=f"confusion matrix of {n} random labels")
        assert got.sum() == n, f"the counts must add up to the number of samples, {n}; got {got.sum()}"


# --- Exercise 2: precision_recall --------------------------------------------------------------------------

@points(1)
def test_precision_hand_traced(nb):
    # columns of CM: (2, 3, 2) predicted; diagonal (1, 2, 2); rows (2, 2, 3) actual
    precision, recall = nb.precision_recall(Y_TRUE, Y_PRED, 3)
    np.testing.assert_allclose(precision, [1 / 2, 2 / 3, 2 / 2], err_msg="precision = diagonal / column sums")
    np.testing.assert_allclose(recall, [1 / 2, 2 / 2, 2 / 3], err_msg="recall = diagonal / row sums")


@points(1)
def test_precision_zero_division_gives_zero(nb):
    # class 2 is never predicted (precision 0/0) and class 3 never occurs (recall 0/0, precision 0/1)
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 1, 3, 0])
    precision, recall = nb.precision_recall(y_true, y_pred, 4)
    assert np.all(np.isfinite(precision)) and np.all(np.isfinite(recall)), \
        "no NaN or inf: a 0/0 precision or recall is reported as 0"
    np.testing.assert_allclose(precision, [0.5, 1.0, 0.0, 0.0], err_msg="precision with absent classes")
    np.testing.assert_allclose(recall, [1.0, 1.0, 0.0, 0.0], err_msg="recall with absent classes")


@points(2)
def test_precision_matches_nnlearn_on_random_labels(nb):
    from nnlearn.train import precision, recall

    rng = np.random.default_rng(5)
    y_true, y_pred = rng.integers(0, 5, size=300), rng.integers(0, 5, size=300)
    y_pred[:150] = y_true[:150]                         # a classifier that is right about half the time
    got_p, got_r = nb.precision_recall(y_true, y_pred, 5)
    assert np.shape(got_p) == (5,) and np.shape(got_r) == (5,), "one precision and one recall per class"
    np.testing.assert_allclose(got_p, precision(y_pred, y_true, average=None, num_classes=5), rtol=1e-12)
    np.testing.assert_allclose(got_r, recall(y_pred, y_true, average=None, num_classes=5), rtol=1e-12)


# --- Exercise 3: train_val_test_indices --------------------------------------------------------------------

@points(2)
def test_split_sizes_disjoint_and_complete(nb):
    for n, fractions in [(100, (0.7, 0.15, 0.15)), (1797, (0.6, 0.2, 0.2)), (10, (0.5, 0.5, 0.0))]:
        parts = nb.train_val_test_indices(n, fractions, 0)
        assert len(parts) == 3, f"return three arrays (train, val, test), got {len(parts)}"
        train, val, test = (np.asarray(p) for p in parts)
        n_val, n_test = round(fractions[1] * n), round(fractions[2] * n)
        assert (len(train), len(val), len(test)) == (n - n_val - n_test, n_val, n_test), (
            f"n={n}, fractions={fractions}: expected sizes {(n - n_val - n_test, n_val, n_test)}, "
            f"got {(len(train), len(val), len(test))}")
        everything = np.concatenate([train, val, test])
        np.testing.assert_array_equal(np.sort(everything), np.arange(n),
                                      err_msg="every index 0..n-1 must appear in exactly one part")
        assert np.issubdtype(everything.dtype, np.integer), f"indices must be integers, got {everything.dtype}"


@points(1)
def test_split_is_random_and_repeatable(nb):
    first = [np.asarray(p) for p in nb.train_val_test_indices(200, (0.6, 0.2, 0.2), 7)]
    again = [np.asarray(p) for p in nb.train_val_test_indices(200, (0.6, 0.2, 0.2), 7)]
    other = [np.asarray(p) for p in nb.train_val_test_indices(200, (0.6, 0.2, 0.2), 8)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b, err_msg="the same seed must give the same split")
    assert not np.array_equal(np.sort(first[2]), np.sort(other[2])), "another seed should give another test set"
    assert not np.array_equal(np.sort(first[2]), np.arange(160, 200)), \
        "the test set must be a random choice, not the last 20 % of the indices"


@points(1)
def test_split_rejects_bad_fractions(nb):
    for bad in [(0.5, 0.3, 0.3), (0.8, 0.3, -0.1), (0.5, 0.2, 0.2)]:
        try:
            nb.train_val_test_indices(100, bad, 0)
        except ValueError:
            continue
        raise AssertionError(f"fractions {bad} do not add up to 1 with all parts >= 0: raise a ValueError")


# --- Exercise 4: find_leak ---------------------------------------------------------------------------------

@points(1)
def test_leak_finds_planted_duplicates(nb):
    rng = np.random.default_rng(6)
    X_train, X_test = rng.normal(size=(100, 5)), rng.normal(size=(30, 5))
    X_test[[4, 17, 29]] = X_train[[10, 99, 0]]
    got = np.asarray(nb.find_leak(X_train, X_test))
    np.testing.assert_array_equal(got, [4, 17, 29], err_msg="test rows 4, 17 and 29 copy training rows")


@points(1)
def test_leak_none_and_near_duplicates(nb):
    rng = np.random.default_rng(7)
    X_train = rng.normal(size=(50, 3))
    X_test = X_train[:10] + 1e-9                     # close, but not the same samples
    got = np.asarray(nb.find_leak(X_train, X_test))
    assert got.shape == (0,), f"no exact duplicates: expected an empty array, got {got}"
    assert np.issubdtype(got.dtype, np.integer), f"indices must be integers, even when empty; got {got.dtype}"


@points(1)
def test_leak_repeated_rows_and_order(nb):
    X_train = np.array([[1.0, 2.0], [3.0, 4.0]])
    X_test = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 2.0], [3.0, 4.0], [2.0, 1.0]])
    got = np.asarray(nb.find_leak(X_train, X_test))
    # rows 0 and 3 both copy training row 1; row 4 has the same numbers as row 0 of X_train in another order
    np.testing.assert_array_equal(got, [0, 2, 3], err_msg="every leaked test row, in increasing order")


@points(1)
def test_leak_is_fast_enough_for_real_data(nb):
    rng = np.random.default_rng(8)
    X_train = rng.integers(0, 17, size=(5000, 64)).astype(np.float32)
    X_test = rng.integers(0, 17, size=(2000, 64)).astype(np.float32)
    X_test[::100] = X_train[:20]
    start = time.perf_counter()
    got = np.asarray(nb.find_leak(X_train, X_test))
    elapsed = time.perf_counter() - start
    np.testing.assert_array_equal(got, np.arange(0, 2000, 100), err_msg="20 planted duplicates")
    assert elapsed < 5, f"find_leak took {elapsed:.1f} s on 5000 x 2000 rows; use a set of the training rows"
