"""Optimizers and learning-rate schedules, named and behaving like ``torch.optim``.

>>> from nnlearn import optim
>>> opt = optim.Adam(model.parameters(), lr=1e-3)                       # doctest: +SKIP
>>> sched = optim.lr_scheduler.linear_warmup_cosine(opt, 100, 1000)     # doctest: +SKIP

An optimizer reads each parameter's ``.grad`` and updates ``.data`` in place; ``zero_grad()`` clears the
gradients for the next ``backward()``. A scheduler changes the param groups' ``lr`` over time.
"""
from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
