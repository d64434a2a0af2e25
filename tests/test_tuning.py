"""nnlearn.tuning and nnlearn.data.kfold: search spaces, grid and random search, results tables, k-fold CV."""
from __future__ import annotations

import math

import numpy as np
import pytest

import nnlearn
from nnlearn import nn, optim
from nnlearn.data import make_blobs
from nnlearn.data.kfold import KFold
from nnlearn.tuning import (IntUniform, LogUniform, ParameterGrid, ParameterSampler, Uniform, cross_val_score,
                            grid_search, random_search, results_table)


# ---------------------------------------------------------------------- ParameterGrid / ParameterSampler
def test_parameter_grid_enumerates_every_combination_last_parameter_fastest():
    grid = ParameterGrid({"lr": [0.1, 0.01], "width": [8, 16, 32]})
    assert len(grid) == 6
    assert list(grid) == [{"lr": 0.1, "width": 8}, {"lr": 0.1, "width": 16}, {"lr": 0.1, "width": 32},
                          {"lr": 0.01, "width": 8}, {"lr": 0.01, "width": 16}, {"lr": 0.01, "width": 32}]


def test_parameter_grid_matches_scikit_learn_as_a_set():
    sklearn_grid = pytest.importorskip("sklearn.model_selection").ParameterGrid
    space = {"a": [1, 2, 3], "b": ["x", "y"], "c": [True]}
    ours = sorted(tuple(sorted(c.items())) for c in ParameterGrid(space))
    theirs = sorted(tuple(sorted(c.items())) for c in sklearn_grid(space))
    assert ours == theirs


@pytest.mark.parametrize("space, error, message", [
    ({}, TypeError, "space must be a non-empty dict"),
    ({"lr": []}, TypeError, r"space\['lr'\] must be a non-empty list of values, got \[\]"),
    ({"lr": 0.1}, TypeError, r"space\['lr'\] must be a non-empty list of values, got 0.1"),
    ({"lr": LogUniform(1e-3, 1)}, ValueError, "a grid needs a list of values for every parameter, but 'lr' is"),
])
def test_parameter_grid_bad_space(space, error, message):
    with pytest.raises(error, match=message):
        ParameterGrid(space)


def test_parameter_sampler_draws_valid_and_repeatable_configurations():
    space = {"lr": LogUniform(1e-4, 1e-1), "dropout": Uniform(0.0, 0.5), "depth": IntUniform(1, 3),
             "act": ["relu", "tanh"]}
    configs = list(ParameterSampler(space, 400, seed=0))
    assert len(configs) == 400 and configs == list(ParameterSampler(space, 400, seed=0))
    assert configs != list(ParameterSampler(space, 400, seed=1))
    lr = np.array([c["lr"] for c in configs])
    assert lr.min() >= 1e-4 and lr.max() < 1e-1
    # log-uniform: each decade equally likely, so the median is near the geometric mean 10^-2.5
    assert abs(np.log10(np.median(lr)) + 2.5) < 0.15
    assert sum(c["lr"] < 1e-3 for c in configs) > 100  # 1/3 expected; a plain uniform draw would give ~1%
    assert {c["depth"] for c in configs} == {1, 2, 3}  # both ends included
    assert {c["act"] for c in configs} == {"relu", "tanh"}
    assert all(0.0 <= c["dropout"] < 0.5 for c in configs)


def test_parameter_sampler_seed_none_follows_manual_seed():
    space = {"x": Uniform(0, 1)}
    nnlearn.manual_seed(3)
    a = list(ParameterSampler(space, 5))
    nnlearn.manual_seed(3)
    assert list(ParameterSampler(space, 5)) == a


@pytest.mark.parametrize("make, error, message", [
    (lambda: LogUniform(0, 1), ValueError, "low must be > 0"),
    (lambda: Uniform(1, 1), ValueError, "low must be smaller than high, got low=1, high=1"),
    (lambda: IntUniform(1.5, 3), TypeError, "IntUniform: low must be an int, got 1.5"),
    (lambda: ParameterSampler({"a": [1]}, 0), ValueError, "n_iter must be an int >= 1, got 0"),
])
def test_distribution_and_sampler_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------- grid_search / random_search
def quadratic(config):
    # maximum 0 at x = 3, y = "b"
    return -(config["x"] - 3) ** 2 - (0 if config["y"] == "b" else 1)


def test_grid_search_evaluates_every_configuration_and_sorts_best_first():
    results = grid_search(quadratic, {"x": [1, 2, 3, 4], "y": ["a", "b"]})
    assert len(results) == 8
    assert [r["rank"] for r in results] == list(range(1, 9))
    assert results[0]["params"] == {"x": 3, "y": "b"} and results[0]["score"] == 0.0
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert sorted(r["trial"] for r in results) == list(range(8))
    assert all(r["seconds"] >= 0 for r in results)
    for r in results:
        assert r["score"] == quadratic(r["params"])


def test_minimize_and_ties_keep_the_order_of_evaluation():
    results = grid_search(lambda c: abs(c["x"]), {"x": [2, -1, 1, 0]}, maximize=False)
    assert [r["params"]["x"] for r in results] == [0, -1, 1, 2]  # -1 and 1 tie: trial 1 before trial 2


def test_nan_scores_sort_last():
    results = grid_search(lambda c: math.nan if c["x"] == 0 else c["x"], {"x": [0, 1, 2]})
    assert [r["params"]["x"] for r in results] == [2, 1, 0]


def test_objective_may_return_extras_and_cannot_change_the_recorded_config():
    def objective(config):
        config["x"] = 99  # a careless objective
        return {"score": 1.0, "std": 0.5}

    results = grid_search(objective, {"x": [1]})
    assert results[0]["params"] == {"x": 1} and results[0]["std"] == 0.5


@pytest.mark.parametrize("objective, error, message", [
    (lambda c: {"acc": 1.0}, ValueError, r"dict without a 'score' entry for \{'x': 1\}"),
    (lambda c: {"score": 1.0, "rank": 3}, ValueError, r"may not use the names \['rank'\]"),
    (lambda c: "good", TypeError, "must return a number .* got str"),
])
def test_bad_objective_results(objective, error, message):
    with pytest.raises(error, match=message):
        grid_search(objective, {"x": [1]})


def test_grid_search_budget():
    assert len(grid_search(quadratic, {"x": [1, 2, 3], "y": ["a", "b"]}, budget=6)) == 6
    calls = []
    with pytest.raises(ValueError, match=r"the grid has 3 x 2 = 6 configurations, more than budget=5"):
        grid_search(lambda c: calls.append(c) or 0.0, {"x": [1, 2, 3], "y": ["a", "b"]}, budget=5)
    assert calls == []  # nothing ran


def test_random_search_uses_its_budget_and_is_repeatable():
    space = {"x": Uniform(0, 6), "y": ["a", "b"]}
    results = random_search(quadratic, space, n_trials=12, seed=0)
    assert len(results) == 12
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    again = random_search(quadratic, space, n_trials=12, seed=0)
    assert [r["params"] for r in results] == [r["params"] for r in again]
    expected = list(ParameterSampler(space, 12, seed=0))
    assert [r["params"] for r in sorted(results, key=lambda r: r["trial"])] == expected


def test_objective_must_be_callable():
    with pytest.raises(TypeError, match="objective must be a function config -> score, got dict"):
        random_search({}, {"x": [1]}, n_trials=1)


def test_results_table_text():
    results = grid_search(lambda c: {"score": c["x"] / 3, "std": 0.1}, {"x": [1, 2, 3]})
    text = results_table(results)
    lines = text.splitlines()
    assert lines[0].split() == ["rank", "trial", "x", "score", "std", "seconds"]
    assert lines[1].split()[:4] == ["1", "2", "3", "1"] and lines[2].split()[3] == "0.6667"
    short = results_table(results, max_rows=1)
    assert len(short.splitlines()) == 3 and short.endswith("... 2 more")
    with pytest.raises(TypeError, match="results must be the list of dicts"):
        results_table([{"x": 1}])


# ---------------------------------------------------------------------- KFold
@pytest.mark.parametrize("n, k", [(10, 5), (11, 3), (7, 7), (100, 4)])
def test_kfold_partitions_the_samples(n, k):
    folds = list(KFold(k, shuffle=True, random_state=0).split(np.zeros((n, 2))))
    assert len(folds) == k
    vals = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(vals), np.arange(n))  # every sample validated exactly once
    for train, val in folds:
        assert train.dtype == val.dtype == np.int64
        assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == n
    sizes = [len(val) for _, val in folds]
    assert sizes == [n // k + 1] * (n % k) + [n // k] * (k - n % k)


def test_kfold_without_shuffle_matches_scikit_learn():
    sklearn_kfold = pytest.importorskip("sklearn.model_selection").KFold
    X = np.zeros((13, 1))
    for (a_train, a_val), (b_train, b_val) in zip(KFold(4).split(X), sklearn_kfold(4).split(X)):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_val, b_val)


def test_kfold_shuffle_is_repeatable_and_differs_from_contiguous():
    a = [val for _, val in KFold(3, shuffle=True, random_state=1).split(30)]
    b = [val for _, val in KFold(3, shuffle=True, random_state=1).split(30)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], np.arange(10))


@pytest.mark.parametrize("make, error, message", [
    (lambda: KFold(1), ValueError, "n_splits must be an int >= 2, got 1"),
    (lambda: KFold(3, random_state=0), ValueError, "random_state only has an effect with shuffle=True"),
    (lambda: list(KFold(5).split(np.zeros(3))), ValueError, "cannot make n_splits=5 folds of 3 samples"),
    (lambda: list(KFold(2).split("abc")), TypeError, "X must be an array"),
])
def test_kfold_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------- cross_val_score
class Recorder(nn.Module):
    """A linear classifier that remembers every input row it was trained on (by its first feature)."""

    def __init__(self, seen):
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.seen = seen

    def forward(self, x):
        if self.training:
            self.seen.update(x.numpy()[:, 0].tolist())
        return self.linear(x)


@pytest.fixture
def blobs():
    X, y = make_blobs(60, centers=3, seed=0)
    return X.astype(np.float32), y


def test_cross_val_score_trains_a_fresh_model_per_fold_on_the_other_folds_only(blobs):
    X, y = blobs
    X[:, 0] = np.arange(60)  # the first feature names the row, so Recorder's record says which rows trained
    built, val_targets = [], []

    def build():
        seen = set()
        built.append(seen)
        model = Recorder(seen)
        return model, optim.SGD(model.parameters(), lr=1e-3)

    def scoring(output, target):
        val_targets.append(len(target))
        return 0.5

    scores = cross_val_score(build, X, y, k=4, fit_kwargs={"epochs": 1, "batch_size": 8}, scoring=scoring, seed=0)
    np.testing.assert_array_equal(scores, [0.5] * 4)
    assert len(built) == 4 and val_targets == [15] * 4
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    for seen, (train, val) in zip(built, folds):
        assert seen == set(X[train, 0].tolist())  # trained on exactly the other folds
        assert not seen & set(X[val, 0].tolist())


def test_cross_val_score_learns_separable_blobs(blobs):
    X, y = make_blobs(90, centers=3, cluster_std=0.3, seed=1)
    scores = cross_val_score(lambda: nn.Linear(2, 3), X, y, k=3,
                             fit_kwargs={"optimizer": lambda p: optim.Adam(p, lr=0.1), "epochs": 15}, seed=0)
    assert scores.shape == (3,) and scores.dtype == np.float64
    assert scores.min() > 0.9
    losses = cross_val_score(lambda: nn.Linear(2, 3), X, y, k=3, scoring="loss",
                             fit_kwargs={"optimizer": lambda p: optim.Adam(p, lr=0.1), "epochs": 15}, seed=0)
    assert np.all((losses > 0) & (losses < 0.5))


def test_cross_val_score_is_repeatable_under_manual_seed(blobs):
    X, y = blobs
    options = {"optimizer": lambda p: optim.SGD(p, lr=0.1), "epochs": 2}
    nnlearn.manual_seed(0)
    a = cross_val_score(lambda: nn.Linear(2, 3), X, y, k=3, fit_kwargs=options, scoring="loss")
    nnlearn.manual_seed(0)
    b = cross_val_score(lambda: nn.Linear(2, 3), X, y, k=3, fit_kwargs=options, scoring="loss")
    np.testing.assert_array_equal(a, b)


def test_cross_val_score_bad_arguments(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="build_model returned only a model, so fit_kwargs needs 'optimizer'"):
        cross_val_score(lambda: nn.Linear(2, 3), X, y, k=3)
    with pytest.raises(ValueError, match="X and y must have the same number of samples, got 60 and 59"):
        cross_val_score(lambda: nn.Linear(2, 3), X, y[:-1])
    with pytest.raises(ValueError, match="scoring must be 'loss', one of"):
        cross_val_score(lambda: nn.Linear(2, 3), X, y, scoring="f1")
    with pytest.raises(TypeError, match="build_model must be a function"):
        cross_val_score(nn.Linear(2, 3), X, y)
