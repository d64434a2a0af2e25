"""Sequence data for the recurrent-networks chapter: generated signals, a built-in text, and the helpers that
shape them for an RNN.

* **Signals** — :func:`make_sine_mixture` sums a few sines of random periods and phases and adds noise;
  :func:`sliding_windows` cuts a series into ``(window → next values)`` pairs for forecasting.
* **Text** — :func:`load_text_corpus` returns a short original text written for this book (no download), and
  :class:`CharVocab` turns characters into indices (or one-hot rows) and back.
* **Batches** — :func:`batchify` cuts one long sequence into ``N`` parallel streams ``(T, N, ...)`` for
  truncated BPTT (:func:`nnlearn.train.fit_tbptt`); :func:`pad_sequence` and :func:`sequence_mask` batch
  sequences of different lengths, on NumPy arrays as the rest of ``nnlearn.data`` does
  (``nnlearn.nn.utils.rnn.pad_sequence``, where PyTorch has it, is the differentiable Tensor version).

>>> from nnlearn.data import make_sine_mixture, sliding_windows, CharVocab, load_text_corpus, batchify
>>> series = make_sine_mixture(500, seed=0)                 # (500,) float32
>>> X, y = sliding_windows(series, window=30)               # X: (470, 30), y: (470, 1)
>>> text = load_text_corpus()
>>> vocab = CharVocab(text)
>>> streams = batchify(vocab.encode(text), batch_size=16)   # (len(text) // 16, 16) int64
>>> inputs, targets = streams[:-1], streams[1:]             # predict the next character at every step
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._checks import check_bool, check_int, check_nonnegative, resolve_rng

__all__ = ["CharVocab", "batchify", "load_text_corpus", "make_sine_mixture", "pad_sequence", "sequence_mask",
           "sliding_windows"]


def _as_array(value: Any, name: str) -> np.ndarray:
    """An array from an array-like or a Tensor (its data, moved to the host if needed)."""
    if hasattr(value, "numpy") and callable(value.numpy):   # a Tensor
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__} that NumPy can only "
                        "store as objects (sequences of different lengths? use pad_sequence)")
    return array


# ---------------------------------------------------------------------- signals
def make_sine_mixture(n_steps: int = 1000, n_components: int = 3, period_range: Sequence[float] = (10.0, 60.0),
                      noise: float = 0.05, seed=None, return_clean: bool = False):
    """A noisy sum of sines: a signal with structure at several time scales, for forecasting.

    ``x[t] = sum_k a_k sin(2 pi t / P_k + phi_k) + noise * N(0, 1)`` for ``t = 0 .. n_steps - 1``, with periods
    ``P_k`` drawn log-uniformly from ``period_range`` (in time steps), phases ``phi_k`` uniformly from
    ``[0, 2 pi)`` and amplitudes ``a_k`` uniformly from ``[0.5, 1]``, then scaled so that they add up to 1: the
    clean signal stays within ``[-1, 1]``.

    Args:
        n_steps: length of the series.
        n_components: number of sines (>= 1).
        period_range: ``(shortest, longest)`` period in steps; both > 0. Periods shorter than 2 steps alias.
        noise: standard deviation of the Gaussian noise added to every step (>= 0).
        seed: None (the library generator: ``nnlearn.manual_seed`` makes it repeatable), an int, or a Generator.
        return_clean: also return the signal without noise.

    Returns:
        ``x: (n_steps,)`` float32, or ``(x, clean)`` with ``return_clean=True``.
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_components = check_int("n_components", n_components, minimum=1)
    noise = check_nonnegative("noise", noise)
    return_clean = check_bool("return_clean", return_clean)
    try:
        low, high = (float(p) for p in period_range)
    except (TypeError, ValueError):
        raise TypeError(f"period_range must be a pair of numbers (shortest, longest), got {period_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high):
        raise ValueError(f"period_range must be finite with 0 < shortest <= longest, got ({low}, {high})")
    rng = resolve_rng(seed)
    periods = np.exp(rng.uniform(np.log(low), np.log(high), size=n_components))   # log-uniform: every scale alike
    phases = rng.uniform(0.0, 2 * np.pi, size=n_components)
    amplitudes = rng.uniform(0.5, 1.0, size=n_components)
    amplitudes /= amplitudes.sum()
    t = np.arange(n_steps, dtype=np.float64)[:, None]
    clean = (amplitudes * np.sin(2 * np.pi * t / periods + phases)).sum(axis=1)
    noisy = (clean + noise * rng.standard_normal(n_steps)).astype(np.float32)
    return (noisy, clean.astype(np.float32)) if return_clean else noisy


def sliding_windows(series: Any, window: int, horizon: int = 1, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into inputs of ``window`` steps and targets of the ``horizon`` steps that follow.

    Window ``j`` starts at ``s = j * stride``: ``X[j] = series[s : s + window]`` and
    ``y[j] = series[s + window : s + window + horizon]``.

    Args:
        series: ``(T,)`` or ``(T, F)`` (any trailing feature shape), an array or a Tensor.
        window: input steps per example (>= 1).  horizon: target steps per example (>= 1).
        stride: steps between the starts of consecutive windows (>= 1).

    Returns:
        ``X: (n, window, ...)`` and ``y: (n, horizon, ...)`` with the series' dtype and trailing shape,
        ``n = (T - window - horizon) // stride + 1``. For a 1-D series add a feature axis for ``nn.RNN``:
        ``X[..., None]`` is ``(n, window, 1)`` (batch-first).
    """
    data = _as_array(series, "series")
    window = check_int("window", window, minimum=1)
    horizon = check_int("horizon", horizon, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    if data.ndim == 0:
        raise ValueError("series must have a time axis, (T,) or (T, F), got a scalar")
    if len(data) < window + horizon:
        raise ValueError(f"series must have at least window + horizon = {window} + {horizon} = {window + horizon} "
                         f"steps, got {len(data)} (shape {data.shape})")
    starts = np.arange(0, len(data) - window - horizon + 1, stride)
    X = np.stack([data[s:s + window] for s in starts])
    y = np.stack([data[s + window:s + window + horizon] for s in starts])
    return X, y


# ---------------------------------------------------------------------- batches of sequences
def batchify(sequence: Any, batch_size: int, batch_first: bool = False) -> np.ndarray:
    """Cut one long sequence into ``batch_size`` contiguous streams, side by side.

    Stream ``n`` is ``sequence[n * T : (n + 1) * T]`` with ``T = len(sequence) // batch_size``; the
    ``len(sequence) % batch_size`` steps left over at the end are dropped. Reading the result chunk by chunk
    along time, each column continues exactly where it stopped, which is what truncated BPTT needs: the state
    carried from one chunk to the next belongs to the same stream. (This is the ``batchify`` of PyTorch's
    word-level language-model example.)

    Args:
        sequence: ``(L,)`` or ``(L, ...)`` — token indices, or values with features.
        batch_size: number of streams ``N`` (1 <= N <= L).
        batch_first: return ``(N, T, ...)`` instead of ``(T, N, ...)``.

    Returns:
        ``(T, N, ...)`` (time-major, as ``nn.LSTM`` expects by default), or ``(N, T, ...)``.
    """
    data = _as_array(sequence, "sequence")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    batch_first = check_bool("batch_first", batch_first)
    if data.ndim == 0:
        raise ValueError("sequence must have a time axis, (L,) or (L, ...), got a scalar")
    if batch_size > len(data):
        raise ValueError(f"batch_size must be at most the sequence length {len(data)} (each stream needs at least "
                         f"one step), got {batch_size}")
    steps = len(data) // batch_size
    streams = data[:steps * batch_size].reshape(batch_size, steps, *data.shape[1:])   # (N, T, ...)
    return np.ascontiguousarray(streams if batch_first else np.swapaxes(streams, 0, 1))


def pad_sequence(sequences: Sequence[Any], batch_first: bool = False, padding_value: float = 0.0) -> np.ndarray:
    """Stack sequences of different lengths into one array, filling the ends of the short ones.

    As ``torch.nn.utils.rnn.pad_sequence`` (same arguments and layout), for NumPy arrays; for Tensors, with
    gradients, use ``nnlearn.nn.utils.rnn.pad_sequence``.

    Args:
        sequences: ``N`` arrays (or Tensors) ``(L_n, *)`` with the same trailing shape ``*`` and ``L_n >= 1``.
        batch_first: return ``(N, L_max, *)`` instead of ``(L_max, N, *)``.
        padding_value: the value of the padded steps.

    Returns:
        ``(L_max, N, *)`` (or ``(N, L_max, *)``), with the dtype NumPy's promotion gives the sequences.
        Keep the lengths ``[L_n]``: :func:`sequence_mask` turns them into the mask of real steps.
    """
    if isinstance(sequences, np.ndarray) and sequences.ndim >= 1 and sequences.dtype != object:
        sequences = list(sequences)   # equal lengths already: each row is one sequence, as torch iterates a tensor
    if not isinstance(sequences, Sequence) or isinstance(sequences, str):
        raise TypeError(f"sequences must be a list of arrays (L_n, *), got {type(sequences).__name__}")
    if len(sequences) == 0:
        raise ValueError("sequences must hold at least one sequence, got an empty list")
    arrays = [_as_array(s, f"sequences[{n}]") for n, s in enumerate(sequences)]
    for n, a in enumerate(arrays):
        if a.ndim == 0 or len(a) == 0:
            raise ValueError(f"sequences[{n}] must be (L, *) with L >= 1, got shape {a.shape}")
        if a.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(f"every sequence must have the same trailing shape as sequences[0] "
                             f"{arrays[0].shape[1:]}, got sequences[{n}] of shape {a.shape}")
    dtype = np.result_type(*arrays)
    longest = max(len(a) for a in arrays)
    padded = np.full((len(arrays), longest, *arrays[0].shape[1:]), padding_value, dtype=dtype)
    for n, a in enumerate(arrays):
        padded[n, :len(a)] = a
    return padded if batch_first else np.ascontiguousarray(np.swapaxes(padded, 0, 1))


def sequence_mask(lengths: Any, max_len: int | None = None, batch_first: bool = False) -> np.ndarray:
    """The mask of real (not padded) steps: ``mask[t, n] = t < lengths[n]``.

    Args:
        lengths: ``(N,)`` sequence lengths (ints >= 0).
        max_len: number of time steps ``T`` of the mask (default ``max(lengths)``); at least ``max(lengths)``.
        batch_first: return ``(N, T)`` instead of ``(T, N)``.

    Returns:
        bool ``(T, N)`` (or ``(N, T)``), matching :func:`pad_sequence`'s layout. A masked mean
        ``(loss * mask).sum() / mask.sum()`` averages over the real steps only.
    """
    lengths = _as_array(lengths, "lengths")
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be a 1-D array of ints (N,), got shape {lengths.shape} and dtype "
                         f"{lengths.dtype}")
    if lengths.size and lengths.min() < 0:
        raise ValueError(f"lengths must be >= 0, got {lengths.min()}")
    longest = int(lengths.max()) if lengths.size else 0
    if max_len is None:
        max_len = longest
    max_len = check_int("max_len", max_len, minimum=0)
    if max_len < longest:
        raise ValueError(f"max_len must be at least the longest length {longest}, got {max_len}")
    batch_first = check_bool("batch_first", batch_first)
    mask = np.arange(max_len)[None, :] < lengths[:, None]   # (N, T)
    return mask if batch_first else np.ascontiguousarray(mask.T)


# ---------------------------------------------------------------------- characters
class CharVocab:
    """The characters of a text, numbered ``0 .. V-1`` in sorted order, with conversions both ways.

    >>> vocab = CharVocab("hello")
    >>> vocab.chars, len(vocab)
    (['e', 'h', 'l', 'o'], 4)
    >>> vocab.encode("hell")
    array([1, 0, 2, 2])
    >>> vocab.decode([2, 3])
    'lo'

    Attributes:
        chars: the characters; ``chars[i]`` is the character with index ``i`` (PyTorch/torchtext's ``itos``).
        stoi: ``{character: index}``.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"CharVocab: text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharVocab: text must not be empty: the vocabulary is the set of its characters")
        self.chars: list[str] = sorted(set(text))
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: object) -> bool:
        return char in self.stoi

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters: {''.join(self.chars)!r})"

    def encode(self, text: str) -> np.ndarray:
        """``text`` as indices: int64 ``(len(text),)``. A character outside the vocabulary is an error."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: text must be a str, got {type(text).__name__}")
        try:
            return np.array([self.stoi[c] for c in text], dtype=np.int64)
        except KeyError as error:
            char = error.args[0]
            raise ValueError(f"CharVocab.encode: character {char!r} at position {text.index(char)} is not in the "
                             f"vocabulary of {len(self)} characters {''.join(self.chars)!r}") from None

    def decode(self, indices: Any) -> str:
        """Indices ``(L,)`` (a list, an int array or a Tensor) back to a string of ``L`` characters."""
        array = _as_array(indices, "indices")
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise ValueError(f"CharVocab.decode: indices must be a 1-D sequence of ints (L,), got shape "
                             f"{array.shape} and dtype {array.dtype}")
        bad = array[(array < 0) | (array >= len(self))]
        if bad.size:
            raise ValueError(f"CharVocab.decode: indices must be in [0, {len(self) - 1}], got {bad[0]}")
        return "".join(self.chars[i] for i in array.tolist())

    def one_hot(self, indices: Any, dtype: Any = np.float32) -> np.ndarray:
        """Indices of any shape ``(*)`` → one-hot rows ``(*, V)`` (1 at each index, 0 elsewhere).

        ``nn.Embedding`` computes the same product with a weight matrix without building these rows; the
        one-hot form is what an ``nn.RNN`` reads when it has no embedding.
        """
        array = _as_array(indices, "indices")
        if array.size and array.dtype.kind not in "iu":
            raise ValueError(f"CharVocab.one_hot: indices must be ints, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= len(self)):
            raise ValueError(f"CharVocab.one_hot: indices must be in [0, {len(self) - 1}], got values from "
                             f"{array.min()} to {array.max()}")
        return np.eye(len(self), dtype=dtype)[array]


def load_text_corpus() -> str:
    """A short original text written for this book, for character-level language models (about 4 KB).

    "The Lamp on the Headland" — prose paragraphs and rhyming stanzas with a recurring refrain, so a small
    model can pick up spelling, words, line breaks and the shape of the verse within seconds of training. It is
    part of nnlearn (same licence), so building the book needs no download.
    """
    return _LAMP_ON_THE_HEADLAND


_LAMP_ON_THE_HEADLAND = """\
The Lamp on the Headland

At the end of the land, where the road gives up and the grass turns to salt, there is a white tower with a \
lamp at the top. A keeper lives in the tower. He has a kettle, a cat, a logbook and a long brass key, and every \
evening, when the sun goes down behind the water, he climbs the stair.

The stair has one hundred and eleven steps. The keeper counts them every night, because counting keeps him \
awake, and because once, long ago, he counted one hundred and twelve and never found the extra step again.

At the top he trims the wick, he wipes the glass, he winds the clock that turns the lamp. Then he writes in \
the logbook: the hour, the wind, the weather, and the ships that pass.

  Turn, little light, turn through the night,
  the sea is wide and the rocks are near;
  turn, little light, and keep them right,
  and bring the boats home safe and clear.

The wind came from the west tonight,
it pulled the clouds across the moon;
the keeper said, the lamp is bright,
the boats will all be home by noon.

The wind came from the north at three,
it shook the windows in their frames;
the keeper made a pot of tea
and wrote down all the fishing names.

The Mary Ann, the Morning Star,
the Little Hope, the Heron Grey,
they saw the light from very far
and turned their bows and found the way.

  Turn, little light, turn through the night,
  the sea is wide and the rocks are near;
  turn, little light, and keep them right,
  and bring the boats home safe and clear.

In the morning the keeper climbs down the stair, one hundred and eleven steps, and feeds the cat, and sleeps \
until the afternoon. When he wakes he walks along the cliff and looks at the sea. Some days the sea is grey and \
flat, like a plate. Some days it is green and full of white horses. Some days a fog comes in so thick that the \
keeper cannot see his own hand, and then he does not sleep at all: he sounds the horn every minute, long and \
low, until the fog goes out again.

The cat does not like the horn. The cat likes the warm stone by the stove, the fish the boats bring up to the \
tower, and the quiet hour just before dawn, when the lamp is still turning and the keeper is writing in his book.

The wind came from the east one day,
it smelled of rain and rope and tar;
a small boat lost its mast and lay
beyond the rocks, beyond the bar.

The keeper saw it from the tower,
he saw it lean, he saw it spin;
he rang the bell for half an hour
until the lifeboat brought it in.

The fisher, wrapped in blankets, said:
I saw your lamp and held my course;
I thought that I was good as dead,
and then your light came round, of course.

  Turn, little light, turn through the night,
  the sea is wide and the rocks are near;
  turn, little light, and keep them right,
  and bring the boats home safe and clear.

Now the lamp is run by a machine, and the keeper is old. He lives in a house in the village, with a newer cat, \
and he does not climb the stair. But in the evening, when the sun goes down behind the water, he stands at his \
window and counts: one turn, two turns, three turns, and he writes in a small book the hour, the wind, the \
weather, and the ships that pass.

The wind comes from the south tonight,
it carries music from the town;
the lamp still turns, the lamp is bright,
the keeper sees it going round.

He counts the turns, he counts the years,
he counts the boats that found the bay;
the sea is wide, the shore is near,
and every night becomes a day.

  Turn, little light, turn through the night,
  the sea is wide and the rocks are near;
  turn, little light, and keep them right,
  and bring the boats home safe and clear.
"""
