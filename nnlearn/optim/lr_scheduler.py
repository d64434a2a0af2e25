"""Learning-rate schedules: change each param group's ``lr`` as training goes on.

A scheduler wraps an optimizer. Build it once (that sets the step-0 learning rate), then call
``scheduler.step()`` once per step (or per epoch), *after* ``optimizer.step()``::

    opt = SGD(model.parameters(), lr=0.1)
    sched = linear_warmup_cosine(opt, warmup_steps=100, total_steps=1000)
    for batch in data:
        loss = ...; loss.backward()
        opt.step(); opt.zero_grad()
        sched.step()

Every schedule here is written in *closed form*: ``get_lr()`` computes the learning rate of each group from
its base learning rate (the ``lr`` it had when the first scheduler was attached, kept as
``group["initial_lr"]``) and the step counter ``last_epoch``. The sequences equal PyTorch's. (PyTorch
computes most of them recursively from the current ``lr``, which lets two schedulers stepped together
multiply their effects; here the last one to step sets the ``lr``. Combine schedules with
:class:`SequentialLR`.)
"""
from __future__ import annotations

import math
import numbers
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import Any

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
           "SequentialLR", "linear_warmup_cosine"]


class LRScheduler:
    """Base class of the schedulers. A subclass implements :meth:`get_lr`.

    Args:
        optimizer: the optimizer whose param groups' ``lr`` this scheduler sets.
        last_epoch: the index of the last step taken, to resume a schedule; ``-1`` (default) starts a new
            one. Building the scheduler advances it by one, so a new schedule starts at step 0. Resuming
            needs ``"initial_lr"`` in every param group (an optimizer restored from a state dict has it).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an nnlearn.optim.Optimizer, got {type(optimizer).__name__}")
        _check_int("last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])  # the first scheduler attached records the base lr
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param_groups[{i}] has no 'initial_lr', needed to resume a schedule with "
                                   f"last_epoch={last_epoch}; load the optimizer's state dict first")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()  # move to step last_epoch + 1 (step 0 for a new schedule) and set its learning rates

    def get_lr(self) -> list[float]:
        """The learning rate of each param group at step ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self) -> None:
        """Advance the schedule by one step and write the new learning rates into the optimizer."""
        self._set_epoch(self.last_epoch + 1)

    def _set_epoch(self, epoch: int) -> None:
        """Jump to step ``epoch`` and apply its learning rates."""
        self.last_epoch = epoch
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates (one per param group) that the last :meth:`step` set."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, so a checkpoint can resume the schedule."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (the optimizer's ``lr`` is restored with the optimizer)."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``lr_t = base_lr * gamma ** (t // step_size)``
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        _check_int("step_size", step_size, low=1)
        _check_positive("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone step.

    ``lr_t = base_lr * gamma ** (number of milestones <= t)`` (a milestone listed twice counts twice).
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        for i, milestone in enumerate(milestones):
            _check_int(f"milestones[{i}]", milestone, low=0)
        _check_positive("gamma", gamma)
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        passed = bisect_right(self.milestones, self.last_epoch)  # how many milestones are <= t
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every step: ``lr_t = base_lr * gamma ** t``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        _check_positive("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the base learning rate down to ``eta_min`` over ``T_max`` steps.

    ``lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``

    Past ``T_max`` the cosine goes on, back up to ``base_lr`` at ``2 * T_max`` (as in PyTorch); stop
    stepping, or use :class:`SequentialLR`, to stay at ``eta_min``.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_int("T_max", T_max, low=1)
        _check_real("eta_min", eta_min, low=0.0)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2  # 1 at t = 0, 0 at t = T_max
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rate by a factor that moves linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` steps, then stays there. With ``start_factor < 1`` this is a linear warmup.

    ``lr_t = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)``
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        _check_real("start_factor", start_factor, low=0.0, high=1.0, low_inclusive=False)
        _check_real("end_factor", end_factor, low=0.0, high=1.0)
        _check_int("total_iters", total_iters, low=1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        progress = min(self.last_epoch, self.total_iters) / self.total_iters  # 0 → 1, then stays at 1
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        return [base_lr * factor for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the milestone steps.

    ``schedulers[i]`` is in charge from ``milestones[i-1]`` (0 for the first) until ``milestones[i]``, and
    counts its own steps from 0 when it takes over. Typical use: a :class:`LinearLR` warmup, then a
    :class:`CosineAnnealingLR` decay (see :func:`linear_warmup_cosine`).

    Args:
        optimizer: the optimizer all the schedulers were built on.
        schedulers: the schedulers, in order.
        milestones: increasing step indices, one fewer than the schedulers.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an nnlearn.optim.Optimizer, got {type(optimizer).__name__}")
        schedulers, milestones = list(schedulers), list(milestones)
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, got none")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"schedulers[{i}] must be an LRScheduler, got {type(scheduler).__name__}")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"schedulers[{i}] ({type(scheduler).__name__}) was built on a different "
                                 "optimizer; all schedulers must share the SequentialLR's optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(milestones)} milestones")
        for i, milestone in enumerate(milestones):
            _check_int(f"milestones[{i}]", milestone, low=1)
        if any(a >= b for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"milestones must be strictly increasing, got {milestones}")
        self._schedulers = schedulers
        self._milestones = milestones
        super().__init__(optimizer, last_epoch)

    def _active(self) -> tuple[LRScheduler, int]:
        """The scheduler in charge at step ``last_epoch``, and the step at which it took over."""
        i = bisect_right(self._milestones, self.last_epoch)
        return self._schedulers[i], (self._milestones[i - 1] if i > 0 else 0)

    def get_lr(self) -> list[float]:
        scheduler, start = self._active()
        scheduler.last_epoch = self.last_epoch - start  # the active scheduler counts from its own start
        return scheduler.get_lr()

    def _set_epoch(self, epoch: int) -> None:
        self.last_epoch = epoch
        scheduler, start = self._active()
        scheduler._set_epoch(epoch - start)  # also works when the active scheduler is a SequentialLR itself
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for scheduler, saved in zip(self._schedulers, state.pop("_schedulers")):
            scheduler.load_state_dict(saved)
        self.__dict__.update(state)


def linear_warmup_cosine(optimizer: Optimizer, warmup_steps: int, total_steps: int,
                         eta_min: float = 0.0) -> LRScheduler:
    """Linear warmup for ``warmup_steps`` steps, then a cosine decay that reaches ``eta_min`` at ``total_steps``.

    Built from :class:`LinearLR` and :class:`CosineAnnealingLR` inside a :class:`SequentialLR`. The warmup
    climbs in equal increments, ``lr_t = base_lr * (t + 1) / (warmup_steps + 1)`` for ``t < warmup_steps``,
    so it reaches ``base_lr`` exactly at ``t = warmup_steps``, where the cosine takes over; after that
    ``lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * (t - warmup_steps) / (total_steps - warmup_steps))) / 2``.
    With ``warmup_steps=0`` it is the cosine alone.
    """
    _check_int("warmup_steps", warmup_steps, low=0)
    _check_int("total_steps", total_steps, low=1)
    if total_steps <= warmup_steps:
        raise ValueError(f"total_steps must be larger than warmup_steps, got total_steps={total_steps} and "
                         f"warmup_steps={warmup_steps}")
    cosine_steps = total_steps - warmup_steps
    if warmup_steps == 0:
        return CosineAnnealingLR(optimizer, T_max=cosine_steps, eta_min=eta_min)
    # start_factor = 1/(w+1) makes LinearLR's factor (1 + t)/(w + 1): equal steps up to 1 at t = w
    warmup = LinearLR(optimizer, start_factor=1.0 / (warmup_steps + 1), end_factor=1.0, total_iters=warmup_steps)
    decay = CosineAnnealingLR(optimizer, T_max=cosine_steps, eta_min=eta_min)
    return SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])


# ---------------------------------------------------------------------------- argument checks

def _check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")


def _check_real(name: str, value: Any, low: float, high: float | None = None, low_inclusive: bool = True) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    above = value >= low if low_inclusive else value > low
    below = high is None or value <= high
    if not (above and below):
        left = "[" if low_inclusive else "("
        interval = f"{left}{low}, {high}]" if high is not None else f"{'>=' if low_inclusive else '>'} {low}"
        raise ValueError(f"{name} must be {'in ' if high is not None else ''}{interval}, got {value!r}")


def _check_positive(name: str, value: Any) -> None:
    _check_real(name, value, low=0.0, low_inclusive=False)
