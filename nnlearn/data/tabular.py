"""Small real tabular data sets bundled with scikit-learn: rows of measured features, no download.

* :func:`load_breast_cancer`: 569 tumours, 30 features from images of cell nuclei, benign or malignant;
* :func:`load_wine`: 178 wines, 13 chemical measurements, three cultivars.

Their features have very different scales (areas in the hundreds next to ratios below 0.1): the reason to
standardise inputs (:class:`~nnlearn.data.StandardScaler`) before training a network on them.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_bool

__all__ = ["load_breast_cancer", "load_wine"]


def _load(name: str, return_feature_names: bool) -> tuple:
    return_feature_names = check_bool("return_feature_names", return_feature_names)
    # Imported here, not at the top: scikit-learn is slow to import and `import nnlearn` must stay light.
    from sklearn import datasets

    bunch = getattr(datasets, name)()
    X = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    if return_feature_names:
        return X, y, [str(f) for f in bunch.feature_names]
    return X, y


def load_breast_cancer(return_feature_names: bool = False) -> tuple:
    """The Wisconsin diagnostic breast cancer data: ``X: (569, 30)`` float32, ``y: (569,)`` int64.

    Each row describes the cell nuclei in an image of a tumour sample (mean, standard error and worst value of
    ten measurements such as radius, texture and area). Label 0 is malignant (212 rows), 1 benign (357 rows),
    as in scikit-learn. With ``return_feature_names=True`` also returns the 30 feature names.
    """
    return _load("load_breast_cancer", return_feature_names)


def load_wine(return_feature_names: bool = False) -> tuple:
    """Chemical analyses of wines from three cultivars: ``X: (178, 13)`` float32, ``y: (178,)`` int64 in 0..2.

    Class sizes are 59, 71 and 48. With ``return_feature_names=True`` also returns the 13 feature names.
    """
    return _load("load_wine", return_feature_names)
