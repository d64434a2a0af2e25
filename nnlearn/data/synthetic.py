"""Generated data sets: small 2-D classification problems and a 1-D regression task.

Every classifier set returns ``(X, y)`` with ``X: (n_samples, 2)`` float32 and ``y: (n_samples,)`` int64
class labels ``0 .. n_classes-1``, balanced (class sizes differ by at most one) and shuffled, so any slice of
the rows is a fair sample. ``seed=None`` draws from the library generator (``nnlearn.manual_seed`` makes it
repeatable); an int seed gives the same data whatever the global state.

The shapes were chosen to need a hidden layer: a straight line cannot separate moons, circles, XOR or spirals.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ._checks import check_int, check_nonnegative, resolve_rng

__all__ = ["make_blobs", "make_circles", "make_moons", "make_regression_1d", "make_spiral", "make_xor"]


def _balanced_counts(n_samples: int, n_classes: int) -> list[int]:
    """Split ``n_samples`` into ``n_classes`` sizes that differ by at most one (the first classes get the extra)."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (1 if j < extra else 0) for j in range(n_classes)]


def _check_n_samples(n_samples, n_classes: int) -> int:
    n_samples = check_int("n_samples", n_samples, minimum=1)
    if n_samples < n_classes:
        raise ValueError(f"n_samples must be at least the number of classes ({n_classes}) so that every class "
                         f"appears, got n_samples={n_samples}")
    return n_samples


def _finish(parts: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stack the per-class point arrays, label them 0, 1, ... in order, and shuffle the rows together."""
    X = np.concatenate(parts, axis=0)
    y = np.concatenate([np.full(len(p), label, dtype=np.int64) for label, p in enumerate(parts)])
    order = rng.permutation(len(X))
    return X[order].astype(np.float32), y[order]


def make_moons(n_samples: int = 200, noise: float = 0.1, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles.

    Class 0 is the upper arc ``(cos t, sin t)``, class 1 the lower arc ``(1 - cos t, 0.5 - sin t)``,
    ``t`` evenly spaced in ``[0, pi]``; then Gaussian noise with standard deviation ``noise`` is added to
    both coordinates. Returns ``X: (n_samples, 2)`` float32, ``y: (n_samples,)`` int64.
    """
    n_samples = _check_n_samples(n_samples, 2)
    noise = check_nonnegative("noise", noise)
    rng = resolve_rng(seed)
    n_upper, n_lower = _balanced_counts(n_samples, 2)
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    upper += noise * rng.standard_normal(upper.shape)
    lower += noise * rng.standard_normal(lower.shape)
    return _finish([upper, lower], rng)


def make_circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5,
                 seed=None) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (class 0) around a smaller one of radius ``factor`` (class 1), both at the origin.

    Angles are evenly spaced; Gaussian noise with standard deviation ``noise`` is added to both coordinates.
    ``0 < factor < 1``. Returns ``X: (n_samples, 2)`` float32, ``y: (n_samples,)`` int64.
    """
    n_samples = _check_n_samples(n_samples, 2)
    noise = check_nonnegative("noise", noise)
    factor = check_nonnegative("factor", factor)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be strictly between 0 and 1 (inner radius / outer radius), got {factor}")
    rng = resolve_rng(seed)
    parts = []
    for radius, count in zip((1.0, factor), _balanced_counts(n_samples, 2)):
        angle = np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
        ring = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        parts.append(ring + noise * rng.standard_normal(ring.shape))
    return _finish(parts, rng)


def make_spiral(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2,
                seed=None) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` spiral arms winding out of the origin (the CS231n toy set).

    Along arm ``j`` the radius grows evenly from 0 to 1 while the angle sweeps 4 radians, starting at
    ``2*pi*j / n_classes`` so the arms are evenly spaced; point ``(r sin t, r cos t)``. ``noise`` is the
    standard deviation of Gaussian noise added to the *angle* (in radians), as in CS231n.
    Returns ``X: (n_samples, 2)`` float32, ``y: (n_samples,)`` int64.
    """
    n_classes = check_int("n_classes", n_classes, minimum=2)
    n_samples = _check_n_samples(n_samples, n_classes)
    noise = check_nonnegative("noise", noise)
    rng = resolve_rng(seed)
    parts = []
    for j, count in enumerate(_balanced_counts(n_samples, n_classes)):
        radius = np.linspace(0.0, 1.0, count)
        start = 2.0 * np.pi * j / n_classes
        angle = np.linspace(start, start + 4.0, count) + noise * rng.standard_normal(count)
        parts.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
    return _finish(parts, rng)


def make_xor(n_samples: int = 200, noise: float = 0.1, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the label is 1 exactly when ``x1`` and ``x2`` have different signs.

    Points are uniform in the four unit squares around the origin — class 0 in the 1st and 3rd quadrants,
    class 1 in the 2nd and 4th, each quadrant holding half of its class — and then Gaussian noise with
    standard deviation ``noise`` is added, which blurs the points across the axes.
    Returns ``X: (n_samples, 2)`` float32, ``y: (n_samples,)`` int64.
    """
    n_samples = _check_n_samples(n_samples, 2)
    noise = check_nonnegative("noise", noise)
    rng = resolve_rng(seed)
    parts = []
    # (sign of x1, sign of x2) for the two quadrants of each class
    quadrants = {0: [(1, 1), (-1, -1)], 1: [(-1, 1), (1, -1)]}
    for label, count in enumerate(_balanced_counts(n_samples, 2)):
        first, second = quadrants[label]
        n_first, n_second = _balanced_counts(count, 2)
        signs = np.array([first] * n_first + [second] * n_second, dtype=np.float64).reshape(count, 2)
        # 1 - random() lies in (0, 1], so without noise no point sits on an axis where the label is undefined
        magnitude = 1.0 - rng.random((count, 2))
        points = signs * magnitude
        parts.append(points + noise * rng.standard_normal(points.shape))
    return _finish(parts, rng)


def make_blobs(n_samples: int = 200, centers=3, cluster_std=1.0, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs, one class per blob.

    ``centers`` is either the number of blobs (their centres then drawn uniformly from the box
    ``[-10, 10]^2``) or an array ``(n_classes, 2)`` of centres. ``cluster_std`` is the standard deviation
    of every blob, or a sequence with one per blob. Returns ``X: (n_samples, 2)`` float32,
    ``y: (n_samples,)`` int64 where ``y == j`` marks the blob around centre ``j``.
    """
    rng = resolve_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        n_classes = check_int("centers", centers, minimum=1)
        n_samples = _check_n_samples(n_samples, n_classes)
        centre_points = None
    else:
        try:
            centre_points = np.asarray(centers, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"centers must be an int or an array of shape (n_classes, 2), got {centers!r}") from None
        if centre_points.ndim != 2 or centre_points.shape[1] != 2 or len(centre_points) == 0:
            raise ValueError(f"centers must be an int or an array of shape (n_classes, 2), "
                             f"got an array of shape {centre_points.shape}")
        if not np.all(np.isfinite(centre_points)):
            raise ValueError("centers must be finite numbers")
        n_classes = len(centre_points)
        n_samples = _check_n_samples(n_samples, n_classes)
    if np.ndim(cluster_std) == 0:
        stds = [check_nonnegative("cluster_std", cluster_std)] * n_classes
    else:
        stds = [check_nonnegative("cluster_std", s) for s in cluster_std]
        if len(stds) != n_classes:
            raise ValueError(f"cluster_std must be a number or have one entry per centre ({n_classes}), "
                             f"got {len(stds)} entries")
    if centre_points is None:
        centre_points = rng.uniform(-10.0, 10.0, size=(n_classes, 2))
    parts = [centre + std * rng.standard_normal((count, 2))
             for centre, std, count in zip(centre_points, stds, _balanced_counts(n_samples, n_classes))]
    return _finish(parts, rng)


def make_regression_1d(fn: Callable[[np.ndarray], np.ndarray] = np.sin, n_samples: int = 100,
                       noise: float = 0.1, x_range: Sequence[float] = (-3.0, 3.0),
                       seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a 1-D function, for fitting curves with a network.

    ``x`` is drawn uniformly from ``x_range = (low, high)``; ``y = fn(x) + noise * N(0, 1)``.
    ``fn`` takes a NumPy array ``(n_samples,)`` and returns one of the same shape (``np.sin``,
    ``lambda x: x ** 2``, ...). Returns ``X: (n_samples, 1)`` and ``y: (n_samples, 1)``, both float32,
    shaped like the input and output of ``nn.Linear(1, ...)``/``nn.Linear(..., 1)``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function of a NumPy array (e.g. np.sin), got {type(fn).__name__}")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    noise = check_nonnegative("noise", noise)
    try:
        low, high = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise TypeError(f"x_range must be a pair of numbers (low, high), got {x_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"x_range must be finite with low < high, got ({low}, {high})")
    rng = resolve_rng(seed)
    x = rng.uniform(low, high, size=n_samples)
    clean = np.asarray(fn(x), dtype=np.float64)
    if clean.shape != x.shape:
        raise ValueError(f"fn must return an array of the same shape as its input ({n_samples},), "
                         f"got shape {clean.shape}")
    if not np.all(np.isfinite(clean)):
        raise ValueError(f"fn returned non-finite values on x_range ({low}, {high})")
    y = clean + noise * rng.standard_normal(n_samples)
    return x.reshape(-1, 1).astype(np.float32), y.reshape(-1, 1).astype(np.float32)
