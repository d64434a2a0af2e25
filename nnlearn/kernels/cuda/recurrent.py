"""Recurrent layers on an NVIDIA GPU with ``numba.cuda``: a tanh RNN, an LSTM and a GRU, forward over a whole
sequence and backpropagation through time, with the contract (and the ``saved`` layouts) of
``nnlearn.kernels.reference.recurrent``.

Where a GPU's parallelism is in a recurrent layer
-------------------------------------------------
A GPU is fast when tens of thousands of threads have independent work. Step ``t`` of a recurrence needs the
hidden state of step ``t - 1``, so the time steps cannot run side by side: the time loop stays on the host and
launches one kernel per step, in order. The parallelism is *across* the batch and the hidden units, and in the
parts of the layer that do not depend on earlier steps:

* **input projection** — ``x_t @ W_ih.T + b`` for every ``t`` at once, one matrix product of ``(T * N, I)``
  rows (``_matmul.py``), before the time loop — as in the reference;
* **forward step** — one thread per hidden unit ``(n, j)``: it computes the dot products of ``h_{t-1}[n]`` with
  the rows of ``W_hh`` of unit ``j`` in *every* gate (``G`` of them), then the cell update. One thread owning all
  gates of its unit is what lets a whole step be one kernel: the LSTM's ``c_t = f * c_{t-1} + i * g`` needs
  ``i, f, g`` of the same unit, and the thread has them all. ``W_hh`` is transposed once per call, so the
  threads of a warp (neighbouring ``j``) read neighbouring addresses (see ``_matmul.py`` on coalescing);
* **backward step** — again one thread per ``(n, j)``, walking ``t`` from ``T - 1`` down to 0. The gradient
  reaching ``h_t`` from step ``t + 1`` is ``da_{t+1} @ W_hh`` (a dot product over all ``G * H`` pre-activations
  of row ``n``, written by the previous launch), plus ``dout[t]``; from it the thread computes its unit's
  pre-activation gradients ``da_t[n, g*H + j]`` for every gate. Fusing "the carry from step ``t + 1``" into
  step ``t``'s kernel makes each step one launch instead of two; one launch after the loop makes ``dh0``;
* **weight gradients** — ``dW_hh = sum over t of da_t.T @ h_{t-1}``, ``dW_ih``, ``dx`` and the biases'
  gradients need every step's ``da_t`` and nothing sequential, so they are computed after the loop, each as one
  matrix product over all ``T * N`` rows (one thread per weight, summing in a fixed order).

Nothing is added with atomics, so every run gives the same bits. The per-step kernels are small — ``N * H``
threads — and a kernel launch from Python costs microseconds, so for short, narrow layers the launches, not
the arithmetic, set the time. Libraries built for speed (cuDNN) run the whole time loop inside one *persistent*
kernel, keeping ``W_hh`` in the multiprocessors' registers and shared memory; here the host loop keeps every
step visible.

Host wrappers accept NumPy arrays (copied to the GPU and back), Numba device arrays or CuPy arrays (used in
place), and answer in the same form (``_launch.ArraySpace``). Every array is of the dtype of ``x``, float32 or
float64; the kernels accumulate in that dtype and use exact ``math.tanh`` and ``math.exp``.
"""
from __future__ import annotations

import math
from typing import Any

from numba import cuda

from ._launch import ArraySpace
from ._matmul import column_sums, matmul, matmul_at, no_array, transpose


# ---------------------------------------------------------------------------------------- device functions
@cuda.jit(device=True)
def _sigmoid(a, one):
    """``1 / (1 + exp(-a))`` without overflow: ``exp`` only sees ``-|a|``. ``one`` is ``1`` in ``a``'s dtype
    (a bare ``1`` would be an int64 and turn float32 arithmetic into float64)."""
    e = math.exp(-abs(a))
    if a >= 0:
        return one / (one + e)
    return e / (one + e)


@cuda.jit(device=True)
def _carry(d, w_hh, s, n, j):
    """``sum_r d[s, n, r] * w_hh[r, j]``: what the pre-activation gradients ``d[s]`` of step ``s`` send back to unit
    ``j`` of the hidden state that step read (``(d[s] @ w_hh)[n, j]``, over all ``G * H`` rows ``r``).

    All threads of a warp share ``n`` and read the same ``d[s, n, r]`` (a broadcast) and neighbouring ``w_hh[r, j]``.
    """
    acc = d.dtype.type(0)
    for r in range(w_hh.shape[0]):
        acc += d[s, n, r] * w_hh[r, j]
    return acc


# ---------------------------------------------------------------------------------------- forward steps
# Each forward-step kernel: one thread per hidden unit (n, j) of step t. xw: (T, N, G*H) the input projection
# (biases included), w_hh_t: (H, G*H) = w_hh transposed. It reads h[t] and writes h[t + 1], out[t], the saved
# arrays of step t, and, at the last step, the final states.

@cuda.jit(cache=True)
def _rnn_step_kernel(xw, w_hh_t, t, h, out, h_n):
    """``h[t+1, n, j] = tanh(xw[t, n, j] + sum_k h[t, n, k] * w_hh[j, k])``."""
    index = cuda.grid(1)
    T, N, H = out.shape
    if index >= N * H:  # a spare thread of the last, ragged block
        return
    n, j = divmod(index, H)  # neighbouring threads: neighbouring units j of the same batch row n
    acc = xw[t, n, j]
    for k in range(H):
        acc += h[t, n, k] * w_hh_t[k, j]
    value = math.tanh(acc)
    h[t + 1, n, j] = value
    out[t, n, j] = value
    if t == T - 1:
        h_n[n, j] = value


@cuda.jit(cache=True)
def _lstm_step_kernel(xw, w_hh_t, t, h, c, gates, out, h_n, c_n):
    """Unit ``(n, j)`` of LSTM step ``t``: its four gates, then ``c_t = f c_{t-1} + i g`` and ``h_t = o tanh(c_t)``."""
    index = cuda.grid(1)
    T, N, H = out.shape
    if index >= N * H:
        return
    n, j = divmod(index, H)
    one = out.dtype.type(1)
    # The four pre-activations of unit j: rows j, H + j, 2H + j, 3H + j of w_hh (columns of w_hh_t).
    a_i, a_f, a_g, a_o = xw[t, n, j], xw[t, n, H + j], xw[t, n, 2 * H + j], xw[t, n, 3 * H + j]
    for k in range(H):
        hk = h[t, n, k]  # the same for every thread of row n: read once per warp
        a_i += hk * w_hh_t[k, j]
        a_f += hk * w_hh_t[k, H + j]
        a_g += hk * w_hh_t[k, 2 * H + j]
        a_o += hk * w_hh_t[k, 3 * H + j]
    i, f, g, o = _sigmoid(a_i, one), _sigmoid(a_f, one), math.tanh(a_g), _sigmoid(a_o, one)
    c_new = f * c[t, n, j] + i * g  # forget some of the old memory, write some new
    h_new = o * math.tanh(c_new)   # expose a gated view of it
    c[t + 1, n, j] = c_new
    h[t + 1, n, j] = h_new
    out[t, n, j] = h_new
    gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j], gates[t, n, 3 * H + j] = i, f, g, o
    if t == T - 1:
        h_n[n, j] = h_new
        c_n[n, j] = c_new


@cuda.jit(cache=True)
def _gru_step_kernel(xw, w_hh_t, b_hh, t, h, gates, hn, out, h_n):
    """Unit ``(n, j)`` of GRU step ``t`` (``xw`` holds ``b_ih`` only; ``b_hh`` of size 0 means no bias)::

        r = sigmoid(xr + hr);  z = sigmoid(xz + hz);  n = tanh(xn + r * hn);  h_t = (1 - z) n + z h_{t-1}
    """
    index = cuda.grid(1)
    T, N, H = out.shape
    if index >= N * H:
        return
    n, j = divmod(index, H)
    one = out.dtype.type(1)
    h_r = h_z = hn_t = out.dtype.type(0)
    for k in range(H):
        hk = h[t, n, k]
        h_r += hk * w_hh_t[k, j]
        h_z += hk * w_hh_t[k, H + j]
        hn_t += hk * w_hh_t[k, 2 * H + j]
    if b_hh.size != 0:
        h_r += b_hh[j]
        h_z += b_hh[H + j]
        hn_t += b_hh[2 * H + j]  # added before r multiplies it: PyTorch's form
    r = _sigmoid(xw[t, n, j] + h_r, one)
    z = _sigmoid(xw[t, n, H + j] + h_z, one)
    cand = math.tanh(xw[t, n, 2 * H + j] + r * hn_t)
    h_new = (one - z) * cand + z * h[t, n, j]  # z interpolates between keeping h and replacing it
    h[t + 1, n, j] = h_new
    out[t, n, j] = h_new
    gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j] = r, z, cand
    hn[t, n, j] = hn_t
    if t == T - 1:
        h_n[n, j] = h_new


# ---------------------------------------------------------------------------------------- backward steps
# Each backward-step kernel: one thread per hidden unit (n, j) of step t, for t = T-1 down to 0. The gradient
# reaching h_{t+1} (the state step t wrote) is dh_n at the last step, else the carry back from step t + 1; plus
# dout[t]. The thread writes the pre-activation gradients of its unit in every gate for step t.

@cuda.jit(cache=True)
def _rnn_backward_step_kernel(dout, dh_n, h, w_hh, t, da):
    """``da[t, n, j] = (dh_{t+1} + dout[t])[n, j] * (1 - h[t+1, n, j]^2)`` (tanh' from the saved output)."""
    index = cuda.grid(1)
    T, N, H = dout.shape
    if index >= N * H:
        return
    n, j = divmod(index, H)
    one = da.dtype.type(1)
    dh = dh_n[n, j] if t == T - 1 else _carry(da, w_hh, t + 1, n, j)
    dh += dout[t, n, j]
    value = h[t + 1, n, j]
    da[t, n, j] = dh * (one - value * value)


@cuda.jit(cache=True)
def _lstm_backward_step_kernel(dout, dh_n, dc_n, c, gates, w_hh, t, dc, da):
    """Unit ``(n, j)`` of LSTM step ``t``: ``da[t]`` for its four gates; ``dc: (N, H)`` carries ``dL/dc`` between
    launches (read for step ``t + 1``'s cell, left as ``dL/dc_t``: after step 0 it is ``dc0``)."""
    index = cuda.grid(1)
    T, N, H = dout.shape
    if index >= N * H:
        return
    n, j = divmod(index, H)
    one = da.dtype.type(1)
    if t == T - 1:
        dh, dc_t = dh_n[n, j], dc_n[n, j]
    else:
        dh, dc_t = _carry(da, w_hh, t + 1, n, j), dc[n, j]
    dh += dout[t, n, j]
    i, f, g, o = gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j], gates[t, n, 3 * H + j]
    tanh_c = math.tanh(c[t + 1, n, j])  # recomputed: cheaper to store c than both c and tanh(c)
    # h = o * tanh(c): into o, and into c on top of what c received through the next step.
    do = dh * tanh_c
    dc_t += dh * o * (one - tanh_c * tanh_c)
    # c = f * c_prev + i * g, then through the activations (sigmoid' = s (1 - s), tanh' = 1 - tanh^2).
    da[t, n, j] = dc_t * g * i * (one - i)
    da[t, n, H + j] = dc_t * c[t, n, j] * f * (one - f)
    da[t, n, 2 * H + j] = dc_t * i * (one - g * g)
    da[t, n, 3 * H + j] = do * o * (one - o)
    dc[n, j] = dc_t * f  # into c_{t-1}: the forget gate is the cell's only path back


@cuda.jit(device=True)
def _gru_carry(dh, gates, dhw, w_hh, s, n, j):
    """The gradient that GRU step ``s`` sends back to ``h_{s-1}[n, j]``: directly, ``dh * z``, and through its
    three gates, ``(dhw[s] @ w_hh)[n, j]``. ``dh[n, j]`` holds the gradient step ``s`` received."""
    return dh[n, j] * gates[s, n, w_hh.shape[1] + j] + _carry(dhw, w_hh, s, n, j)


@cuda.jit(cache=True)
def _gru_backward_step_kernel(dout, dh_n, h, gates, hn, w_hh, t, dh, dxw, dhw):
    """Unit ``(n, j)`` of GRU step ``t``. ``dxw[t]``: gradient of the input projection; ``dhw[t]``: of the
    recurrent one, the same except that ``hn`` was multiplied by ``r``. ``dh: (N, H)`` carries the gradient that
    reached each step's output (each thread reads and writes only its own element)."""
    index = cuda.grid(1)
    T, N, H = dout.shape
    if index >= N * H:
        return
    n, j = divmod(index, H)
    one = dh.dtype.type(1)
    grad = dh_n[n, j] if t == T - 1 else _gru_carry(dh, gates, dhw, w_hh, t + 1, n, j)
    grad += dout[t, n, j]
    dh[n, j] = grad
    r, z, cand = gates[t, n, j], gates[t, n, H + j], gates[t, n, 2 * H + j]
    # h_t = (1 - z) * n + z * h_{t-1}, then n = tanh(xn + r * hn) and the sigmoids.
    da_n = grad * (one - z) * (one - cand * cand)
    da_r = da_n * hn[t, n, j] * r * (one - r)
    da_z = grad * (h[t, n, j] - cand) * z * (one - z)
    dxw[t, n, j], dxw[t, n, H + j], dxw[t, n, 2 * H + j] = da_r, da_z, da_n
    dhw[t, n, j], dhw[t, n, H + j], dhw[t, n, 2 * H + j] = da_r, da_z, da_n * r


@cuda.jit(cache=True)
def _gru_dh0_kernel(gates, dhw, w_hh, dh):
    """After the loop: ``dh[n, j]``, the gradient step 0 received, becomes the one it sends to ``h0`` (in place:
    each thread reads only its own element of ``dh``)."""
    index = cuda.grid(1)
    N, H = dh.shape
    if index >= N * H:
        return
    n, j = divmod(index, H)
    dh[n, j] = _gru_carry(dh, gates, dhw, w_hh, 0, n, j)


# ---------------------------------------------------------------------------------------- host side
def _input_projection(space: ArraySpace, x: Any, w_ih: Any, b1: Any, b2: Any) -> Any:
    """``x @ w_ih.T + b1 + b2`` for all steps at once: device ``x: (T, N, I)`` -> a device ``(T, N, G*H)``."""
    T, N, I = x.shape
    xw = space.gpu(space.empty((T, N, w_ih.shape[0]), x.dtype))
    matmul(space, x.reshape(T * N, I), transpose(space, w_ih), xw.reshape(T * N, w_ih.shape[0]), b1, b2)
    return xw


def _gpu_or_none(space: ArraySpace, a: Any) -> Any:
    return None if a is None else space.gpu(a)


def _weight_grads(space: ArraySpace, da: Any, da_hh: Any, x: Any, h: Any, w_ih: Any, w_hh: Any) -> tuple:
    """``(dx, dw_ih, dw_hh, db_ih, db_hh)`` from every step's pre-activation gradients, after the time loop.

    ``da: (T, N, G*H)`` is the gradient of the input projection, ``da_hh`` that of the recurrent one (the same
    array except in the GRU); ``x: (T, N, I)``, ``h: (T+1, N, H)`` are device arrays. Each result is one matrix
    product or column sum over all ``T * N`` rows (time and batch), with one thread per element.
    """
    T, N, I = x.shape
    GH, H = w_hh.shape
    rows, rows_hh = da.reshape(T * N, GH), da_hh.reshape(T * N, GH)
    dx = space.empty((T, N, I), x.dtype)
    dw_ih, dw_hh = space.empty((GH, I), x.dtype), space.empty((GH, H), x.dtype)
    db_ih, db_hh = space.empty((GH,), x.dtype), space.empty((GH,), x.dtype)
    matmul(space, rows, w_ih, space.gpu(dx).reshape(T * N, I))                 # dX = dA @ W_ih
    matmul_at(space, rows, x.reshape(T * N, I), space.gpu(dw_ih))              # dW_ih = dA.T @ X
    matmul_at(space, rows_hh, h[:T].reshape(T * N, H), space.gpu(dw_hh))       # sum_t dA_t.T @ h_{t-1}
    column_sums(space, rows, space.gpu(db_ih))
    column_sums(space, rows_hh, space.gpu(db_hh))  # RNN, LSTM: the same sums (both biases, one pre-activation)
    return dx, dw_ih, dw_hh, db_ih, db_hh


def rnn_forward(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple[Any, Any, tuple[Any]]:
    """Elman RNN, ``h_t = tanh(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh)``, over a whole sequence, on the GPU.

    Args:
        x: ``(T, N, I)``; h0: ``(N, H)``; w_ih: ``(H, I)``; w_hh: ``(H, H)``; b_ih, b_hh: ``(H,)`` or None.

    Returns:
        ``(out, h_n, (h,))`` as the reference: ``out: (T, N, H)``, ``h_n: (N, H)``, ``h: (T+1, N, H)``.
    """
    space = ArraySpace(x, h0, w_ih, w_hh, b_ih, b_hh)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    x_d = space.gpu(x)
    xw = _input_projection(space, x_d, space.gpu(w_ih), _gpu_or_none(space, b_ih), _gpu_or_none(space, b_hh))
    w_hh_t = transpose(space, space.gpu(w_hh))
    h, out, h_n = space.empty((T + 1, N, H), x.dtype), space.empty((T, N, H), x.dtype), space.empty((N, H), x.dtype)
    h_d, out_d, h_n_d = space.gpu(h), space.gpu(out), space.gpu(h_n)
    h_d[0].copy_to_device(space.gpu(h0), stream=space.stream)  # h[0] = h0
    for t in range(T):  # in order on the host: each step needs the last one's state
        space.launch(_rnn_step_kernel, N * H, xw, w_hh_t, t, h_d, out_d, h_n_d)
    return space.result(out), space.result(h_n), (space.result(h),)


def rnn_backward(dout: Any, dh_n: Any, x: Any, h0: Any, w_ih: Any, w_hh: Any, saved: tuple[Any]) -> tuple:
    """BPTT through :func:`rnn_forward` on the GPU.

    Args:
        dout: ``(T, N, H)``; dh_n: ``(N, H)``; x, h0, w_ih, w_hh: as in the forward pass; saved: its ``(h,)``.

    Returns:
        ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)`` shaped like ``x, h0, w_ih, w_hh`` and ``(H,)`` twice.
    """
    (h,) = saved
    space = ArraySpace(dout, dh_n, x, h0, w_ih, w_hh, h)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    dout_d, dh_n_d, h_d, w_hh_d = space.gpu(dout), space.gpu(dh_n), space.gpu(h), space.gpu(w_hh)
    da = space.gpu(space.empty((T, N, H), x.dtype))
    for t in reversed(range(T)):
        space.launch(_rnn_backward_step_kernel, N * H, dout_d, dh_n_d, h_d, w_hh_d, t, da)
    dh0 = space.empty((N, H), x.dtype)
    matmul(space, da[0], w_hh_d, space.gpu(dh0))  # what step 0 sends back to h0
    dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(space, da, da, space.gpu(x), h_d, space.gpu(w_ih), w_hh_d)
    return tuple(space.result(a) for a in (dx, dh0, dw_ih, dw_hh, db_ih, db_hh))


def lstm_forward(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """LSTM over a whole sequence on the GPU, gates in PyTorch's order i, f, g, o.

    Args:
        x: ``(T, N, I)``; h0, c0: ``(N, H)``; w_ih: ``(4H, I)``; w_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)`` or None.

    Returns:
        ``(out, h_n, c_n, (h, c, gates))`` as the reference: ``h, c: (T+1, N, H)``, ``gates: (T, N, 4H)``.
    """
    space = ArraySpace(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    x_d = space.gpu(x)
    xw = _input_projection(space, x_d, space.gpu(w_ih), _gpu_or_none(space, b_ih), _gpu_or_none(space, b_hh))
    w_hh_t = transpose(space, space.gpu(w_hh))
    h, c = space.empty((T + 1, N, H), x.dtype), space.empty((T + 1, N, H), x.dtype)
    gates, out = space.empty((T, N, 4 * H), x.dtype), space.empty((T, N, H), x.dtype)
    h_n, c_n = space.empty((N, H), x.dtype), space.empty((N, H), x.dtype)
    h_d, c_d = space.gpu(h), space.gpu(c)
    h_d[0].copy_to_device(space.gpu(h0), stream=space.stream)
    c_d[0].copy_to_device(space.gpu(c0), stream=space.stream)
    args = (h_d, c_d, space.gpu(gates), space.gpu(out), space.gpu(h_n), space.gpu(c_n))
    for t in range(T):
        space.launch(_lstm_step_kernel, N * H, xw, w_hh_t, t, *args)
    return (space.result(out), space.result(h_n), space.result(c_n),
            (space.result(h), space.result(c), space.result(gates)))


def lstm_backward(dout: Any, dh_n: Any, dc_n: Any, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any,
                  saved: tuple[Any, Any, Any]) -> tuple:
    """BPTT through :func:`lstm_forward` on the GPU.

    Args:
        dout: ``(T, N, H)``; dh_n, dc_n: ``(N, H)``; x, h0, c0, w_ih, w_hh: as in the forward pass; saved: its
            ``(h, c, gates)``.

    Returns:
        ``(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)`` shaped like ``x, h0, c0, w_ih, w_hh`` and ``(4H,)`` twice.
    """
    h, c, gates = saved
    space = ArraySpace(dout, dh_n, dc_n, x, h0, c0, w_ih, w_hh, h, c, gates)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    h_d, w_hh_d = space.gpu(h), space.gpu(w_hh)
    args = (space.gpu(dout), space.gpu(dh_n), space.gpu(dc_n), space.gpu(c), space.gpu(gates), w_hh_d)
    dc0 = space.empty((N, H), x.dtype)  # the cell-gradient carry; after step 0, dL/dc0
    da = space.gpu(space.empty((T, N, 4 * H), x.dtype))
    dc_d = space.gpu(dc0)
    for t in reversed(range(T)):
        space.launch(_lstm_backward_step_kernel, N * H, *args, t, dc_d, da)
    dh0 = space.empty((N, H), x.dtype)
    matmul(space, da[0], w_hh_d, space.gpu(dh0))
    dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(space, da, da, space.gpu(x), h_d, space.gpu(w_ih), w_hh_d)
    return tuple(space.result(a) for a in (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh))


def gru_forward(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """GRU over a whole sequence on the GPU, gates in PyTorch's order r, z, n (``n = tanh(xn + r * hn)``).

    Args:
        x: ``(T, N, I)``; h0: ``(N, H)``; w_ih: ``(3H, I)``; w_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)`` or None.

    Returns:
        ``(out, h_n, (h, gates, hn))`` as the reference: ``h: (T+1, N, H)``, ``gates: (T, N, 3H)``,
        ``hn: (T, N, H)``.
    """
    space = ArraySpace(x, h0, w_ih, w_hh, b_ih, b_hh)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    x_d = space.gpu(x)
    # Only b_ih joins the input projection: b_hh's third part sits inside r * (...), so the step adds it.
    xw = _input_projection(space, x_d, space.gpu(w_ih), _gpu_or_none(space, b_ih), None)
    w_hh_t = transpose(space, space.gpu(w_hh))
    b_hh_d = no_array(x.dtype) if b_hh is None else space.gpu(b_hh)
    h, gates, hn = (space.empty(shape, x.dtype) for shape in ((T + 1, N, H), (T, N, 3 * H), (T, N, H)))
    out, h_n = space.empty((T, N, H), x.dtype), space.empty((N, H), x.dtype)
    h_d = space.gpu(h)
    h_d[0].copy_to_device(space.gpu(h0), stream=space.stream)
    args = (h_d, space.gpu(gates), space.gpu(hn), space.gpu(out), space.gpu(h_n))
    for t in range(T):
        space.launch(_gru_step_kernel, N * H, xw, w_hh_t, b_hh_d, t, *args)
    return space.result(out), space.result(h_n), (space.result(h), space.result(gates), space.result(hn))


def gru_backward(dout: Any, dh_n: Any, x: Any, h0: Any, w_ih: Any, w_hh: Any, saved: tuple[Any, Any, Any]) -> tuple:
    """BPTT through :func:`gru_forward` on the GPU.

    Args:
        dout: ``(T, N, H)``; dh_n: ``(N, H)``; x, h0, w_ih, w_hh: as in the forward pass; saved: its
            ``(h, gates, hn)``.

    Returns:
        ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)`` shaped like ``x, h0, w_ih, w_hh`` and ``(3H,)`` twice.
    """
    h, gates, hn = saved
    space = ArraySpace(dout, dh_n, x, h0, w_ih, w_hh, h, gates, hn)
    T, N, _ = x.shape
    H = w_hh.shape[1]
    h_d, gates_d, w_hh_d = space.gpu(h), space.gpu(gates), space.gpu(w_hh)
    dxw = space.gpu(space.empty((T, N, 3 * H), x.dtype))  # gradient of the input projection
    dhw = space.gpu(space.empty((T, N, 3 * H), x.dtype))  # gradient of the recurrent projection
    dh0 = space.empty((N, H), x.dtype)  # the gradient carry; after the last launch, dL/dh0
    dh_d = space.gpu(dh0)
    args = (space.gpu(dout), space.gpu(dh_n), h_d, gates_d, space.gpu(hn), w_hh_d)
    for t in reversed(range(T)):
        space.launch(_gru_backward_step_kernel, N * H, *args, t, dh_d, dxw, dhw)
    space.launch(_gru_dh0_kernel, N * H, gates_d, dhw, w_hh_d, dh_d)
    dx, dw_ih, dw_hh, db_ih, db_hh = _weight_grads(space, dxw, dhw, space.gpu(x), h_d, space.gpu(w_ih), w_hh_d)
    return tuple(space.result(a) for a in (dx, dh0, dw_ih, dw_hh, db_ih, db_hh))
