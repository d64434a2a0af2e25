"""Recurrent layers compiled with Numba: the reference's tanh RNN, LSTM and GRU with only the recurrence compiled.

Same contract as :mod:`nnlearn.kernels.reference.recurrent` (read that first). The work splits in two:

* **Matrix products over all time steps** are single large GEMMs, outside the time loop: the input
  projection ``x @ w_ih.T`` before it, and after the backward loop ``dx = dA @ w_ih``, ``dw_ih = dA.T @ x``
  *and* ``dw_hh = dA.T @ h_{t-1}`` — the reference adds up ``dw_hh`` one step at a time, but the
  pre-activation gradients of every step are kept anyway, so it too is one big product. Each is split by rows
  between the threads, every thread calling single-threaded BLAS on its block.
* **The recurrence** — ``h_{t-1} @ w_hh.T`` and the gates, step after step — is compiled. Batch rows never
  interact, so the batch is split into one chunk per thread (``prange``) and every thread runs the *whole*
  time loop on its rows: one parallel region per call, no synchronisation between steps. Time itself can
  never be parallel: step ``t`` needs step ``t - 1``.

Inside the loop the small per-step matrix product is BLAS (single-threaded: the threads are ours) when it is
large enough to pay for the call, and a plain loop that the compiler vectorises when it is not (batch 1, small
hidden size: there a BLAS call costs more than the arithmetic).

**Activations.** ``np.tanh``/``np.exp`` inside a compiled loop are one scalar library call per element on this
machine (Numba has no vector maths library here), which would cost more than all the matrix products. For
float32 we therefore use a rational approximation of ``tanh`` (Eigen's, odd degree-13 over even degree-6
polynomial, clamped at ±9), made only of multiplications, additions, a division and a min/max, so the compiler
vectorises the gate loops; ``sigmoid(a) = (1 + tanh(a / 2)) / 2``. Its maximum absolute error against
``np.tanh`` is below ``1e-7`` — far below float32's own rounding of the results we compare (the tests
measure it). float64 asks for 1e-10 agreement, so it keeps the exact scalar functions. Every function here is
compiled with ``error_model="numpy"``: under Numba's default (Python's) model every division checks for a zero
divisor to raise ``ZeroDivisionError``, and that check alone stops the compiler from vectorising the loop.

Numba's cache is per source file and does not notice edits to other files, which is why every helper lives here.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

from ._threads import num_threads, single_threaded_blas

# Per-step products with fewer multiply-adds than this use the plain loop instead of a BLAS call (measured here:
# a BLAS call costs about a microsecond before it does any arithmetic).
_BLAS_MIN_MACS = 32 * 1024
# The per-step products go to BLAS at most this many rows at a time. Measured here (the OpenBLAS that Numba
# calls, one thread): (16, 128) @ (128, 512) takes 2.7x as long as two (8, 128) @ (128, 512) products: from 16
# rows on, OpenBLAS leaves its kernel for small matrices for a general one that only pays off for far bigger
# ones. Blocks of 4 to 12 rows measured the same; 8 also suits BLAS kernels that work on 8 rows at a time.
_BLAS_ROWS = 8
# Products over all time steps with fewer multiply-adds than this run on the calling thread: starting a parallel
# region costs tens of microseconds, as much as a product of about this size.
_PARALLEL_MIN_MACS = 1024 * 1024


# --- scalar activations ------------------------------------------------------------------------------------

@njit(cache=True, inline="always", error_model="numpy")
def fast_tanh(a):
    """Rational approximation of ``tanh(a)`` (Eigen's ``generic_fast_tanh_float``), computed in float64.

    ``tanh`` is odd and tends to ±1, so ``a * p(a^2) / q(a^2)`` fits it well on ``[-9, 9]``; beyond, float32's
    ``tanh`` is ±1 anyway. Only ``*``, ``+``, ``/`` and ``min``/``max``: the compiler vectorises loops of it.
    """
    x = min(max(a, -9.0), 9.0)
    x2 = x * x
    p = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 - 8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    q = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    return x * p / q


@njit(cache=True, error_model="numpy")
def _tanh_(v, exact):
    """``v = tanh(v)`` in place, ``v`` 1-D contiguous. The branch sits outside the loops, so that the fast
    loop is plain arithmetic the compiler vectorises."""
    if exact:
        for j in range(v.shape[0]):
            v[j] = math.tanh(v[j])
    else:
        for j in range(v.shape[0]):
            v[j] = fast_tanh(v[j])


@njit(cache=True, error_model="numpy")
def _sigmoid_(v, exact):
    """``v = sigmoid(v)`` in place, ``v`` 1-D contiguous; ``sigmoid(a) = (1 + tanh(a / 2)) / 2`` when fast."""
    if exact:
        for j in range(v.shape[0]):
            a = v[j]
            e = math.exp(-abs(a))                # the reference's overflow-free form: exp sees -|a| <= 0
            v[j] = 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)
    else:
        for j in range(v.shape[0]):
            v[j] = 0.5 + 0.5 * fast_tanh(0.5 * v[j])


@njit(cache=True, error_model="numpy")
def _matmul_into(a, b, out):
    """``out = a @ b`` for C-contiguous ``a: (m, k)``, ``b: (k, n)``: BLAS when large, a plain loop when small."""
    m, k = a.shape
    n = b.shape[1]
    if m * k * n >= _BLAS_MIN_MACS:
        for r0 in range(0, m, _BLAS_ROWS):       # a few rows per call: see _BLAS_ROWS
            r1 = min(m, r0 + _BLAS_ROWS)
            np.dot(a[r0:r1], b, out[r0:r1])
        return
    for r in range(m):
        dst = out[r]
        for j in range(n):
            dst[j] = 0.0
        for q in range(k):
            s, src = a[r, q], b[q]
            for j in range(n):                   # the innermost loop runs along a row: it vectorises
                dst[j] += s * src[j]


def _chunks(N: int) -> int:
    """How many batch chunks (threads) to use: one per thread, never more than there are rows."""
    return max(1, min(N, num_threads()))


# The loops below index rows by their own loop counter only, after slicing (``ar[H:2 * H]`` then ``f[j]``, not
# ``ar[H + j]``): Numba cannot prove a computed index non-negative, and its wrap-around test would stop the
# compiler from vectorising the loop.

# --- tanh RNN ----------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True, error_model="numpy")
def _rnn_forward(xw, h, whh_t, exact, n_chunks):
    """Fill ``h[1:]`` (``h: (T+1, N, H)``, ``h[0]`` set) from ``xw: (T, N, H)``; ``whh_t = w_hh.T``."""
    T, N, H = xw.shape
    chunk = (N + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):                  # thread ch: batch rows [n0, n1), the whole time loop
        n0, n1 = ch * chunk, min(N, (ch + 1) * chunk)
        m = n1 - n0
        if m <= 0:
            continue
        hp = np.empty((m, H), xw.dtype)          # h_{t-1} of this chunk, contiguous for the matrix product
        a = np.empty((m, H), xw.dtype)
        for r in range(m):
            hp[r] = h[0, n0 + r]
        for t in range(T):
            _matmul_into(hp, whh_t, a)
            for r in range(m):
                src, ar, dst, hr = xw[t, n0 + r], a[r], h[t + 1, n0 + r], hp[r]
                for j in range(H):
                    ar[j] += src[j]
                _tanh_(ar, exact)
                for j in range(H):
                    dst[j] = ar[j]
                    hr[j] = ar[j]


@njit(cache=True, parallel=True, error_model="numpy")
def _rnn_backward(dout, dh, h, w_hh, da, n_chunks):
    """BPTT: ``dh: (N, H)`` holds ``dh_n`` on entry and ``dh0`` on exit; fills ``da: (T, N, H)``."""
    T, N, H = dout.shape
    chunk = (N + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        n0, n1 = ch * chunk, min(N, (ch + 1) * chunk)
        m = n1 - n0
        if m <= 0:
            continue
        g = np.empty((m, H), dout.dtype)         # gradient reaching h_t, this chunk's rows
        dat = np.empty((m, H), dout.dtype)
        for r in range(m):
            g[r] = dh[n0 + r]
        for t in range(T - 1, -1, -1):
            for r in range(m):
                d, hv, out, gr, dr = dout[t, n0 + r], h[t + 1, n0 + r], da[t, n0 + r], g[r], dat[r]
                for j in range(H):
                    v = (gr[j] + d[j]) * (1 - hv[j] * hv[j])   # tanh' = 1 - tanh^2, from the saved output
                    dr[j] = v
                    out[j] = v
            _matmul_into(dat, w_hh, g)           # into h_{t-1}
        for r in range(m):
            dh[n0 + r] = g[r]


# --- LSTM --------------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True, error_model="numpy")
def _lstm_forward(xw, h, c, gates, whh_t, exact, n_chunks):
    """Fill ``h[1:], c[1:]: (T, N, H)`` and ``gates: (T, N, 4H)`` from ``xw: (T, N, 4H)``."""
    T, N, G4 = xw.shape
    H = G4 // 4
    chunk = (N + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        n0, n1 = ch * chunk, min(N, (ch + 1) * chunk)
        m = n1 - n0
        if m <= 0:
            continue
        tc = np.empty(H, xw.dtype)
        for t in range(T):
            # This chunk's rows of step t are one contiguous (m, 4H) block of ``gates``: the matrix product
            # writes the pre-activations straight into it, and the activations then overwrite them in place.
            a = gates[t][n0:n1]                  # (sliced in two steps: Numba then knows it is C-contiguous)
            _matmul_into(h[t][n0:n1], whh_t, a)
            for r in range(m):
                n = n0 + r
                src, ar, cp, cn, hn = xw[t, n], a[r], c[t, n], c[t + 1, n], h[t + 1, n]
                for j in range(G4):
                    ar[j] += src[j]
                _sigmoid_(ar[:2 * H], exact)     # i, f
                _tanh_(ar[2 * H:3 * H], exact)   # g
                _sigmoid_(ar[3 * H:], exact)     # o
                i, f, g, o = ar[:H], ar[H:2 * H], ar[2 * H:3 * H], ar[3 * H:]
                for j in range(H):
                    cn[j] = f[j] * cp[j] + i[j] * g[j]   # forget some of the old memory, write some new
                for j in range(H):
                    tc[j] = cn[j]
                _tanh_(tc, exact)
                for j in range(H):
                    hn[j] = o[j] * tc[j]         # expose a gated view of it


# Each loop below writes one array. A loop that writes several, reading many more, would be faster on paper,
# but the compiler must then prove that none of them overlap before it vectorises; past a handful of arrays it
# gives up and runs the loop one element at a time (measured: 4x slower here).

@njit(cache=True, parallel=True, error_model="numpy")
def _lstm_backward(dout, dh, dc, h, c, gates, w_hh, da, exact, n_chunks):
    """BPTT: ``dh, dc: (N, H)`` hold ``dh_n, dc_n`` on entry and ``dh0, dc0`` on exit; fills ``da: (T, N, 4H)``."""
    T, N, H = dout.shape
    chunk = (N + n_chunks - 1) // n_chunks
    one = dout.dtype.type(1)                     # a bare 1 would be an int64, and turn float32 maths into float64
    for ch in prange(n_chunks):
        n0, n1 = ch * chunk, min(N, (ch + 1) * chunk)
        m = n1 - n0
        if m <= 0:
            continue
        gh = np.empty((m, H), dout.dtype)        # gradients reaching h_t and c_t, this chunk's rows
        gc = np.empty((m, H), dout.dtype)
        tc, dhv, dcv = np.empty(H, dout.dtype), np.empty(H, dout.dtype), np.empty(H, dout.dtype)
        for r in range(m):
            gh[r] = dh[n0 + r]
            gc[r] = dc[n0 + r]
        for t in range(T - 1, -1, -1):
            for r in range(m):
                n = n0 + r
                d, gt, cn, cp, ghr, gcr, dr = dout[t, n], gates[t, n], c[t + 1, n], c[t, n], gh[r], gc[r], da[t, n]
                i, f, g, o = gt[:H], gt[H:2 * H], gt[2 * H:3 * H], gt[3 * H:]
                di, df, dg, do = dr[:H], dr[H:2 * H], dr[2 * H:3 * H], dr[3 * H:]
                for j in range(H):
                    tc[j] = cn[j]
                _tanh_(tc, exact)                # recomputed, as in the reference
                for j in range(H):
                    dhv[j] = ghr[j] + d[j]
                for j in range(H):
                    dcv[j] = gcr[j] + dhv[j] * o[j] * (one - tc[j] * tc[j])
                for j in range(H):
                    di[j] = dcv[j] * g[j] * i[j] * (one - i[j])
                for j in range(H):
                    df[j] = dcv[j] * cp[j] * f[j] * (one - f[j])
                for j in range(H):
                    dg[j] = dcv[j] * i[j] * (one - g[j] * g[j])
                for j in range(H):
                    do[j] = dhv[j] * tc[j] * o[j] * (one - o[j])
                for j in range(H):
                    gcr[j] = dcv[j] * f[j]       # into c_{t-1}: only through the forget gate
            _matmul_into(da[t][n0:n1], w_hh, gh)  # into h_{t-1}: through all four gates
        for r in range(m):
            dh[n0 + r] = gh[r]
            dc[n0 + r] = gc[r]


# --- GRU ---------------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True, error_model="numpy")
def _gru_forward(xw, h, gates, hn, whh_t, b_hh, exact, n_chunks):
    """Fill ``h[1:]``, ``gates: (T, N, 3H)`` and ``hn: (T, N, H)`` from ``xw: (T, N, 3H)`` (``b_ih`` included)."""
    T, N, G3 = xw.shape
    H = G3 // 3
    chunk = (N + n_chunks - 1) // n_chunks
    b_rz, b_n = b_hh[:2 * H], b_hh[2 * H:]
    for ch in prange(n_chunks):
        n0, n1 = ch * chunk, min(N, (ch + 1) * chunk)
        m = n1 - n0
        if m <= 0:
            continue
        hp = np.empty((m, H), xw.dtype)
        a = np.empty((m, G3), xw.dtype)
        for r in range(m):
            hp[r] = h[0, n0 + r]
        for t in range(T):
            _matmul_into(hp, whh_t, a)
            for r in range(m):
                n = n0 + r
                src, ar, gt, hnt, hnext, hr = xw[t, n], a[r], gates[t, n], hn[t, n], h[t + 1, n], hp[r]
                rz, src_rz, ar_rz = gt[:2 * H], src[:2 * H], ar[:2 * H]
                rg, z, nv, src_n, ar_n = gt[:H], gt[H:2 * H], gt[2 * H:], src[2 * H:], ar[2 * H:]
                for j in range(2 * H):
                    rz[j] = src_rz[j] + ar_rz[j] + b_rz[j]
                _sigmoid_(rz, exact)             # r, z
                for j in range(H):
                    hnt[j] = ar_n[j] + b_n[j]    # r multiplies the recurrent part after its bias
                    nv[j] = src_n[j] + rg[j] * hnt[j]
                _tanh_(nv, exact)                # n
                for j in range(H):
                    hnext[j] = (1 - z[j]) * nv[j] + z[j] * hr[j]
                    hr[j] = hnext[j]


@njit(cache=True, parallel=True, error_model="numpy")
def _gru_backward(dout, dh, h, gates, hn, w_hh, dxw, dhw, n_chunks):
    """BPTT: ``dh: (N, H)`` holds ``dh_n`` on entry and ``dh0`` on exit; fills the pre-activation gradients of
    the input projection ``dxw`` and of the recurrent one ``dhw`` (both ``(T, N, 3H)``)."""
    T, N, H = dout.shape
    chunk = (N + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        n0, n1 = ch * chunk, min(N, (ch + 1) * chunk)
        m = n1 - n0
        if m <= 0:
            continue
        gh = np.empty((m, H), dout.dtype)        # gradient reaching h_t, this chunk's rows
        direct = np.empty((m, H), dout.dtype)    # its part through h_t = ... + z * h_{t-1}
        dat = np.empty((m, 3 * H), dout.dtype)   # dhw of this step, contiguous for the matrix product
        for r in range(m):
            gh[r] = dh[n0 + r]
        for t in range(T - 1, -1, -1):
            for r in range(m):
                n = n0 + r
                d, gt, hnt, hprev, ox, oh = dout[t, n], gates[t, n], hn[t, n], h[t, n], dxw[t, n], dhw[t, n]
                ghr, dr, dir_ = gh[r], dat[r], direct[r]
                rg, z, nv = gt[:H], gt[H:2 * H], gt[2 * H:]
                dar, daz, dan, dhn = dr[:H], dr[H:2 * H], ox[2 * H:], dr[2 * H:]
                for j in range(H):
                    dhv = ghr[j] + d[j]
                    dan_j = dhv * (1 - z[j]) * (1 - nv[j] * nv[j])
                    dar[j] = dan_j * hnt[j] * rg[j] * (1 - rg[j])
                    daz[j] = dhv * (hprev[j] - nv[j]) * z[j] * (1 - z[j])
                    dan[j] = dan_j
                    dhn[j] = dan_j * rg[j]       # the recurrent projection's n-part was multiplied by r
                    dir_[j] = dhv * z[j]         # the direct path: what makes the GRU's gradient flow well
                ox_rz = ox[:2 * H]
                for j in range(2 * H):
                    ox_rz[j] = dr[j]
                for j in range(3 * H):
                    oh[j] = dr[j]
            _matmul_into(dat, w_hh, gh)
            for r in range(m):
                ghr, dir_ = gh[r], direct[r]
                for j in range(H):
                    ghr[j] += dir_[j]
        for r in range(m):
            dh[n0 + r] = gh[r]


# --- public functions: the reference's contract --------------------------------------------------------------

def _projection(x, w_ih, b):
    """``x @ w_ih.T + b`` for all time steps as one GEMM: ``(T, N, I)`` -> ``(T, N, G*H)``, C-contiguous."""
    T, N, I = x.shape
    xw = _matmul(x.reshape(T * N, I), np.ascontiguousarray(w_ih.T))
    if b is not None:
        xw += b
    return xw.reshape(T, N, -1)


def _bias_sum(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _input_grads(da, x, w_ih):
    """``dx = dA @ w_ih`` and ``dw_ih = dA.T @ x`` with ``dA: (T, N, G*H)``: one GEMM each, over all steps."""
    T, N, I = x.shape
    rows = da.reshape(T * N, -1)
    return _matmul(rows, w_ih).reshape(T, N, I), _gram(rows, x.reshape(T * N, I))


def _recurrent_weight_grad(da, h):
    """``dw_hh = sum_t dA_t.T @ h_{t-1}`` as one GEMM: ``da: (T, N, G*H)``, ``h: (T+1, N, H)`` -> ``(G*H, H)``."""
    T, N, GH = da.shape
    return _gram(da.reshape(T * N, GH), h[:-1].reshape(T * N, -1))


# --- the large matrix products, on our threads ----------------------------------------------------------------
# The GEMMs over all time steps are the bulk of the arithmetic. Handing them to a multi-threaded BLAS measured
# badly here: BLAS's idle threads keep spinning after a call, on the very cores the next parallel recurrence
# needs (the recurrence ran up to twice as slowly). Single-threaded NumPy leaves a core idle instead. So they
# run in a Numba parallel region like the recurrence, each thread making one single-threaded BLAS call on its
# share of the rows: one thread pool, every core busy.

@njit(cache=True, parallel=True, error_model="numpy")
def _rows_matmul(a, b, out, n_chunks):
    """``out = a @ b`` for C-contiguous ``a: (M, K)``, ``b: (K, P)``, ``out: (M, P)``: thread ``ch`` takes a
    block of rows of ``a`` and writes the same rows of ``out`` (contiguous blocks, no two threads share one)."""
    M = a.shape[0]
    chunk = (M + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        r0, r1 = ch * chunk, min(M, (ch + 1) * chunk)
        if r1 > r0:
            np.dot(a[r0:r1], b, out[r0:r1])


@njit(cache=True, parallel=True, error_model="numpy")
def _gram_parts(a, b, parts):
    """``parts[ch] = a[rows].T @ b[rows]`` for thread ``ch``'s block of rows; ``a: (M, P)``, ``b: (M, Q)``.

    ``a.T @ b`` sums over the rows ``M`` (here: every time step of every sequence), so splitting the rows
    gives each thread a partial sum of the whole result; :func:`_gram` adds them up.
    """
    M = a.shape[0]
    n_chunks = parts.shape[0]
    chunk = (M + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        r0, r1 = ch * chunk, min(M, (ch + 1) * chunk)
        if r1 > r0:
            np.dot(a[r0:r1].T, b[r0:r1], parts[ch])


def _worth_splitting(m: int, k: int, p: int) -> bool:
    """Whether an ``(m, k) @ (k, p)`` product is big enough to pay for starting a parallel region."""
    return m * k * p >= _PARALLEL_MIN_MACS and num_threads() > 1


def _matmul(a, b):
    """``a @ b`` for C-contiguous ``a: (M, K)``, ``b: (K, P)`` -> ``(M, P)``, rows split between threads."""
    if not _worth_splitting(a.shape[0], a.shape[1], b.shape[1]):
        return a @ b
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    _rows_matmul(a, b, out, _chunks(a.shape[0]))
    return out


def _gram(a, b):
    """``a.T @ b`` for C-contiguous ``a: (M, P)``, ``b: (M, Q)`` -> ``(P, Q)``, the sum over ``M`` split between threads."""
    if not _worth_splitting(a.shape[1], a.shape[0], b.shape[1]):
        return a.T @ b
    n_chunks = _chunks(a.shape[0])
    parts = np.zeros((n_chunks, a.shape[1], b.shape[1]), a.dtype)  # zeros: a thread with no rows adds nothing
    _gram_parts(a, b, parts)
    return parts[0] if n_chunks == 1 else parts.sum(axis=0)


def _blas_on_our_threads(fn):
    """Run ``fn`` with single-threaded BLAS: every BLAS call in it is made by one of Numba's threads, on its
    own share of the work (see "the large matrix products" above). One thread pool at a time."""
    @functools.wraps(fn)
    def wrapper(*args):
        with single_threaded_blas():
            return fn(*args)
    return wrapper


def _prep(x, *arrays):
    """C-contiguous copies (only where needed) in ``x``'s dtype."""
    return [None if a is None else np.ascontiguousarray(a, dtype=x.dtype) for a in arrays]


@_blas_on_our_threads
def rnn_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray]]:
    """Same contract as :func:`nnlearn.kernels.reference.recurrent.rnn_forward`; ``x: (T, N, I)``, ``h0: (N, H)``."""
    x = np.ascontiguousarray(x)
    h0, w_ih, w_hh, b_ih, b_hh = _prep(x, h0, w_ih, w_hh, b_ih, b_hh)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xw = _projection(x, w_ih, _bias_sum(b_ih, b_hh))
    h = np.empty((T + 1, N, H), x.dtype)
    h[0] = h0
    _rnn_forward(xw, h, np.ascontiguousarray(w_hh.T), x.dtype == np.float64, _chunks(N))
    return h[1:].copy(), h[T].copy(), (h,)


@_blas_on_our_threads
def rnn_backward(dout: np.ndarray, dh_n: np.ndarray, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray,
                 w_hh: np.ndarray, saved: tuple[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Same contract as :func:`nnlearn.kernels.reference.recurrent.rnn_backward`."""
    x = np.ascontiguousarray(x)
    dout, dh, w_ih, w_hh = _prep(x, dout, dh_n, w_ih, w_hh)
    dh = dh.copy()                               # overwritten with dh0
    (h,) = saved
    da = np.empty_like(dout)
    _rnn_backward(dout, dh, h, w_hh, da, _chunks(x.shape[1]))
    dx, dw_ih = _input_grads(da, x, w_ih)
    dw_hh = _recurrent_weight_grad(da, h)
    db = da.sum(axis=(0, 1))
    return dx, dh, dw_ih, dw_hh, db, db.copy()


@_blas_on_our_threads
def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                 b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Same contract as :func:`nnlearn.kernels.reference.recurrent.lstm_forward`; gates i, f, g, o."""
    x = np.ascontiguousarray(x)
    h0, c0, w_ih, w_hh, b_ih, b_hh = _prep(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xw = _projection(x, w_ih, _bias_sum(b_ih, b_hh))
    h = np.empty((T + 1, N, H), x.dtype)
    c = np.empty((T + 1, N, H), x.dtype)
    gates = np.empty((T, N, 4 * H), x.dtype)
    h[0], c[0] = h0, c0
    _lstm_forward(xw, h, c, gates, np.ascontiguousarray(w_hh.T), x.dtype == np.float64, _chunks(N))
    return h[1:].copy(), h[T].copy(), c[T].copy(), (h, c, gates)


@_blas_on_our_threads
def lstm_backward(dout: np.ndarray, dh_n: np.ndarray, dc_n: np.ndarray, x: np.ndarray, h0: np.ndarray,
                  c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                  saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Same contract as :func:`nnlearn.kernels.reference.recurrent.lstm_backward`."""
    x = np.ascontiguousarray(x)
    dout, dh, dc, w_ih, w_hh = _prep(x, dout, dh_n, dc_n, w_ih, w_hh)
    dh, dc = dh.copy(), dc.copy()                # overwritten with dh0, dc0
    h, c, gates = saved
    da = np.empty_like(gates)
    _lstm_backward(dout, dh, dc, h, c, gates, w_hh, da, x.dtype == np.float64, _chunks(x.shape[1]))
    dx, dw_ih = _input_grads(da, x, w_ih)
    dw_hh = _recurrent_weight_grad(da, h)
    db = da.sum(axis=(0, 1))
    return dx, dh, dc, dw_ih, dw_hh, db, db.copy()


@_blas_on_our_threads
def gru_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Same contract as :func:`nnlearn.kernels.reference.recurrent.gru_forward`; gates r, z, n."""
    x = np.ascontiguousarray(x)
    h0, w_ih, w_hh, b_ih, b_hh = _prep(x, h0, w_ih, w_hh, b_ih, b_hh)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xw = _projection(x, w_ih, b_ih)              # b_hh stays in the loop: r multiplies its n-part
    h = np.empty((T + 1, N, H), x.dtype)
    gates = np.empty((T, N, 3 * H), x.dtype)
    hn = np.empty((T, N, H), x.dtype)
    h[0] = h0
    bhh = np.zeros(3 * H, x.dtype) if b_hh is None else b_hh
    _gru_forward(xw, h, gates, hn, np.ascontiguousarray(w_hh.T), bhh, x.dtype == np.float64, _chunks(N))
    return h[1:].copy(), h[T].copy(), (h, gates, hn)


@_blas_on_our_threads
def gru_backward(dout: np.ndarray, dh_n: np.ndarray, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray,
                 w_hh: np.ndarray, saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Same contract as :func:`nnlearn.kernels.reference.recurrent.gru_backward`."""
    x = np.ascontiguousarray(x)
    dout, dh, w_ih, w_hh = _prep(x, dout, dh_n, w_ih, w_hh)
    dh = dh.copy()                               # overwritten with dh0
    h, gates, hn = saved
    dxw = np.empty_like(gates)
    dhw = np.empty_like(gates)
    _gru_backward(dout, dh, h, gates, hn, w_hh, dxw, dhw, _chunks(x.shape[1]))
    dx, dw_ih = _input_grads(dxw, x, w_ih)
    dw_hh = _recurrent_weight_grad(dhw, h)      # the recurrent projection's own gradients: n-part times r
    return dx, dh, dw_ih, dw_hh, dxw.sum(axis=(0, 1)), dhw.sum(axis=(0, 1))
