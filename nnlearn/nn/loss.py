"""Loss functions as Modules: ``criterion = nn.CrossEntropyLoss(); loss = criterion(scores, labels)``.

Each one stores its options and calls the function of the same name in :mod:`nnlearn.functional`, where the
math and the input checks live. ``reduction`` is ``"mean"`` (default: average over elements/examples),
``"sum"`` or ``"none"`` (one loss per element/example).
"""
from __future__ import annotations

from typing import Any

from .. import functional as F
from ..tensor import Tensor
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """Shared by every loss: validates and stores ``reduction``."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of 'mean', 'sum', 'none', "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with an optional per-class (or per-element) ``weight``, kept as a buffer as in PyTorch."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", None if weight is None or isinstance(weight, Tensor) else Tensor(weight))


class MSELoss(_Loss):
    """Mean squared error ``(input - target)**2``. ``input, target: (*)``, the same shape."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``. ``input, target: (*)``, the same shape."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities: ``-(t log p + (1 - t) log(1 - p))``.

    ``input: (*)`` probabilities in [0, 1] (e.g. after a Sigmoid), ``target: (*)`` in [0, 1];
    ``weight`` (broadcastable to ``(*)``) rescales each element's loss. Prefer :class:`BCEWithLogitsLoss`,
    which is numerically safer.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid and binary cross-entropy in one stable step. ``input: (*)`` logits, ``target: (*)`` in [0, 1].

    Args:
        weight: rescales each element's loss (broadcastable to ``(*)``).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        pos_weight: multiplies the loss of positive targets, e.g. shape ``(C,)`` for ``(N, C)`` inputs.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight",
                             None if pos_weight is None or isinstance(pos_weight, Tensor) else Tensor(pos_weight))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of the target class, for log-probabilities (e.g. after LogSoftmax).

    ``input: (N, C)`` (or ``(N, C, d1, ...)`` or ``(C,)``), ``target: (N,)`` integer class indices;
    ``weight: (C,)`` per-class weights; targets equal to ``ignore_index`` are skipped.
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax and negative log-likelihood in one stable step: the classification loss on raw scores.

    ``input: (N, C)`` logits (or ``(N, C, d1, ...)`` or ``(C,)``), ``target: (N,)`` integer class indices;
    ``weight: (C,)`` per-class weights; targets equal to ``ignore_index`` are skipped; ``label_smoothing``
    in [0, 1] mixes the one-hot target with the uniform distribution.
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge (SVM) loss: ``sum_{j != y} max(0, margin - x[y] + x[j])**p / C`` per example.

    ``input: (N, C)`` scores, ``target: (N,)`` integer class indices, ``p`` 1 or 2, ``weight: (C,)``.
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if isinstance(p, bool) or p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)
