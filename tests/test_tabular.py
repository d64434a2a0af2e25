"""nnlearn.data.tabular: scikit-learn's bundled tabular sets in the library's dtypes."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn not installed: bundled data sets skipped")

from nnlearn.data.tabular import load_breast_cancer, load_wine  # noqa: E402


@pytest.mark.parametrize("loader, shape, counts", [
    (load_breast_cancer, (569, 30), [212, 357]),   # scikit-learn's documented class sizes
    (load_wine, (178, 13), [59, 71, 48]),
])
def test_shapes_dtypes_and_classes(loader, shape, counts):
    X, y = loader()
    assert X.shape == shape and X.dtype == np.float32
    assert y.shape == (shape[0],) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), counts)
    assert np.all(np.isfinite(X))


def test_values_are_scikit_learns():
    from sklearn.datasets import load_wine as sk_load_wine

    X, y = load_wine()
    bunch = sk_load_wine()
    np.testing.assert_allclose(X, bunch.data, rtol=1e-6)
    np.testing.assert_array_equal(y, bunch.target)


def test_feature_names_and_scales():
    X, y, names = load_breast_cancer(return_feature_names=True)
    assert len(names) == X.shape[1] == 30 and names[0] == "mean radius" and all(isinstance(n, str) for n in names)
    spread = X.std(axis=0)
    assert spread.max() / spread.min() > 1e4, "the features' scales differ by orders of magnitude"


def test_bad_argument():
    with pytest.raises(TypeError, match="return_feature_names must be True or False, got 1"):
        load_wine(return_feature_names=1)
