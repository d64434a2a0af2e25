"""The training loop: ``fit``, plus ``evaluate`` and ``predict``.

``fit`` is the loop every PyTorch tutorial writes by hand, written once::

    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with no_grad():
            ...  # validation loss and metrics
        scheduler.step()

plus the bookkeeping around it: a :class:`~nnlearn.train.History`, callbacks, a progress bar, and a
clear error when the loss stops being a finite number.
"""
from __future__ import annotations

import inspect
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable

import numpy as np

from ..autograd import no_grad
from ..device import to_device
from ..tensor import Tensor
from .callbacks import Callback, TrainState
from .history import BOOKKEEPING, History
from .metrics import METRICS
from .progress import EpochProgress

__all__ = ["evaluate", "fit", "predict"]

MetricFn = Callable[[np.ndarray, np.ndarray], float]


# ---------------------------------------------------------------------- checking the arguments
def _resolve_metrics(metrics: Any) -> dict[str, MetricFn]:
    """``("accuracy", my_fn)`` or ``{"acc": fn}`` → ``{name: fn}``; a metric is ``fn(output, target) -> float``."""
    if metrics is None:
        return {}
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    if isinstance(metrics, Mapping):
        named = dict(metrics)
    elif isinstance(metrics, Iterable):
        named = {}
        for metric in metrics:
            if isinstance(metric, str):
                if metric not in METRICS:
                    raise ValueError(f"unknown metric {metric!r}; the metrics known by name are {sorted(METRICS)} "
                                     "(or pass a function fn(output, target) -> float)")
                named[metric] = METRICS[metric]
            elif callable(metric):
                named[getattr(metric, "__name__", type(metric).__name__)] = metric
            else:
                raise TypeError(f"each metric must be a name or a function, got {type(metric).__name__}")
    else:
        raise TypeError(f"metrics must be a sequence of names/functions or a dict name -> function, "
                        f"got {type(metrics).__name__}")
    for name, function in named.items():
        if not isinstance(name, str) or not callable(function):
            raise TypeError(f"metrics must map names (str) to functions, got {name!r} -> {type(function).__name__}")
        if name == "loss" or name in BOOKKEEPING or name.startswith("val_"):
            raise ValueError(f"metric name {name!r} is reserved for fit's own records; choose another name")
    return named


def _check_loader(loader: Any, name: str) -> None:
    """A loader must be re-iterable and yield batches; plain arrays get a pointer to DataLoader."""
    wrap = (f"wrap the arrays in a DataLoader: DataLoader(TensorDataset(tensor(X), tensor(y)), "
            f"batch_size=32, shuffle=True) from nnlearn.data")
    if isinstance(loader, (np.ndarray, Tensor)):
        raise TypeError(f"{name} must be an iterable of (inputs, targets) batches, got a {type(loader).__name__} "
                        f"of shape {loader.shape}; {wrap}")
    if isinstance(loader, (tuple, list)) and len(loader) == 2 and \
            all(isinstance(part, (np.ndarray, Tensor)) for part in loader):
        raise TypeError(f"{name} must be an iterable of (inputs, targets) batches, got a pair of arrays "
                        f"(X, y) of shapes {loader[0].shape} and {loader[1].shape}; {wrap}")
    if not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of (inputs, targets) batches such as a DataLoader, "
                        f"got {type(loader).__name__}")
    if isinstance(loader, Iterator):  # a generator, or iter(...) of something
        raise TypeError(f"{name} is an iterator ({type(loader).__name__}) that can be read only once, but every "
                        "epoch reads it again; pass a DataLoader or a list of batches instead")


def model_device(model: Any) -> str:
    """The device of the model's parameters (``"cpu"`` for a model without any)."""
    parameters = getattr(model, "parameters", None)
    first = next(iter(parameters()), None) if callable(parameters) else None
    return first.device if isinstance(first, Tensor) else "cpu"


def _split_batch(batch: Any, name: str, device: str = "cpu") -> tuple[tuple[Tensor, ...], Tensor]:
    """``(x, y)`` or ``(x1, x2, ..., y)`` → ``((x, ...), y)`` as Tensors on ``device`` (the model's: a data
    loader yields host arrays, a model on the GPU needs its batches there); the model gets all but the last."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(f"{name} must yield (inputs, targets) pairs, got a batch of type {type(batch).__name__}"
                        + (f" with {len(batch)} item(s)" if isinstance(batch, (tuple, list)) else ""))
    parts = tuple((part if isinstance(part, Tensor) else Tensor(part)).to(device) for part in batch)
    return parts[:-1], parts[-1]


def _scalar_loss(loss: Any) -> Tensor:
    if not isinstance(loss, Tensor):
        raise TypeError(f"loss_fn must return a Tensor, got {type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(f"loss_fn must return a single number (a Tensor with one element), got shape "
                         f"{loss.shape}; use a loss that averages over the batch (reduction='mean')")
    return loss


def _current_lr(optimizer: Any) -> float | None:
    """The learning rate of the first parameter group (PyTorch's ``optimizer.param_groups[0]["lr"]``)."""
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    lr = getattr(optimizer, "lr", None)
    return None if lr is None else float(lr)


def _step_scheduler(scheduler: Any, logs: dict[str, float]) -> None:
    """``scheduler.step()`` once per epoch; a scheduler whose step needs a value (``ReduceLROnPlateau``)
    gets the validation loss, or the training loss when there is no validation set."""
    parameters = inspect.signature(scheduler.step).parameters.values()
    needs_value = any(p.default is inspect.Parameter.empty and
                      p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
    if needs_value:
        scheduler.step(logs.get("val_loss", logs["loss"]))
    else:
        scheduler.step()


def _set_training(model: Any, training: bool) -> None:
    """``model.train()`` / ``model.eval()`` when the model has them (a plain function has no mode)."""
    method = getattr(model, "train" if training else "eval", None)
    if callable(method):
        method()


def _output_array(output: Any) -> np.ndarray:
    """A copy of a batch's output, kept for the epoch's metrics."""
    if not isinstance(output, Tensor):
        raise TypeError(f"metrics need the model to return a Tensor, got {type(output).__name__}; "
                        "pass metrics=() for a model with another kind of output")
    return np.array(to_device(output.data, "cpu"))


def _metric_values(metric_fns: dict[str, MetricFn], outputs: list[np.ndarray], targets: list[np.ndarray]):
    """Each metric on the whole epoch's outputs at once (exact also for precision/recall, unlike a
    mean of per-batch values)."""
    if not metric_fns:
        return {}
    output, target = np.concatenate(outputs), np.concatenate(targets)
    return {name: float(function(output, target)) for name, function in metric_fns.items()}


def _diverged(value: float, epoch: int, batch: int, n_batches: int | None, inputs, target, optimizer) -> str:
    where = f"epoch {epoch}, batch {batch}" + (f" of {n_batches}" if n_batches else "")
    bad_data = [name for name, t in (*((f"inputs[{i}]", x) for i, x in enumerate(inputs)), ("targets", target))
                if t.dtype.kind == "f" and not np.all(np.isfinite(t.data))]
    if bad_data:
        return (f"the loss is {value} in {where}: this batch's {', '.join(bad_data)} contain NaN or inf values; "
                "clean the data (e.g. drop or impute missing values) before training")
    lr = _current_lr(optimizer)
    return (f"the loss is {value} in {where}: training has diverged. Try a lower learning rate"
            + (f" (it is {lr:g} now, try {lr / 10:g})" if lr is not None else "")
            + ", clip the gradients with callbacks=[GradientClipping(max_norm=1.0)], or check that the inputs "
              "are standardised")


# ---------------------------------------------------------------------- the loop
def end_epoch(logs: dict[str, float], lr: float | None, start: float, state: TrainState, scheduler: Any,
              callbacks: list[Callback], bar: EpochProgress) -> bool:
    """The end of every epoch, shared by :func:`fit` and ``fit_tbptt``: add ``lr`` and ``time`` to the epoch's
    ``logs``, record them in the history, step the scheduler, run the callbacks, update the progress bar.
    Returns True when a callback asked to stop training."""
    if lr is not None:
        logs["lr"] = lr
    logs["time"] = time.perf_counter() - start
    state.logs = logs
    state.history.append(logs)  # the same dict: entries that callbacks add below are recorded too
    if scheduler is not None:
        _step_scheduler(scheduler, logs)
    for callback in callbacks:
        callback.on_epoch_end(state)
    bar.update(logs)
    return state.stop_training


def _train_one_epoch(model, loader, loss_fn, optimizer, metric_fns, callbacks, state) -> dict[str, float]:
    _set_training(model, True)
    n_batches = len(loader) if hasattr(loader, "__len__") else None
    total_loss, seen = 0.0, 0
    outputs, targets = [], []
    device = model_device(model)
    for index, batch in enumerate(loader, start=1):
        inputs, target = _split_batch(batch, "train_loader", device)
        state.batch = index
        optimizer.zero_grad()
        output = model(*inputs)
        loss = _scalar_loss(loss_fn(output, target))
        value = float(loss.item())
        if not math.isfinite(value):
            raise FloatingPointError(_diverged(value, state.epoch, index, n_batches, inputs, target, optimizer))
        loss.backward()
        for callback in callbacks:
            callback.after_backward(state)
        optimizer.step()
        # the loss is a mean over the batch, so weight it by the batch size for an exact epoch mean
        total_loss += value * len(target)
        seen += len(target)
        if metric_fns:
            outputs.append(_output_array(output))
            targets.append(np.array(to_device(target.data, "cpu")))
        state.batch_loss = value
        for callback in callbacks:
            callback.on_batch_end(state)
        if state.stop_training:
            break
    if seen == 0:
        raise ValueError("train_loader yielded no batches (is the dataset smaller than batch_size with "
                         "drop_last=True?)")
    return {"loss": total_loss / seen, **_metric_values(metric_fns, outputs, targets)}


def fit(model: Any, train_loader: Iterable, loss_fn: Callable, optimizer: Any, epochs: int,
        val_loader: Iterable | None = None, metrics: Any = ("accuracy",), callbacks: Iterable[Callback] = (),
        scheduler: Any = None, progress: bool | str = "auto", live_plot: Any = False) -> History:
    """Train ``model`` for ``epochs`` epochs and return the :class:`History` of what was measured.

    Args:
        model: a callable Module; ``model(*inputs)`` gives the output the loss and metrics compare to targets.
        train_loader: an iterable of ``(inputs, targets)`` batches, read once per epoch (a ``DataLoader``).
            A batch of more than two items passes all but the last to the model.
        loss_fn: ``loss_fn(output, targets) -> scalar Tensor``, e.g. ``nn.CrossEntropyLoss()``.
        optimizer: has ``zero_grad()`` and ``step()``.
        epochs: how many passes over ``train_loader`` (callbacks may stop earlier).
        val_loader: batches to evaluate on after every epoch, with ``model.eval()`` and no gradients.
        metrics: names (``"accuracy"``, ``"precision"``, ``"recall"``), functions
            ``fn(output: ndarray, target: ndarray) -> float``, or a dict name -> function. ``()`` for none
            (e.g. for regression).
        callbacks: :class:`~nnlearn.train.Callback` objects, called in this order.
        scheduler: a learning-rate scheduler, stepped once at the end of every epoch (a scheduler whose
            ``step`` needs a value, such as ``ReduceLROnPlateau``, gets ``val_loss``, else ``loss``).
        progress: ``"auto"`` (tqdm.auto: a widget in Jupyter), ``True`` (a text bar) or ``False`` (silent).
        live_plot: ``True`` or a :class:`~nnlearn.viz.LiveLearningCurves` to redraw the learning curves
            every epoch in a notebook (a final static figure elsewhere).

    Returns:
        History with, per epoch: ``loss``, each metric, ``val_loss`` and ``val_<metric>`` (with a
        ``val_loader``), ``lr`` (the rate used during the epoch) and ``time`` (seconds). Training
        metrics are measured on the fly, while the weights still change during the epoch; validation
        numbers use the weights at the end of the epoch.

    Raises:
        FloatingPointError: when a batch's loss is NaN or infinite (the message names the epoch and batch).
    """
    if not callable(model):
        raise TypeError(f"model must be callable (a Module), got {type(model).__name__}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, e.g. nn.CrossEntropyLoss(), got {type(loss_fn).__name__}")
    if not (callable(getattr(optimizer, "zero_grad", None)) and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer must have zero_grad() and step() (e.g. optim.SGD), got {type(optimizer).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    metric_fns = _resolve_metrics(metrics)
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"each callback must be a nnlearn.train.Callback, got {type(callback).__name__}")
    if live_plot is not False and live_plot is not None:
        from ..viz.live import LiveLearningCurves  # only now: it loads matplotlib

        if live_plot is True:
            live_plot = LiveLearningCurves()
        if not isinstance(live_plot, LiveLearningCurves):
            raise TypeError(f"live_plot must be True, False or a LiveLearningCurves, got {type(live_plot).__name__}")
        callbacks.append(live_plot)

    history = History(metric_names=tuple(metric_fns))
    state = TrainState(model=model, optimizer=optimizer, history=history, epochs=int(epochs))
    bar = EpochProgress(int(epochs), progress)
    try:
        for callback in callbacks:
            callback.on_train_begin(state)
        for epoch in range(1, int(epochs) + 1):
            state.epoch, state.batch, state.logs = epoch, 0, {}
            for callback in callbacks:
                callback.on_epoch_begin(state)
            start = time.perf_counter()
            lr = _current_lr(optimizer)  # the rate this epoch trains with, before the scheduler changes it
            logs = _train_one_epoch(model, train_loader, loss_fn, optimizer, metric_fns, callbacks, state)
            if val_loader is not None:
                val_logs = evaluate(model, val_loader, loss_fn, metric_fns)  # restores train mode
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            if end_epoch(logs, lr, start, state, scheduler, callbacks, bar):
                break
        for callback in callbacks:
            callback.on_train_end(state)
    finally:
        bar.close()
    return history


# ---------------------------------------------------------------------- evaluation and prediction
def evaluate(model: Any, loader: Iterable, loss_fn: Callable | None = None,
             metrics: Any = ("accuracy",)) -> dict[str, float]:
    """The mean loss and the metrics of ``model`` over every batch of ``loader``.

    Runs with ``model.eval()`` and without recording gradients; the model's mode is restored afterwards.
    Returns ``{"loss": ..., "<metric>": ...}`` (no ``loss`` when ``loss_fn`` is None).
    """
    _check_loader(loader, "loader")
    metric_fns = _resolve_metrics(metrics)
    was_training = getattr(model, "training", None)
    _set_training(model, False)
    total_loss, seen = 0.0, 0
    outputs, targets = [], []
    try:
        with no_grad():
            device = model_device(model)
            for batch in loader:
                inputs, target = _split_batch(batch, "loader", device)
                output = model(*inputs)
                if loss_fn is not None:
                    total_loss += float(_scalar_loss(loss_fn(output, target)).item()) * len(target)
                seen += len(target)
                if metric_fns:
                    outputs.append(_output_array(output))
                    targets.append(np.array(to_device(target.data, "cpu")))
    finally:
        if was_training:
            _set_training(model, True)
    if seen == 0:
        raise ValueError("loader yielded no batches, so there is nothing to evaluate")
    logs = {"loss": total_loss / seen} if loss_fn is not None else {}
    logs.update(_metric_values(metric_fns, outputs, targets))
    return logs


def predict(model: Any, X: Any, batch_size: int = 256) -> np.ndarray:
    """``model``'s outputs for the inputs ``X: (N, ...)``, computed in batches, as a NumPy array ``(N, ...)``.

    Runs with ``model.eval()`` and without gradients, and restores the model's mode. The outputs are what
    the model returns (logits for a classifier): ``to_labels(predict(model, X))`` gives class labels.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    data = X.data if isinstance(X, Tensor) else np.asarray(X)
    if data.ndim == 0 or data.dtype == object:
        raise ValueError(f"X must be an array of inputs with a batch dimension first (N, ...), got "
                         f"{'a scalar' if data.ndim == 0 else 'an array of dtype object'}")
    was_training = getattr(model, "training", None)
    _set_training(model, False)
    try:
        with no_grad():
            device = model_device(model)
            chunks = [np.array(to_device(model(Tensor(data[start:start + batch_size]).to(device)).data, "cpu"))
                      for start in range(0, len(data), batch_size)]
    finally:
        if was_training:
            _set_training(model, True)
    if not chunks:
        raise ValueError("X is empty (0 samples): nothing to predict")
    return np.concatenate(chunks)
