"""Data for the book: generated 2-D sets, the bundled digits, splits, Dataset/DataLoader, scaling and augmentation,
and sequences (generated signals, a built-in text, character vocabularies, batching and padding).

>>> import nnlearn
>>> from nnlearn.data import make_moons, train_test_split, DataLoader
>>> X, y = make_moons(200, noise=0.1, seed=0)
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, seed=0)
>>> loader = DataLoader.from_arrays(X_train, y_train, batch_size=32, shuffle=True, seed=0)
>>> len(loader), [t.shape for t in next(iter(loader))]
(5, [(32, 2), (32,)])

Only NumPy is needed at import time; ``load_digits`` imports scikit-learn when it is called.
"""
from __future__ import annotations

from .augment import AugmentedDataset, augment_batch, random_rotation, random_shift, rotate, shift
from .dataset import Dataset, TensorDataset
from .digits import load_digits
from .kfold import KFold
from .loader import DataLoader, default_collate
from .preprocessing import StandardScaler
from .sequences import (CharVocab, batchify, load_text_corpus, make_sine_mixture, pad_sequence, sequence_mask,
                        sliding_windows)
from .split import train_test_split, train_val_test_split
from .synthetic import make_blobs, make_circles, make_moons, make_regression_1d, make_spiral, make_xor
from .tabular import load_breast_cancer, load_wine

__all__ = [
    "AugmentedDataset", "CharVocab", "DataLoader", "Dataset", "KFold", "StandardScaler", "TensorDataset",
    "augment_batch", "batchify", "default_collate", "load_breast_cancer", "load_digits", "load_text_corpus",
    "load_wine", "make_blobs", "make_circles", "make_moons", "make_regression_1d", "make_sine_mixture",
    "make_spiral", "make_xor", "pad_sequence", "random_rotation", "random_shift", "rotate", "sequence_mask",
    "shift", "sliding_windows", "train_test_split", "train_val_test_split",
]
