"""CUDA kernels written with ``numba.cuda``, plus host wrappers with the same signatures as
``nnlearn.kernels.reference``. In CI they run under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
