"""Where a tensor's numbers live: ``"cpu"`` (a NumPy array) or ``"cuda"`` (a CuPy array on an NVIDIA GPU).

The autograd code is written with NumPy functions. CuPy arrays implement NumPy's dispatch protocols
(``__array_ufunc__`` and ``__array_function__``), so ``np.exp(gpu_array)`` runs ``cupy.exp`` on the GPU and
returns a GPU array: the same ops serve both devices. What cannot dispatch — creating a new array from a shape,
or turning Python numbers and host arrays into arrays — goes through the helpers here, which pick the array
module of the data at hand. The CUDA kernels take CuPy arrays without copying, through
``__cuda_array_interface__``.

CuPy is optional (``pip install "nnlearn[cuda]"``) and imported only when a tensor is moved to ``"cuda"``.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

DEVICES = ("cpu", "cuda")

_cuda_module: ModuleType | None = None  # CuPy once loaded (tests may install a stand-in with the same API)


def cuda_module() -> ModuleType:
    """The array module of the ``"cuda"`` device (CuPy), loaded on first use with a clear error if missing."""
    global _cuda_module
    if _cuda_module is None:
        try:
            module = importlib.import_module("cupy")
            module.cuda.runtime.getDeviceCount()  # raises when no driver or no GPU is present
        except Exception as error:  # ImportError, or CuPy's CUDARuntimeError without a GPU
            raise RuntimeError("device 'cuda' needs an NVIDIA GPU with CuPy installed "
                               f"(pip install 'nnlearn[cuda]'); here: {error}") from None
        _cuda_module = module
    return _cuda_module


def check_device(device: Any) -> str:
    """Normalise a device name (``"cpu"``, ``"cuda"``, ``"cuda:0"``) or raise a clear error."""
    name = str(device)
    if name == "cuda:0":
        name = "cuda"
    if name not in DEVICES:
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return name


def is_device_name(value: Any) -> bool:
    """True for ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` (so ``to("float64")`` can still mean a dtype)."""
    return isinstance(value, str) and value.split(":")[0] in DEVICES


def device_of(array: Any) -> str:
    """``"cuda"`` for an array of the GPU's array module, ``"cpu"`` for anything else."""
    if type(array) is np.ndarray or _cuda_module is None:
        return "cpu"
    return "cuda" if isinstance(array, _cuda_module.ndarray) else "cpu"


def array_module(array: Any) -> ModuleType:
    """``numpy`` or ``cupy``: the module whose functions make arrays on ``array``'s device."""
    return _cuda_module if device_of(array) == "cuda" else np


def to_device(array: Any, device: str) -> Any:
    """``array`` on ``device``, copied only if it is elsewhere."""
    if device_of(array) == device:
        return array
    if device == "cuda":
        return cuda_module().asarray(array)
    return _cuda_module.asnumpy(array)


def asarray_like(value: Any, like: Any, dtype: Any = None) -> Any:
    """``value`` (a number, list or array) as an array on the same device as ``like``."""
    return array_module(like).asarray(value, dtype=dtype)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` where repeated indices add up (``np.add.at``; ``cupyx.scatter_add`` on GPU)."""
    if device_of(target) == "cuda":
        importlib.import_module("cupyx").scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)
