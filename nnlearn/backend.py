"""Which implementation of the hot loops runs: readable NumPy, Numba on the CPU, or Numba on a CUDA GPU.

Every op family in :mod:`nnlearn.kernels` (``conv2d``, ``pool2d``, ...) exists three times with identical
function signatures:

* ``"reference"`` — ``nnlearn.kernels.reference``: plain NumPy, the version the book prints;
* ``"cpu"`` — ``nnlearn.kernels.cpu``: Numba-compiled loops (the default);
* ``"cuda"`` — ``nnlearn.kernels.cuda``: Numba CUDA kernels. Given host (NumPy) arrays they copy in and out;
  given device arrays (tensors moved with ``.to("cuda")``) they work in place on the GPU.

``nnlearn.set_backend("reference")`` switches the whole library, so the book can run one model three ways.
Tensors that live on the GPU always use the CUDA kernels, whatever the backend setting.
"""
from __future__ import annotations

import contextlib
import importlib
from types import ModuleType
from typing import Iterator

BACKENDS = ("reference", "cpu", "cuda")

_backend = "cpu"


def set_backend(name: str) -> None:
    """Choose the kernels used from now on: ``"reference"``, ``"cpu"`` or ``"cuda"``."""
    global _backend
    _backend = _check(name)


def get_backend() -> str:
    """The name of the kernels in use."""
    return _backend


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run a block with another backend: ``with nnlearn.use_backend("reference"): model(x)``."""
    global _backend
    previous, _backend = _backend, _check(name)
    try:
        yield
    finally:
        _backend = previous


def kernels(family: str, backend: str | None = None) -> ModuleType:
    """The module holding ``family``'s kernels (e.g. ``kernels("conv2d").conv2d_forward``).

    Modules are imported on first use, so Numba is not loaded until a compiled kernel is needed.
    """
    name = _check(backend or _backend)
    return importlib.import_module(f"nnlearn.kernels.{name}.{family}")


def _check(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(repr(b) for b in BACKENDS)}; got {name!r}")
    return name
