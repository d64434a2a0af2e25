"""Truncated backpropagation through time: train a recurrent model on sequences too long for one backward pass.

Backpropagating through a whole sequence of ``T`` steps costs memory for all ``T`` steps and a single weight
update per pass. **Truncated BPTT** cuts the time axis into consecutive chunks of ``chunk_len`` steps and takes
one optimizer step per chunk::

    state = None                                   # zeros at the start of every epoch
    for x, y in bptt_chunks(inputs, targets, chunk_len):
        optimizer.zero_grad()
        output, state = model(x, state)            # the state carries over from the previous chunk ...
        loss_fn(output, y).backward()              # ... but the gradient stops at the chunk's first step,
        optimizer.step()
        state = detach_state(state)                # because the state is cut off from the old graph here

The forward values are exactly those of one pass over the whole sequence: the hidden state still flows from
chunk to chunk. Only the gradient is truncated, so the model learns dependencies up to about ``chunk_len``
steps long directly (longer ones only through what the carried state happens to hold).

Layouts: time-major ``(T, N, ...)`` by default, as ``nn.RNN/LSTM/GRU``; ``batch_first=True`` for ``(N, T, ...)``.
Each column ``n`` of the batch must be one long stream that continues from chunk to chunk
(:func:`nnlearn.data.batchify` makes such a batch from one long sequence).
"""
from __future__ import annotations

import math
import numbers
import time
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .callbacks import Callback, TrainState
from .fit import _current_lr, _scalar_loss, _set_training, end_epoch, model_device
from .history import History
from .progress import EpochProgress

__all__ = ["bptt_chunks", "detach_state", "fit_tbptt"]

State = Any   # None, a Tensor, or a (nested) tuple/list of Tensors such as the LSTM's (h, c)


def detach_state(state: State) -> State:
    """The same state, cut off from the graph that computed it: gradients will not flow back through it.

    Args:
        state: ``None``, a Tensor (``nn.RNN``/``nn.GRU``'s ``h``), or a tuple/list of them (``nn.LSTM``'s
            ``(h, c)``), nested to any depth (e.g. one entry per layer of a hand-built stack).

    Returns:
        The same structure (tuple stays tuple, list stays list) with every Tensor replaced by
        ``tensor.detach()``: the same values, ``requires_grad=False``, no history.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(part) for part in state)
    raise TypeError(f"detach_state: state must be a Tensor, a tuple/list of Tensors (e.g. an LSTM's (h, c)) or "
                    f"None, got {type(state).__name__}")


# ---------------------------------------------------------------------- checking the arguments
def _check_positive_int(value: Any, name: str, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fn}: {name} must be an int >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{fn}: {name} must be an int >= 1, got {value}")
    return int(value)


def _as_sequence_tensor(value: Any, name: str, fn: str) -> Tensor:
    """``value`` as a Tensor with at least a time and a batch axis."""
    if not isinstance(value, Tensor):
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError(f"{fn}: {name} must be an array or a Tensor of numbers, got {type(value).__name__} "
                            "that NumPy can only store as objects")
        value = Tensor(array)
    if value.ndim < 2:
        raise ValueError(f"{fn}: {name} must have a time and a batch axis, (T, N, ...) or with batch_first=True "
                         f"(N, T, ...), got shape {value.shape}; for one sequence add a batch axis of size 1")
    return value


def _check_pair(inputs: Any, targets: Any, batch_first: bool, fn: str) -> tuple[Tensor, Tensor]:
    """``inputs`` and ``targets`` as Tensors with the same number of time steps and the same batch size."""
    inputs = _as_sequence_tensor(inputs, "inputs", fn)
    targets = _as_sequence_tensor(targets, "targets", fn)
    time_axis, batch_axis = (1, 0) if batch_first else (0, 1)
    layout = "(N, T, ...) (batch_first=True)" if batch_first else "(T, N, ...) (batch_first=False)"
    if inputs.shape[time_axis] != targets.shape[time_axis]:
        raise ValueError(f"{fn}: inputs and targets must have the same number of time steps T on axis "
                         f"{time_axis} for the layout {layout}, got inputs {inputs.shape} "
                         f"(T={inputs.shape[time_axis]}) and targets {targets.shape} (T={targets.shape[time_axis]})")
    if inputs.shape[batch_axis] != targets.shape[batch_axis]:
        raise ValueError(f"{fn}: inputs and targets must have the same batch size N on axis {batch_axis} for the "
                         f"layout {layout}, got inputs {inputs.shape} (N={inputs.shape[batch_axis]}) and targets "
                         f"{targets.shape} (N={targets.shape[batch_axis]})")
    if inputs.shape[time_axis] == 0 or inputs.shape[batch_axis] == 0:
        raise ValueError(f"{fn}: inputs must have at least one time step and one sequence, got shape {inputs.shape}")
    return inputs, targets


def _chunks(inputs: Any, targets: Any, chunk_len: int, batch_first: bool) -> Iterator[tuple[Any, Any]]:
    time_axis = 1 if batch_first else 0
    steps = inputs.shape[time_axis]
    for start in range(0, steps, chunk_len):
        window = slice(start, min(start + chunk_len, steps))
        index = (slice(None), window) if batch_first else window
        yield inputs[index], targets[index]


def bptt_chunks(inputs: Any, targets: Any, chunk_len: int, *,
                batch_first: bool = False) -> Iterator[tuple[Any, Any]]:
    """Split a batch of long sequences into consecutive time chunks of ``chunk_len`` steps.

    Args:
        inputs: ``(T, N, ...)``, or ``(N, T, ...)`` with ``batch_first=True`` (Tensor or array).
        targets: the same layout with the same ``T`` and ``N`` (e.g. ``(T, N)`` class indices for a language
            model, or ``(T, N, 1)`` values for a forecaster).
        chunk_len: time steps per chunk (>= 1). The last chunk is shorter when ``chunk_len`` does not divide
            ``T``; a ``chunk_len >= T`` gives one chunk, the whole sequence.
        batch_first: the time axis is axis 1 instead of axis 0.

    Returns:
        An iterator of ``(inputs_chunk, targets_chunk)``, ``ceil(T / chunk_len)`` pairs in time order, each
        of shape ``(chunk, N, ...)`` (or ``(N, chunk, ...)``) and of the type given (arrays give array
        views, Tensors give Tensors). The arguments are checked at once, before the first chunk.
    """
    fn = "bptt_chunks"
    chunk_len = _check_positive_int(chunk_len, "chunk_len", fn)
    _check_pair(inputs, targets, bool(batch_first), fn)   # for the errors only: the chunks keep the given type
    if not isinstance(inputs, Tensor):
        inputs = np.asarray(inputs)
    if not isinstance(targets, Tensor):
        targets = np.asarray(targets)
    return _chunks(inputs, targets, chunk_len, bool(batch_first))


def _unpack_output(result: Any, where: str) -> tuple[Any, State]:
    if not isinstance(result, tuple) or len(result) != 2:
        got = (f"a tuple of {len(result)} items" if isinstance(result, tuple) else f"a {type(result).__name__}")
        raise TypeError(f"fit_tbptt: model must return a pair (output, state) when called as model(chunk, state) "
                        f"— as nn.RNN returns (output, h_n) and nn.LSTM (output, (h_n, c_n)) — got {got} "
                        f"({where})")
    return result


def _grad_norm(parameters: Iterable[Tensor]) -> float:
    """The L2 norm of all gradients together, as one long vector (what ``clip_grad_norm_`` measures)."""
    # array methods, not np.* functions, so that gradients on a GPU (CuPy arrays) work too
    squares = [float((p.grad.astype(np.float64) ** 2).sum()) for p in parameters if p.grad is not None]
    return math.sqrt(sum(squares))


# ---------------------------------------------------------------------- the loop
def _evaluate(model: Any, inputs: Tensor, targets: Tensor, loss_fn: Callable, chunk_len: int,
              batch_first: bool) -> float:
    """Mean loss over the whole sequence, read in chunks with the state carried, without gradients."""
    was_training = getattr(model, "training", None)
    _set_training(model, False)
    total, steps, state = 0.0, 0, None
    try:
        with no_grad():
            for index, (x, y) in enumerate(_chunks(inputs, targets, chunk_len, batch_first), start=1):
                output, state = _unpack_output(model(x, state), f"val_data, chunk {index}")
                length = x.shape[1 if batch_first else 0]
                total += float(_scalar_loss(loss_fn(output, y)).item()) * length
                steps += length
    finally:
        if was_training:
            _set_training(model, True)
    return total / steps


def fit_tbptt(model: Any, inputs: Any, targets: Any, loss_fn: Callable, optimizer: Any, epochs: int,
              chunk_len: int, *, batch_first: bool = False, clip_grad_norm: float | None = None,
              val_data: tuple[Any, Any] | None = None, callbacks: Iterable[Callback] = (), scheduler: Any = None,
              progress: bool | str = "auto") -> History:
    """Train a recurrent ``model`` with truncated backpropagation through time and return its :class:`History`.

    Every epoch starts from ``state = None`` and walks the sequences chunk by chunk (see
    :func:`bptt_chunks`); for each chunk::

        output, state = model(chunk, state);  loss = loss_fn(output, targets_chunk)
        zero_grad, backward, (clip), step;    state = detach_state(state)

    Args:
        model: called as ``model(chunk, state)``, must return ``(output, state)``; ``state`` is None for the first
            chunk of an epoch (an ``nn.RNN``/``nn.LSTM``/``nn.GRU`` itself qualifies, or a Module wrapping one).
        inputs: ``(T, N, ...)`` (``(N, T, ...)`` with ``batch_first=True``): ``N`` long streams, each continuing
            from one chunk to the next.
        targets: the same ``T`` and ``N``, e.g. ``(T, N)`` next-token indices or ``(T, N, 1)`` next values.
        loss_fn: ``loss_fn(output, targets_chunk) -> scalar Tensor``, a mean over the chunk.
        optimizer: has ``zero_grad()`` and ``step()``.
        epochs: passes over the whole sequence.
        chunk_len: time steps per chunk, i.e. how far back the gradient reaches (``chunk_len >= T``: full BPTT,
            one step per epoch).
        batch_first: the time axis of ``inputs``/``targets`` is axis 1 (pass the same to the recurrent layer).
        clip_grad_norm: if given, rescale the gradients to this total L2 norm at most before every step
            (``nn.utils.clip_grad_norm_``).
        val_data: ``(val_inputs, val_targets)`` in the same layout, evaluated after every epoch in chunks with
            the state carried, in eval mode and without gradients (``val_loss``).
        callbacks: :class:`~nnlearn.train.Callback` objects, with the hooks ``fit`` calls (a chunk is a batch).
        scheduler: a learning-rate scheduler, stepped once at the end of every epoch.
        progress: ``"auto"``, ``True`` or ``False``, as in :func:`~nnlearn.train.fit`.

    Returns:
        History with, per epoch: ``loss`` (mean over all time steps: each chunk's mean loss weighted by its
        length), ``grad_norm`` (mean over the chunks of the gradients' total norm before clipping),
        ``val_loss`` (with ``val_data``), ``lr`` and ``time``.

    Raises:
        FloatingPointError: when a chunk's loss is NaN or infinite (the message names the epoch and chunk).
    """
    fn = "fit_tbptt"
    if not callable(model):
        raise TypeError(f"{fn}: model must be callable (a Module), got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"{fn}: loss_fn must be callable, e.g. nn.MSELoss(), got {type(loss_fn).__name__}")
    if not (callable(getattr(optimizer, "zero_grad", None)) and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"{fn}: optimizer must have zero_grad() and step() (e.g. optim.Adam), "
                        f"got {type(optimizer).__name__}")
    epochs = _check_positive_int(epochs, "epochs", fn)
    chunk_len = _check_positive_int(chunk_len, "chunk_len", fn)
    batch_first = bool(batch_first)
    if clip_grad_norm is not None:
        if isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, numbers.Real) or \
                not (math.isfinite(clip_grad_norm) and clip_grad_norm > 0):
            raise ValueError(f"{fn}: clip_grad_norm must be None or a finite number > 0, got {clip_grad_norm!r}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"{fn}: scheduler must have a step() method, got {type(scheduler).__name__}")
    from ..nn.utils import clip_grad_norm_   # imported here, as in GradientClipping: train does not load nn at import

    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"{fn}: each callback must be a nnlearn.train.Callback, got {type(callback).__name__}")
    device = model_device(model)
    inputs, targets = (t.to(device) for t in _check_pair(inputs, targets, batch_first, fn))
    if val_data is not None:
        if not isinstance(val_data, (tuple, list)) or len(val_data) != 2:
            raise TypeError(f"{fn}: val_data must be a pair (val_inputs, val_targets), got "
                            f"{type(val_data).__name__}")
        val_data = tuple(t.to(device) for t in _check_pair(*val_data, batch_first, fn))
    parameters = list(model.parameters()) if callable(getattr(model, "parameters", None)) else []
    time_axis = 1 if batch_first else 0

    history = History(metric_names=())
    train_state = TrainState(model=model, optimizer=optimizer, history=history, epochs=epochs)
    bar = EpochProgress(epochs, progress)
    try:
        for callback in callbacks:
            callback.on_train_begin(train_state)
        for epoch in range(1, epochs + 1):
            train_state.epoch, train_state.batch, train_state.logs = epoch, 0, {}
            for callback in callbacks:
                callback.on_epoch_begin(train_state)
            start = time.perf_counter()
            lr = _current_lr(optimizer)
            _set_training(model, True)
            total_loss, steps, norms = 0.0, 0, []
            state = None   # every epoch starts from the model's default (zero) state
            for index, (x, y) in enumerate(_chunks(inputs, targets, chunk_len, batch_first), start=1):
                train_state.batch = index
                optimizer.zero_grad()
                output, state = _unpack_output(model(x, state), f"epoch {epoch}, chunk {index}")
                loss = _scalar_loss(loss_fn(output, y))
                value = float(loss.item())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"{fn}: the loss is {value} in epoch {epoch}, chunk {index}: training has diverged; try a "
                        "lower learning rate or clip_grad_norm=1.0")
                loss.backward()
                if clip_grad_norm is not None:
                    norms.append(float(clip_grad_norm_(parameters, clip_grad_norm).item()))
                else:
                    norms.append(_grad_norm(parameters))
                for callback in callbacks:
                    callback.after_backward(train_state)
                optimizer.step()
                # Keep the values, drop the graph: the next chunk starts where this one ended, but its
                # backward pass stops here instead of running back to the start of the sequence.
                state = detach_state(state)
                length = x.shape[time_axis]
                total_loss += value * length
                steps += length
                train_state.batch_loss = value
                for callback in callbacks:
                    callback.on_batch_end(train_state)
                if train_state.stop_training:
                    break
            logs = {"loss": total_loss / steps, "grad_norm": float(np.mean(norms))}
            if val_data is not None:
                logs["val_loss"] = _evaluate(model, *val_data, loss_fn, chunk_len, batch_first)
            if end_epoch(logs, lr, start, train_state, scheduler, callbacks, bar):
                break
        for callback in callbacks:
            callback.on_train_end(train_state)
    finally:
        bar.close()
    return history
