"""``StandardScaler``: give every feature mean 0 and standard deviation 1.

Fit it on the training split only, then transform train, validation and test with the *training*
statistics. Fitting on all the data lets the test set leak into training (chapter 10).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor
from ._checks import check_bool

__all__ = ["StandardScaler"]


class StandardScaler:
    """Standardise features: ``z = (x - mean_) / scale_``, per feature (column), like scikit-learn's.

    ``fit(X)`` with ``X: (N, D)`` learns ``mean_: (D,)``, ``var_: (D,)`` (biased, as NumPy's ``var``) and
    ``scale_ = sqrt(var_)``; a constant feature gets ``scale_ = 1`` so it becomes 0 rather than NaN.
    ``transform`` and ``inverse_transform`` return the type they are given (array or Tensor) in its
    floating dtype (integer input becomes the default float dtype).
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = check_bool("with_mean", with_mean)
        self.with_std = check_bool("with_std", with_std)
        self.mean_: np.ndarray | None = None
        self.var_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.n_features_in_: int | None = None
        self.n_samples_seen_: int | None = None

    def fit(self, X: Any) -> "StandardScaler":
        """Learn the per-feature mean and scale of ``X: (N, D)``; returns ``self``."""
        data = _as_2d_array("X", X)
        if len(data) == 0:
            raise ValueError(f"X must have at least one sample to fit on, got shape {data.shape}")
        data = data.astype(np.float64)  # statistics in float64: float32 sums lose digits on large N
        self.n_samples_seen_, self.n_features_in_ = data.shape
        self.mean_ = data.mean(axis=0) if self.with_mean else np.zeros(data.shape[1])
        self.var_ = data.var(axis=0)
        # A constant column has max == min; test that exactly rather than var == 0, which rounding can miss.
        constant = data.max(axis=0) == data.min(axis=0)
        self.scale_ = np.where(constant, 1.0, np.sqrt(self.var_)) if self.with_std else np.ones(data.shape[1])
        return self

    def transform(self, X: Any) -> Any:
        """``(X - mean_) / scale_`` for ``X: (M, D)``, using the statistics from ``fit``."""
        data, out_dtype = self._check_input(X)
        return _like(X, ((data - self.mean_) / self.scale_).astype(out_dtype))

    def fit_transform(self, X: Any) -> Any:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> Any:
        """Undo ``transform``: ``Z * scale_ + mean_`` for ``Z: (M, D)``."""
        data, out_dtype = self._check_input(Z, name="Z")
        return _like(Z, (data * self.scale_ + self.mean_).astype(out_dtype))

    def _check_input(self, X: Any, name: str = "X") -> tuple[np.ndarray, np.dtype]:
        if self.mean_ is None:
            raise RuntimeError("this StandardScaler is not fitted yet: call fit(X_train) first")
        data = _as_2d_array(name, X)
        if data.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {data.shape[1]} features (shape {data.shape}), but this "
                             f"StandardScaler was fitted on {self.n_features_in_} features")
        out_dtype = data.dtype if data.dtype.kind == "f" else get_default_dtype()
        return data.astype(np.float64), out_dtype

    def __repr__(self) -> str:
        fitted = f", fitted on {self.n_samples_seen_}x{self.n_features_in_}" if self.mean_ is not None else ""
        return f"StandardScaler(with_mean={self.with_mean}, with_std={self.with_std}{fitted})"


def _as_2d_array(name: str, X: Any) -> np.ndarray:
    data = X.data if isinstance(X, Tensor) else np.asarray(X)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {data.dtype}")
    if data.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {data.shape}; "
                         f"reshape a single feature with X.reshape(-1, 1)")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return data


def _like(original: Any, result: np.ndarray) -> Any:
    """Return ``result`` as a Tensor when the input was one, otherwise as an array."""
    return Tensor(result) if isinstance(original, Tensor) else result
