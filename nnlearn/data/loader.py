"""``DataLoader``: walk through a data set in (optionally shuffled) mini-batches of Tensors.

One pass over the loader is one epoch. With ``shuffle=True`` each epoch visits every sample exactly once,
in a new random order; ``seed`` fixes the sequence of orders, and without it the orders come from the
library generator, so ``nnlearn.manual_seed`` makes a whole training run repeatable.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from ._checks import check_bool, check_int, resolve_rng
from .dataset import TensorDataset

__all__ = ["DataLoader", "default_collate"]


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples.

    Args:
        dataset: a ``Dataset`` (anything with ``__len__`` and ``__getitem__``). Wrap NumPy arrays as
            ``TensorDataset(X, y)``, or use ``DataLoader.from_arrays(X, y, ...)``.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: visit the samples in a new random order every epoch.
        drop_last: skip the final batch when it has fewer than ``batch_size`` samples.
        seed: with ``shuffle``, an int makes the loader's own generator, so its sequence of epoch orders is
            the same on every run; ``None`` draws each epoch's order from ``nnlearn.get_rng()``.

    Each iteration yields what the data set's samples look like, batched: for ``TensorDataset(X, y)`` a
    tuple ``(xb, yb)`` of Tensors with ``xb: (B, ...)`` and ``yb: (B, ...)``. ``len(loader)`` is the
    number of batches per epoch.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed=None) -> None:
        if isinstance(dataset, tuple) and all(isinstance(a, (np.ndarray, Tensor)) for a in dataset):
            # A tuple (X, y) would be read as a data set of two samples, X and y: almost surely a mistake.
            raise TypeError("dataset must be a Dataset, got a tuple of arrays; wrap them as "
                            "TensorDataset(X, y) or use DataLoader.from_arrays(X, y, ...)")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"dataset must have __len__ and __getitem__ (e.g. a TensorDataset), "
                            f"got {type(dataset).__name__}")
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.shuffle = check_bool("shuffle", shuffle)
        self.drop_last = check_bool("drop_last", drop_last)
        n = len(dataset)
        if n == 0:
            raise ValueError("dataset is empty (len(dataset) == 0): there is nothing to load")
        if self.drop_last and n < self.batch_size:
            raise ValueError(f"drop_last=True with batch_size={self.batch_size} larger than len(dataset)={n} "
                             f"would give no batches at all; lower batch_size or set drop_last=False")
        self.dataset = dataset
        self.seed = seed
        # An int seed gets its own generator, created once: epochs still differ, but the run repeats exactly.
        self._rng = None if seed is None else resolve_rng(seed)

    @classmethod
    def from_arrays(cls, *arrays: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                    seed=None) -> "DataLoader":
        """``DataLoader(TensorDataset(*arrays), ...)``: batches of rows of ``X: (N, ...)``, ``y: (N, ...)``."""
        return cls(TensorDataset(*arrays), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                   seed=seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)  # ceil(n / batch_size)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, when the epoch starts, not lazily at the first batch.
        n = len(self.dataset)
        if self.shuffle:
            order = (self._rng if self._rng is not None else resolve_rng(None)).permutation(n)
        else:
            order = np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def _fetch(self, indices: np.ndarray) -> Any:
        """One batch: the samples at ``indices``, stacked."""
        dataset = self.dataset
        if isinstance(dataset, TensorDataset) and type(dataset).__getitem__ is TensorDataset.__getitem__:
            # Fast path: one fancy-indexing copy per array instead of stacking B single rows.
            # (A subclass that overrides __getitem__, e.g. to augment, takes the general path below.)
            return tuple(Tensor(a[indices]) for a in dataset.arrays)
        if isinstance(dataset, np.ndarray):
            return Tensor(dataset[indices])
        positions = [int(i) for i in indices]
        if hasattr(dataset, "__getitems__"):
            # PyTorch's batched-read hook: a data set that can produce many samples at once (e.g. augment a
            # whole batch with one vectorised call) says so by defining __getitems__(indices) -> samples.
            return default_collate(dataset.__getitems__(positions))
        return default_collate([dataset[i] for i in positions])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)} samples, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"{len(self)} batches)")


def default_collate(samples: list) -> Any:
    """Stack a list of samples into a batch, keeping their structure.

    Samples that are tuples or lists ``(x, y)`` give a tuple of batched Tensors; dicts give a dict;
    a single array, Tensor or number gives one Tensor with a new leading batch axis ``(B, ...)``.
    NumPy arrays keep their dtype; Python floats become the default dtype, Python ints int64.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        lengths = {len(s) for s in samples}
        if len(lengths) != 1:
            raise ValueError(f"every sample in a batch must have the same number of fields, got {sorted(lengths)}")
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    arrays = [s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"samples in a batch must all have the same shape to be stacked, got {sorted(shapes)}")
    batch = np.stack(arrays)
    if all(type(s) is float for s in samples):  # Python floats (not NumPy scalars), as Tensor(1.5) stores them
        batch = batch.astype(get_default_dtype())
    return Tensor(batch)
