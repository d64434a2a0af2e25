"""The library's hot loops, as plain functions of NumPy arrays (no autograd, no Tensor).

Each op family has one contract and three implementations with identical signatures:

* ``reference/`` — readable NumPy, the version the book prints and every test trusts;
* ``cpu/`` — Numba ``@njit(cache=True)`` versions, tested against the reference;
* ``cuda/`` — ``numba.cuda`` kernels with host wrappers, tested under the CUDA simulator in CI.

Nothing here is imported by ``import nnlearn``; Numba compiles lazily on first use.
"""
