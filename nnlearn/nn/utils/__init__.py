"""Helpers around ``nn``, as ``torch.nn.utils``: gradient clipping, parameters as one vector, and (in
:mod:`~nnlearn.nn.utils.rnn`) padding batches of sequences for the recurrent layers."""
from __future__ import annotations

from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "rnn", "vector_to_parameters"]
