"""nnlearn: a small neural-network library to read, run and learn from.

The core (``Tensor``, ``Value``, autograd switches and seeding) is imported eagerly because it is light;
the heavier subpackages (``nn``, ``optim``, ``data``, ``train``, ``viz``, ``grading`` and the Numba kernels)
load on first use, so ``import nnlearn`` stays fast.
"""
from __future__ import annotations

import importlib
from typing import Any

from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .backend import get_backend, set_backend, use_backend
from .dtypes import get_default_dtype, set_default_dtype
from .random import get_rng, manual_seed
from .tensor import Tensor, cat, maximum, ones, rand, randn, stack, tensor, where, zeros
from .value import Value

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("functional", "nn", "optim", "data", "train", "viz", "testing", "grading", "kernels", "tuning",
                    "device", "backend")

__all__ = [
    "Function", "Tensor", "Value", "cat", "enable_grad", "get_backend", "get_default_dtype", "get_rng",
    "is_grad_enabled", "set_backend", "use_backend",
    "manual_seed", "maximum", "no_grad", "ones", "rand", "randn", "set_default_dtype", "stack", "tensor",
    "where", "zeros", *_LAZY_SUBMODULES,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "check":  # the notebook's self-check cell: nnlearn.check("02_perceptrons")
        return importlib.import_module(".grading", __name__).check
    raise AttributeError(f"module 'nnlearn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
