"""Recurrent layers as fused autograd Functions: one layer, one direction of a tanh RNN, an LSTM or a GRU.

``rnn_tanh``, ``lstm`` and ``gru`` run a whole sequence through one recurrent layer (PyTorch's weight layouts
and gate order, time-major ``input: (T, N, I)``). The arithmetic — the forward recurrence and backpropagation
through time — lives in the ``recurrent`` kernels (readable NumPy, Numba on the CPU, or CUDA, chosen with
:func:`nnlearn.set_backend`). This file checks the arguments, so a wrong shape fails here with a message naming
both shapes before any compiled code runs, and connects the kernels to autograd. ``nn.RNN``, ``nn.LSTM`` and
``nn.GRU`` stack these layers (and run them backwards for the reverse direction of a bidirectional network).

Several outputs, one Function
-----------------------------
A recurrent layer has two or three results (``out``, ``h_n`` and the LSTM's ``c_n``), but
:meth:`Function.apply` returns one Tensor. So the Function returns them *packed* into one array along the time
axis, ``(T + 1, N, H)`` (or ``(T + 2, N, H)`` for the LSTM): rows ``0 .. T-1`` are ``out``, row ``T`` is
``h_n``, row ``T + 1`` is ``c_n``. The caller slices the pack with ordinary (differentiable) indexing. In the
backward pass the engine adds up what each slice received into one gradient of the pack's shape — with zeros in
the rows of any result the loss did not use — which is exactly the ``dout``, ``dh_n``, ``dc_n`` the kernel
contract asks for. No change to the autograd engine is needed, and the cost is one copy of ``out``.
"""
from __future__ import annotations

from typing import Any

from ..autograd import Context, Function
from ..device import array_module
from ..tensor import Tensor
from ._checks import as_tensor, contiguous, kernels_for, require_kernel_dtype, require_same_dtype

# Gates stacked in the rows of the weights, per cell type: RNN h; LSTM i, f, g, o; GRU r, z, n.
GATES = {"rnn_tanh": 1, "lstm": 4, "gru": 3}


def _time_reversed(array: Any) -> Any:
    """``array[::-1]`` along time, in C order (the kernels index raw memory)."""
    return contiguous(array[::-1])


def _pack(*parts: Any) -> Any:
    """``out: (T, N, H)`` and the final states ``(N, H)`` stacked into one ``(T + k, N, H)`` array."""
    xp = array_module(parts[0])
    return xp.concatenate([parts[0], *(p[None] for p in parts[1:])], axis=0)


def _bias_grads(ctx: Context, db_ih: Any, db_hh: Any, first: int) -> tuple[Any, Any]:
    """The biases' gradients, or None for a bias that was not given (``first``: position of ``b_ih``)."""
    need_ih, need_hh = ctx.needs_input_grad[first:first + 2]
    return (db_ih if need_ih else None), (db_hh if need_hh else None)


class _Recurrent(Function):
    """Shared by the three cells: choose the kernels once, reverse time when asked, unpack the gradient."""

    @staticmethod
    def _prepare(ctx: Context, x: Any, reverse: bool, *arrays: Any) -> tuple[Any, ...]:
        # Chosen once: the backward pass must use the same implementation (and device) as the forward pass.
        ctx.kernels = kernels_for("recurrent", x)
        ctx.reverse = reverse
        x = _time_reversed(x) if reverse else contiguous(x)
        return (x, *(None if a is None else contiguous(a) for a in arrays))

    @staticmethod
    def _split_grad(ctx: Context, grad: Any, n_states: int) -> tuple[Any, ...]:
        """The packed gradient -> ``dout`` (in the kernel's time order) and one ``(N, H)`` per final state."""
        T = grad.shape[0] - n_states
        dout = _time_reversed(grad[:T]) if ctx.reverse else contiguous(grad[:T])
        return (dout, *(contiguous(grad[T + k]) for k in range(n_states)))

    @staticmethod
    def _out(ctx: Context, out: Any) -> Any:
        return out[::-1] if ctx.reverse else out

    @staticmethod
    def _dx(ctx: Context, dx: Any) -> Any:
        return dx[::-1] if ctx.reverse else dx


class RNNTanh(_Recurrent):
    """``h_t = tanh(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh)``; returns ``[out; h_n]``: ``(T + 1, N, H)``."""

    @staticmethod
    def forward(ctx: Context, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        x, h0, w_ih, w_hh, b_ih, b_hh = _Recurrent._prepare(ctx, x, reverse, h0, w_ih, w_hh, b_ih, b_hh)
        out, h_n, saved = ctx.kernels.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(x, h0, w_ih, w_hh, saved)
        return _pack(_Recurrent._out(ctx, out), h_n)

    @staticmethod
    def backward(ctx: Context, grad):
        x, h0, w_ih, w_hh, saved = ctx.saved
        dout, dh_n = _Recurrent._split_grad(ctx, grad, 1)
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = ctx.kernels.rnn_backward(dout, dh_n, x, h0, w_ih, w_hh, saved)
        return (_Recurrent._dx(ctx, dx), dh0, dw_ih, dw_hh, *_bias_grads(ctx, db_ih, db_hh, 4))


class LSTM(_Recurrent):
    """An LSTM layer (gates i, f, g, o); returns ``[out; h_n; c_n]``: ``(T + 2, N, H)``."""

    @staticmethod
    def forward(ctx: Context, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh = _Recurrent._prepare(ctx, x, reverse, h0, c0, w_ih, w_hh, b_ih, b_hh)
        out, h_n, c_n, saved = ctx.kernels.lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, saved)
        return _pack(_Recurrent._out(ctx, out), h_n, c_n)

    @staticmethod
    def backward(ctx: Context, grad):
        x, h0, c0, w_ih, w_hh, saved = ctx.saved
        dout, dh_n, dc_n = _Recurrent._split_grad(ctx, grad, 2)
        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh = ctx.kernels.lstm_backward(dout, dh_n, dc_n, x, h0, c0, w_ih,
                                                                           w_hh, saved)
        return (_Recurrent._dx(ctx, dx), dh0, dc0, dw_ih, dw_hh, *_bias_grads(ctx, db_ih, db_hh, 5))


class GRU(_Recurrent):
    """A GRU layer (gates r, z, n, PyTorch's form); returns ``[out; h_n]``: ``(T + 1, N, H)``."""

    @staticmethod
    def forward(ctx: Context, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        x, h0, w_ih, w_hh, b_ih, b_hh = _Recurrent._prepare(ctx, x, reverse, h0, w_ih, w_hh, b_ih, b_hh)
        out, h_n, saved = ctx.kernels.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.save_for_backward(x, h0, w_ih, w_hh, saved)
        return _pack(_Recurrent._out(ctx, out), h_n)

    @staticmethod
    def backward(ctx: Context, grad):
        x, h0, w_ih, w_hh, saved = ctx.saved
        dout, dh_n = _Recurrent._split_grad(ctx, grad, 1)
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = ctx.kernels.gru_backward(dout, dh_n, x, h0, w_ih, w_hh, saved)
        return (_Recurrent._dx(ctx, dx), dh0, dw_ih, dw_hh, *_bias_grads(ctx, db_ih, db_hh, 4))


# ------------------------------------------------------------------------------------------- validation
def _check_layer(fn: str, cell: str, input: Any, states: dict[str, Any], w_ih: Any, w_hh: Any, b_ih: Any,
                 b_hh: Any) -> tuple[Tensor, ...]:
    """Every argument of one recurrent layer, checked and converted; returns them in the order given."""
    input = as_tensor(input, "input", fn)
    w_ih, w_hh = as_tensor(w_ih, "w_ih", fn), as_tensor(w_hh, "w_hh", fn)
    require_kernel_dtype(input, "input", fn)
    if input.ndim != 3:
        hint = " (a single sequence? add the batch dimension with input.unsqueeze(1))" if input.ndim == 2 else ""
        raise ValueError(f"{fn}: input must be 3-D (T, N, input_size) (time, batch, features), "
                         f"got shape {input.shape}{hint}")
    if 0 in input.shape:
        raise ValueError(f"{fn}: input must not be empty: expected (T, N, input_size) with every size >= 1, "
                         f"got shape {input.shape}")
    T, N, I = input.shape
    G = GATES[cell]
    if w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise ValueError(f"{fn}: w_hh must have shape ({G}*H, H) = (gates * hidden_size, hidden_size), "
                         f"got {w_hh.shape}")
    H = w_hh.shape[1]
    if w_ih.shape != (G * H, I):
        raise ValueError(f"{fn}: w_ih must have shape ({G}*H, input_size) = ({G * H}, {I}) for input of shape "
                         f"{input.shape} and w_hh of shape {w_hh.shape}, got {w_ih.shape}")
    checked = {}
    for name, state in states.items():
        state = as_tensor(state, name, fn)
        if state.shape != (N, H):
            raise ValueError(f"{fn}: {name} must have shape (N, hidden_size) = ({N}, {H}) for input of shape "
                             f"{input.shape} and w_hh of shape {w_hh.shape}, got {state.shape}")
        checked[name] = state
    biases = []
    for name, bias in (("b_ih", b_ih), ("b_hh", b_hh)):
        if bias is not None:
            bias = as_tensor(bias, name, fn)
            if bias.shape != (G * H,):
                raise ValueError(f"{fn}: {name} must have shape ({G}*H,) = ({G * H},) to match w_hh of shape "
                                 f"{w_hh.shape}, got {bias.shape}")
        biases.append(bias)
    for name, t in (("w_ih", w_ih), ("w_hh", w_hh), *checked.items(), ("b_ih", biases[0]), ("b_hh", biases[1])):
        if t is not None:
            require_same_dtype(t, name, input, "input", fn)
    return (input, *checked.values(), w_ih, w_hh, *biases)


def rnn_tanh(input: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
             reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One layer of an Elman RNN with tanh, ``h_t = tanh(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh)``.

    Args:
        input: ``(T, N, I)`` time-major sequences.  h0: ``(N, H)`` initial hidden state.
        w_ih: ``(H, I)``; w_hh: ``(H, H)``; b_ih, b_hh: ``(H,)`` or None.
        reverse: run from ``t = T-1`` down to 0 (the backward direction of a bidirectional layer);
            ``out[t]`` is still the state at input position ``t``.

    Returns:
        ``(out, h_n)``: ``out: (T, N, H)`` every step's hidden state, ``h_n: (N, H)`` the last one computed.
    """
    args = _check_layer("rnn_tanh", "rnn_tanh", input, {"h0": h0}, w_ih, w_hh, b_ih, b_hh)
    packed = RNNTanh.apply(*args, reverse=bool(reverse))
    T = args[0].shape[0]
    return packed[:T], packed[T]


def lstm(input: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
         reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer (PyTorch's gate order i, f, g, o)::

        i, f, g, o = split(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh, 4)
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g);   h_t = sigmoid(o) * tanh(c_t)

    Args:
        input: ``(T, N, I)``; h0, c0: ``(N, H)``; w_ih: ``(4H, I)``; w_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``
            or None; reverse: as in :func:`rnn_tanh`.

    Returns:
        ``(out, h_n, c_n)``: ``out: (T, N, H)``, ``h_n, c_n: (N, H)``.
    """
    args = _check_layer("lstm", "lstm", input, {"h0": h0, "c0": c0}, w_ih, w_hh, b_ih, b_hh)
    packed = LSTM.apply(*args, reverse=bool(reverse))
    T = args[0].shape[0]
    return packed[:T], packed[T], packed[T + 1]


def gru(input: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
        reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One GRU layer (PyTorch's gate order r, z, n and its form of n)::

        r = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr);  z = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn));  h_t = (1 - z) * n + z * h_{t-1}

    Args:
        input: ``(T, N, I)``; h0: ``(N, H)``; w_ih: ``(3H, I)``; w_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)`` or
            None; reverse: as in :func:`rnn_tanh`.

    Returns:
        ``(out, h_n)``: ``out: (T, N, H)``, ``h_n: (N, H)``.
    """
    args = _check_layer("gru", "gru", input, {"h0": h0}, w_ih, w_hh, b_ih, b_hh)
    packed = GRU.apply(*args, reverse=bool(reverse))
    T = args[0].shape[0]
    return packed[:T], packed[T]
