"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` (per channel, over the batch) and ``LayerNorm``
(per sample, over its last dimensions).

Batch norm behaves differently in the two modes. In training (``model.train()``) it normalises with the
statistics of the current batch and folds them into running averages; in evaluation (``model.eval()``) it
normalises with those running averages, so a prediction does not depend on which other examples share its batch.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..functional.normalization import normalized_shape_tuple
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


def _check_positive_int(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be positive, got {value}")
    return int(value)


def _check_eps(eps: Any, owner: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, Real):
        raise TypeError(f"{owner}: eps must be a number, got {type(eps).__name__}")
    if not eps >= 0:
        raise ValueError(f"{owner}: eps must be >= 0, got {eps}")
    return float(eps)


class _BatchNorm(Module):
    """Shared by BatchNorm1d and BatchNorm2d, which differ only in the input dimensions they accept."""

    _dims: tuple[int, ...] = ()      # the accepted input ranks
    _layout: str = ""                # the accepted shapes, for error messages

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = _check_positive_int(num_features, "num_features", name)
        self.eps = _check_eps(eps, name)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, Real)):
            raise TypeError(f"{name}: momentum must be a number or None, got {type(momentum).__name__}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = np.dtype(dtype or get_default_dtype())
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))  # start as the identity map
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Forget what the running averages have seen: mean 0, variance 1, no batches."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """Running statistics reset, weight 1 and bias 0 (the layer starts as pure standardisation)."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        shape = getattr(input, "shape", None)
        if shape is not None and (len(shape) not in self._dims or shape[1] != self.num_features):
            raise ValueError(f"{name}({self.num_features}): input must have shape {self._layout} with "
                             f"C = num_features = {self.num_features}, got {tuple(shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                # momentum=None: a plain average of every batch so far, not an exponential one.
                factor = 1.0 / float(self.num_batches_tracked.data)
        # Batch statistics in training, and also in evaluation when there are no running ones to use. With
        # batch statistics F.batch_norm folds them into the running averages (when tracked); without, it reads them.
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            training=use_batch_stats, momentum=factor, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of vectors or sequences, as ``torch.nn.BatchNorm1d``.

    Each of the ``C`` features is standardised with its mean and (biased) variance over the batch (and the
    length ``L``), then scaled by ``weight`` and shifted by ``bias``.

    Args:
        num_features: ``C``.
        eps: added to the variance before the square root (default 1e-5).
        momentum: weight of each new batch in the running averages (default 0.1); None averages all batches
            equally.
        affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape ``(C,)`` (default True).
        track_running_stats: keep ``running_mean`` / ``running_var`` buffers (the variance unbiased) and
            ``num_batches_tracked``, and use them in evaluation mode (default True). Without them the batch
            statistics are used in both modes.
        bias: with ``affine``, also learn the shift (default True; keyword-only, as in PyTorch).
        dtype: dtype of the parameters and running statistics (default float32; keyword-only).

    Shapes:
        ``input: (N, C)`` or ``(N, C, L)`` -> ``output``: the same shape.
    """

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images, as ``torch.nn.BatchNorm2d``: per channel, over ``(N, H, W)``.

    Arguments as :class:`BatchNorm1d`.

    Shapes:
        ``input: (N, C, H, W)`` -> ``output``: the same shape.
    """

    _dims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalisation, as ``torch.nn.LayerNorm``: each sample standardised over its last dimensions.

    Unlike batch norm it uses no batch statistics, so it behaves the same in training and evaluation and works
    with a batch of one (the usual choice in transformers and recurrent networks).

    Args:
        normalized_shape: an int or tuple, the trailing shape to normalise over (``D`` for ``(N, D)`` input).
        eps: added to the variance before the square root (default 1e-5).
        elementwise_affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape ``normalized_shape``.
        bias: with ``elementwise_affine``, also learn the shift (default True).
        dtype: dtype of the parameters (default float32; keyword-only).

    Shapes:
        ``input: (*, *normalized_shape)`` -> ``output``: the same shape.
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = normalized_shape_tuple(normalized_shape, "LayerNorm")
        self.eps = _check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dtype = np.dtype(dtype or get_default_dtype())
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
