"""Neural-network building blocks with PyTorch's names: ``import nnlearn.nn as nn``.

* :class:`Module` (the base class), :class:`Parameter` (a learnable tensor);
* layers: :class:`Linear`, :class:`Identity`, :class:`Dropout`, :class:`Flatten`, the activations
  (:class:`ReLU`, :class:`LeakyReLU`, :class:`ELU`, :class:`GELU`, :class:`Sigmoid`, :class:`Tanh`,
  :class:`Softmax`, :class:`LogSoftmax`);
* image layers: :class:`Conv2d`, :class:`MaxPool2d`, :class:`AvgPool2d`;
* sequence layers: :class:`RNN`, :class:`LSTM`, :class:`GRU`, :class:`Embedding`;
* normalisation: :class:`BatchNorm1d`, :class:`BatchNorm2d`, :class:`LayerNorm`;
* containers: :class:`Sequential`, :class:`ModuleList`;
* losses: :class:`MSELoss`, :class:`L1Loss`, :class:`BCELoss`, :class:`BCEWithLogitsLoss`,
  :class:`NLLLoss`, :class:`CrossEntropyLoss`, :class:`MultiMarginLoss`;
* submodules :mod:`~nnlearn.nn.init` (weight initialisation) and :mod:`~nnlearn.nn.utils` (gradient clipping;
  ``nn.utils.rnn.pad_sequence``).

>>> model = Sequential(Linear(2, 16), ReLU(), Linear(16, 1))
"""
from __future__ import annotations

from . import init, utils
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, MultiMarginLoss, NLLLoss
from .module import IncompatibleKeys, Module, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .parameter import Parameter
from .pooling import AvgPool2d, MaxPool2d
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss",
    "Dropout", "ELU", "Embedding", "Flatten", "GELU", "GRU", "Identity", "IncompatibleKeys", "L1Loss", "LSTM",
    "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ModuleList",
    "MultiMarginLoss", "NLLLoss", "Parameter", "RNN", "ReLU", "Sequential", "Sigmoid", "Softmax",
    "StateDictError", "Tanh", "init", "utils",
]
