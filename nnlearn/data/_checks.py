"""Small argument checks shared by the data modules, so every public function fails the same clear way."""
from __future__ import annotations

import numbers

import numpy as np

from ..random import get_rng


def check_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_nonnegative(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def resolve_rng(seed) -> np.random.Generator:
    """The generator a data function draws from.

    ``None`` → the library's generator (so ``nnlearn.manual_seed`` governs it); an int → a fresh
    ``np.random.default_rng(seed)``, so the same seed gives the same result whatever the global state;
    a ``np.random.Generator`` is used as it is.
    """
    if seed is None:
        return get_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an int >= 0 or a np.random.Generator, got {seed!r} "
                        f"({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed}")
    return np.random.default_rng(int(seed))
