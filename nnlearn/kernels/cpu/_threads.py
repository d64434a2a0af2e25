"""Thread bookkeeping shared by the compiled CPU kernels.

Our kernels split the batch into one chunk per Numba thread (``prange``) and call BLAS (``np.dot``) inside each
chunk. BLAS must then run on one thread: a multi-threaded OpenBLAS called from inside a parallel region would
either oversubscribe the cores or, as OpenBLAS does under OpenMP, print a warning on every call and fall back.
One thread pool at a time — ours — measured 2–3x faster than alternating between two.

``numba.get_num_threads()`` is read here, in plain Python, and passed into the compiled functions: calling it
inside a ``cache=True`` function silently disables the on-disk cache.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numba

_controller: Any = None


def num_threads() -> int:
    """How many threads Numba's parallel loops will use (``numba.set_num_threads`` changes it)."""
    return numba.get_num_threads()


def _blas_controller() -> Any:
    """A threadpoolctl controller that sees the BLAS Numba calls (SciPy's), or ``False`` without threadpoolctl."""
    global _controller
    if _controller is None:
        try:
            # Numba's np.dot calls SciPy's BLAS; load it first so that the controller can find the library.
            import scipy.linalg.cython_blas  # noqa: F401
            from threadpoolctl import ThreadpoolController
            _controller = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl and SciPy come with scikit-learn
            _controller = False
    return _controller


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run a block with every BLAS library limited to one thread, restoring the previous limits afterwards."""
    controller = _blas_controller()
    if not controller:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
