"""Classification metrics in plain NumPy: accuracy, precision, recall and the confusion matrix.

Every metric takes the model's raw ``output`` and the true ``target`` (NumPy arrays or Tensors) and turns
the output into predicted class labels with :func:`to_labels`:

* ``output: (N, C)`` with ``C >= 2`` — one score per class (logits or probabilities): the label is the
  argmax over the classes;
* ``output: (N,)`` or ``(N, 1)`` of floats — one score per sample for a binary problem. The rule (the same
  as torchmetrics'): if every score lies in ``[0, 1]`` the scores are read as probabilities, otherwise as
  logits and passed through the sigmoid first; then ``probability > threshold`` (0.5) means class 1.
  A logit of exactly 0 (probability 0.5) is class 0. Caveat: logits that all happen to lie in ``[0, 1]``
  (a freshly initialised model can produce such) would be read as probabilities — pass
  ``from_logits=True`` to say what the scores are;
* ``output: (N,)`` of integers or booleans — already predicted labels, used as they are.

``target`` holds class labels, shape ``(N,)`` or ``(N, 1)`` (ints, bools, or floats with whole values such
as the 0./1. targets of a BCE loss), or one-hot / probability rows of the same ``(N, C)`` shape as
``output``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..tensor import Tensor

__all__ = ["accuracy", "confusion_matrix", "precision", "recall", "to_labels", "METRICS"]


def _as_array(x: Any, name: str) -> np.ndarray:
    """A NumPy view of a Tensor, array or list (metrics never need gradients)."""
    array = np.asarray(x.data if isinstance(x, Tensor) else x)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
    return array


def to_labels(output: Any, threshold: float = 0.5, from_logits: bool | None = None) -> np.ndarray:
    """Predicted class labels ``(N,)`` (int64) from a model's ``output`` (see the module docstring).

    Args:
        output: ``(N, C)`` class scores, ``(N,)``/``(N, 1)`` binary scores, or ``(N,)`` integer labels.
        threshold: probability above which a binary score means class 1.
        from_logits: for binary scores, ``True`` = logits, ``False`` = probabilities, ``None`` = guess
            (probabilities when every score is in ``[0, 1]``).
    """
    scores = _as_array(output, "output")
    if scores.ndim == 2 and scores.shape[1] >= 2:
        return scores.argmax(axis=1).astype(np.int64)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise ValueError(f"output must have shape (N, C), (N, 1) or (N,), got shape {scores.shape}")
    if scores.dtype.kind in "biu":  # already labels
        return scores.astype(np.int64)
    if from_logits is None:
        from_logits = bool(scores.size) and not (np.all(scores >= 0) and np.all(scores <= 1))
    if from_logits:
        # the sigmoid, written with exp(-|s|) so that large logits of either sign cannot overflow
        squashed = 1 / (1 + np.exp(-np.abs(scores)))
        scores = np.where(scores >= 0, squashed, 1 - squashed)
    return (scores > threshold).astype(np.int64)


def _target_labels(target: Any, output: np.ndarray) -> np.ndarray:
    """True labels ``(N,)`` as int64, after checking ``target`` against ``output``: (N, ...)."""
    labels = _as_array(target, "target")
    if labels.ndim == 2 and labels.shape[1] >= 2:
        if labels.shape != output.shape:
            raise ValueError(f"target of shape {labels.shape} looks one-hot, so it must match output's shape "
                             f"{output.shape}")
        labels = labels.argmax(axis=1)
    elif labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"target must have shape (N,) or (N, 1) with class labels, got shape {labels.shape}")
    if len(labels) != len(output):
        raise ValueError(f"output and target must have the same number of samples: output has shape "
                         f"{output.shape}, target has shape {labels.shape}")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            bad = labels[~(np.isfinite(labels) & (labels == np.round(labels)))][0]
            raise ValueError(f"target must hold class labels (whole numbers), got the value {bad:g}; "
                             "for a regression model pass metrics=() to fit/evaluate")
    if labels.size and labels.min() < 0:
        raise ValueError(f"target must hold class labels >= 0, got {labels.min()}")
    return labels.astype(np.int64)


def _labels_pair(output: Any, target: Any, threshold: float, from_logits: bool | None):
    scores = _as_array(output, "output")
    true = _target_labels(target, scores)
    if len(true) == 0:
        raise ValueError("output and target are empty: a metric needs at least one sample")
    return to_labels(scores, threshold, from_logits), true, scores


def accuracy(output: Any, target: Any, threshold: float = 0.5, from_logits: bool | None = None) -> float:
    """Fraction of samples whose predicted label equals the true label.

    ``output``: ``(N, C)`` / ``(N,)`` / ``(N, 1)`` (see :func:`to_labels`); ``target``: ``(N,)`` labels.
    """
    predicted, true, _ = _labels_pair(output, target, threshold, from_logits)
    return float(np.mean(predicted == true))


def confusion_matrix(output: Any, target: Any, num_classes: int | None = None, threshold: float = 0.5,
                     from_logits: bool | None = None) -> np.ndarray:
    """``(C, C)`` int64 counts: row = true class, column = predicted class (scikit-learn's layout).

    ``num_classes`` defaults to ``C`` for ``(N, C)`` output, 2 for binary scores, else the largest label + 1.
    """
    predicted, true, scores = _labels_pair(output, target, threshold, from_logits)
    if num_classes is None:
        if scores.ndim == 2 and scores.shape[1] >= 2:
            num_classes = scores.shape[1]
        elif scores.dtype.kind == "f":
            num_classes = 2
        else:
            num_classes = 0
        num_classes = max(num_classes, int(true.max()) + 1, int(predicted.max()) + 1)
    elif max(true.max(), predicted.max()) >= num_classes:
        raise ValueError(f"num_classes is {num_classes} but the labels go up to {max(true.max(), predicted.max())}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)  # add.at counts repeated (true, predicted) pairs correctly
    return matrix


def _per_class(kind: str, output, target, average, num_classes, threshold, from_logits):
    if average not in ("binary", "macro", None):
        raise ValueError(f"average must be 'binary', 'macro' or None, got {average!r}")
    matrix = confusion_matrix(output, target, num_classes, threshold, from_logits)
    hits = np.diag(matrix).astype(np.float64)
    # precision divides by what was predicted as the class (columns), recall by what truly is (rows)
    totals = matrix.sum(axis=0 if kind == "precision" else 1).astype(np.float64)
    # 0/0 (a class never predicted, or never present) counts as 0, as scikit-learn's zero_division=0 does
    scores = np.divide(hits, totals, out=np.zeros_like(hits), where=totals > 0)
    if average == "binary":
        if len(scores) != 2:
            raise ValueError(f"average='binary' needs a two-class problem, found {len(scores)} classes; "
                             "pass average='macro' (mean over classes) or average=None (one per class)")
        return float(scores[1])  # the positive class
    if average == "macro":
        return float(scores.mean())
    return scores


def precision(output: Any, target: Any, average: str | None = "binary", num_classes: int | None = None,
              threshold: float = 0.5, from_logits: bool | None = None) -> float | np.ndarray:
    """Of the samples predicted as a class, the fraction that truly are: ``TP / (TP + FP)``.

    ``average``: ``"binary"`` — the positive class 1 of a two-class problem; ``"macro"`` — the mean over
    classes; ``None`` — an array with one value per class.
    """
    return _per_class("precision", output, target, average, num_classes, threshold, from_logits)


def recall(output: Any, target: Any, average: str | None = "binary", num_classes: int | None = None,
           threshold: float = 0.5, from_logits: bool | None = None) -> float | np.ndarray:
    """Of the samples that truly are a class, the fraction predicted as it: ``TP / (TP + FN)``.

    ``average`` as in :func:`precision`.
    """
    return _per_class("recall", output, target, average, num_classes, threshold, from_logits)


#: Metrics that ``fit``/``evaluate`` accept by name, e.g. ``metrics=("accuracy", "recall")``.
METRICS: dict[str, Callable[..., float]] = {"accuracy": accuracy, "precision": precision, "recall": recall}
