"""Recurrent layers: ``RNN`` (tanh), ``LSTM`` and ``GRU``, with PyTorch's arguments, parameter names and results.

Each is a stack of ``num_layers`` recurrent layers; layer ``l`` reads the outputs of layer ``l - 1`` (the first
reads the input). A bidirectional network runs a second layer over the reversed sequence at every level and
concatenates the two directions' outputs feature-wise, so position ``t`` sees both its past and its future.
The arithmetic of one layer in one direction is :func:`nnlearn.functional.recurrent.rnn_tanh` / ``lstm`` /
``gru`` (a fused autograd Function over the ``recurrent`` kernels); this file holds the parameters, stacks
the layers and checks every argument before the first kernel runs.

Shapes (``D = 2`` if bidirectional else 1, ``L = num_layers``, ``H = hidden_size``)::

    input:  (T, N, input_size), or (N, T, input_size) with batch_first=True
    hx:     (L * D, N, H)  — the LSTM takes a pair (h_0, c_0) of these; never batch-first (as in PyTorch)
    output: (T, N, D * H), or (N, T, D * H) with batch_first=True: the last layer's state at every step
    h_n:    (L * D, N, H)  the final state of every layer and direction (the LSTM also returns c_n)
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..functional import recurrent as R
from ..functional._checks import as_tensor, require_kernel_dtype, require_same_dtype
from ..tensor import Tensor, cat, stack, zeros
from . import init
from .module import Module
from .parameter import Parameter


def _check_size(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be positive, got {value}")
    return int(value)


class _RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters per layer and direction, argument checks, the stacking loop."""

    _cell = ""          # "rnn_tanh", "lstm" or "gru": which functional layer runs
    _n_states = 1       # 2 for the LSTM (h and c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, *,
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(input_size, "input_size", name)
        self.hidden_size = _check_size(hidden_size, "hidden_size", name)
        self.num_layers = _check_size(num_layers, "num_layers", name)
        if isinstance(dropout, bool) or not isinstance(dropout, Real) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        dtype = np.dtype(dtype or get_default_dtype())
        gates = R.GATES[self._cell] * self.hidden_size
        # Registered in PyTorch's order (per layer, per direction: weight_ih, weight_hh, bias_ih, bias_hh), so
        # state_dict keys and their order match torch.nn.RNN/LSTM/GRU and weights copy across by name.
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.hidden_size * self.directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(np.empty((gates, layer_input), dtype=dtype)))
                setattr(self, f"weight_hh{suffix}", Parameter(np.empty((gates, self.hidden_size), dtype=dtype)))
                if self.bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(np.empty(gates, dtype=dtype)))
                    setattr(self, f"bias_hh{suffix}", Parameter(np.empty(gates, dtype=dtype)))
        self.reset_parameters()

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][:self.directions]

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), ``H = hidden_size``.

        The bound depends on the hidden size only: each gate's pre-activation sums ``H`` recurrent terms.
        """
        bound = 1 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    # ------------------------------------------------------------------ argument checks
    def _describe(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _layout(self, features: Any) -> str:
        return f"(N, T, {features})" if self.batch_first else f"(T, N, {features})"

    def _check_input(self, input: Any) -> Tensor:
        who = self._describe()
        input = as_tensor(input, "input", who)
        require_kernel_dtype(input, "input", who)
        require_same_dtype(input, "input", self.weight_ih_l0, "weight_ih_l0", who)
        if input.ndim != 3:
            hint = ""
            if input.ndim == 2:
                hint = (" (a single sequence? add the batch dimension with "
                        f"input.unsqueeze({0 if self.batch_first else 1}))")
            raise ValueError(f"{who}: input must be 3-D {self._layout('input_size')} "
                             f"({'batch, time' if self.batch_first else 'time, batch'}, features), "
                             f"got shape {input.shape}{hint}")
        if input.shape[2] != self.input_size:
            got = self._layout(input.shape[2])
            raise ValueError(f"{who}: input must have shape {self._layout(self.input_size)} with its last dim "
                             f"= input_size = {self.input_size}, got {got}: shape {input.shape}")
        if 0 in input.shape:
            raise ValueError(f"{who}: input must not be empty, got shape {input.shape}")
        return input

    def _check_state(self, state: Any, name: str, input: Tensor) -> Tensor:
        """An initial state ``(L * D, N, H)``; says so when it fits the input read the other way round."""
        who = self._describe()
        state = as_tensor(state, name, who)
        batch = input.shape[0] if self.batch_first else input.shape[1]
        expected = (self.num_layers * self.directions, batch, self.hidden_size)
        if state.shape != expected:
            hint = ""
            other = input.shape[1] if self.batch_first else input.shape[0]
            if state.ndim == 3 and state.shape[1] == other != batch:
                # The state's batch size fits the input's other leading dim: time and batch look swapped.
                if self.batch_first:
                    guess = "time-major (T, N, input_size)? then pass batch_first=False"
                else:
                    guess = "batch-first (N, T, input_size)? then pass batch_first=True"
                hint = (f"; {name}'s batch size {other} equals input dim {1 if self.batch_first else 0} — "
                        f"is the input {guess}")
            raise ValueError(f"{who}: {name} must have shape (num_layers * num_directions, N, hidden_size) = "
                             f"{expected} for input of shape {input.shape} (batch_first={self.batch_first}), "
                             f"got {state.shape}{hint}")
        require_same_dtype(state, name, input, "input", who)
        return state

    def _initial_states(self, hx: Any, input: Tensor) -> list[Tensor]:
        batch = input.shape[0] if self.batch_first else input.shape[1]
        if hx is None:
            shape = (self.num_layers * self.directions, batch, self.hidden_size)
            return [zeros(*shape, dtype=input.dtype, device=input.device) for _ in range(self._n_states)]
        if self._n_states == 1:
            return [self._check_state(hx, "hx", input)]
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{self._describe()}: hx must be a pair (h_0, c_0) of initial hidden and cell "
                            f"states, got {type(hx).__name__}")
        return [self._check_state(hx[0], "h_0", input), self._check_state(hx[1], "c_0", input)]

    # ------------------------------------------------------------------ the stack
    def _run(self, input: Any, hx: Any) -> tuple[Tensor, list[Tensor]]:
        """The shared forward pass: ``(output, [h_n] or [h_n, c_n])``."""
        input = self._check_input(input)
        states = self._initial_states(hx, input)   # every check done: no kernel has run yet
        layer_input = input.transpose(0, 1) if self.batch_first else input   # the kernels are time-major
        layer_fn = getattr(R, self._cell)
        finals: list[list[Tensor]] = [[] for _ in range(self._n_states)]
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes(layer)):
                k = layer * self.directions + direction
                params = [getattr(self, f"{kind}{suffix}") for kind in ("weight_ih", "weight_hh")]
                biases = [getattr(self, f"{kind}{suffix}") for kind in ("bias_ih", "bias_hh")] if self.bias \
                    else [None, None]
                out, *final = layer_fn(layer_input, *(s[k] for s in states), *params, *biases,
                                       reverse=direction == 1)
                outputs.append(out)
                for j, f in enumerate(final):
                    finals[j].append(f)
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, axis=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout)   # between layers, not after the last
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, [stack(f, axis=0) for f in finals]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RNNBase):
    """Elman RNN with tanh, as ``torch.nn.RNN``: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Args:
        input_size: features per time step of the input.  hidden_size: features of the hidden state ``H``.
        num_layers: recurrent layers stacked (default 1).
        nonlinearity: ``"tanh"`` (``"relu"`` is not supported yet).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        batch_first: input and output are ``(N, T, features)`` instead of ``(T, N, features)`` (default False).
        dropout: dropout probability on the outputs of every layer but the last, in training (default 0).
        bidirectional: add a layer that reads the sequence backwards at every level (default False).
        dtype: dtype of the parameters (default float32; keyword-only).

    Call ``rnn(input, hx=None) -> (output, h_n)``; see the module docstring for the shapes. ``hx`` defaults
    to zeros.

    Attributes:
        weight_ih_l{k}: ``(H, input_size)`` for ``k = 0``, else ``(H, D * H)``; weight_hh_l{k}: ``(H, H)``;
        bias_ih_l{k}, bias_hh_l{k}: ``(H,)``; the reverse direction's are suffixed ``_reverse``.
    """

    _cell = "rnn_tanh"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 *, dtype: Any = None) -> None:
        if nonlinearity != "tanh":
            supported = "; 'relu' is not supported yet" if nonlinearity == "relu" else ""
            raise ValueError(f"RNN: nonlinearity must be 'tanh'{supported}, got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(input, hx)
        return output, h_n


class LSTM(_RNNBase):
    """Long short-term memory, as ``torch.nn.LSTM`` (gates i, f, g, o stacked in that order in the weights)::

        i, f, o = sigmoid(...), g = tanh(...)      (each W_i* x_t + b_i* + W_h* h_{t-1} + b_h*)
        c_t = f * c_{t-1} + i * g;    h_t = o * tanh(c_t)

    Args: as :class:`RNN`, without ``nonlinearity``.

    Call ``lstm(input, hx=None) -> (output, (h_n, c_n))`` with ``hx = (h_0, c_0)``, each
    ``(L * D, N, H)`` (zeros if omitted).

    Attributes:
        weight_ih_l{k}: ``(4H, input_size)`` (``(4H, D * H)`` for ``k > 0``); weight_hh_l{k}: ``(4H, H)``;
        bias_ih_l{k}, bias_hh_l{k}: ``(4H,)``; the reverse direction's are suffixed ``_reverse``.
    """

    _cell = "lstm"
    _n_states = 2

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        output, (h_n, c_n) = self._run(input, hx)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gates r, z, n stacked in that order in the weights)::

        r = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr);  z = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn));  h_t = (1 - z) * n + z * h_{t-1}

    Args: as :class:`RNN`, without ``nonlinearity``.

    Call ``gru(input, hx=None) -> (output, h_n)``.

    Attributes:
        weight_ih_l{k}: ``(3H, input_size)`` (``(3H, D * H)`` for ``k > 0``); weight_hh_l{k}: ``(3H, H)``;
        bias_ih_l{k}, bias_hh_l{k}: ``(3H,)``; the reverse direction's are suffixed ``_reverse``.
    """

    _cell = "gru"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(input, hx)
        return output, h_n
