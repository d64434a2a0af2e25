"""Data augmentation for images: small random shifts and rotations, drawn afresh every time a sample is read.

A network trained on a few thousand digits has only seen each digit where it was drawn. Moving a digit by a
pixel, or turning it by a few degrees, does not change which digit it is, so we can show the network such
copies instead of the originals: the training set becomes, in effect, much larger, and the network has to
learn features that survive the change. Because the copies are drawn anew each epoch, the network seldom sees
exactly the same image twice.

Both transforms are written the same way, as *inverse mapping*: for every pixel ``(i, j)`` of the output we
compute where in the input it came from, and read the input there. A shift comes from a whole-pixel position;
a rotation from a fractional one, read by bilinear interpolation between the four nearest pixels. Positions
outside the image read as 0 (the background of the digits).

Images are ``(N, C, H, W)`` float arrays; every function returns a new array of the same shape and dtype.

>>> from nnlearn.data import load_digits, random_shift, AugmentedDataset, TensorDataset, DataLoader
>>> X, y = load_digits(as_images=True)                           # doctest: +SKIP
>>> X_moved = random_shift(X, max_shift=1, seed=0)                # doctest: +SKIP
>>> train = DataLoader(AugmentedDataset(TensorDataset(X, y), max_shift=1, max_degrees=10),
...                    batch_size=64, shuffle=True)               # doctest: +SKIP
"""
from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np

from ..tensor import Tensor
from ._checks import resolve_rng
from .dataset import Dataset

__all__ = ["AugmentedDataset", "augment_batch", "random_rotation", "random_shift", "rotate", "shift"]


# ---------------------------------------------------------------------- argument checks
def _as_images(images: Any, fn: str) -> np.ndarray:
    """``images`` as a float ``(N, C, H, W)`` NumPy array (Tensors give their data; nothing is copied yet)."""
    array = images.data if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim != 4:
        raise ValueError(f"{fn}: images must have shape (N, C, H, W), got shape {array.shape}; "
                         f"add the missing axes with images[None] (one image) or images[:, None] (no channel axis)")
    if array.dtype.kind != "f":
        raise TypeError(f"{fn}: images must have a floating-point dtype (float32 or float64), got {array.dtype}")
    return array


def _per_image(value: Any, n: int, width: int, name: str, fn: str) -> np.ndarray:
    """A number (or ``width`` numbers) for every image: broadcast one setting to ``(n, width)``."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape in ((), (width,)):
        array = np.broadcast_to(array.reshape(1, -1), (n, width))
    expected = "a number or an (N,) array" if width == 1 else f"a pair (rows, cols) or an (N, {width}) array"
    if array.shape != (n, width) and not (width == 1 and array.shape == (n,)):
        raise ValueError(f"{fn}: {name} must be {expected} with N = {n} images, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return array.reshape(n, width)


def _pair(value: Any, name: str, fn: str) -> tuple[int, int]:
    """``max_shift``: an int >= 0 for both axes, or a pair ``(rows, cols)``."""
    values = value if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in values):
        raise TypeError(f"{fn}: {name} must be an int >= 0 or a pair of them (rows, cols), got {value!r}")
    if min(values) < 0:
        raise ValueError(f"{fn}: {name} must be >= 0, got {value!r}")
    return int(values[0]), int(values[1])


def _nonnegative(value: Any, name: str, fn: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number >= 0, got {value!r} ({type(value).__name__})")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{fn}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


# ---------------------------------------------------------------------- reading an image at given positions
def sample_bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Read every image at fractional positions, by bilinear interpolation; outside the image reads 0.

    Args:
        images: ``(N, C, H, W)``.
        rows, cols: ``(N, H_out, W_out)`` — output pixel ``(i, j)`` of image ``n`` is read at
            ``(rows[n, i, j], cols[n, i, j])`` of input image ``n`` (the same place in every channel).

    Returns:
        ``(N, C, H_out, W_out)``, the dtype of ``images``. At whole-number positions this is an exact copy.
    """
    N, C, H, W = images.shape
    _, H_out, W_out = rows.shape
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0  # how far past the top-left neighbour we are, in [0, 1)
    # The four neighbours (top-left, top-right, bottom-left, bottom-right) and their weights, stacked on a
    # new axis 1 so that one gather reads them all. The weights sum to 1; at a whole-number position the
    # top-left one is 1 and the others 0, which makes shifts exact.
    r = r0.astype(np.int64)[:, None] + np.array([0, 0, 1, 1]).reshape(1, 4, 1, 1)
    c = c0.astype(np.int64)[:, None] + np.array([0, 1, 0, 1]).reshape(1, 4, 1, 1)
    weight = np.stack([(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc], axis=1)
    inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)  # a neighbour off the image contributes 0 (zero fill)
    index = np.where(inside, r * W + c, 0).reshape(N, 1, -1)  # any valid index where masked out below
    values = np.take_along_axis(images.reshape(N, C, H * W), index, axis=2)  # (N, C, 4 * H_out * W_out)
    weighted = values.reshape(N, C, 4, H_out, W_out) * (weight * inside)[:, None]
    return weighted.sum(axis=2).astype(images.dtype, copy=False)


@functools.lru_cache(maxsize=16)
def _pixel_grid(H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """The row and the column index of every pixel, ``(H, W)`` each (cached: every call needs them)."""
    rows, cols = np.meshgrid(np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64), indexing="ij")
    rows.flags.writeable = cols.flags.writeable = False  # shared between calls: nobody may change them
    return rows, cols


def source_positions(shape: tuple[int, ...], angle: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel comes from when images are rotated by ``angle``, then shifted by ``offset``.

    Args:
        shape: ``(N, C, H, W)`` of the images.
        angle: ``(N,)`` degrees, counter-clockwise as displayed (row 0 at the top).
        offset: ``(N, 2)`` pixels ``(rows, cols)``; positive moves the content down and to the right.

    Returns:
        ``rows, cols``: ``(N, H, W)`` each, the input position that output pixel ``(i, j)`` shows.
    """
    N, _, H, W = shape
    rows, cols = _pixel_grid(H, W)
    cy, cx = (H - 1) / 2, (W - 1) / 2
    # Undo the shift first (it was applied last): output (i, j) shows the rotated image at (i, j) - offset,
    # measured from the centre, with y growing downwards.
    y = rows[None] - offset[:, 0, None, None] - cy
    x = cols[None] - offset[:, 1, None, None] - cx
    # Then undo the rotation: turning the picture counter-clockwise by theta means each pixel shows the input
    # pixel that sits theta clockwise from it, as displayed. With y pointing down that inverse rotation reads:
    theta = np.deg2rad(angle)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    return cy + x * sin + y * cos, cx + x * cos - y * sin


# ---------------------------------------------------------------------- the transforms, with given amounts
def shift(images: Any, offset: Any) -> np.ndarray:
    """Move every image by whole pixels, filling the uncovered border with zeros.

    Args:
        images: ``(N, C, H, W)`` float array (or Tensor).
        offset: ``(rows, cols)`` for every image, or an ``(N, 2)`` array with one offset per image. Positive
            ``rows`` move the content down, positive ``cols`` to the right: ``shift(x, (1, 0))[..., i + 1, j]
            == x[..., i, j]``. Content moved past the edge is lost.

    Returns:
        ``(N, C, H, W)`` with the dtype of ``images``.
    """
    images = _as_images(images, "shift")
    offsets = _per_image(offset, len(images), 2, "offset", "shift")
    if not np.all(offsets == np.round(offsets)):
        raise ValueError(f"shift: offset must hold whole numbers of pixels, got {offset!r}")
    rows, cols = source_positions(images.shape, np.zeros(len(images)), offsets)
    return sample_bilinear(images, rows, cols)


def rotate(images: Any, angle: Any) -> np.ndarray:
    """Rotate every image about its centre by ``angle`` degrees, counter-clockwise as displayed.

    The image is displayed with row 0 at the top, as ``plt.imshow`` shows it, and turns counter-clockwise for
    a positive angle (as in ``torchvision.transforms.functional.rotate``): ``rotate(x, 90)`` equals
    ``np.rot90(x, axes=(2, 3))`` for square images. Pixels are read by bilinear interpolation; corners that
    rotate in from outside the image are 0.

    Args:
        images: ``(N, C, H, W)`` float array (or Tensor).
        angle: degrees, one number for every image or an ``(N,)`` array.

    Returns:
        ``(N, C, H, W)`` with the dtype of ``images``.
    """
    images = _as_images(images, "rotate")
    angles = _per_image(angle, len(images), 1, "angle", "rotate")[:, 0]
    rows, cols = source_positions(images.shape, angles, np.zeros((len(images), 2)))
    return sample_bilinear(images, rows, cols)


# ---------------------------------------------------------------------- random amounts
def random_shift(images: Any, max_shift: Any, seed=None) -> np.ndarray:
    """Shift each image by its own random whole-pixel offset, each axis uniform in ``[-max_shift, max_shift]``.

    Args:
        images: ``(N, C, H, W)`` float array (or Tensor).
        max_shift: the largest shift in pixels, an int >= 0 or a pair ``(rows, cols)``.
        seed: ``None`` draws from ``nnlearn.get_rng()`` (so ``nnlearn.manual_seed`` repeats it); an int or a
            ``np.random.Generator`` gives a repeatable draw of its own.

    Returns:
        ``(N, C, H, W)`` with the dtype of ``images``. See :func:`shift` for the direction convention.
    """
    images = _as_images(images, "random_shift")
    max_rows, max_cols = _pair(max_shift, "max_shift", "random_shift")
    rng = resolve_rng(seed)
    n = len(images)
    offsets = np.stack([rng.integers(-max_rows, max_rows + 1, size=n),
                        rng.integers(-max_cols, max_cols + 1, size=n)], axis=1)
    return shift(images, offsets)


def random_rotation(images: Any, max_degrees: float, seed=None) -> np.ndarray:
    """Rotate each image by its own random angle, uniform in ``[-max_degrees, max_degrees]`` degrees.

    Args:
        images: ``(N, C, H, W)`` float array (or Tensor).
        max_degrees: the largest angle, a number >= 0 (positive = counter-clockwise, see :func:`rotate`).
        seed: as in :func:`random_shift`.

    Returns:
        ``(N, C, H, W)`` with the dtype of ``images``.
    """
    images = _as_images(images, "random_rotation")
    max_degrees = _nonnegative(max_degrees, "max_degrees", "random_rotation")
    rng = resolve_rng(seed)
    return rotate(images, rng.uniform(-max_degrees, max_degrees, size=len(images)))


def augment_batch(images: Any, max_shift: Any = 0, max_degrees: float = 0.0, seed=None) -> np.ndarray:
    """Rotate each image by a random angle, then shift it by a random offset, as :func:`random_rotation` and
    :func:`random_shift` draw them (angle uniform in ``[-max_degrees, max_degrees]``, offsets whole pixels
    in ``[-max_shift, max_shift]``).

    Args and returns as in :func:`random_rotation` and :func:`random_shift`; with both amounts 0 the result
    is a copy of ``images``.
    """
    images = _as_images(images, "augment_batch")
    max_shift = _pair(max_shift, "max_shift", "augment_batch")
    max_degrees = _nonnegative(max_degrees, "max_degrees", "augment_batch")
    rng = resolve_rng(seed)  # one generator for both draws, so one seed fixes the whole result
    n = len(images)
    angles = rng.uniform(-max_degrees, max_degrees, size=n)
    offsets = np.stack([rng.integers(-max_shift[0], max_shift[0] + 1, size=n),
                        rng.integers(-max_shift[1], max_shift[1] + 1, size=n)], axis=1)
    # Both steps in one pass: compute where each output pixel comes from, then read the image once.
    return sample_bilinear(images, *source_positions(images.shape, angles, offsets))


# ---------------------------------------------------------------------- augmenting on the fly
class AugmentedDataset(Dataset):
    """A data set of ``(image, label, ...)`` samples whose image is freshly augmented at every read.

    Wrap the training set, not the test set: ``DataLoader(AugmentedDataset(TensorDataset(X, y), max_shift=1),
    batch_size=64, shuffle=True)`` shows the network a new random variant of every image in every epoch.

    Args:
        dataset: a Dataset whose samples are tuples with the image first, the image ``(C, H, W)``.
        max_shift, max_degrees: as in :func:`augment_batch`.
        seed: ``None`` draws from ``nnlearn.get_rng()``; an int gives this data set a generator of its own,
            created once, so a training run repeats exactly (while every read still differs).
    """

    def __init__(self, dataset: Any, max_shift: Any = 1, max_degrees: float = 0.0, seed=None) -> None:
        if isinstance(dataset, (np.ndarray, Tensor, tuple)):
            raise TypeError(f"AugmentedDataset: dataset must be a Dataset of (image, label) samples, got a "
                            f"{type(dataset).__name__}; wrap arrays as TensorDataset(X, y) first")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"AugmentedDataset: dataset must have __len__ and __getitem__ (e.g. a TensorDataset), "
                            f"got {type(dataset).__name__}")
        self.dataset = dataset
        self.max_shift = _pair(max_shift, "max_shift", "AugmentedDataset")
        self.max_degrees = _nonnegative(max_degrees, "max_degrees", "AugmentedDataset")
        self._rng = None if seed is None else resolve_rng(seed)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Any) -> list[tuple]:
        """The samples at ``indices``, their images augmented together in one call (PyTorch's batched-fetch
        protocol: a loader that knows it asks for a whole batch at once, which is much faster than one by one)."""
        samples = [self.dataset[int(i)] for i in indices]
        images = []
        for sample in samples:
            if not isinstance(sample, (tuple, list)) or len(sample) == 0:
                raise TypeError(f"AugmentedDataset: the wrapped data set must return (image, label, ...) tuples, "
                                f"got {type(sample).__name__}")
            image = sample[0].data if isinstance(sample[0], Tensor) else np.asarray(sample[0])
            if image.ndim != 3:
                raise ValueError(f"AugmentedDataset: each image must have shape (C, H, W), got shape {image.shape}")
            images.append(image)
        shapes = sorted({image.shape for image in images})
        if len(shapes) > 1:
            raise ValueError(f"AugmentedDataset: images fetched together must share one shape, got {shapes}")
        rng = self._rng if self._rng is not None else resolve_rng(None)  # looked up now: manual_seed may replace it
        moved = augment_batch(np.stack(images), self.max_shift, self.max_degrees, seed=rng)
        return [(Tensor(image), *sample[1:]) for image, sample in zip(moved, samples)]

    def __repr__(self) -> str:
        return (f"AugmentedDataset({self.dataset!r}, max_shift={self.max_shift}, "
                f"max_degrees={self.max_degrees})")
