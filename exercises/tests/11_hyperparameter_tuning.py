"""Public tests for the chapter 11 exercises (the bookkeeping of hyperparameter search).

Each test takes ``nb``, the learner's answers: ``nb.grid_configs`` is the function the notebook defines.
Small cases are worked out by hand in the comments; random ones are checked for the properties the exercise
asks for (ranges, distributions, repeatability), and the k-fold splits against scikit-learn's ``KFold`` rule.
Test names start with the exercise they grade: ``test_grid_*``, ``test_random_*``, ``test_kfold_*``,
``test_best_*``.
"""
from __future__ import annotations

import math

import numpy as np

from nnlearn.grading import points

NAN = float("nan")


# --- Exercise 1: grid_configs ------------------------------------------------------------------------------

@points(1)
def test_grid_hand_computed_order(nb):
    got = nb.grid_configs({"lr": [0.1, 0.01], "width": [8, 16]})
    assert list(got) == [{"lr": 0.1, "width": 8}, {"lr": 0.1, "width": 16},
                         {"lr": 0.01, "width": 8}, {"lr": 0.01, "width": 16}], \
        f"the last parameter should change fastest (itertools.product order), got {got}"


@points(2)
def test_grid_size_and_uniqueness(nb):
    space = {"a": [1, 2, 3], "b": ["x", "y"], "c": [True], "d": [0.5, 1.5]}
    got = list(nb.grid_configs(space))
    assert len(got) == 3 * 2 * 1 * 2, f"3 x 2 x 1 x 2 = 12 combinations expected, got {len(got)}"
    assert all(set(c) == set(space) for c in got), "every configuration must have every key of the space"
    assert len({tuple(sorted(c.items())) for c in got}) == 12, "every combination must appear exactly once"
    assert all(c[k] in space[k] for c in got for k in space), "values must come from the space's lists"


@points(1)
def test_grid_single_parameter(nb):
    got = list(nb.grid_configs({"depth": [1, 2, 3]}))
    assert got == [{"depth": 1}, {"depth": 2}, {"depth": 3}], f"one parameter: one config per value, got {got}"


# --- Exercise 2: random_search_configs --------------------------------------------------------------------

SPACE = {"lr": ("log", 1e-4, 1e-1), "dropout": ("uniform", 0.0, 0.5), "depth": ("int", 1, 3),
         "activation": ["relu", "tanh", "gelu"]}


@points(2)
def test_random_values_lie_in_their_ranges(nb):
    got = list(nb.random_search_configs(SPACE, 300, seed=0))
    assert len(got) == 300, f"n=300 configurations expected, got {len(got)}"
    assert all(set(c) == set(SPACE) for c in got), "every configuration must have every key of the space"
    lrs = np.array([c["lr"] for c in got])
    dropouts = np.array([c["dropout"] for c in got])
    assert lrs.min() >= 1e-4 and lrs.max() < 1e-1, f"lr must lie in [1e-4, 1e-1), got {lrs.min()} .. {lrs.max()}"
    assert dropouts.min() >= 0.0 and dropouts.max() < 0.5, "dropout must lie in [0, 0.5)"
    assert {c["depth"] for c in got} == {1, 2, 3}, "('int', 1, 3) must give 1, 2 and 3 (both ends included)"
    assert all(isinstance(c["depth"], (int, np.integer)) for c in got), "('int', ...) values must be integers"
    assert {c["activation"] for c in got} == {"relu", "tanh", "gelu"}, "a list must give each of its items"


@points(2)
def test_random_log_range_is_log_uniform(nb):
    lrs = np.array([c["lr"] for c in nb.random_search_configs({"lr": ("log", 1e-4, 1e-1)}, 3000, seed=1)])
    # Log-uniform on three decades: each decade holds about a third of the draws (a plain uniform draw would put
    # 0.1% of them below 1e-3), and the median is near the geometric mean 10^-2.5.
    shares = [np.mean((lrs >= 10.0 ** e) & (lrs < 10.0 ** (e + 1))) for e in (-4, -3, -2)]
    assert all(0.28 < s < 0.39 for s in shares), f"each decade should get about 1/3 of the draws, got {shares}"
    assert abs(np.log10(np.median(lrs)) + 2.5) < 0.15, f"the median should be near 10^-2.5, got {np.median(lrs)}"
    dropouts = np.array([c["d"] for c in nb.random_search_configs({"d": ("uniform", 0.0, 0.5)}, 3000, seed=1)])
    assert abs(np.mean(dropouts) - 0.25) < 0.02, f"('uniform', 0, 0.5) should average 0.25, got {np.mean(dropouts)}"


@points(1)
def test_random_is_repeatable_with_a_seed(nb):
    a = list(nb.random_search_configs(SPACE, 20, seed=7))
    b = list(nb.random_search_configs(SPACE, 20, seed=7))
    c = list(nb.random_search_configs(SPACE, 20, seed=8))
    assert a == b, "the same seed must give the same configurations"
    assert a != c, "different seeds should give different configurations"
    assert len({round(x["lr"], 12) for x in a}) == 20, "every configuration should draw its own lr"


# --- Exercise 3: kfold_indices -----------------------------------------------------------------------------

def as_lists(folds):
    return [(sorted(np.asarray(train).tolist()), np.asarray(val).tolist()) for train, val in folds]


@points(2)
def test_kfold_hand_computed_without_shuffling(nb):
    # n = 7, k = 3: 7 % 3 = 1 fold of 3, then 2 folds of 2, consecutive: [0 1 2], [3 4], [5 6].
    got = as_lists(nb.kfold_indices(7, 3))
    expected = [([3, 4, 5, 6], [0, 1, 2]), ([0, 1, 2, 5, 6], [3, 4]), ([0, 1, 2, 3, 4], [5, 6])]
    assert got == expected, f"kfold_indices(7, 3) should give {expected}, got {got}"


@points(2)
def test_kfold_partition_with_a_seed(nb):
    for n, k in [(10, 5), (23, 4), (6, 6)]:
        folds = list(nb.kfold_indices(n, k, seed=3))
        assert len(folds) == k, f"k={k} pairs expected, got {len(folds)}"
        vals = [np.asarray(val) for _, val in folds]
        assert sorted(np.concatenate(vals).tolist()) == list(range(n)), \
            f"n={n}, k={k}: the validation folds must hold every index exactly once"
        assert [len(v) for v in vals] == [n // k + 1] * (n % k) + [n // k] * (k - n % k), \
            f"n={n}, k={k}: fold sizes should be n//k + 1 for the first n % k folds, n//k for the rest"
        for train, val in folds:
            assert sorted(np.asarray(train).tolist()) == sorted(set(range(n)) - set(np.asarray(val).tolist())), \
                "train_idx must hold exactly the indices that are not in val_idx"


@points(1)
def test_kfold_seed_shuffles_repeatably(nb):
    first = [np.asarray(val).tolist() for _, val in nb.kfold_indices(30, 3, seed=0)]
    again = [np.asarray(val).tolist() for _, val in nb.kfold_indices(30, 3, seed=0)]
    other = [np.asarray(val).tolist() for _, val in nb.kfold_indices(30, 3, seed=1)]
    assert first == again, "the same seed must give the same folds"
    assert first != other, "different seeds should give different folds"
    assert first[0] != list(range(10)), "with a seed the samples must be shuffled before the folds are cut"
    expected = np.random.default_rng(0).permutation(30)[:10].tolist()
    assert first[0] == expected, "the first fold should be the first 10 entries of default_rng(0).permutation(30)"


# --- Exercise 4: best_config -------------------------------------------------------------------------------

ROWS = [{"params": {"lr": 0.1}, "score": 0.91}, {"params": {"lr": 1.0}, "score": NAN},
        {"params": {"lr": 0.01}, "score": 0.95}, {"params": {"lr": 0.03}, "score": 0.95},
        {"params": {"lr": 0.3}, "score": 0.40}]


@points(1)
def test_best_maximize_with_tie(nb):
    # The highest score 0.95 appears twice; the earlier row (lr 0.01) wins.
    assert nb.best_config(ROWS) == {"lr": 0.01}, f"expected {{'lr': 0.01}}, got {nb.best_config(ROWS)}"


@points(1)
def test_best_minimize(nb):
    got = nb.best_config(ROWS, maximize=False)
    assert got == {"lr": 0.3}, f"the lowest score is 0.40 (lr 0.3), got {got}"


@points(1)
def test_best_skips_nan_and_unsorted_input(nb):
    rows = [{"params": {"w": 1}, "score": NAN}, {"params": {"w": 2}, "score": -3.0},
            {"params": {"w": 3}, "score": NAN}, {"params": {"w": 4}, "score": -1.0}]
    assert nb.best_config(rows) == {"w": 4}, "NaN is never the best; the highest number here is -1.0 (w=4)"
    assert nb.best_config(rows, maximize=False) == {"w": 2}, "NaN is never the best; the lowest is -3.0 (w=2)"
    assert nb.best_config(rows[:2]) == {"w": 2}, "a NaN first row must not stop the search"


@points(1)
def test_best_raises_when_nothing_is_usable(nb):
    for rows in ([], [{"params": {"a": 1}, "score": NAN}]):
        try:
            nb.best_config(rows)
        except ValueError:
            continue
        raise AssertionError(f"best_config({rows}) should raise ValueError: there is no usable score")
