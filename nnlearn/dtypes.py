"""The default floating-point dtype for new tensors (float32, as in PyTorch)."""
from __future__ import annotations

import numpy as np

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype used for tensors made from Python numbers and lists, and for new parameters."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    global _default_dtype
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype used for tensors made from Python numbers and lists, and for new parameters."""
    return _default_dtype
