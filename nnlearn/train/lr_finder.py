"""``LRFinder``: the learning-rate range test (L. Smith, "Cyclical learning rates", 2017).

Train for a few hundred mini-batches while the learning rate grows from tiny to huge, one step per batch,
and record the loss. At first the rate is too small for the loss to move; then the loss falls, fastest
somewhere in the middle; finally the steps are too big and the loss shoots up. A good learning rate lies
where the loss falls steeply, well before the minimum of the curve (about a tenth of the rate at the
minimum is a common rule).

The test trains the real model, so it changes the weights and the optimizer's state; ``range_test`` saves
both first and puts them back at the end, so the model can then be trained from where it was. The API
follows the ``torch-lr-finder`` package (``LRFinder(model, optimizer, criterion)``, ``range_test``,
``history``, ``plot``), except that the state is restored automatically (there you call ``reset()``).

>>> finder = LRFinder(model, optim.SGD(model.parameters(), lr=1e-6), F.cross_entropy)   # doctest: +SKIP
>>> finder.range_test(train_loader, end_lr=10, num_iter=100)                            # doctest: +SKIP
>>> finder.plot(); finder.suggestion()                                                  # doctest: +SKIP
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable

import numpy as np

from .fit import _check_loader, _scalar_loss, _set_training, _split_batch, model_device

__all__ = ["LRFinder"]


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"range_test: {name} must be a finite number > 0, got {value!r}")
    return float(value)


class LRFinder:
    """The learning-rate range test for ``model`` trained with ``optimizer`` on the loss ``criterion``.

    Args:
        model: an ``nn.Module``.
        optimizer: an optimizer over ``model``'s parameters (its learning rate is overwritten during the test
            and restored afterwards; its other options, such as momentum, are used as they are).
        criterion: ``criterion(output, target) -> scalar Tensor``, e.g. ``F.cross_entropy``.

    After :meth:`range_test`: ``history`` is ``{"lr": [...], "loss": [...], "raw_loss": [...]}``, one entry
    per mini-batch: the rate used for that step, the smoothed loss, and the batch's own loss.
    """

    def __init__(self, model: Any, optimizer: Any, criterion: Callable) -> None:
        if not (callable(model) and callable(getattr(model, "state_dict", None))
                and callable(getattr(model, "load_state_dict", None))):
            raise TypeError(f"LRFinder: model must be an nn.Module (callable, with state_dict()), "
                            f"got {type(model).__name__}")
        if not (getattr(optimizer, "param_groups", None) and callable(getattr(optimizer, "state_dict", None))):
            raise TypeError(f"LRFinder: optimizer must be an optimizer with param_groups and state_dict() "
                            f"(e.g. optim.SGD(model.parameters(), lr=1e-6)), got {type(optimizer).__name__}")
        if not callable(criterion):
            raise TypeError(f"LRFinder: criterion must be a loss function, e.g. F.cross_entropy, "
                            f"got {type(criterion).__name__}")
        self.model, self.optimizer, self.criterion = model, optimizer, criterion
        self.history: dict[str, list[float]] = {"lr": [], "loss": [], "raw_loss": []}

    # ------------------------------------------------------------------ the test
    def range_test(self, train_loader: Iterable, start_lr: float | None = None, end_lr: float = 10.0,
                   num_iter: int = 100, step_mode: str = "exp", smooth_f: float = 0.05,
                   diverge_th: float = 5.0) -> dict[str, list[float]]:
        """Take ``num_iter`` training steps with the rate going from ``start_lr`` to ``end_lr``.

        Args:
            train_loader: ``(inputs, targets)`` batches (a ``DataLoader``); it is read again from the start
                when it runs out before ``num_iter`` steps.
            start_lr: the first rate (None: the optimizer's current rate).
            end_lr: the last rate.
            num_iter: the number of steps (mini-batches), at least 2.
            step_mode: ``"exp"`` (the rate is multiplied by the same factor every step, evenly spaced on a
                log scale: the usual choice) or ``"linear"``.
            smooth_f: the weight of the newest loss in the exponential moving average recorded as ``loss``
                (0 keeps the first loss forever, values near 1 barely smooth).
            diverge_th: stop early once the smoothed loss exceeds ``diverge_th`` times the lowest so far
                (or is not a finite number).

        Returns:
            ``self.history``. The model's weights, its training mode and the optimizer's state and
            options are restored, whether the test finished, stopped early or raised.
        """
        _check_loader(train_loader, "train_loader")
        start = float(self.optimizer.param_groups[0]["lr"]) if start_lr is None else start_lr
        start = _positive(start, "start_lr")
        end = _positive(end_lr, "end_lr")
        if not end > start:
            raise ValueError(f"range_test: end_lr must be larger than start_lr, got start_lr={start:g}, end_lr={end:g}")
        if isinstance(num_iter, bool) or not isinstance(num_iter, numbers.Integral) or num_iter < 2:
            raise ValueError(f"range_test: num_iter must be an int >= 2, got {num_iter!r}")
        if step_mode not in ("exp", "linear"):
            raise ValueError(f"range_test: step_mode must be 'exp' or 'linear', got {step_mode!r}")
        if isinstance(smooth_f, bool) or not isinstance(smooth_f, numbers.Real) or not 0 <= smooth_f < 1:
            raise ValueError(f"range_test: smooth_f must be a number in [0, 1), got {smooth_f!r}")
        if isinstance(diverge_th, bool) or not isinstance(diverge_th, numbers.Real) or not diverge_th > 1:
            raise ValueError(f"range_test: diverge_th must be a number > 1, got {diverge_th!r}")

        if step_mode == "exp":  # start * (end / start) ** (i / (n - 1)): a constant ratio from step to step
            rates = np.geomspace(start, end, int(num_iter))
        else:
            rates = np.linspace(start, end, int(num_iter))
        self.history = {"lr": [], "loss": [], "raw_loss": []}
        saved_model = self.model.state_dict()  # copies of the arrays
        saved_optimizer = self.optimizer.state_dict()
        modes = [(module, module.training) for module in self.model.modules()] \
            if callable(getattr(self.model, "modules", None)) else []
        try:
            self._run(train_loader, rates, float(smooth_f), float(diverge_th))
        finally:
            self.model.load_state_dict(saved_model)
            self.optimizer.load_state_dict(saved_optimizer)
            for module, training in modes:
                module.training = training
        return self.history

    def _batches(self, loader: Iterable):
        """The loader's batches, starting over each time it runs out."""
        while True:
            empty = True
            for batch in loader:
                empty = False
                yield batch
            if empty:
                raise ValueError("range_test: train_loader yielded no batches")

    def _run(self, loader: Iterable, rates: np.ndarray, smooth_f: float, diverge_th: float) -> None:
        _set_training(self.model, True)
        device = model_device(self.model)
        best = math.inf
        for lr, batch in zip(rates, self._batches(loader)):
            for group in self.optimizer.param_groups:
                group["lr"] = float(lr)
            inputs, target = _split_batch(batch, "train_loader", device)
            self.optimizer.zero_grad()
            loss = _scalar_loss(self.criterion(self.model(*inputs), target))
            raw = float(loss.item())
            if not math.isfinite(raw):
                break  # the rate is far too high: the loss overflowed; nothing to learn from later steps
            loss.backward()
            self.optimizer.step()
            # an exponential moving average: one noisy batch must not end the test or hide the trend
            smoothed = raw if not self.history["loss"] else smooth_f * raw + (1 - smooth_f) * self.history["loss"][-1]
            self.history["lr"].append(float(lr))
            self.history["loss"].append(smoothed)
            self.history["raw_loss"].append(raw)
            best = min(best, smoothed)
            if smoothed > diverge_th * best:
                break

    # ------------------------------------------------------------------ reading the result
    def _window(self, skip_start: int, skip_end: int) -> tuple[np.ndarray, np.ndarray]:
        for value, name in ((skip_start, "skip_start"), (skip_end, "skip_end")):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if not self.history["lr"]:
            raise ValueError("no range test has run yet: call range_test(train_loader) first")
        n = len(self.history["lr"])
        lrs = np.asarray(self.history["lr"])[skip_start:n - skip_end]
        losses = np.asarray(self.history["loss"])[skip_start:n - skip_end]
        return lrs, losses

    def suggestion(self, skip_start: int = 10, skip_end: int = 5) -> float:
        """The rate where the smoothed loss falls fastest against ``log(lr)``: the steepest point of the curve.

        The first ``skip_start`` and last ``skip_end`` steps are ignored (the start is dominated by the
        smoothing warming up, the end by the blow-up). A heuristic, not a law: look at the plot too.
        """
        lrs, losses = self._window(skip_start, skip_end)
        return float(lrs[self._steepest(lrs, losses, skip_start, skip_end)])

    def _steepest(self, lrs: np.ndarray, losses: np.ndarray, skip_start: int, skip_end: int) -> int:
        if len(lrs) < 3:
            raise ValueError(f"only {len(lrs)} steps are left after skipping skip_start={skip_start} and "
                             f"skip_end={skip_end} of {len(self.history['lr'])}; the test stopped early or the "
                             "skips are too large: lower them or run more iterations")
        slope = np.gradient(losses, np.log10(lrs))  # d loss / d log10(lr), by central differences
        return int(np.argmin(slope))

    def plot(self, skip_start: int = 10, skip_end: int = 5, log_lr: bool = True, ax: Any = None,
             suggest_lr: bool = True) -> Any:
        """Draw the smoothed loss against the learning rate (and mark :meth:`suggestion`); return the Axes."""
        lrs, losses = self._window(skip_start, skip_end)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
        ax.plot(lrs, losses, color="tab:blue", label="smoothed loss")
        if log_lr:
            ax.set_xscale("log")
        if suggest_lr and len(lrs) >= 3:
            i = self._steepest(lrs, losses, skip_start, skip_end)
            lr = lrs[i]
            ax.scatter([lr], [losses[i]], s=60, color="tab:red", zorder=3,
                       label=f"steepest descent: lr = {lr:.2g}")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("learning-rate range test")
        ax.legend(fontsize=8)
        return ax
