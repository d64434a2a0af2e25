"""Random train / validation / test splits, optionally stratified (each split keeps the class proportions).

The rule the splits teach: choose hyperparameters on the validation set, and look at the test set once.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from ..tensor import Tensor
from ._checks import resolve_rng

__all__ = ["train_test_split", "train_val_test_split"]


def train_test_split(*arrays: Any, test_size: float | int = 0.25, stratify: Any = None, seed=None) -> list:
    """Split arrays (NumPy arrays or Tensors of equal length) into random train and test parts.

    ``test_size`` is a fraction in ``(0, 1)`` (rounded up to whole samples) or a number of samples.
    ``stratify`` is an optional array of class labels ``(n_samples,)``: then each part keeps the label
    proportions of the whole (to within one sample per class). Returns, as in scikit-learn,
    ``[a_train, a_test, b_train, b_test, ...]`` — one pair per input array, rows matched across arrays.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array to split")
    arrays = [_as_indexable(f"arrays[{i}]", a) for i, a in enumerate(arrays)]
    n = len(arrays[0])
    for i, a in enumerate(arrays[1:], start=1):
        if len(a) != n:
            raise ValueError(f"all arrays must have the same length (first dimension): arrays[0] has {n} "
                             f"samples but arrays[{i}] has {len(a)}")
    n_test = _split_count("test_size", test_size, n)
    n_train = n - n_test
    if n_train < 1:
        raise ValueError(f"test_size={test_size} with {n} samples leaves the train split empty "
                         f"(train 0, test {n_test})")
    labels = None if stratify is None else _labels(stratify, n)
    train_idx, test_idx = _split_indices([n_train, n_test], labels, resolve_rng(seed))
    result = []
    for a in arrays:
        result += [a[train_idx], a[test_idx]]
    return result


def train_val_test_split(X: Any, y: Any, val_size: float | int = 0.15, test_size: float | int = 0.15,
                         stratify: Any = True, seed=None) -> tuple:
    """Split ``X: (N, ...)`` and ``y: (N, ...)`` into random train, validation and test parts.

    ``val_size`` and ``test_size`` are fractions in ``(0, 1)`` (rounded up to whole samples) or numbers
    of samples; the train part gets the rest. ``stratify=True`` keeps the class proportions of ``y`` in
    every part (validation and test to within one sample per class, train within two); ``False`` splits without looking at labels (use it for regression targets); an array of
    labels stratifies by those. Returns ``(X_train, X_val, X_test, y_train, y_val, y_test)``.
    """
    X = _as_indexable("X", X)
    y = _as_indexable("y", y)
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y must have the same length (first dimension): X has {n} samples "
                         f"but y has {len(y)}")
    n_val = _split_count("val_size", val_size, n)
    n_test = _split_count("test_size", test_size, n)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"val_size={val_size} and test_size={test_size} with {n} samples leave the train "
                         f"split empty (train {n_train}, val {n_val}, test {n_test}); make them smaller")
    if stratify is True:
        labels = _labels(y.data if isinstance(y, Tensor) else y, n, name="y (stratify=True)")
    elif stratify is False or stratify is None:
        labels = None
    else:
        labels = _labels(stratify, n)
    train_idx, val_idx, test_idx = _split_indices([n_train, n_val, n_test], labels, resolve_rng(seed))
    return X[train_idx], X[val_idx], X[test_idx], y[train_idx], y[val_idx], y[test_idx]


# --------------------------------------------------------------------------- helpers
def _as_indexable(name: str, a: Any) -> Any:
    """Tensors and arrays stay as they are (so the parts have the input's type); lists become arrays."""
    if not isinstance(a, (Tensor, np.ndarray)):
        a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (one row per sample), got a scalar")
    return a


def _split_count(name: str, size: Any, n: int) -> int:
    """The number of samples ``size`` asks for: a fraction of ``n`` rounded up, or an exact count."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise TypeError(f"{name} must be a float in (0, 1) or an int >= 1, got {size!r} ({type(size).__name__})")
    if isinstance(size, numbers.Integral):
        if not 1 <= size < n:
            raise ValueError(f"{name} as a number of samples must be between 1 and n_samples - 1 = {n - 1}, "
                             f"got {size}")
        return int(size)
    if not 0.0 < size < 1.0:
        raise ValueError(f"{name} as a fraction must be strictly between 0 and 1, got {size}")
    # round first: 0.07 * 100 is 7.000000000000001 in floating point, which must not become 8
    return math.ceil(round(size * n, 9))


def _labels(stratify: Any, n: int, name: str = "stratify") -> np.ndarray:
    labels = stratify.data if isinstance(stratify, Tensor) else np.asarray(stratify)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels (n_samples,), got shape {labels.shape}")
    if len(labels) != n:
        raise ValueError(f"{name} must have one label per sample: got {len(labels)} labels for {n} samples")
    return labels


def _split_indices(sizes: Sequence[int], labels: np.ndarray | None,
                   rng: np.random.Generator) -> list[np.ndarray]:
    """Random disjoint index arrays of the given sizes that together cover ``range(sum(sizes))``.

    With ``labels``, every class is divided among the parts in proportion to the part sizes.
    """
    n = sum(sizes)
    if labels is None:
        return np.split(rng.permutation(n), np.cumsum(sizes)[:-1])
    classes, label_ids = np.unique(labels, return_inverse=True)
    quotas = _stratified_quotas(np.bincount(label_ids, minlength=len(classes)), sizes)
    parts: list[list[np.ndarray]] = [[] for _ in sizes]
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(label_ids == c))
        for p, chunk in enumerate(np.split(members, np.cumsum(quotas[c])[:-1])):
            parts[p].append(chunk)
    # shuffle within each part so that its rows are not sorted by class
    return [rng.permutation(np.concatenate(chunks)) for chunks in parts]


def _stratified_quotas(class_counts: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """A table ``quotas[c, p]``: how many samples of class ``c`` go to part ``p``.

    Rows sum to the class counts and columns to the part sizes. Parts after the first get their exact
    share ``count * size / n`` rounded down, and the samples still missing go to the classes that
    rounding shortchanged most (the largest-remainder rule); the first part (train) takes what is left.
    """
    n = int(class_counts.sum())
    quotas = np.zeros((len(class_counts), len(sizes)), dtype=np.int64)
    left = class_counts.astype(np.int64).copy()
    for p in range(1, len(sizes)):
        exact = class_counts * sizes[p] / n
        quota = np.minimum(np.floor(exact).astype(np.int64), left)
        missing = sizes[p] - int(quota.sum())
        by_remainder = np.argsort(-(exact - quota), kind="stable")
        while missing > 0:  # one round usually suffices; more only when some classes are already used up
            for c in by_remainder:
                if missing > 0 and quota[c] < left[c]:
                    quota[c] += 1
                    missing -= 1
        quotas[:, p] = quota
        left -= quota
    quotas[:, 0] = left
    return quotas
