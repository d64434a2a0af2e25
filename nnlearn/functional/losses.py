"""Loss functions, PyTorch's names and semantics.

Regression losses compare ``input`` and ``target`` of the same shape ``(*)``; classification losses take
scores ``input: (N, C)`` (or ``(N, C, d1, ...)``, or one example ``(C,)``) and integer class indices
``target: (N,)`` (or ``(N, d1, ...)``, or ``()``).

Every loss takes ``reduction``: ``"mean"`` (the default) averages the per-element losses, ``"sum"`` adds them,
``"none"`` returns them unreduced. Options after ``weight`` are keyword-only: in PyTorch they follow two
deprecated positional arguments, so only the keyword form means the same thing in both libraries.

Most losses are compositions of Tensor ops, so autograd derives their gradients. The two that need care
with floating point -- binary cross-entropy on probabilities (log(0)) and on logits (exp overflow) -- are
Functions with their gradient written out.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Context, Function
from ..device import array_module
from ..tensor import Tensor
from . import _checks as checks
from .activations import log_softmax, relu, softplus_array, stable_sigmoid


# ---------------------------------------------------------------------------------------------- helpers
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float_input(input: Any, fn: str) -> Tensor:
    input = checks.as_tensor(input, "input", fn)
    checks.require_float(input, "input", fn)
    checks.check_not_empty(input, "input", fn)
    return input


def _like_input(x: Any, name: str, input: Tensor, fn: str) -> Tensor:
    """A target or weight as a Tensor of the input's dtype (so float64 labels do not upcast a float32 loss)."""
    x = checks.as_tensor(x, name, fn)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must be numeric, got dtype {x.dtype}")
    return x if x.dtype == input.dtype else x.astype(input.dtype)


def _elementwise_pair(input: Any, target: Any, fn: str, reduction: str) -> tuple[Tensor, Tensor]:
    checks.check_reduction(reduction, fn)
    input = _float_input(input, fn)
    target = _like_input(target, "target", input, fn)
    checks.check_same_shape(input, target, fn)
    return input, target


# ---------------------------------------------------------------------------------------------- regression
def mse_loss(input: Any, target: Any, *, reduction: str = "mean") -> Tensor:
    """Mean squared error: (input - target)² per element. ``input, target: (*)``, the same shape."""
    input, target = _elementwise_pair(input, target, "mse_loss", reduction)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Any, target: Any, *, reduction: str = "mean") -> Tensor:
    """Mean absolute error: |input - target| per element. ``input, target: (*)``, the same shape."""
    input, target = _elementwise_pair(input, target, "l1_loss", reduction)
    return _reduce((input - target).abs(), reduction)


# ---------------------------------------------------------------------------------------------- binary
_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's floor, a float32 constant (9.99999996e-13 in float64)


class BinaryCrossEntropy(Function):
    """-w [t log x + (1 - t) log(1 - x)] per element, with each log clamped at -100 as PyTorch does, so a
    confident wrong prediction (x = 0 or 1 exactly) costs 100 instead of infinity."""

    @staticmethod
    def forward(ctx: Context, x, t, w):
        with np.errstate(divide="ignore"):  # log(0) = -inf is expected here; the clamp handles it
            log_x = np.maximum(np.log(x), -100.0)
            log_1mx = np.maximum(np.log(1.0 - x), -100.0)
        unweighted = -(t * log_x + (1.0 - t) * log_1mx)
        ctx.save_for_backward(x, t, w, log_x, log_1mx, unweighted)
        return unweighted if w is None else w * unweighted

    @staticmethod
    def backward(ctx: Context, grad):
        x, t, w, log_x, log_1mx, unweighted = ctx.saved
        g = grad if w is None else grad * w
        # dL/dx = -t/x + (1 - t)/(1 - x) = (x - t) / (x (1 - x)); the floor avoids 0/0 at x = 0 or 1
        grad_x = g * (x - t) / np.maximum(x * (1.0 - x), _BCE_EPSILON)
        grad_t = g * (log_1mx - log_x)
        grad_w = None if w is None else grad * unweighted
        return grad_x, grad_t, grad_w


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, *, reduction: str = "mean") -> Tensor:
    """Cross-entropy between predicted probabilities and binary (or soft) targets.

    ``input: (*)`` probabilities in [0, 1] (after a sigmoid), ``target: (*)`` the same shape, values in [0, 1];
    ``weight`` (optional) rescales each element's loss and must broadcast to ``(*)``.
    Prefer :func:`binary_cross_entropy_with_logits`, which takes the scores before the sigmoid and is stabler.
    """
    fn = "binary_cross_entropy"
    input, target = _elementwise_pair(input, target, fn, reduction)
    low, high = float(input.data.min()), float(input.data.max())
    if not (0.0 <= low and high <= 1.0):  # written this way round so NaN fails too
        raise ValueError(f"{fn}: input must hold probabilities in [0, 1], got values from {low} to {high}; "
                         f"apply sigmoid first, or pass raw scores to binary_cross_entropy_with_logits")
    if weight is not None:
        weight = _like_input(weight, "weight", input, fn)
        checks.check_broadcastable_to(weight, input.shape, "weight", fn)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


class BinaryCrossEntropyWithLogits(Function):
    """BCE on σ(x), computed from x directly: with ℓ = 1 + (pos_weight - 1) t,

        loss = w [(1 - t) x + ℓ softplus(-x)]

    because -log σ(x) = softplus(-x) and -log(1 - σ(x)) = x + softplus(-x). softplus is evaluated without
    overflow, so logits of ±1e4 give finite losses and gradients.
    """

    @staticmethod
    def forward(ctx: Context, x, t, w, pos_weight):
        sp = softplus_array(-x)  # -log σ(x)
        ell = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * t
        unweighted = (1.0 - t) * x + ell * sp
        ctx.save_for_backward(x, t, w, pos_weight, ell, sp, unweighted)
        return unweighted if w is None else w * unweighted

    @staticmethod
    def backward(ctx: Context, grad):
        x, t, w, pos_weight, ell, sp, unweighted = ctx.saved
        g = grad if w is None else grad * w
        grad_x = g * ((1.0 - t) - ell * stable_sigmoid(-x))  # d softplus(-x)/dx = -σ(-x); = σ(x) - t if ℓ = 1
        grad_t = g * (-x if pos_weight is None else -x + (pos_weight - 1.0) * sp)
        grad_w = None if w is None else grad * unweighted
        grad_pw = None if pos_weight is None else g * t * sp
        return grad_x, grad_t, grad_w, grad_pw


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None, *, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one numerically stable step.

    ``input: (*)`` raw scores (logits), ``target: (*)`` the same shape, values in [0, 1]. ``weight`` rescales
    each element's loss; ``pos_weight`` (e.g. ``(C,)`` for ``(N, C)``) multiplies the loss of positive targets,
    trading recall against precision. Both must broadcast to ``(*)``.
    """
    fn = "binary_cross_entropy_with_logits"
    input, target = _elementwise_pair(input, target, fn, reduction)
    if weight is not None:
        weight = _like_input(weight, "weight", input, fn)
        checks.check_broadcastable_to(weight, input.shape, "weight", fn)
    if pos_weight is not None:
        pos_weight = _like_input(pos_weight, "pos_weight", input, fn)
        checks.check_broadcastable_to(pos_weight, input.shape, "pos_weight", fn)
    return _reduce(BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight), reduction)


def hinge_loss(input: Any, target: Any, margin: float = 1.0, *, reduction: str = "mean") -> Tensor:
    """The binary SVM hinge loss max(0, margin - y x) per element, with labels y in {-1, +1}.

    ``input: (*)`` raw scores, ``target: (*)`` the same shape. (PyTorch has no direct equivalent; its
    ``hinge_embedding_loss`` is a different loss.)
    """
    fn = "hinge_loss"
    margin = checks.check_number(margin, "margin", fn)
    input, target = _elementwise_pair(input, target, fn, reduction)
    bad = (target.data != 1) & (target.data != -1)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{fn}: target values must be -1 or +1, got {target.data[position]} at position "
                         f"{position} (for labels in {{0, 1}} use 2 * target - 1)")
    return _reduce(relu(margin - target * input), reduction)


# ---------------------------------------------------------------------------------------------- multi-class
def _class_inputs(input: Any, target: Any, fn: str, reduction: str,
                  ignore_index: int | None = None) -> tuple[Tensor, Tensor, int]:
    """Validate scores ``(N, C, d1, ...)`` / ``(C,)`` and labels ``(N, d1, ...)`` / ``()``; return C too."""
    checks.check_reduction(reduction, fn)
    input = _float_input(input, fn)
    target = checks.as_tensor(target, "target", fn)
    checks.require_class_indices(target, "target", fn)
    checks.check_class_target_shape(input, target, fn)
    num_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    checks.check_class_range(target, num_classes, fn, ignore_index)
    return input, target, num_classes


def _class_weight(weight: Any, input: Tensor, num_classes: int, fn: str) -> np.ndarray:
    """Per-class weights as a constant array ``(C,)`` (all ones when not given)."""
    if weight is None:
        return array_module(input.data).ones(num_classes, dtype=input.dtype)
    weight = checks.as_tensor(weight, "weight", fn)
    if weight.shape != (num_classes,):
        raise ValueError(f"{fn}: weight must have one entry per class, shape ({num_classes},), "
                         f"got shape {weight.shape}")
    return weight.data.astype(input.dtype)


def _scores_last(input: Tensor) -> Tensor:
    """Scores ``(N, C, d1, ...)`` or ``(C,)`` as a matrix ``(M, C)``, one row per labelled position."""
    if input.ndim == 1:
        return input.reshape(1, -1)
    if input.ndim > 2:  # move the class dim last: (N, d1, ..., C)
        input = input.permute(0, *range(2, input.ndim), 1)
    return input.reshape(-1, input.shape[-1])


def nll_loss(input: Any, target: Any, weight: Any = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target classes: -weight[y] * input[y] per example.

    ``input: (N, C)`` log-probabilities (e.g. from :func:`log_softmax`), or ``(N, C, d1, ...)``, or ``(C,)``;
    ``target: (N,)`` class indices in [0, C) (or ``(N, d1, ...)``, or ``()``); ``weight: (C,)`` optional
    per-class weights. Examples whose target is ``ignore_index`` contribute nothing. ``"mean"`` divides by the
    total weight of the counted examples (the number of them when unweighted), as PyTorch does.
    """
    fn = "nll_loss"
    input, target, num_classes = _class_inputs(input, target, fn, reduction, ignore_index)
    return _nll(input, target, _class_weight(weight, input, num_classes, fn), ignore_index, reduction)


def _nll(input: Tensor, target: Tensor, class_weight: np.ndarray, ignore_index: int, reduction: str) -> Tensor:
    labels = target.data.reshape(-1)
    counted = labels != ignore_index
    safe = np.where(counted, labels, 0)  # any valid index for ignored rows; their weight below is 0
    w = np.where(counted, class_weight[safe], 0).astype(input.dtype)  # (M,)
    picked = _scores_last(input)[array_module(labels).arange(labels.size), safe]  # input[i, y_i], differentiable: (M,)
    losses = -picked * w
    if reduction == "none":
        return losses.reshape(*target.shape)
    if reduction == "sum":
        return losses.sum()
    total = float(w.sum())  # every target ignored -> 0/0 = nan, like PyTorch
    return losses.sum() * (1.0 / total if total != 0 else np.nan)


def cross_entropy(input: Any, target: Any, weight: Any = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax + negative log-likelihood in one stable step: -log softmax(input)[y] per example.

    ``input: (N, C)`` raw scores (logits), or ``(N, C, d1, ...)``, or ``(C,)``; ``target: (N,)`` integer
    class indices in [0, C) (or ``(N, d1, ...)``, or ``()``); ``weight: (C,)`` optional per-class weights.
    ``label_smoothing`` ε mixes the one-hot target with the uniform distribution: the loss becomes
    (1 - ε) nll + ε/C * sum_c -weight[c] log p_c, PyTorch's definition. Targets that are probabilities
    (PyTorch's other mode) are not supported.
    """
    fn = "cross_entropy"
    label_smoothing = checks.check_probability(label_smoothing, "label_smoothing", fn)
    input, target, num_classes = _class_inputs(input, target, fn, reduction, ignore_index)
    class_weight = _class_weight(weight, input, num_classes, fn)
    log_p = log_softmax(input, dim=0 if input.ndim == 1 else 1)  # fused: never forms softmax, never log(0)
    loss = _nll(log_p, target, class_weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return loss
    # The uniform part: -sum_c weight[c] log p_c for every counted example (ignored ones give 0).
    counted = (target.data != ignore_index).reshape(-1).astype(input.dtype)
    smooth = -(_scores_last(log_p) * class_weight).sum(axis=1) * counted  # (M,)
    if reduction == "none":
        smooth = smooth.reshape(*target.shape)
    elif reduction == "sum":
        smooth = smooth.sum()
    else:  # normalised like the nll part: by the total weight of the counted targets
        labels = np.where(counted > 0, target.data.reshape(-1), 0)
        total = float((class_weight[labels] * counted).sum())
        smooth = smooth.sum() * (1.0 / total if total != 0 else np.nan)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / num_classes)


def multi_margin_loss(input: Any, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None, *,
                      reduction: str = "mean") -> Tensor:
    """Multi-class SVM (hinge) loss, as ``torch.nn.functional.multi_margin_loss``.

    For one example with scores x: (C,) and label y:
    loss = sum_{j != y} weight[y] * max(0, margin - x[y] + x[j])^p / C,
    so every wrong class scoring within ``margin`` of the right one is penalised.
    ``input: (N, C)`` or ``(C,)``, ``target: (N,)`` or ``()``, ``p`` 1 or 2, ``weight: (C,)`` optional.
    """
    fn = "multi_margin_loss"
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{fn}: p must be 1 or 2, got {p!r}")
    margin = checks.check_number(margin, "margin", fn)
    input, target, num_classes = _class_inputs(input, target, fn, reduction)
    if input.ndim > 2:
        raise ValueError(f"{fn}: input must have shape (N, C) or (C,), got shape {input.shape}")
    class_weight = _class_weight(weight, input, num_classes, fn)
    scores = _scores_last(input)  # (N, C)
    labels = target.data.reshape(-1)
    xp = array_module(labels)  # numpy, or cupy for tensors on the GPU
    rows = xp.arange(labels.size)
    right = scores[rows, labels].reshape(-1, 1)  # x[y]: (N, 1)
    others = xp.ones(scores.shape, dtype=input.dtype)
    others[rows, labels] = 0  # the j = y term is left out of the sum
    hinge = relu(margin - right + scores)  # (N, C)
    if p == 2:
        hinge = hinge * hinge
    per_class = hinge * (others * class_weight[labels].reshape(-1, 1))
    losses = per_class.sum(axis=1) / num_classes  # (N,)
    if reduction == "none":
        return losses.reshape(*target.shape)
    return _reduce(losses, reduction)


def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """Integer labels ``(*)`` -> int64 one-hot rows ``(*, num_classes)``; ``num_classes=-1`` uses max + 1."""
    fn = "one_hot"
    labels = checks.as_tensor(labels, "labels", fn)
    checks.require_class_indices(labels, "labels", fn)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"{fn}: num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError(f"{fn}: cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(labels.data.max()) + 1
    if num_classes < 1:
        raise ValueError(f"{fn}: num_classes must be a positive int (or -1 to infer it), got {num_classes}")
    bad = (labels.data < 0) | (labels.data >= num_classes)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{fn}: labels must be in [0, {num_classes - 1}] for num_classes={num_classes}, "
                         f"got {int(labels.data[position])} at position {position}")
    classes = array_module(labels.data).arange(num_classes)
    return Tensor((labels.data[..., None] == classes).astype(np.int64))
