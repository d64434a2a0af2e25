"""Where does the time of a training run go? ``profile_fit`` answers at two levels.

1. **Phases.** Every training step does the same four things: fetch a batch (*data*), compute the output
   and the loss (*forward*), compute the gradients (*backward*), update the weights (*optimizer*:
   ``zero_grad`` and ``step``). ``profile_fit`` runs the ordinary :func:`~nnlearn.train.fit` with thin
   timing wrappers around the loader, the loss function and the optimizer, and a callback that notes when
   the backward pass has ended, so each phase's wall-clock time is measured with ``time.perf_counter``.
   Evaluating on the validation set is a phase of its own; *other* is what is left (callbacks, metrics,
   the history, the progress bar).
2. **Functions.** The same run executes under :mod:`cProfile`, the standard library's deterministic
   profiler, which counts every Python function call and the time spent in it. ``top_functions`` lists the
   functions with the most time: ``tottime`` is the time inside the function itself, ``cumtime`` includes
   everything it called.

cProfile makes every Python function call slower (by a microsecond or so), so code made of many small
Python calls looks slower under it than it is; NumPy's compiled loops are not slowed. For the phase times
alone, pass ``cprofile=False``.

>>> profile = profile_fit(model, train_loader, loss_fn, optimizer, epochs=5)     # doctest: +SKIP
>>> print(profile.phase_table())                                                   # doctest: +SKIP
phase        seconds  share  ms/step
data           0.071   9.8%    0.355
forward        0.250  34.4%    1.250
...
>>> print(profile.top_table(5))                                                    # doctest: +SKIP
"""
from __future__ import annotations

import cProfile
import numbers
import os
import pstats
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .callbacks import Callback
from .fit import _check_loader, fit
from .history import History

__all__ = ["FunctionStat", "PHASES", "TrainingProfile", "profile_fit"]

# The phases, in the order a training step goes through them (validation once per epoch, other: the rest).
PHASES = ("data", "forward", "backward", "optimizer", "validation", "other")
SORT_KEYS = ("tottime", "cumtime", "ncalls")


# ---------------------------------------------------------------------- the stopwatch and the wrappers
class _Clock:
    """The phase totals, and the moments within the current step that the wrappers share."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.steps = 0
        self.batch_ready = 0.0        # when the loader handed over the current batch
        self.zero_grad_in_step = 0.0  # zero_grad's time inside the current forward window
        self.loss_done = None         # when the current step's loss was computed (None: not yet)
        self.validating = False       # inside the validation loop: the loss calls there are not training


class _TimedLoader:
    """Iterates like ``loader``, adding the time each batch takes to arrive to ``phase``.

    For the training loader that time is *data*. For the validation loader the whole pass, model included,
    is *validation*, so there the clock runs from the first request to the end of the pass.
    """

    def __init__(self, loader: Iterable, clock: _Clock, phase: str) -> None:
        self.loader, self.clock, self.phase = loader, clock, phase

    def __len__(self) -> int:
        return len(self.loader)  # fit shows "batch 3 of 8" in messages when the loader has a length

    def __iter__(self) -> Iterator[Any]:
        if self.phase == "validation":
            yield from self._validation_pass()
            return
        batches = iter(self.loader)
        while True:
            start = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                self.clock.seconds["data"] += time.perf_counter() - start
                return
            now = time.perf_counter()
            self.clock.seconds["data"] += now - start
            self.clock.batch_ready, self.clock.zero_grad_in_step, self.clock.loss_done = now, 0.0, None
            self.clock.steps += 1
            yield batch

    def _validation_pass(self) -> Iterator[Any]:
        start = time.perf_counter()
        self.clock.validating = True
        try:
            yield from self.loader
        finally:  # runs when the pass is exhausted (or abandoned)
            self.clock.validating = False
            self.clock.seconds["validation"] += time.perf_counter() - start


class _TimedLoss:
    """Calls ``loss_fn``; in a training step, the time from the batch's arrival to here is *forward*."""

    def __init__(self, loss_fn: Callable, clock: _Clock) -> None:
        self.loss_fn, self.clock = loss_fn, clock

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        loss = self.loss_fn(*args, **kwargs)
        if not self.clock.validating:
            now = time.perf_counter()
            self.clock.seconds["forward"] += now - self.clock.batch_ready - self.clock.zero_grad_in_step
            self.clock.loss_done = now
        return loss


class _TimedOptimizer:
    """Behaves as ``optimizer`` (every attribute is the optimizer's), timing ``zero_grad`` and ``step``."""

    def __init__(self, optimizer: Any, clock: _Clock) -> None:
        object.__setattr__(self, "_optimizer", optimizer)
        object.__setattr__(self, "_clock", clock)

    def zero_grad(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._optimizer.zero_grad(*args, **kwargs)
        finally:
            spent = time.perf_counter() - start
            self._clock.seconds["optimizer"] += spent
            self._clock.zero_grad_in_step += spent  # not part of the forward window it sits in

    def step(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._optimizer.step(*args, **kwargs)
        finally:
            self._clock.seconds["optimizer"] += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:  # param_groups, state, ...: read through to the optimizer
        if name == "_optimizer":  # only reached before __init__ has run (e.g. while copying): no recursion
            raise AttributeError(name)
        return getattr(self._optimizer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._optimizer, name, value)


class _BackwardTimer(Callback):
    """Runs first in ``after_backward``: the time since the loss was computed is *backward*."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock

    def after_backward(self, state: Any) -> None:
        if self.clock.loss_done is not None:
            self.clock.seconds["backward"] += time.perf_counter() - self.clock.loss_done
            self.clock.loss_done = None


# ---------------------------------------------------------------------- the result
@dataclass(frozen=True)
class FunctionStat:
    """One row of the profiler's table.

    Attributes:
        function: where it is defined, ``"nnlearn/tensor.py:210(matmul)"``, or the name of a built-in
            (``"<method 'reduce' of 'numpy.ufunc' objects>"``).
        ncalls: how many times it was called.
        tottime: seconds spent in the function itself, not in the functions it called.
        cumtime: seconds from entering it to returning, everything it called included.
    """

    function: str
    ncalls: int
    tottime: float
    cumtime: float


def _short_path(filename: str) -> str:
    """``/long/path/site-packages/numpy/core/fromnumeric.py`` -> ``numpy/core/fromnumeric.py``."""
    parts = filename.replace(os.sep, "/").split("/")
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts[:-1]:
            index = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[index + 1:])
    if "nnlearn" in parts[:-1]:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("nnlearn"):])
    return "/".join(parts[-2:])


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~" and line == 0:  # a built-in function (C code): no file to point at
        return name
    return f"{_short_path(filename)}:{line}({name})"


class TrainingProfile:
    """What :func:`profile_fit` measured.

    Attributes:
        history: the :class:`~nnlearn.train.History` that ``fit`` returned.
        wall_time: seconds the whole ``fit`` call took.
        phases: seconds per phase, ``{"data": ..., "forward": ..., "backward": ..., "optimizer": ...,
            "validation": ..., "other": ...}``; they add up to ``wall_time``.
        steps: the number of training steps (batches) taken.
        stats: the :class:`pstats.Stats` of the run (``None`` with ``cprofile=False``).
    """

    def __init__(self, history: History, wall_time: float, phases: dict[str, float], steps: int,
                 stats: pstats.Stats | None) -> None:
        self.history = history
        self.wall_time = wall_time
        self.phases = phases
        self.steps = steps
        self.stats = stats

    @property
    def compute_time(self) -> float:
        """Seconds of training computation: forward + backward + optimizer."""
        return self.phases["forward"] + self.phases["backward"] + self.phases["optimizer"]

    @property
    def data_fraction(self) -> float:
        """The share of the training steps' time spent waiting for data: data / (data + compute)."""
        total = self.phases["data"] + self.compute_time
        return self.phases["data"] / total if total > 0 else 0.0

    def phase_table(self) -> str:
        """The phases as aligned text: seconds, share of the wall time, milliseconds per training step."""
        lines = [f"{'phase':<11}{'seconds':>9}{'share':>8}{'ms/step':>9}"]
        for phase in PHASES:
            seconds = self.phases[phase]
            share = seconds / self.wall_time if self.wall_time > 0 else 0.0
            per_step = 1e3 * seconds / self.steps if self.steps else 0.0
            lines.append(f"{phase:<11}{seconds:>9.3f}{share:>8.1%}{per_step:>9.3f}")
        lines.append(f"{'total':<11}{self.wall_time:>9.3f}{1:>8.1%}"
                     f"{1e3 * self.wall_time / max(self.steps, 1):>9.3f}")
        return "\n".join(lines)

    def top_functions(self, n: int = 10, sort: str = "tottime") -> list[FunctionStat]:
        """The ``n`` functions with the largest ``sort`` value (``"tottime"``, ``"cumtime"`` or ``"ncalls"``)."""
        if self.stats is None:
            raise RuntimeError("this profile has no function statistics: it was made with cprofile=False")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        if sort not in SORT_KEYS:
            raise ValueError(f"sort must be one of {SORT_KEYS}, got {sort!r}")
        rows = [FunctionStat(_function_name(key), int(ncalls), float(tottime), float(cumtime))
                for key, (_, ncalls, tottime, cumtime, _) in self.stats.stats.items()]
        rows.sort(key=lambda row: getattr(row, sort), reverse=True)
        return rows[:int(n)]

    def top_table(self, n: int = 10, sort: str = "tottime", width: int = 70) -> str:
        """:meth:`top_functions` as aligned text, with the function names cut to ``width`` characters."""
        rows = self.top_functions(n, sort)
        lines = [f"{'ncalls':>8}{'tottime':>9}{'cumtime':>9}  function"]
        for row in rows:
            name = row.function if len(row.function) <= width else "..." + row.function[-(width - 3):]
            lines.append(f"{row.ncalls:>8}{row.tottime:>9.3f}{row.cumtime:>9.3f}  {name}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        text = [f"TrainingProfile: {self.steps} training steps in {self.wall_time:.3f} s "
                f"(data {self.data_fraction:.1%} of data + compute)", self.phase_table()]
        if self.stats is not None:
            text += ["", "top functions by own time (cProfile):", self.top_table(10)]
        return "\n".join(text)


# ---------------------------------------------------------------------- the entry point
def profile_fit(model: Any, train_loader: Iterable, loss_fn: Callable, optimizer: Any, epochs: int, *,
                cprofile: bool = True, progress: bool | str = False, **fit_kwargs: Any) -> TrainingProfile:
    """Run ``fit(model, train_loader, loss_fn, optimizer, epochs, ...)`` and measure where its time goes.

    The training itself is exactly ``fit``'s (same batches, same updates, same history); only timers are
    added. Arguments are ``fit``'s (``val_loader``, ``metrics``, ``callbacks``, ``scheduler``, ...);
    ``progress`` defaults to ``False`` here, so that drawing a bar is not part of what is measured.

    Args:
        cprofile: also run under :mod:`cProfile` for per-function statistics (slower Python calls while it
            runs); ``False`` measures the phases only.

    Returns:
        a :class:`TrainingProfile`: ``phases`` (seconds per phase), ``phase_table()``, ``top_functions()``.
    """
    if not isinstance(cprofile, bool):
        raise TypeError(f"cprofile must be True or False, got {cprofile!r}")
    if "live_plot" in fit_kwargs and fit_kwargs["live_plot"]:
        raise ValueError("profile_fit measures training, not drawing: pass live_plot=False (the default)")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, e.g. nn.CrossEntropyLoss(), got {type(loss_fn).__name__}")
    # fit's own checks, before wrapping: a wrong argument gets the message fit gives for it
    _check_loader(train_loader, "train_loader")
    val_loader = fit_kwargs.pop("val_loader", None)
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    if not (callable(getattr(optimizer, "zero_grad", None)) and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer must have zero_grad() and step() (e.g. optim.SGD), got {type(optimizer).__name__}")

    clock = _Clock()
    timed_loader = _TimedLoader(train_loader, clock, "data")
    if val_loader is not None:
        val_loader = _TimedLoader(val_loader, clock, "validation")
    timed_optimizer = _TimedOptimizer(optimizer, clock)
    callbacks = fit_kwargs.pop("callbacks", ())
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Iterable):
        raise TypeError(f"callbacks must be a list of Callback objects, got {type(callbacks).__name__}; "
                        "wrap a single callback in a list: callbacks=[...]")
    # the backward timer goes first, so that other callbacks' after_backward work (clipping) is not counted
    callbacks = [_BackwardTimer(clock), *callbacks]

    arguments = (model, timed_loader, _TimedLoss(loss_fn, clock), timed_optimizer, epochs)
    options = dict(val_loader=val_loader, callbacks=callbacks, progress=progress, **fit_kwargs)
    profiler = cProfile.Profile() if cprofile else None
    start = time.perf_counter()
    history = profiler.runcall(fit, *arguments, **options) if profiler else fit(*arguments, **options)
    wall_time = time.perf_counter() - start

    phases = dict(clock.seconds)
    phases["other"] = max(wall_time - sum(phases[p] for p in PHASES if p != "other"), 0.0)
    stats = pstats.Stats(profiler) if profiler else None
    return TrainingProfile(history, wall_time, phases, clock.steps, stats)

