"""``KFold``: k-fold cross-validation splits (scikit-learn's ``KFold``, in small).

Split the ``n`` samples into ``k`` folds of (nearly) equal size; each fold serves once as the validation set
while the other ``k - 1`` train. Every sample is validated exactly once, so the ``k`` scores together use all
the data, and their spread says how much a score depends on which samples happened to be held out.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..tensor import Tensor
from ._checks import check_bool, check_int, resolve_rng

__all__ = ["KFold"]


class KFold:
    """k-fold cross-validation indices.

    Args:
        n_splits: the number of folds ``k``, at least 2.
        shuffle: shuffle the samples before cutting them into folds (without it the folds are contiguous
            blocks in the order of the data: wrong for data sorted by class).
        random_state: with ``shuffle``, None draws the order from the library generator (so
            ``nnlearn.manual_seed`` makes it repeatable); an int gives the same folds whatever the global state.

    The first ``n % k`` folds have ``n // k + 1`` samples, the others ``n // k``, as in scikit-learn.

    >>> [val.tolist() for _, val in KFold(3).split(np.zeros(7))]
    [[0, 1, 2], [3, 4], [5, 6]]
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None) -> None:
        self.n_splits = check_int("n_splits", n_splits, minimum=2)
        self.shuffle = check_bool("shuffle", shuffle)
        if random_state is not None and not self.shuffle:
            raise ValueError("KFold: random_state only has an effect with shuffle=True; "
                             "pass shuffle=True or leave random_state=None")
        resolve_rng(random_state)  # checks its type now, not at the first split
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None) -> int:
        """The number of folds, ``k``."""
        return self.n_splits

    def split(self, X: Any, y: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_indices, val_indices)`` for each fold, int64 arrays into the rows of ``X: (n, ...)``.

        ``y`` is ignored (it is accepted so that ``split(X, y)`` reads as in scikit-learn).
        """
        n = len(X) if isinstance(X, (np.ndarray, Tensor, list, tuple)) else X
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"KFold.split: X must be an array (n, ...) or a number of samples, "
                            f"got {type(X).__name__}")
        if n < self.n_splits:
            raise ValueError(f"KFold.split: cannot make n_splits={self.n_splits} folds of {n} samples; "
                             f"every fold needs at least one sample")
        order = resolve_rng(self.random_state).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        start = 0
        for size in sizes:
            val = order[start:start + size]
            train = np.concatenate([order[:start], order[start + size:]])
            yield train.astype(np.int64), val.astype(np.int64)
            start += size

    def __repr__(self) -> str:
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle}, random_state={self.random_state})"
