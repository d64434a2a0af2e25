"""A stand-in for CuPy, so the GPU device path can be tested on a machine without a GPU.

``FakeGPUArray`` behaves like a CuPy array where it matters for nnlearn's device path:

* NumPy functions and ufuncs applied to it return ``FakeGPUArray`` (CuPy's ``__array_function__`` /
  ``__array_ufunc__`` dispatch);
* mixing it with a host ``numpy.ndarray`` in a ufunc or NumPy function raises ``TypeError``, as CuPy does, so
  an op that silently builds a host array in the middle of a GPU computation is caught.

It cannot catch ``np.asarray(gpu_array)`` (an ndarray subclass converts silently), nor measure anything
about a real GPU: the real check is the test run with ``NNLEARN_CUDA=real`` on a machine with one.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np


class FakeGPUArray(np.ndarray):
    """An array that claims to live on the GPU."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_host_arrays(inputs, ufunc.__name__)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_host_view(o) for o in out)
        result = getattr(ufunc, method)(*(_host_view(i) for i in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_host_arrays(args, func.__name__)
        result = func(*_host_views(args), **_host_views(kwargs))
        return _wrap(result)


def _refuse_host_arrays(values: Any, name: str) -> None:
    for value in _flatten(values):
        if type(value) is np.ndarray:
            raise TypeError(f"fake cupy: {name} mixes a GPU array with a host numpy.ndarray of shape "
                            f"{value.shape} (CuPy refuses this; move it with nnlearn.device.to_device)")


def _flatten(values: Any):
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from _flatten(v)
    elif isinstance(values, dict):
        for v in values.values():
            yield from _flatten(v)
    else:
        yield values


def _host_view(value: Any) -> Any:
    return value.view(np.ndarray) if isinstance(value, FakeGPUArray) else value


def _host_views(values: Any) -> Any:
    if isinstance(values, tuple):
        return tuple(_host_views(v) for v in values)
    if isinstance(values, list):
        return [_host_views(v) for v in values]
    if isinstance(values, dict):
        return {k: _host_views(v) for k, v in values.items()}
    return _host_view(values)


def _wrap(result: Any) -> Any:
    if isinstance(result, np.ndarray):
        return result.view(FakeGPUArray)
    if isinstance(result, np.generic):  # CuPy's reductions give 0-d device arrays, not host scalars
        return np.asarray(result).view(FakeGPUArray)
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, list):
        return [_wrap(r) for r in result]
    return result


def asarray(value: Any, dtype: Any = None) -> FakeGPUArray:
    if isinstance(value, FakeGPUArray):
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    return np.array(value, dtype=dtype).view(FakeGPUArray)  # a host-to-device copy


def asnumpy(value: Any) -> np.ndarray:
    return np.array(_host_view(value))  # a device-to-host copy


def _creator(name: str):
    numpy_function = getattr(np, name)

    def create(*args: Any, **kwargs: Any) -> FakeGPUArray:
        return numpy_function(*args, **kwargs).view(FakeGPUArray)
    create.__name__ = name
    return create


def scatter_add(target: FakeGPUArray, index: Any, values: Any) -> None:
    np.add.at(_host_view(target), _host_views(index), _host_view(values))


def make_modules() -> tuple[types.ModuleType, types.ModuleType]:
    """``(fake_cupy, fake_cupyx)`` modules with the parts of CuPy's API that nnlearn uses."""
    cupy = types.ModuleType("fake_cupy")
    cupy.ndarray = FakeGPUArray
    cupy.asarray = asarray
    cupy.asnumpy = asnumpy
    for name in ("zeros", "ones", "empty", "full", "arange", "zeros_like", "ones_like", "empty_like"):
        setattr(cupy, name, _creator(name))
    cupyx = types.ModuleType("fake_cupyx")
    cupyx.scatter_add = scatter_add
    return cupy, cupyx
