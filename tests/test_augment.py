"""nnlearn.data.augment: shifts and rotations of (N, C, H, W) images, and augmenting on the fly."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor
from nnlearn.data import (AugmentedDataset, DataLoader, Dataset, TensorDataset, augment_batch, random_rotation,
                          random_shift, rotate, shift)


class _Bare(Dataset):
    """Samples that are bare images, not (image, label) tuples."""

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return np.zeros((1, 4, 4), np.float32)


@pytest.fixture
def images(rng):
    return rng.random((5, 2, 7, 9)).astype(np.float32)


# ---------------------------------------------------------------------- shift
def test_zero_shift_is_the_identity(images):
    out = shift(images, (0, 0))
    assert out.shape == images.shape and out.dtype == images.dtype
    np.testing.assert_array_equal(out, images)
    assert out is not images


def test_shift_one_row_down_moves_every_pixel_exactly(images):
    out = shift(images, (1, 0))
    np.testing.assert_array_equal(out[:, :, 1:, :], images[:, :, :-1, :])
    np.testing.assert_array_equal(out[:, :, 0, :], 0)  # the uncovered top row is zero-filled


@pytest.mark.parametrize("dy, dx", [(2, -3), (-1, 1), (0, 4), (-6, 0)])
def test_shift_matches_slicing_a_zero_padded_image(images, dy, dx):
    # Shifting = padding with zeros by the offset on one side and cutting the same amount off the other.
    N, C, H, W = images.shape
    padded = np.zeros((N, C, H + 2 * 10, W + 2 * 10), np.float32)
    padded[:, :, 10:10 + H, 10:10 + W] = images
    expected = padded[:, :, 10 - dy:10 - dy + H, 10 - dx:10 - dx + W]
    np.testing.assert_array_equal(shift(images, (dy, dx)), expected)


def test_shift_past_the_edge_leaves_zeros_and_per_image_offsets(images):
    np.testing.assert_array_equal(shift(images, (7, 0)), 0)
    offsets = np.array([[0, 0], [1, 0], [0, -2], [3, 3], [-1, 1]])
    out = shift(images, offsets)
    for n, offset in enumerate(offsets):
        np.testing.assert_array_equal(out[n], shift(images[n:n + 1], tuple(offset))[0])


def test_shift_accepts_tensors_and_float64(images):
    out = shift(Tensor(images.astype(np.float64)), (1, 1))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out[:, :, 1:, 1:], images[:, :, :-1, :-1])


# ---------------------------------------------------------------------- rotate
def test_rotation_by_zero_is_the_identity(images):
    np.testing.assert_array_equal(rotate(images, 0.0), images)


@pytest.mark.parametrize("turns", [1, 2, 3, -1])
def test_rotation_by_quarter_turns_matches_rot90(rng, turns):
    # At multiples of 90 degrees every source position is a whole pixel (up to rounding in cos/sin),
    # so bilinear interpolation reads one pixel with weight ~1: equal to np.rot90 up to float error.
    square = rng.random((3, 2, 6, 6))
    np.testing.assert_allclose(rotate(square, 90.0 * turns), np.rot90(square, turns, axes=(2, 3)), atol=1e-12)


def test_rotation_is_counter_clockwise_as_displayed():
    # A single bright pixel right of the centre of a 5x5 image (row 2, col 4) turns 90 degrees
    # counter-clockwise to above the centre (row 0, col 2) when row 0 is drawn at the top.
    image = np.zeros((1, 1, 5, 5))
    image[0, 0, 2, 4] = 1.0
    out = rotate(image, 90.0)
    assert np.unravel_index(out[0, 0].argmax(), (5, 5)) == (0, 2)
    np.testing.assert_allclose(out.sum(), 1.0, atol=1e-12)


def test_small_rotation_interpolates_bilinearly():
    # A rotation of the 1x1-pixel image about its own centre keeps the pixel: source (0, 0) exactly.
    np.testing.assert_allclose(rotate(np.full((1, 1, 1, 1), 3.0), 17.0), 3.0)
    # A constant image stays constant inside (every source position has 4 equal neighbours), and
    # corners that come from outside the image get less: zero fill mixes in.
    out = rotate(np.ones((1, 1, 9, 9)), 30.0)[0, 0]
    np.testing.assert_allclose(out[3:6, 3:6], 1.0, atol=1e-12)
    assert out[0, 0] < 1.0 and out.min() >= 0.0 and out.max() <= 1.0 + 1e-12


def test_rotation_preserves_a_centred_disc_sum_approximately(rng):
    # Rotating a smooth blob in the middle of the image moves no mass off the image: the sum is kept to ~1%.
    H = 21
    yy, xx = np.mgrid[:H, :H] - (H - 1) / 2
    blob = np.exp(-(yy ** 2 + 4 * xx ** 2) / 8.0)[None, None]
    out = rotate(blob, 33.0)
    assert abs(out.sum() / blob.sum() - 1) < 0.01
    # ... and it really moved: the elongated blob is no longer aligned with the axes.
    assert np.abs(out - blob).max() > 0.1


# ---------------------------------------------------------------------- random versions
def test_random_shift_and_rotation_are_deterministic_with_a_seed(images):
    np.testing.assert_array_equal(random_shift(images, 2, seed=3), random_shift(images, 2, seed=3))
    np.testing.assert_array_equal(random_rotation(images, 15, seed=3), random_rotation(images, 15, seed=3))
    np.testing.assert_array_equal(augment_batch(images, 1, 10, seed=3), augment_batch(images, 1, 10, seed=3))
    assert not np.array_equal(random_shift(images, 2, seed=3), random_shift(images, 2, seed=4))


def test_without_a_seed_the_library_generator_is_used(images):
    nnlearn.manual_seed(5)
    first = random_rotation(images, 20)
    nnlearn.manual_seed(5)
    np.testing.assert_array_equal(random_rotation(images, 20), first)
    assert not np.array_equal(random_rotation(images, 20), first)  # the generator moved on


def test_random_shift_uses_only_offsets_within_max_shift(rng):
    # One bright pixel at the centre of many copies: where it lands shows the offset that was drawn.
    image = np.zeros((400, 1, 9, 9))
    image[:, 0, 4, 4] = 1.0
    out = random_shift(image, (1, 2), seed=0)
    rows, cols = np.unravel_index(out.reshape(400, -1).argmax(axis=1), (9, 9))
    assert set(rows - 4) == {-1, 0, 1} and set(cols - 4) == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(out.reshape(400, -1).sum(axis=1), 1.0)  # whole pixels: nothing smeared


def test_random_rotation_angles_stay_within_max_degrees(rng):
    # Each output equals rotate() by the angle drawn with the same generator state.
    images = rng.random((6, 1, 8, 8))
    angles = np.random.default_rng(11).uniform(-12, 12, size=6)
    np.testing.assert_allclose(random_rotation(images, 12, seed=11), rotate(images, angles), atol=1e-12)
    assert np.abs(angles).max() <= 12


def test_zero_amounts_give_the_images_back(images):
    np.testing.assert_array_equal(random_shift(images, 0, seed=1), images)
    np.testing.assert_array_equal(random_rotation(images, 0, seed=1), images)
    np.testing.assert_array_equal(augment_batch(images, seed=1), images)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, error, message", [
    (lambda x: shift(x[0], (1, 0)), ValueError, r"shift: images must have shape \(N, C, H, W\), got shape \(2, 7, 9\)"),
    (lambda x: rotate(x.astype(np.int64), 10), TypeError, "rotate: images must have a floating-point dtype.*int64"),
    (lambda x: shift(x, (0.5, 0)), ValueError, "offset must hold whole numbers"),
    (lambda x: shift(x, np.zeros((3, 2))), ValueError, r"offset must be a pair .* N = 5 images, got shape \(3, 2\)"),
    (lambda x: rotate(x, np.zeros(4)), ValueError, r"angle must be a number or an \(N,\) array with N = 5 images, got shape \(4,\)"),
    (lambda x: random_shift(x, -1), ValueError, "max_shift must be >= 0, got -1"),
    (lambda x: random_shift(x, 1.5), TypeError, "max_shift must be an int >= 0 or a pair"),
    (lambda x: random_rotation(x, -3), ValueError, "max_degrees must be a finite number >= 0, got -3"),
    (lambda x: random_rotation(x, "10"), TypeError, "max_degrees must be a number >= 0"),
])
def test_bad_input_names_the_argument(images, call, error, message):
    with pytest.raises(error, match=message):
        call(images)


# ---------------------------------------------------------------------- AugmentedDataset
def test_augmented_dataset_gives_a_new_variant_at_every_read(rng):
    X = rng.random((10, 1, 8, 8)).astype(np.float32)
    y = np.arange(10)
    ds = AugmentedDataset(TensorDataset(X, y), max_shift=2, max_degrees=10)
    assert len(ds) == 10 and "max_shift=(2, 2)" in repr(ds)
    x3, y3 = ds[3]
    assert isinstance(x3, Tensor) and x3.shape == (1, 8, 8) and x3.dtype == np.float32 and y3.item() == 3
    reads = [ds[3][0].numpy() for _ in range(5)]
    assert any(not np.array_equal(reads[0], r) for r in reads[1:])


def test_augmented_dataset_with_a_seed_repeats_and_works_with_the_data_loader(rng):
    X = rng.random((12, 1, 8, 8)).astype(np.float32)
    y = np.arange(12)

    def epochs(seed):
        ds = AugmentedDataset(TensorDataset(X, y), max_shift=1, max_degrees=5, seed=seed)
        loader = DataLoader(ds, batch_size=5, shuffle=True, seed=0)
        return [[xb.numpy() for xb, _ in loader] for _ in range(2)]

    first, again = epochs(7), epochs(7)
    for a, b in zip(first, again):
        for xa, xb in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
    assert [xb.shape for xb in first[0]] == [(5, 1, 8, 8), (5, 1, 8, 8), (2, 1, 8, 8)]
    # The loader's order is the same in both epochs' seeds, but the images differ: augmented afresh.
    assert not np.array_equal(first[0][0], first[1][0])


def test_augmented_dataset_without_amounts_returns_the_samples():
    X = np.arange(2 * 16, dtype=np.float64).reshape(2, 1, 4, 4)
    ds = AugmentedDataset(TensorDataset(X, np.array([4, 5])), max_shift=0)
    np.testing.assert_array_equal(ds[1][0].numpy(), X[1])


def test_augmented_dataset_bad_input():
    X = np.zeros((3, 8, 8), np.float32)
    with pytest.raises(TypeError, match="wrap arrays as TensorDataset"):
        AugmentedDataset(X)
    with pytest.raises(ValueError, match=r"each image must have shape \(C, H, W\), got shape \(8, 8\)"):
        AugmentedDataset(TensorDataset(X, np.arange(3)))[0]
    with pytest.raises(ValueError, match="max_shift must be >= 0"):
        AugmentedDataset(TensorDataset(X, np.arange(3)), max_shift=(1, -1))

    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros((1, 8 + i, 8), np.float32), i

    with pytest.raises(ValueError, match=r"must share one shape, got \[\(1, 8, 8\), \(1, 9, 8\)\]"):
        AugmentedDataset(Ragged()).__getitems__([0, 1])
    with pytest.raises(TypeError, match=r"must return \(image, label, ...\) tuples, got ndarray"):
        AugmentedDataset(_Bare())[0]


def test_augmented_dataset_fetches_a_batch_at_once(rng):
    # __getitems__ (PyTorch's batched-fetch protocol) augments the images of a whole batch in one call.
    X = rng.random((6, 1, 8, 8)).astype(np.float32)
    ds = AugmentedDataset(TensorDataset(X, np.arange(6)), max_shift=1, max_degrees=10, seed=3)
    batch = ds.__getitems__([4, 1, 4])
    assert [label.item() for _, label in batch] == [4, 1, 4]
    assert all(image.shape == (1, 8, 8) and image.dtype == np.float32 for image, _ in batch)
    assert not np.array_equal(batch[0][0].numpy(), batch[2][0].numpy())  # the same image, two variants
    # The same draws as augment_batch on the stacked images with the same generator.
    expected = augment_batch(X[[4, 1, 4]], 1, 10, seed=3)
    np.testing.assert_array_equal(np.stack([image.numpy() for image, _ in batch]), expected)
    plain = AugmentedDataset(TensorDataset(X, np.arange(6)), max_shift=0).__getitems__(np.array([2, 5]))
    np.testing.assert_array_equal(np.stack([image.numpy() for image, _ in plain]), X[[2, 5]])
