"""CPU kernels compiled with Numba (``@njit(cache=True)``), same signatures as ``nnlearn.kernels.reference``.

Importing a module here imports Numba; compilation happens on the first call and is cached on disk."""
