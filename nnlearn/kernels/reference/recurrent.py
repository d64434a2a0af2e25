"""Recurrent layers in plain NumPy: a tanh RNN, an LSTM and a GRU, forward over a whole sequence and
backpropagation through time (BPTT) back over it.

A recurrent layer applies the same cell at every time step ``t = 0 .. T-1``, feeding each step's hidden state
into the next. Its pre-activations have two parts:

* the **input projection** ``x_t @ W_ih.T + b_ih`` depends only on the input, not on earlier steps, so all
  ``T`` of them are computed *before* the time loop as one matrix product of ``(T * N, I)`` rows — one large
  matmul instead of ``T`` small ones;
* the **recurrence** ``h_{t-1} @ W_hh.T + b_hh`` needs the previous step's output, so it alone stays inside
  the loop.

The backward pass walks the loop in reverse. The gradient flowing into ``h_{t-1}`` is the sum of what the
loss says about it directly (``dout[t-1]``) and what it received through step ``t``; ``dW_hh`` collects one
contribution per step. The gradients of the input projection's pre-activations are kept for every step, so
``dx`` and ``dW_ih`` are again one matmul each, after the loop.

Layouts and gate order are PyTorch's (``torch.nn.RNN/LSTM/GRU``, one layer, one direction, time-major
``x: (T, N, I)``), so weights copied from PyTorch give the same numbers. ``G`` is the number of gates stacked
in the rows of the weights: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
"""
from __future__ import annotations

import numpy as np


def sigmoid(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-a))`` without overflow: ``exp`` only ever sees ``-|a| <= 0``.

    For ``a >= 0`` the textbook form is safe; for ``a < 0``, ``exp(-a)`` would overflow for ``a < -709``
    (float64), so we use the equal ``exp(a) / (1 + exp(a))`` there.
    """
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def input_projection(x: np.ndarray, w_ih: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """``x @ w_ih.T + b`` for every time step at once: ``x: (T, N, I)``, ``w_ih: (G*H, I)`` -> ``(T, N, G*H)``.

    The time and batch axes are flattened into the rows of one ``(T * N, I)`` matrix, so this is a single
    matrix product — the bulk of a recurrent layer's arithmetic when the input is wide.
    """
    T, N, I = x.shape
    xw = x.reshape(T * N, I) @ w_ih.T
    if b is not None:
        xw += b
    return xw.reshape(T, N, -1)


def _bias_sum(b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> np.ndarray | None:
    """``b_ih + b_hh``: in the RNN and the LSTM both biases are added to the same pre-activation."""
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def _input_grads(da: np.ndarray, x: np.ndarray, w_ih: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward of :func:`input_projection`: ``da: (T, N, G*H)``, the gradient of its output -> ``(dx, dw_ih)``.

    ``xw = X @ W_ih.T`` with ``X: (T*N, I)`` gives ``dX = dA @ W_ih`` and ``dW_ih = dA.T @ X``: one matmul each.
    """
    T, N, I = x.shape
    da_rows = da.reshape(T * N, -1)
    dx = (da_rows @ w_ih).reshape(T, N, I)
    dw_ih = da_rows.T @ x.reshape(T * N, I)
    return dx, dw_ih


# --- tanh RNN ----------------------------------------------------------------------------------------------

def rnn_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray]]:
    """Elman RNN, ``h_t = tanh(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh)``, over a whole sequence.

    Args:
        x: ``(T, N, I)`` inputs, time-major.  h0: ``(N, H)`` initial hidden state.
        w_ih: ``(H, I)``; w_hh: ``(H, H)``; b_ih, b_hh: ``(H,)`` or ``None``.

    Returns:
        ``(out, h_n, saved)``: ``out: (T, N, H)`` every step's hidden state, ``h_n: (N, H)`` the last one, and
        ``saved = (h,)`` with ``h: (T+1, N, H)`` the hidden states ``h_0 .. h_T`` (``h[0] = h0``).
    """
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xw = input_projection(x, w_ih, _bias_sum(b_ih, b_hh))   # (T, N, H), before the loop
    h = np.empty((T + 1, N, H), dtype=x.dtype)
    h[0] = h0
    for t in range(T):
        h[t + 1] = np.tanh(xw[t] + h[t] @ w_hh.T)           # only the recurrence is inside the loop
    return h[1:].copy(), h[T].copy(), (h,)


def rnn_backward(dout: np.ndarray, dh_n: np.ndarray, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray,
                 w_hh: np.ndarray, saved: tuple[np.ndarray]) -> tuple[np.ndarray, ...]:
    """BPTT through :func:`rnn_forward`.

    Args:
        dout: ``(T, N, H)`` gradient of the loss with respect to ``out``; dh_n: ``(N, H)``, with respect to
            ``h_n`` (pass zeros when the loss does not use it). x, h0, w_ih, w_hh: as in the forward pass.
        saved: the forward pass's ``saved``.

    Returns:
        ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)`` shaped like ``x, h0, w_ih, w_hh`` and ``(H,)`` twice.
    """
    (h,) = saved
    T = x.shape[0]
    da = np.empty_like(h[1:])            # (T, N, H): gradient of each step's pre-activation
    dw_hh = np.zeros_like(w_hh)
    dh = dh_n.copy()                     # gradient reaching h_T from later steps: only the final-state term
    for t in reversed(range(T)):
        dh += dout[t]                    # h_{t+1} is also out[t]: both paths add up
        da[t] = dh * (1 - h[t + 1] ** 2)  # tanh' = 1 - tanh^2, from the saved output
        dw_hh += da[t].T @ h[t]
        dh = da[t] @ w_hh                # into h_t, the previous step's output
    dx, dw_ih = _input_grads(da, x, w_ih)
    db = da.sum(axis=(0, 1))             # both biases sit in the same pre-activation: same gradient
    return dx, dh, dw_ih, dw_hh, db, db.copy()


# --- LSTM --------------------------------------------------------------------------------------------------

def lstm_forward(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                 b_ih: np.ndarray | None, b_hh: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """LSTM over a whole sequence, gates in PyTorch's order i, f, g, o::

        i, f, g, o = split(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh, 4)
        i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
        c_t = f * c_{t-1} + i * g;                     h_t = o * tanh(c_t)

    Args:
        x: ``(T, N, I)``; h0, c0: ``(N, H)``; w_ih: ``(4H, I)``; w_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)`` or None.

    Returns:
        ``(out, h_n, c_n, saved)``: ``out: (T, N, H)``, ``h_n, c_n: (N, H)``, and ``saved = (h, c, gates)``
        with ``h, c: (T+1, N, H)`` the states ``0 .. T`` and ``gates: (T, N, 4H)`` the activated gates
        ``[i, f, g, o]`` of every step.
    """
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xw = input_projection(x, w_ih, _bias_sum(b_ih, b_hh))   # (T, N, 4H)
    h = np.empty((T + 1, N, H), dtype=x.dtype)
    c = np.empty((T + 1, N, H), dtype=x.dtype)
    gates = np.empty((T, N, 4 * H), dtype=x.dtype)
    h[0], c[0] = h0, c0
    for t in range(T):
        a = xw[t] + h[t] @ w_hh.T                            # (N, 4H) pre-activations
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
        g = np.tanh(a[:, 2 * H:3 * H])
        c[t + 1] = f * c[t] + i * g                          # forget some of the old memory, write some new
        h[t + 1] = o * np.tanh(c[t + 1])                     # expose a gated view of it
        gates[t] = np.concatenate([i, f, g, o], axis=1)
    return h[1:].copy(), h[T].copy(), c[T].copy(), (h, c, gates)


def lstm_backward(dout: np.ndarray, dh_n: np.ndarray, dc_n: np.ndarray, x: np.ndarray, h0: np.ndarray,
                  c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                  saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """BPTT through :func:`lstm_forward`.

    Args:
        dout: ``(T, N, H)``; dh_n, dc_n: ``(N, H)`` (zeros when the loss does not use the final states).
        x, h0, c0, w_ih, w_hh: as in the forward pass; saved: its ``saved``.

    Returns:
        ``(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)`` shaped like ``x, h0, c0, w_ih, w_hh`` and ``(4H,)`` twice.
    """
    h, c, gates = saved
    T = x.shape[0]
    H = w_hh.shape[1]
    da = np.empty_like(gates)            # (T, N, 4H): gradient of each step's pre-activations
    dw_hh = np.zeros_like(w_hh)
    dh, dc = dh_n.copy(), dc_n.copy()
    for t in reversed(range(T)):
        i, f, g, o = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:3 * H], gates[t, :, 3 * H:]
        dh += dout[t]
        tanh_c = np.tanh(c[t + 1])       # recomputed: cheaper to store c than both c and tanh(c)
        # h = o * tanh(c): into o, and into c on top of what c_{t+1} passed back through the next step.
        do = dh * tanh_c
        dc += dh * o * (1 - tanh_c ** 2)
        # c = f * c_prev + i * g
        di, df, dg = dc * g, dc * c[t], dc * i
        # Through the activations: sigmoid' = s (1 - s), tanh' = 1 - tanh^2, both from the saved outputs.
        da[t] = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
        dw_hh += da[t].T @ h[t]
        dh = da[t] @ w_hh                # into h_t through all four gates
        dc = dc * f                      # into c_t: the forget gate is the cell's only path back
    dx, dw_ih = _input_grads(da, x, w_ih)
    db = da.sum(axis=(0, 1))
    return dx, dh, dc, dw_ih, dw_hh, db, db.copy()


# --- GRU ---------------------------------------------------------------------------------------------------

def gru_forward(x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray | None,
                b_hh: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """GRU over a whole sequence, gates in PyTorch's order r, z, n::

        xr, xz, xn = split(x_t @ w_ih.T + b_ih, 3);   hr, hz, hn = split(h_{t-1} @ w_hh.T + b_hh, 3)
        r = sigmoid(xr + hr);  z = sigmoid(xz + hz);  n = tanh(xn + r * hn)
        h_t = (1 - z) * n + z * h_{t-1}

    The reset gate multiplies ``hn`` *after* its bias ``b_hn`` is added (PyTorch's form, not the original
    paper's), which is why the two biases cannot be merged here as they are in the RNN and the LSTM.

    Args:
        x: ``(T, N, I)``; h0: ``(N, H)``; w_ih: ``(3H, I)``; w_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)`` or None.

    Returns:
        ``(out, h_n, saved)``: ``out: (T, N, H)``, ``h_n: (N, H)``, and ``saved = (h, gates, hn)`` with
        ``h: (T+1, N, H)`` the states ``0 .. T``, ``gates: (T, N, 3H)`` the activated ``[r, z, n]`` and
        ``hn: (T, N, H)`` the recurrent part ``h_{t-1} @ W_hn.T + b_hn`` that ``r`` multiplied.
    """
    T, N, _ = x.shape
    H = w_hh.shape[1]
    xw = input_projection(x, w_ih, b_ih)                     # (T, N, 3H)
    h = np.empty((T + 1, N, H), dtype=x.dtype)
    gates = np.empty((T, N, 3 * H), dtype=x.dtype)
    hn = np.empty((T, N, H), dtype=x.dtype)
    h[0] = h0
    for t in range(T):
        hw = h[t] @ w_hh.T                                   # (N, 3H)
        if b_hh is not None:
            hw += b_hh
        r = sigmoid(xw[t, :, :H] + hw[:, :H])
        z = sigmoid(xw[t, :, H:2 * H] + hw[:, H:2 * H])
        n = np.tanh(xw[t, :, 2 * H:] + r * hw[:, 2 * H:])
        h[t + 1] = (1 - z) * n + z * h[t]                    # z interpolates between keeping h and replacing it
        gates[t] = np.concatenate([r, z, n], axis=1)
        hn[t] = hw[:, 2 * H:]
    return h[1:].copy(), h[T].copy(), (h, gates, hn)


def gru_backward(dout: np.ndarray, dh_n: np.ndarray, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray,
                 w_hh: np.ndarray, saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """BPTT through :func:`gru_forward`.

    Args:
        dout: ``(T, N, H)``; dh_n: ``(N, H)`` (zeros when the loss does not use it).
        x, h0, w_ih, w_hh: as in the forward pass; saved: its ``saved``.

    Returns:
        ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)`` shaped like ``x, h0, w_ih, w_hh`` and ``(3H,)`` twice.
    """
    h, gates, hn = saved
    T = x.shape[0]
    H = w_hh.shape[1]
    dxw = np.empty_like(gates)           # (T, N, 3H): gradient of the input projection x @ w_ih.T + b_ih
    dw_hh = np.zeros_like(w_hh)
    db_hh = np.zeros(w_hh.shape[0], dtype=x.dtype)
    dh = dh_n.copy()
    for t in reversed(range(T)):
        r, z, n = gates[t, :, :H], gates[t, :, H:2 * H], gates[t, :, 2 * H:]
        dh += dout[t]
        # h_t = (1 - z) * n + z * h_{t-1}
        dn = dh * (1 - z)
        dz = dh * (h[t] - n)
        dh_prev = dh * z                 # the direct path: what makes the GRU's gradient flow well
        # n = tanh(xn + r * hn)
        dan = dn * (1 - n ** 2)
        dr = dan * hn[t]
        dar, daz = dr * r * (1 - r), dz * z * (1 - z)
        dxw[t] = np.concatenate([dar, daz, dan], axis=1)
        # The recurrent projection got the same gradients, except that hn was multiplied by r.
        dhw = np.concatenate([dar, daz, dan * r], axis=1)
        dw_hh += dhw.T @ h[t]
        db_hh += dhw.sum(axis=0)
        dh = dh_prev + dhw @ w_hh        # into h_{t-1}: directly, and through all three gates
    dx, dw_ih = _input_grads(dxw, x, w_ih)
    return dx, dh, dw_ih, dw_hh, dxw.sum(axis=(0, 1)), db_hh
