"""Differentiable functions on tensors, PyTorch's ``torch.nn.functional``: ``import nnlearn.functional as F``.

Activations (``relu``, ``gelu``, ``softmax``, ...), the affine map ``linear``, ``dropout``, and the losses
(``mse_loss``, ``cross_entropy``, ...). Each checks its arguments at the boundary and fails with a message that
names the argument and what was expected.
"""
from __future__ import annotations

from .activations import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .linear import dropout, linear
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, hinge_loss, l1_loss,
                     mse_loss, multi_margin_loss, nll_loss, one_hot)

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "elu", "gelu",
    "hinge_loss", "l1_loss", "leaky_relu", "linear", "log_softmax", "mse_loss", "multi_margin_loss", "nll_loss",
    "one_hot", "relu", "sigmoid", "softmax", "tanh",
]
