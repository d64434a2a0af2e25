"""Hyperparameter search: grid search, random search, and k-fold cross-validation.

A *search space* is a dict from a hyperparameter's name to the values it may take:

* a list or tuple of values (``"width": [8, 32, 128]``): grid search tries each one, random search picks one
  uniformly;
* a distribution (random search only): :class:`Uniform`, :class:`LogUniform` (for scales such as learning
  rates and weight decays, where 1e-4 to 1e-3 matters as much as 1e-2 to 1e-1) or :class:`IntUniform`.

An *objective* takes one configuration (a dict ``name -> value``) and returns its score: a number, or a
dict with a ``"score"`` entry and anything else worth recording (a training score, a standard deviation).
Both searches return the results table as a list of dicts, best first::

    [{"rank": 1, "trial": 4, "params": {"lr": 0.01, "width": 32}, "score": 0.93, "seconds": 0.4, ...}, ...]

``trial`` is the order of evaluation, ``rank`` the place after sorting. :func:`results_table` prints it.
Names follow scikit-learn (``ParameterGrid``, ``ParameterSampler``, ``cross_val_score``) so the ideas
transfer; the training itself is :func:`nnlearn.train.fit`.

>>> space = {"lr": LogUniform(1e-4, 1e-1), "width": [16, 64]}
>>> results = random_search(lambda c: -abs(np.log10(c["lr"]) + 2), space, n_trials=8, seed=0)
>>> results[0]["rank"], sorted(results[0]["params"])
(1, ['lr', 'width'])
"""
from __future__ import annotations

import itertools
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from . import functional as F
from .data._checks import resolve_rng
from .data.kfold import KFold
from .data.loader import DataLoader
from .nn.module import Module
from .tensor import Tensor
from .train.fit import evaluate, fit, predict
from .train.metrics import METRICS

__all__ = [
    "IntUniform", "LogUniform", "ParameterGrid", "ParameterSampler", "Uniform", "cross_val_score", "grid_search",
    "random_search", "results_table",
]


# ---------------------------------------------------------------------- distributions for random search
def _check_bounds(low: Any, high: Any, cls: str, positive: bool = False) -> tuple[float, float]:
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise TypeError(f"{cls}: {name} must be a finite number, got {value!r}")
    if not low < high:
        raise ValueError(f"{cls}: low must be smaller than high, got low={low}, high={high}")
    if positive and not low > 0:
        raise ValueError(f"{cls}: low must be > 0 (a log scale has no 0), got low={low}")
    return float(low), float(high)


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from ``[low, high)``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, "Uniform")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class LogUniform:
    """A float whose logarithm is uniform on ``[log low, log high)``: every factor of 10 is equally likely."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, "LogUniform", positive=True)

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class IntUniform:
    """An int drawn uniformly from ``low, low + 1, ..., high`` (both ends included)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        for name, value in (("low", self.low), ("high", self.high)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"IntUniform: {name} must be an int, got {value!r}")
        if not self.low <= self.high:
            raise ValueError(f"IntUniform: low must be <= high, got low={self.low}, high={self.high}")

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))


_DISTRIBUTIONS = (Uniform, LogUniform, IntUniform)


def _check_space(space: Any, fn: str, finite: bool) -> dict[str, Any]:
    """A non-empty dict name -> non-empty list/tuple of values (or, unless ``finite``, a distribution)."""
    if not isinstance(space, Mapping) or not space:
        raise TypeError(f"{fn}: space must be a non-empty dict from parameter names to lists of values, "
                        f"got {space!r}")
    for name, values in space.items():
        if not isinstance(name, str):
            raise TypeError(f"{fn}: parameter names must be strings, got {name!r}")
        if isinstance(values, _DISTRIBUTIONS):
            if finite:
                raise ValueError(f"{fn}: a grid needs a list of values for every parameter, but {name!r} is "
                                 f"{values}; list a few values, or use random_search")
        elif not isinstance(values, (list, tuple)) or len(values) == 0:
            kinds = "a non-empty list of values" + ("" if finite else " or a distribution (Uniform, LogUniform, "
                                                                      "IntUniform)")
            raise TypeError(f"{fn}: space[{name!r}] must be {kinds}, got {values!r}")
    return dict(space)


# ---------------------------------------------------------------------- enumerating configurations
class ParameterGrid:
    """Every combination of the values in ``space`` (a dict name -> list of values), as dicts.

    The order is that of ``itertools.product`` over the parameters in the order of the dict: the last
    parameter changes fastest. ``len(grid)`` is the product of the list lengths.

    >>> list(ParameterGrid({"a": [1, 2], "b": ["x"]}))
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """

    def __init__(self, space: Mapping[str, Any]) -> None:
        self.space = _check_space(space, "ParameterGrid", finite=True)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = list(self.space)
        for values in itertools.product(*(self.space[n] for n in names)):
            yield dict(zip(names, values))

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.space.values())


class ParameterSampler:
    """``n_iter`` configurations drawn at random from ``space``, independently, as dicts.

    Each parameter is drawn on its own: a list gives each of its values with equal probability, a
    distribution is sampled. ``seed``: None draws from the library generator (``nnlearn.manual_seed``
    makes it repeatable); an int gives the same configurations whatever the global state.
    """

    def __init__(self, space: Mapping[str, Any], n_iter: int, seed: Any = None) -> None:
        self.space = _check_space(space, "ParameterSampler", finite=False)
        if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 1:
            raise ValueError(f"ParameterSampler: n_iter must be an int >= 1, got {n_iter!r}")
        self.n_iter = int(n_iter)
        resolve_rng(seed)  # check the seed's type now
        self.seed = seed

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = resolve_rng(self.seed)
        for _ in range(self.n_iter):
            config = {}
            for name, values in self.space.items():
                if isinstance(values, _DISTRIBUTIONS):
                    config[name] = values.sample(rng)
                else:
                    config[name] = values[int(rng.integers(len(values)))]  # an index: values may be of any type
            yield config

    def __len__(self) -> int:
        return self.n_iter


# ---------------------------------------------------------------------- running a search
def _evaluate(objective: Callable, config: dict[str, Any], trial: int) -> dict[str, Any]:
    """One row of the results table: the objective's score (and extras) for ``config``, and the time it took."""
    start = time.perf_counter()
    result = objective(dict(config))  # a copy: the objective may not change the recorded configuration
    seconds = time.perf_counter() - start
    extras: dict[str, Any] = {}
    if isinstance(result, Mapping):
        if "score" not in result:
            raise ValueError(f"the objective returned a dict without a 'score' entry for {config}: "
                             f"got keys {sorted(result)}")
        extras = {k: v for k, v in result.items() if k != "score"}
        reserved = {"rank", "trial", "params", "seconds"} & set(extras)
        if reserved:
            raise ValueError(f"the objective's result may not use the names {sorted(reserved)}: the results "
                             "table uses them")
        score = result["score"]
    else:
        score = result
    if isinstance(score, Tensor):
        score = score.item()
    if isinstance(score, bool) or not isinstance(score, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"the objective must return a number (or a dict with a 'score'), got "
                        f"{type(score).__name__} for {config}")
    return {"trial": trial, "params": dict(config), "score": float(score), **extras, "seconds": seconds}


def _ranked(rows: list[dict[str, Any]], maximize: bool) -> list[dict[str, Any]]:
    """Sort best first (NaN scores last; ties keep the order of evaluation) and number the ranks."""
    def key(row: dict[str, Any]) -> tuple[bool, float, int]:
        score = row["score"]
        return (math.isnan(score), -score if maximize else score, row["trial"])

    ordered = sorted(rows, key=key)
    return [{"rank": rank, **row} for rank, row in enumerate(ordered, start=1)]


def _check_objective(objective: Any, fn: str) -> None:
    if not callable(objective):
        raise TypeError(f"{fn}: objective must be a function config -> score, got {type(objective).__name__}")


def grid_search(objective: Callable[[dict[str, Any]], Any], space: Mapping[str, Any], *,
                budget: int | None = None, maximize: bool = True) -> list[dict[str, Any]]:
    """Evaluate ``objective`` on every configuration of the grid ``space``; return the results, best first.

    Args:
        objective: ``objective(config) -> score`` (or a dict with ``"score"``).
        space: name -> list of values.
        budget: the most evaluations you can afford. The grid's size is the product of the list lengths and
            grows fast; if it exceeds ``budget`` nothing runs and a ``ValueError`` says by how much.
        maximize: True when a higher score is better (accuracy), False when lower is (a loss).

    Returns:
        The results table (see the module docstring), sorted best first.
    """
    _check_objective(objective, "grid_search")
    grid = ParameterGrid(space)
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
            raise ValueError(f"grid_search: budget must be an int >= 1 or None, got {budget!r}")
        if len(grid) > budget:
            sizes = " x ".join(str(len(v)) for v in grid.space.values())
            raise ValueError(f"grid_search: the grid has {sizes} = {len(grid)} configurations, more than "
                             f"budget={budget}; use fewer values per parameter, or random_search with "
                             f"n_trials={budget}")
    rows = [_evaluate(objective, config, trial) for trial, config in enumerate(grid)]
    return _ranked(rows, maximize)


def random_search(objective: Callable[[dict[str, Any]], Any], space: Mapping[str, Any], n_trials: int, *,
                  seed: Any = None, maximize: bool = True) -> list[dict[str, Any]]:
    """Evaluate ``objective`` on ``n_trials`` random configurations from ``space``; return the results, best first.

    Args:
        objective: ``objective(config) -> score`` (or a dict with ``"score"``).
        space: name -> list of values or a distribution (:class:`Uniform`, :class:`LogUniform`,
            :class:`IntUniform`).
        n_trials: the budget: how many configurations to evaluate.
        seed: for the configurations (see :class:`ParameterSampler`).
        maximize: True when a higher score is better, False when lower is.

    Returns:
        The results table (see the module docstring), sorted best first.
    """
    _check_objective(objective, "random_search")
    sampler = ParameterSampler(space, n_trials, seed)
    rows = [_evaluate(objective, config, trial) for trial, config in enumerate(sampler)]
    return _ranked(rows, maximize)


def _format(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def results_table(results: list[dict[str, Any]], max_rows: int | None = None) -> str:
    """The results of a search as aligned text: rank, trial, one column per parameter, score, extras, seconds."""
    if not isinstance(results, list) or not all(isinstance(r, Mapping) and "params" in r and "score" in r
                                                for r in results):
        raise TypeError("results_table: results must be the list of dicts that grid_search or random_search "
                        "returns (each with 'params' and 'score')")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, numbers.Integral)
                                 or max_rows < 1):
        raise ValueError(f"results_table: max_rows must be an int >= 1 or None, got {max_rows!r}")
    shown = results if max_rows is None else results[:max_rows]
    params = list(dict.fromkeys(name for row in results for name in row["params"]))
    extras = list(dict.fromkeys(k for row in results for k in row
                                if k not in ("rank", "trial", "params", "score", "seconds")))
    columns = [c for c in ("rank", "trial") if any(c in row for row in results)] + params + ["score"] + extras
    columns += ["seconds"] if any("seconds" in row for row in results) else []
    cells = [[_format(row["params"].get(c, "")) if c in params else _format(row.get(c, "")) for c in columns]
             for row in shown]
    widths = [max(len(c), *(len(line[i]) for line in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells]
    if len(shown) < len(results):
        lines.append(f"... {len(results) - len(shown)} more")
    return "\n".join(lines)


# ---------------------------------------------------------------------- k-fold cross-validation
def _as_array(a: Any, name: str) -> np.ndarray:
    array = a.data if isinstance(a, Tensor) else np.asarray(a)
    if array.ndim == 0 or array.dtype.kind not in "biuf":
        raise TypeError(f"cross_val_score: {name} must be a numeric array with samples along the first axis, "
                        f"got {'a scalar' if array.ndim == 0 else f'dtype {array.dtype}'}")
    return array


def _scorer(scoring: Any) -> tuple[Callable | None, str]:
    """``(metric_fn, name)``; metric_fn is None for ``"loss"`` (the validation loss)."""
    if callable(scoring):
        return scoring, getattr(scoring, "__name__", "score")
    if scoring == "loss":
        return None, "loss"
    if scoring in METRICS:
        return METRICS[scoring], scoring
    raise ValueError(f"cross_val_score: scoring must be 'loss', one of {sorted(METRICS)}, or a function "
                     f"fn(output, target) -> float, got {scoring!r}")


def cross_val_score(build_model: Callable[[], Any], X: Any, y: Any, k: int = 5,
                    fit_kwargs: Mapping[str, Any] | None = None, *, scoring: Any = "accuracy",
                    shuffle: bool = True, seed: Any = None) -> np.ndarray:
    """Train a fresh model on each of ``k`` folds' training part and score it on the held-out fold.

    Args:
        build_model: ``build_model() -> model`` or ``-> (model, optimizer)``; called once per fold, so every
            fold starts from new weights.
        X: inputs ``(N, ...)``; y: targets ``(N, ...)`` (NumPy arrays or Tensors).
        k: the number of folds (:class:`~nnlearn.data.kfold.KFold`).
        fit_kwargs: how to train, passed on to :func:`nnlearn.train.fit`, with these extras:
            ``"optimizer"``: a function ``params -> Optimizer`` (needed when ``build_model`` returns only the
            model), ``"loss_fn"`` (default ``F.cross_entropy``), ``"epochs"`` (default 10),
            ``"batch_size"`` (default 32). Anything else (``callbacks``, ``scheduler``, ...) goes to ``fit``.
        scoring: ``"accuracy"`` (default), ``"precision"``, ``"recall"``, ``"loss"`` (the mean validation loss:
            lower is better), or ``fn(output, target) -> float`` on the held-out fold's outputs.
        shuffle, seed: shuffle before cutting the folds, with the generator ``seed`` (None: the library's).

    Returns:
        The ``k`` scores, ``(k,)`` float64, one per fold in fold order. Report ``scores.mean()`` together
        with ``scores.std()``: the spread is what tells a real difference between two settings from luck.
    """
    if not callable(build_model) or isinstance(build_model, Module):
        raise TypeError(f"cross_val_score: build_model must be a function () -> model that builds a fresh model "
                        f"for every fold, got {type(build_model).__name__}; wrap it, e.g. lambda: nn.Linear(2, 3)")
    X, y = _as_array(X, "X"), _as_array(y, "y")
    if len(X) != len(y):
        raise ValueError(f"cross_val_score: X and y must have the same number of samples, got {len(X)} and {len(y)}")
    if fit_kwargs is not None and not isinstance(fit_kwargs, Mapping):
        raise TypeError(f"cross_val_score: fit_kwargs must be a dict or None, got {type(fit_kwargs).__name__}")
    options = dict(fit_kwargs or {})
    make_optimizer = options.pop("optimizer", None)
    loss_fn = options.pop("loss_fn", F.cross_entropy)
    epochs = options.pop("epochs", 10)
    batch_size = options.pop("batch_size", 32)
    options.setdefault("progress", False)
    options.setdefault("metrics", ())  # the folds are scored below, on the held-out part
    metric, _ = _scorer(scoring)
    folds = KFold(k, shuffle=shuffle, random_state=seed if shuffle else None)

    scores = []
    for fold, (train_idx, val_idx) in enumerate(folds.split(X)):
        built = build_model()
        if isinstance(built, tuple) and len(built) == 2:
            model, optimizer = built
        elif make_optimizer is None:
            raise ValueError("cross_val_score: build_model returned only a model, so fit_kwargs needs "
                             "'optimizer': a function params -> Optimizer, e.g. "
                             "lambda params: optim.Adam(params, lr=1e-2); or return (model, optimizer)")
        else:
            model, optimizer = built, make_optimizer(built.parameters())
        loader = DataLoader.from_arrays(X[train_idx], y[train_idx], batch_size=batch_size, shuffle=True)
        fit(model, loader, loss_fn, optimizer, epochs, **options)
        if metric is None:
            val_loader = DataLoader.from_arrays(X[val_idx], y[val_idx], batch_size=256)
            scores.append(evaluate(model, val_loader, loss_fn, metrics=())["loss"])
        else:
            scores.append(float(metric(predict(model, X[val_idx]), y[val_idx])))
    return np.asarray(scores, dtype=np.float64)
