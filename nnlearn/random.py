"""One seedable source of randomness for the whole library.

Every random choice in nnlearn (weight init, dropout masks, shuffling, generated data sets) draws from
the generator returned by :func:`get_rng`, so ``nnlearn.manual_seed(0)`` makes a whole notebook repeatable.
"""
from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the library's random generator to ``seed`` (like ``torch.manual_seed``) and return it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    global _rng
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    """The generator that every random choice in the library draws from."""
    return _rng
