"""The 8x8 handwritten digits bundled with scikit-learn (1797 images, 10 classes): real data, no download."""
from __future__ import annotations

import numpy as np

from ._checks import check_bool

__all__ = ["load_digits"]


def load_digits(as_images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's digits, with pixels scaled from 0..16 to [0, 1].

    Returns ``X`` float32, ``(1797, 64)`` (one flattened image per row) or ``(1797, 1, 8, 8)`` with
    ``as_images=True`` (the ``(N, C, H, W)`` layout that ``nn.Conv2d`` expects), and ``y: (1797,)`` int64
    labels 0..9. The file ships inside scikit-learn, so this works offline.
    """
    as_images = check_bool("as_images", as_images)
    # Imported here, not at the top: scikit-learn is slow to import and `import nnlearn` must stay light.
    from sklearn.datasets import load_digits as _sklearn_load_digits

    bunch = _sklearn_load_digits()
    X = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)  # pixel intensities are 0..16
    y = np.asarray(bunch.target, dtype=np.int64)
    if as_images:
        X = X.reshape(-1, 1, 8, 8)
    return X, y
