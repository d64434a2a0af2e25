"""Callbacks: code that ``fit`` runs at fixed points of the training loop.

``fit`` calls the hooks of every callback, in the order the callbacks were given::

    on_train_begin
    for each epoch:
        on_epoch_begin
        for each batch:  zero_grad → forward → loss → backward → after_backward → step → on_batch_end
        (validation)
        on_epoch_end            # state.logs holds this epoch's numbers, already in state.history
    on_train_end                # also after an early stop

Each hook receives the :class:`TrainState`; a callback stops training by setting
``state.stop_training = True`` (checked after every batch and every epoch; the current epoch is still
validated and recorded).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..tensor import Tensor
from .history import History, monitor_mode

__all__ = ["Callback", "EarlyStopping", "GradientClipping", "LambdaCallback", "ModelCheckpoint", "TrainState"]


@dataclass
class TrainState:
    """What the training loop knows right now; every callback hook receives it.

    Attributes:
        model, optimizer, history: the objects ``fit`` works on.
        epochs: the number of epochs asked for.
        epoch: the current epoch, counted from 1.
        batch: the current batch within the epoch, counted from 1.
        batch_loss: the loss of the current batch (a float), set before ``on_batch_end``.
        logs: this epoch's numbers (``loss``, ``val_loss``, metrics, ``lr``, ``time``), set before
            ``on_epoch_end``; a callback may add entries and they are recorded in the history.
        stop_training: set it to True to end training.
    """

    model: Any
    optimizer: Any
    history: History
    epochs: int
    epoch: int = 0
    batch: int = 0
    batch_loss: float = math.nan
    logs: dict[str, float] = field(default_factory=dict)
    stop_training: bool = False


class Callback:
    """Base class: override the hooks you need; each receives the :class:`TrainState`."""

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_begin(self, state: TrainState) -> None: ...
    def after_backward(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


HOOKS = ("on_train_begin", "on_epoch_begin", "after_backward", "on_batch_end", "on_epoch_end", "on_train_end")


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda state: print(state.logs))``.

    Each keyword is one hook name; its function receives the :class:`TrainState`.
    """

    def __init__(self, **hooks: Callable[[TrainState], Any]) -> None:
        for name, function in hooks.items():
            if name not in HOOKS:
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}; the hooks are {list(HOOKS)}")
            if not callable(function):
                raise TypeError(f"LambdaCallback hook {name!r} must be a function, got {type(function).__name__}")
            setattr(self, name, function)  # an instance attribute shadows the no-op method of the base class


# ---------------------------------------------------------------------- helpers shared by the callbacks
def _monitored(logs: dict[str, float], monitor: str, who: str, epoch: int) -> float:
    if monitor not in logs:
        hint = " (pass val_loader to fit, or monitor a training metric such as 'loss')" \
            if monitor.startswith("val_") else ""
        raise ValueError(f"{who} monitors {monitor!r}, but epoch {epoch} recorded only {sorted(logs)}{hint}")
    return float(logs[monitor])


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    """True when ``value`` beats ``best`` by more than ``min_delta`` (NaN never improves)."""
    if math.isnan(value):
        return False
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _copy_state_dict(model: Any) -> dict[str, Any]:
    """A copy of ``model.state_dict()`` that later training steps cannot change (PyTorch's state_dict shares
    memory with the model, so copying is the portable habit)."""
    return {name: Tensor(np.array(value.data, copy=True)) if isinstance(value, Tensor) else np.array(value, copy=True)
            for name, value in model.state_dict().items()}


# ---------------------------------------------------------------------- early stopping
class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs, then (by default) restore the weights
    of the best epoch.

    Args:
        monitor: the name in the logs to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        patience: how many epochs without improvement to allow before stopping.
        min_delta: an improvement must be larger than this to count.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (decided from the name: losses min, accuracies max).
        restore_best_weights: at the end of training, load the state_dict of the best epoch into the model
            (also when training ran all its epochs without stopping early).

    After training: ``best`` (value), ``best_epoch``, ``stopped_epoch`` (0 if it never stopped training).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = monitor_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0  # epochs since the last improvement
        self.best_weights: dict[str, Any] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self._reset()  # the same callback object may be used for several fits

    def on_epoch_end(self, state: TrainState) -> None:
        value = _monitored(state.logs, self.monitor, "EarlyStopping", state.epoch)
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_state_dict(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:  # `patience` epochs in a row without improvement
            self.stopped_epoch = state.epoch
            state.stop_training = True

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
                f"mode={self.mode!r}, restore_best_weights={self.restore_best_weights})")


# ---------------------------------------------------------------------- gradient clipping
class GradientClipping(Callback):
    """Rescale the gradients after every backward pass so that their total L2 norm is at most ``max_norm``
    (``nn.utils.clip_grad_norm_``), before the optimizer steps.

    ``grad_norms`` lists the norm of every step *before* clipping (how large the gradients really were);
    each epoch's mean of them is recorded in the history as ``grad_norm``.
    """

    def __init__(self, max_norm: float) -> None:
        if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
            raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
        self.max_norm = float(max_norm)
        self.grad_norms: list[float] = []
        self._epoch_norms: list[float] = []

    def on_train_begin(self, state: TrainState) -> None:
        self.grad_norms = []

    def on_epoch_begin(self, state: TrainState) -> None:
        self._epoch_norms = []

    def after_backward(self, state: TrainState) -> None:
        from ..nn.utils import clip_grad_norm_

        norm = clip_grad_norm_(state.model.parameters(), self.max_norm)  # the norm before clipping
        norm = float(norm.item() if isinstance(norm, Tensor) else norm)
        self.grad_norms.append(norm)
        self._epoch_norms.append(norm)

    def on_epoch_end(self, state: TrainState) -> None:
        if self._epoch_norms:
            state.logs["grad_norm"] = float(np.mean(self._epoch_norms))

    def __repr__(self) -> str:
        return f"GradientClipping(max_norm={self.max_norm})"


# ---------------------------------------------------------------------- checkpoints
class ModelCheckpoint(Callback):
    """Save ``model.state_dict()`` with ``np.savez`` at the end of epochs.

    Args:
        path: the file to write. It may name log entries to fill in, e.g. ``"ckpt/epoch{epoch:03d}.npz"``
            or ``"best-{val_loss:.3f}.npz"``; NumPy adds ``.npz`` when missing. Parent folders are created.
        monitor: the log entry that decides which epoch is best (used with ``save_best_only``).
        save_best_only: save only when ``monitor`` improved; otherwise save every epoch.
        mode: ``"min"``, ``"max"`` or ``"auto"``, as in :class:`EarlyStopping`.

    Load a checkpoint back with ``model.load_state_dict(dict(np.load(path)))``.
    After training: ``saved`` (the paths written, in order), ``best``, ``best_epoch``.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto") -> None:
        self.path = os.fspath(path)
        self.monitor = monitor
        self.save_best_only = save_best_only
        # the mode matters only when choosing the best epoch; resolve it now so a bad one fails early
        self.mode = monitor_mode(monitor, mode) if save_best_only else mode
        self.saved: list[str] = []
        self._reset()

    def _reset(self) -> None:
        self.saved = []
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0

    def on_train_begin(self, state: TrainState) -> None:
        self._reset()

    def on_epoch_end(self, state: TrainState) -> None:
        if self.save_best_only:
            value = _monitored(state.logs, self.monitor, "ModelCheckpoint", state.epoch)
            if not _improved(value, self.best, self.mode, 0.0):
                return
            self.best, self.best_epoch = value, state.epoch
        path = self.path.format(epoch=state.epoch, **state.logs) if "{" in self.path else self.path
        if not path.endswith(".npz"):
            path += ".npz"  # np.savez would add it anyway; record the name actually written
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.asarray(value.data if isinstance(value, Tensor) else value)
                  for name, value in state.model.state_dict().items()}
        np.savez(path, **arrays)
        self.saved.append(path)

    def __repr__(self) -> str:
        return (f"ModelCheckpoint(path={self.path!r}, monitor={self.monitor!r}, "
                f"save_best_only={self.save_best_only})")
