"""Differentiable functions on tensors, PyTorch's ``torch.nn.functional``: ``import nnlearn.functional as F``.

Activations (``relu``, ``gelu``, ``softmax``, ...), the affine map ``linear``, ``dropout``, the losses
(``mse_loss``, ``cross_entropy``, ...), the image ops ``conv2d``, ``max_pool2d`` and ``avg_pool2d`` and the
recurrent layers ``rnn_tanh``, ``lstm`` and ``gru`` (which run on the kernels chosen with
:func:`nnlearn.set_backend`), and ``batch_norm`` / ``layer_norm``. Each checks its arguments at the boundary and
fails with a message that names the argument and what was expected.
"""
from __future__ import annotations

from .activations import elu, gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .conv import conv2d
from .linear import dropout, linear
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, hinge_loss, l1_loss,
                     mse_loss, multi_margin_loss, nll_loss, one_hot)
from .normalization import batch_norm, layer_norm
from .pooling import avg_pool2d, max_pool2d
from .recurrent import gru, lstm, rnn_tanh

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "cross_entropy", "dropout", "elu", "gelu", "gru", "hinge_loss", "l1_loss", "layer_norm", "leaky_relu",
    "linear", "log_softmax", "lstm", "max_pool2d", "mse_loss", "multi_margin_loss", "nll_loss", "one_hot", "relu",
    "rnn_tanh", "sigmoid", "softmax", "tanh",
]
