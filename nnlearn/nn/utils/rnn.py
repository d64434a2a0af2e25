"""Batches of sequences of different lengths for the recurrent layers, as ``torch.nn.utils.rnn``.

A recurrent layer takes one array ``(T, N, features)``, so sequences of different lengths are *padded* to the
longest: the short ones get filler steps at the end. Keep their lengths — ``nnlearn.data.sequence_mask(lengths)``
turns them into the mask that keeps the filler out of the loss (chapter 13 shows why that is enough).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...data.sequences import pad_sequence as _pad_arrays
from ...tensor import Tensor, cat, stack, tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack ``N`` sequences ``(L_n, *)`` into one Tensor ``(L_max, N, *)`` (``(N, L_max, *)`` with
    ``batch_first=True``), the short ones filled with ``padding_value`` at the end.

    As ``torch.nn.utils.rnn.pad_sequence``, and differentiable like it: each sequence's gradient is the part of
    the result's gradient that came from its own steps (the filler has none). Sequences may be Tensors or
    arrays; for NumPy arrays in and out, use :func:`nnlearn.data.pad_sequence`, which checks the same things.
    """
    padded = _pad_arrays(sequences, batch_first, padding_value)   # checks every argument; the values, in NumPy
    if not any(isinstance(s, Tensor) and s.requires_grad for s in sequences):
        return tensor(padded)
    # Some sequence wants its gradient: build the same array from differentiable operations instead.
    longest = padded.shape[1 if batch_first else 0]
    rows = []
    for s in sequences:
        s = s if isinstance(s, Tensor) else tensor(np.asarray(s))
        s = s.astype(padded.dtype) if s.dtype != padded.dtype else s
        missing = longest - s.shape[0]
        if missing:
            s = cat([s, tensor(np.full((missing, *s.shape[1:]), padding_value, dtype=padded.dtype))], axis=0)
        rows.append(s)
    return stack(rows, axis=0 if batch_first else 1)
