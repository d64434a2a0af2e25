"""nnlearn.data: generated sets, the digits, splits and StandardScaler (the loader is in test_data_loader.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlearn
from nnlearn.data import (StandardScaler, load_digits, make_blobs, make_circles, make_moons, make_regression_1d,
                          make_spiral, make_xor, train_test_split, train_val_test_split)
from nnlearn.data.split import _stratified_quotas

# (generator, number of classes it makes with its defaults)
CLASSIFIERS = [(make_moons, 2), (make_circles, 2), (make_spiral, 3), (make_xor, 2), (make_blobs, 3)]
IDS = [f.__name__ for f, _ in CLASSIFIERS]


# --------------------------------------------------------------------------- generated 2-D sets
@pytest.mark.parametrize("make, n_classes", CLASSIFIERS, ids=IDS)
@pytest.mark.parametrize("n_samples", [3, 7, 200, 301])
def test_shapes_dtypes_and_balanced_classes(make, n_classes, n_samples):
    X, y = make(n_samples=n_samples, seed=0)
    assert X.shape == (n_samples, 2) and X.dtype == np.float32
    assert y.shape == (n_samples,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes and counts.sum() == n_samples
    assert counts.max() - counts.min() <= 1, counts


@pytest.mark.parametrize("make, n_classes", CLASSIFIERS, ids=IDS)
def test_rows_are_shuffled(make, n_classes):
    # Labels must not come in blocks, or the first rows would be one class only.
    _, y = make(n_samples=200, seed=0)
    assert len(np.unique(y[:20])) == n_classes


@pytest.mark.parametrize("make, n_classes", CLASSIFIERS, ids=IDS)
def test_int_seed_ignores_and_keeps_the_global_state(make, n_classes):
    nnlearn.manual_seed(1)
    X1, y1 = make(seed=42)
    after = nnlearn.get_rng().random()
    nnlearn.manual_seed(1)
    make(seed=7)
    assert nnlearn.get_rng().random() == after  # an int seed does not draw from the library generator
    nnlearn.manual_seed(99)
    X2, y2 = make(seed=42)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make(seed=43)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("make, n_classes", CLASSIFIERS, ids=IDS)
def test_seed_none_follows_manual_seed(make, n_classes):
    nnlearn.manual_seed(3)
    X1, y1 = make()
    X2, _ = make()  # the generator moved on: new data
    nnlearn.manual_seed(3)
    X3, y3 = make()
    np.testing.assert_array_equal(X1, X3)
    np.testing.assert_array_equal(y1, y3)
    assert not np.array_equal(X1, X2)


def test_seed_accepts_a_generator():
    X1, _ = make_moons(seed=np.random.default_rng(5))
    X2, _ = make_moons(seed=5)
    np.testing.assert_array_equal(X1, X2)


def test_circles_without_noise_lie_on_radius_1_and_factor():
    X, y = make_circles(n_samples=101, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)


def test_circles_noise_has_the_requested_standard_deviation():
    # Isotropic 2-D noise of std s moves a point on a circle of radius r >> s radially by about N(0, s).
    X, y = make_circles(n_samples=4000, noise=0.02, factor=0.5, seed=0)
    radial = np.hypot(X[:, 0], X[:, 1]) - np.where(y == 0, 1.0, 0.5)
    assert abs(radial.mean()) < 0.002
    assert 0.018 < radial.std() < 0.022


def test_moons_without_noise_lie_on_their_arcs():
    X, y = make_moons(n_samples=100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)  # centre (0, 0)
    assert np.all(upper[:, 1] >= -1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)  # centre (1, 0.5)
    assert np.all(lower[:, 1] <= 0.5 + 1e-6)


@pytest.mark.parametrize("make", [make_moons, make_circles])
def test_noise_free_moons_and_circles_match_scikit_learn(make):
    datasets = pytest.importorskip("sklearn.datasets")
    ours, ours_y = make(n_samples=60, noise=0.0, seed=0)
    extra = {"factor": 0.5} if make is make_circles else {}  # scikit-learn's default factor is 0.8, ours 0.5
    theirs, theirs_y = getattr(datasets, make.__name__)(n_samples=60, noise=0.0, shuffle=False, **extra)
    for label in (0, 1):  # the same points, in some order
        a = np.unique(np.round(ours[ours_y == label], 5), axis=0)
        b = np.unique(np.round(theirs[theirs_y == label].astype(np.float32), 5), axis=0)
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_spiral_without_noise_follows_its_arms():
    n_classes, per_class = 4, 25
    X, y = make_spiral(n_samples=n_classes * per_class, n_classes=n_classes, noise=0.0, seed=0)
    for j in range(n_classes):
        arm = X[y == j]
        radius = np.hypot(arm[:, 0], arm[:, 1])
        order = np.argsort(radius)
        np.testing.assert_allclose(radius[order], np.linspace(0, 1, per_class), atol=1e-6)
        # the point is (r sin t, r cos t), so t = atan2(x, y); t starts at 2*pi*j/K and sweeps 4 radians
        start = 2 * np.pi * j / n_classes
        expected = np.linspace(start, start + 4.0, per_class)[1:]  # skip r = 0, where the angle is undefined
        angle = np.arctan2(arm[order, 0], arm[order, 1])[1:]
        diff = np.angle(np.exp(1j * (angle - expected)))  # difference wrapped to (-pi, pi]
        np.testing.assert_allclose(diff, 0.0, atol=1e-4)


def test_xor_without_noise_labels_are_the_sign_rule():
    X, y = make_xor(n_samples=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    assert np.all(np.abs(X) <= 1.0) and np.all(X != 0)
    quadrant = (X[:, 0] > 0).astype(int) * 2 + (X[:, 1] > 0)
    assert np.all(np.bincount(quadrant, minlength=4) == 100)  # each class is split evenly between its 2 quadrants


def test_xor_noise_blurs_some_points_across_the_axes():
    X, y = make_xor(n_samples=1000, noise=0.3, seed=0)
    wrong = np.mean(y != (X[:, 0] * X[:, 1] < 0))
    assert 0.05 < wrong < 0.4


def test_blobs_with_given_centres_and_stds():
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    X, y = make_blobs(n_samples=3000, centers=centres, cluster_std=[0.0, 0.5, 2.0], seed=0)
    np.testing.assert_allclose(X[y == 0], 0.0)  # std 0: every point is its centre
    for j, std in ((1, 0.5), (2, 2.0)):
        np.testing.assert_allclose(X[y == j].mean(axis=0), centres[j], atol=4 * std / np.sqrt(1000))
        np.testing.assert_allclose(X[y == j].std(axis=0), std, rtol=0.1)


def test_blobs_random_centres_lie_in_the_box():
    X, y = make_blobs(n_samples=50, centers=5, cluster_std=0.0, seed=0)
    assert len(np.unique(y)) == 5
    assert np.all(np.abs(X) <= 10.0)
    for j in range(5):
        assert len(np.unique(X[y == j], axis=0)) == 1


def test_regression_1d_shapes_range_and_clean_values():
    X, y = make_regression_1d(lambda x: x ** 2, n_samples=50, noise=0.0, x_range=(-2.0, 1.0), seed=0)
    assert X.shape == (50, 1) and y.shape == (50, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert np.all((X >= -2.0) & (X <= 1.0))
    np.testing.assert_allclose(y, X.astype(np.float64) ** 2, rtol=1e-6, atol=1e-6)


def test_regression_1d_noise_level_and_seed():
    X, y = make_regression_1d(np.sin, n_samples=5000, noise=0.1, seed=0)
    assert 0.09 < np.std(y - np.sin(X)) < 0.11
    X2, y2 = make_regression_1d(np.sin, n_samples=5000, noise=0.1, seed=0)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("call, error, match", [
    (lambda: make_moons(n_samples=0), ValueError, "n_samples must be an int >= 1, got 0"),
    (lambda: make_moons(n_samples=1), ValueError, r"at least the number of classes \(2\)"),
    (lambda: make_moons(n_samples=2.5), TypeError, "n_samples must be an int"),
    (lambda: make_moons(n_samples=True), TypeError, "n_samples must be an int"),
    (lambda: make_moons(noise=-0.1), ValueError, "noise must be a finite number >= 0, got -0.1"),
    (lambda: make_moons(noise=float("nan")), ValueError, "noise must be a finite number"),
    (lambda: make_moons(noise="a"), TypeError, "noise must be a number"),
    (lambda: make_moons(seed=-1), ValueError, "seed must be an int >= 0, got -1"),
    (lambda: make_moons(seed=1.5), TypeError, "seed must be None, an int"),
    (lambda: make_circles(factor=1.0), ValueError, r"factor must be strictly between 0 and 1 .*, got 1.0"),
    (lambda: make_circles(factor=0), ValueError, "factor must be strictly between 0 and 1"),
    (lambda: make_spiral(n_classes=1), ValueError, "n_classes must be an int >= 2, got 1"),
    (lambda: make_spiral(n_samples=2, n_classes=3), ValueError, r"number of classes \(3\)"),
    (lambda: make_xor(noise=-1), ValueError, "noise must be"),
    (lambda: make_blobs(centers=0), ValueError, "centers must be an int >= 1, got 0"),
    (lambda: make_blobs(centers=np.zeros((3, 3))), ValueError, r"shape \(n_classes, 2\).*\(3, 3\)"),
    (lambda: make_blobs(centers="abc"), TypeError, "centers must be an int or an array"),
    (lambda: make_blobs(cluster_std=-1.0), ValueError, "cluster_std must be a finite number >= 0"),
    (lambda: make_blobs(centers=3, cluster_std=[1.0, 2.0]), ValueError, r"one entry per centre \(3\), got 2"),
    (lambda: make_regression_1d(3.0), TypeError, "fn must be a function"),
    (lambda: make_regression_1d(np.sin, x_range=(1.0, 0.0)), ValueError, r"low < high, got \(1.0, 0.0\)"),
    (lambda: make_regression_1d(np.sin, x_range=5), TypeError, "x_range must be a pair"),
    (lambda: make_regression_1d(lambda x: x[:2], n_samples=10), ValueError,
     r"same shape as its input \(10,\), got shape \(2,\)"),
    (lambda: make_regression_1d(np.log, x_range=(-1, 1)), ValueError, "non-finite"),
])
def test_generators_reject_bad_arguments(call, error, match):
    with np.errstate(all="ignore"), pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- digits
def test_load_digits_flat_and_images():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0  # raw intensities 0..16 divided by 16
    assert set(np.unique(y)) == set(range(10))
    assert np.bincount(y).min() > 150
    images, y2 = load_digits(as_images=True)
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y, y2)
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    np.testing.assert_allclose(X * 16, sklearn_datasets.load_digits().data)


def test_load_digits_rejects_a_non_bool():
    with pytest.raises(TypeError, match="as_images must be True or False, got 'yes'"):
        load_digits(as_images="yes")


# --------------------------------------------------------------------------- splits
def test_train_test_split_sizes_disjoint_covering_and_matched():
    X = np.arange(100)
    Z = np.arange(100) * 10
    X_tr, X_te, Z_tr, Z_te = train_test_split(X, Z, test_size=0.25, seed=0)
    assert len(X_te) == 25 and len(X_tr) == 75
    assert set(X_tr).isdisjoint(X_te) and set(X_tr) | set(X_te) == set(range(100))
    np.testing.assert_array_equal(Z_tr, X_tr * 10)  # rows stay matched across arrays
    np.testing.assert_array_equal(Z_te, X_te * 10)
    assert not np.array_equal(X_tr, np.sort(X_tr))  # shuffled, not a slice


@pytest.mark.parametrize("test_size, n_test", [(0.07, 7), (0.15, 15), (0.101, 11), (0.5, 50), (30, 30)])
def test_train_test_split_size_rule(test_size, n_test):
    # fractions round up to whole samples (as in scikit-learn), without floating-point surprises
    _, X_te = train_test_split(np.arange(100), test_size=test_size, seed=0)
    assert len(X_te) == n_test


def test_train_test_split_stratified_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = np.arange(100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
    np.testing.assert_array_equal(np.bincount(y_te), [12, 6, 2])  # exactly 20% of each class
    np.testing.assert_array_equal(np.bincount(y_tr), [48, 24, 8])
    np.testing.assert_array_equal(y[X_te], y_te)


def test_train_test_split_keeps_tensors_as_tensors_and_follows_seeds():
    X = nnlearn.tensor(np.arange(20.0).reshape(10, 2))
    X_tr, X_te = train_test_split(X, test_size=3, seed=1)
    assert isinstance(X_tr, nnlearn.Tensor) and X_tr.shape == (7, 2) and X_te.shape == (3, 2)
    again = train_test_split(X, test_size=3, seed=1)
    np.testing.assert_array_equal(again[1].numpy(), X_te.numpy())
    nnlearn.manual_seed(4)
    a = train_test_split(np.arange(50), seed=None)
    nnlearn.manual_seed(4)
    b = train_test_split(np.arange(50), seed=None)
    np.testing.assert_array_equal(a[1], b[1])


def test_train_val_test_split_parts_are_disjoint_covering_and_stratified():
    X, y = load_digits()
    parts = train_val_test_split(X, y, val_size=0.15, test_size=0.15, seed=0)
    X_tr, X_va, X_te, y_tr, y_va, y_te = parts
    n = len(X)
    assert len(X_te) == len(X_va) == int(np.ceil(0.15 * n)) and len(X_tr) == n - 2 * len(X_te)
    assert [len(p) for p in (y_tr, y_va, y_te)] == [len(p) for p in (X_tr, X_va, X_te)]
    # the 1797 images are all different, so each row of a part tells which sample it is
    row_of = {row.tobytes(): i for i, row in enumerate(X)}
    assert len(row_of) == n
    index_sets = [[row_of[r.tobytes()] for r in part] for part in (X_tr, X_va, X_te)]
    assert sorted(sum(index_sets, [])) == list(range(n))  # disjoint and covering
    for part_X, part_y, ids in zip((X_tr, X_va, X_te), (y_tr, y_va, y_te), index_sets):
        np.testing.assert_array_equal(part_y, y[ids])  # labels stay with their images
    # val and test hold their exact share of every class rounded up or down; train takes the rest,
    # so its two roundings can add up to (less than) two samples
    counts = np.bincount(y)
    for part_y, slack in ((y_tr, 2.0), (y_va, 1.0), (y_te, 1.0)):
        expected = counts * len(part_y) / n
        assert np.all(np.abs(np.bincount(part_y, minlength=10) - expected) < slack)


def test_train_val_test_split_partition_by_index():
    X = np.arange(300)
    y = np.arange(300) % 3
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, val_size=0.2, test_size=0.1, seed=0)
    assert (len(X_tr), len(X_va), len(X_te)) == (210, 60, 30)
    assert sorted(np.concatenate([X_tr, X_va, X_te]).tolist()) == list(range(300))
    for Xp, yp, size in ((X_tr, y_tr, 210), (X_va, y_va, 60), (X_te, y_te, 30)):
        np.testing.assert_array_equal(yp, Xp % 3)
        np.testing.assert_array_equal(np.bincount(yp), [size // 3] * 3)


def test_train_val_test_split_without_stratification_for_regression_targets():
    X, y = make_regression_1d(np.sin, n_samples=40, seed=0)
    X_tr, X_va, X_te, y_tr, y_va, y_te = train_val_test_split(X, y, val_size=8, test_size=0.25,
                                                              stratify=False, seed=0)
    assert (len(X_tr), len(X_va), len(X_te)) == (22, 8, 10)
    # rows stay paired: y was made from X, so every (x, y) pair must exist in the original data
    original = {(a, b) for a, b in zip(X.ravel(), y.ravel())}
    assert all((a, b) in original for a, b in zip(X_te.ravel(), y_te.ravel()))


def test_train_val_test_split_is_repeatable():
    X, y = make_blobs(n_samples=90, seed=0)
    a = train_val_test_split(X, y, seed=3)
    b = train_val_test_split(X, y, seed=3)
    c = train_val_test_split(X, y, seed=4)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[2], c[2])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.data())
def test_stratified_quotas_sum_right_and_stay_within_one_sample(class_counts, data):
    counts = np.array(class_counts)
    n = int(counts.sum())
    if n < 3:
        return
    n_test = data.draw(st.integers(1, n - 2))
    n_val = data.draw(st.integers(1, n - 1 - n_test))
    sizes = [n - n_val - n_test, n_val, n_test]
    quotas = _stratified_quotas(counts, sizes)
    assert np.all(quotas >= 0)
    np.testing.assert_array_equal(quotas.sum(axis=1), counts)
    np.testing.assert_array_equal(quotas.sum(axis=0), sizes)
    for p in (1, 2):  # val and test get their fair share of every class, rounded one way or the other
        assert np.all(np.abs(quotas[:, p] - counts * sizes[p] / n) < 1.0 + 1e-9)
    assert np.all(np.abs(quotas[:, 0] - counts * sizes[0] / n) < 2.0)  # train: the rest, two roundings


@pytest.mark.parametrize("call, error, match", [
    (lambda: train_test_split(), ValueError, "at least one array"),
    (lambda: train_test_split(np.arange(10), np.arange(9)), ValueError,
     "arrays\\[0\\] has 10 samples but arrays\\[1\\] has 9"),
    (lambda: train_test_split(np.arange(10), test_size=0.0), ValueError,
     "test_size as a fraction must be strictly between 0 and 1, got 0.0"),
    (lambda: train_test_split(np.arange(10), test_size=1.0), ValueError, "strictly between 0 and 1"),
    (lambda: train_test_split(np.arange(10), test_size=10), ValueError,
     "between 1 and n_samples - 1 = 9, got 10"),
    (lambda: train_test_split(np.arange(10), test_size="half"), TypeError, "test_size must be a float"),
    (lambda: train_test_split(np.arange(10), test_size=True), TypeError, "test_size must be a float"),
    (lambda: train_test_split(np.arange(3), test_size=0.9), ValueError, "leaves the train split empty"),
    (lambda: train_test_split(np.arange(10), stratify=np.zeros(9)), ValueError,
     "one label per sample: got 9 labels for 10 samples"),
    (lambda: train_test_split(np.float32(3.0)), ValueError, "at least one dimension"),
    (lambda: train_val_test_split(np.zeros((10, 2)), np.zeros(8)), ValueError,
     "X has 10 samples but y has 8"),
    (lambda: train_val_test_split(np.zeros((10, 2)), np.zeros(10), val_size=0.5, test_size=0.5), ValueError,
     r"leave the train split empty \(train 0, val 5, test 5\)"),
    (lambda: train_val_test_split(np.zeros((10, 2)), np.zeros(10), val_size=-0.1), ValueError,
     "val_size as a fraction"),
    (lambda: train_val_test_split(np.zeros((10, 2)), np.zeros((10, 2))), ValueError,
     r"y \(stratify=True\) must be a 1-D array of class labels"),
])
def test_splits_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- StandardScaler
def test_scaler_standardises_each_feature(rng):
    X = rng.normal([5.0, -3.0, 0.0], [2.0, 0.1, 10.0], size=(500, 3)).astype(np.float32)
    Z = StandardScaler().fit_transform(X)
    assert Z.dtype == np.float32 and Z.shape == X.shape
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=1e-5)


def test_scaler_uses_training_statistics_only(rng):
    X_train = rng.normal(size=(50, 2))
    X_test = rng.normal(3.0, 5.0, size=(20, 2))
    scaler = StandardScaler().fit(X_train)
    np.testing.assert_allclose(scaler.mean_, X_train.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, X_train.std(axis=0))
    np.testing.assert_allclose(scaler.transform(X_test), (X_test - X_train.mean(0)) / X_train.std(0))
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X_test)), X_test, atol=1e-12)


def test_scaler_handles_constant_features():
    X = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]], dtype=np.float32)
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[:, 0], 0.0)
    assert scaler.scale_[0] == 1.0
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-6)


def test_scaler_matches_scikit_learn(rng):
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    X = rng.normal(2.0, 3.0, size=(40, 4))
    X[:, 2] = 7.0
    for kwargs in ({}, {"with_mean": False}, {"with_std": False}):
        ours = StandardScaler(**kwargs).fit(X)
        theirs = preprocessing.StandardScaler(**kwargs).fit(X)
        np.testing.assert_allclose(ours.transform(X), theirs.transform(X), atol=1e-12)


def test_scaler_types_tensor_and_integer_input():
    T = nnlearn.tensor(np.array([[1.0, 2.0], [3.0, 6.0]]))
    out = StandardScaler().fit(T).transform(T)
    assert isinstance(out, nnlearn.Tensor) and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), [[-1.0, -1.0], [1.0, 1.0]])
    Z = StandardScaler().fit_transform(np.array([[1, 2], [3, 6]]))
    assert Z.dtype == np.float32


@pytest.mark.parametrize("call, error, match", [
    (lambda: StandardScaler().transform(np.zeros((2, 2))), RuntimeError, "not fitted yet"),
    (lambda: StandardScaler().fit(np.zeros((4, 2))).transform(np.zeros((4, 3))), ValueError,
     r"X has 3 features \(shape \(4, 3\)\), but this StandardScaler was fitted on 2 features"),
    (lambda: StandardScaler().fit(np.zeros(5)), ValueError, r"X must be 2-D \(n_samples, n_features\), got shape \(5,\)"),
    (lambda: StandardScaler().fit(np.array([[1.0], [np.nan]])), ValueError, "NaN or infinite"),
    (lambda: StandardScaler().fit(np.zeros((0, 2))), ValueError, "at least one sample"),
    (lambda: StandardScaler().fit(np.array([["a"]])), TypeError, "must hold numbers"),
    (lambda: StandardScaler(with_mean=1), TypeError, "with_mean must be True or False"),
])
def test_scaler_rejects_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
