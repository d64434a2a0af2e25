"""CPU kernels compiled with Numba (``@njit(cache=True)``), same signatures as ``nnlearn.kernels.reference``.

Importing a module here imports Numba; compilation happens on the first call and is cached on disk."""

import os

# Numba's parallel loops run on an OpenMP thread pool whose idle threads, by default, spin while they wait for
# work. On a laptop or CI runner whose cores are shared (a test runner with two workers, a notebook kernel next
# to other jobs) spinning threads steal the very cores the work needs: measured here, a small convolution went
# from 0.5 ms to 7-30 ms. Passive waiting costs little on an idle machine. It must be set before the OpenMP
# runtime starts, i.e. before the first parallel kernel runs; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
