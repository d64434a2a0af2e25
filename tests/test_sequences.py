"""Sequence data: generated signals, sliding windows, batchify, padding and masks, the text corpus, CharVocab."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn.data import (CharVocab, batchify, load_text_corpus, make_sine_mixture, pad_sequence, sequence_mask,
                          sliding_windows)
from nnlearn.tensor import Tensor


# ---------------------------------------------------------------------- make_sine_mixture
def test_sine_mixture_shape_dtype_and_range():
    x, clean = make_sine_mixture(400, n_components=4, noise=0.1, seed=3, return_clean=True)
    assert x.shape == clean.shape == (400,) and x.dtype == clean.dtype == np.float32
    # amplitudes add up to 1, so the clean signal stays in [-1, 1]; the noise is what remains
    assert np.abs(clean).max() <= 1.0 + 1e-6
    assert np.std(x - clean) == pytest.approx(0.1, rel=0.15)
    assert np.array_equal(make_sine_mixture(400, noise=0.0, seed=1), make_sine_mixture(400, noise=0.0, seed=1))
    assert not np.array_equal(make_sine_mixture(400, seed=1), make_sine_mixture(400, seed=2))


def test_sine_mixture_is_a_sum_of_sines_with_the_given_periods():
    """One component, no noise: a sine whose period lies in period_range, found from its zero crossings."""
    x = make_sine_mixture(2000, n_components=1, period_range=(25.0, 25.0), noise=0.0, seed=0).astype(np.float64)
    # A pure sine of period 25 satisfies x[t + 25] == x[t]; and x[t+1] + x[t-1] = 2 cos(2 pi / 25) x[t].
    np.testing.assert_allclose(x[25:], x[:-25], atol=1e-5)
    np.testing.assert_allclose(x[2:] + x[:-2], 2 * np.cos(2 * np.pi / 25) * x[1:-1], atol=1e-5)
    assert np.abs(x).max() == pytest.approx(1.0, abs=1e-3)   # the single amplitude is scaled to 1


def test_sine_mixture_follows_the_library_seed():
    nnlearn.manual_seed(5)
    a = make_sine_mixture(50)
    nnlearn.manual_seed(5)
    assert np.array_equal(a, make_sine_mixture(50))


def test_sine_mixture_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"n_steps must be an int >= 1, got 0"):
        make_sine_mixture(0)
    with pytest.raises(ValueError, match=r"period_range must be finite with 0 < shortest <= longest, got \(5.0, 2.0\)"):
        make_sine_mixture(10, period_range=(5, 2))
    with pytest.raises(TypeError, match=r"period_range must be a pair of numbers"):
        make_sine_mixture(10, period_range=5)
    with pytest.raises(ValueError, match=r"noise must be a finite number >= 0, got -1"):
        make_sine_mixture(10, noise=-1)


# ---------------------------------------------------------------------- sliding_windows
def test_sliding_windows_pairs_each_window_with_what_follows():
    series = np.arange(10)
    X, y = sliding_windows(series, window=3, horizon=2, stride=2)
    # starts 0, 2, 4 (the window at 6 would need steps up to 10): n = (10 - 3 - 2) // 2 + 1 = 3
    np.testing.assert_array_equal(X, [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    np.testing.assert_array_equal(y, [[3, 4], [5, 6], [7, 8]])


def test_sliding_windows_keep_features_and_accept_tensors():
    series = np.arange(24, dtype=np.float32).reshape(12, 2)
    X, y = sliding_windows(Tensor(series), window=4)
    assert X.shape == (8, 4, 2) and y.shape == (8, 1, 2) and X.dtype == np.float32
    np.testing.assert_array_equal(X[5], series[5:9])
    np.testing.assert_array_equal(y[5, 0], series[9])


def test_sliding_windows_errors():
    with pytest.raises(ValueError, match=r"at least window \+ horizon = 8 \+ 3 = 11 steps, got 10"):
        sliding_windows(np.zeros(10), window=8, horizon=3)
    with pytest.raises(ValueError, match=r"window must be an int >= 1, got 0"):
        sliding_windows(np.zeros(10), window=0)


# ---------------------------------------------------------------------- batchify
def test_batchify_makes_contiguous_streams():
    seq = np.arange(23)
    streams = batchify(seq, 4)                       # T = 23 // 4 = 5; 3 steps dropped
    assert streams.shape == (5, 4)
    np.testing.assert_array_equal(streams[:, 1], np.arange(5, 10))   # stream 1 continues along time
    np.testing.assert_array_equal(batchify(seq, 4, batch_first=True), streams.T)
    # trailing feature axes are kept
    assert batchify(np.zeros((23, 3)), 4).shape == (5, 4, 3)


def test_batchify_errors():
    with pytest.raises(ValueError, match=r"batch_size must be at most the sequence length 5.*got 6"):
        batchify(np.arange(5), 6)
    with pytest.raises(ValueError, match=r"batch_size must be an int >= 1, got 0"):
        batchify(np.arange(5), 0)


# ---------------------------------------------------------------------- padding and masks
def test_pad_sequence_matches_its_definition():
    a, b, c = np.array([1, 2, 3]), np.array([4]), np.array([5, 6])
    padded = pad_sequence([a, b, c], padding_value=-1)
    np.testing.assert_array_equal(padded, [[1, 4, 5], [2, -1, 6], [3, -1, -1]])   # (L_max, N)
    np.testing.assert_array_equal(pad_sequence([a, b, c], batch_first=True, padding_value=-1), padded.T)
    mask = sequence_mask([3, 1, 2])
    np.testing.assert_array_equal(mask, padded != -1)
    assert mask.dtype == bool
    assert sequence_mask([3, 1, 2], max_len=5, batch_first=True).shape == (3, 5)


def test_pad_sequence_agrees_with_pytorch(torch, rng):
    seqs = [rng.standard_normal((n, 3)) for n in (4, 1, 6, 2)]
    for batch_first in (False, True):
        ours = pad_sequence(seqs, batch_first=batch_first, padding_value=0.5)
        theirs = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(s) for s in seqs], batch_first=batch_first,
                                                 padding_value=0.5).numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_nn_utils_rnn_pad_sequence_is_differentiable_and_agrees_with_pytorch(torch, rng):
    from nnlearn import nn
    from nnlearn.testing import gradcheck

    seqs = [rng.standard_normal((n, 3)) for n in (4, 1, 6)]
    weights = rng.standard_normal((6, 3, 3))
    for batch_first in (False, True):
        ours = [nnlearn.tensor(s.copy(), requires_grad=True) for s in seqs]
        theirs = [torch.tensor(s, requires_grad=True) for s in seqs]
        w = weights.transpose(1, 0, 2) if batch_first else weights
        padded = nn.utils.rnn.pad_sequence(ours, batch_first=batch_first, padding_value=0.5)
        expected = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=0.5)
        np.testing.assert_array_equal(padded.numpy(), expected.detach().numpy())
        (padded * nnlearn.tensor(w)).sum().backward()
        (expected * torch.from_numpy(w)).sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda *s: (nn.utils.rnn.pad_sequence(list(s)) ** 2).sum(),
                     [nnlearn.tensor(s, requires_grad=True) for s in seqs])
    # Nothing to differentiate: the same values, as a Tensor without history.
    plain = nn.utils.rnn.pad_sequence(seqs, padding_value=0.5)
    assert isinstance(plain, Tensor) and not plain.requires_grad
    np.testing.assert_array_equal(plain.numpy(), pad_sequence(seqs, padding_value=0.5))
    with pytest.raises(ValueError, match=r"same trailing shape as sequences\[0\] \(3,\)"):
        nn.utils.rnn.pad_sequence([nnlearn.tensor(seqs[0], requires_grad=True), np.zeros((2, 2))])


def test_padding_errors():
    with pytest.raises(ValueError, match=r"same trailing shape as sequences\[0\] \(2,\), "
                                         r"got sequences\[1\] of shape \(3, 3\)"):
        pad_sequence([np.zeros((2, 2)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match=r"empty list"):
        pad_sequence([])
    with pytest.raises(TypeError, match=r"sequences must be a list of arrays"):
        pad_sequence(np.float64(3.0))
    with pytest.raises(ValueError, match=r"max_len must be at least the longest length 4, got 2"):
        sequence_mask([1, 4], max_len=2)
    with pytest.raises(ValueError, match=r"lengths must be a 1-D array of ints"):
        sequence_mask([1.5, 2.0])


# ---------------------------------------------------------------------- text
def test_corpus_is_a_few_kilobytes_of_text():
    text = load_text_corpus()
    assert isinstance(text, str) and 3000 < len(text) < 20000
    assert text.isascii() and "\t" not in text
    assert text.count("Turn, little light") == 4   # the refrain: structure a small model can learn


def test_char_vocab_round_trip():
    text = load_text_corpus()
    vocab = CharVocab(text)
    assert vocab.chars == sorted(set(text)) and len(vocab) == len(set(text))
    codes = vocab.encode(text)
    assert codes.dtype == np.int64 and codes.shape == (len(text),)
    assert vocab.decode(codes) == text
    assert vocab.decode(Tensor(codes[:20])) == text[:20]
    assert "T" in vocab and "~" not in vocab
    assert vocab.stoi[vocab.chars[7]] == 7


def test_char_vocab_one_hot():
    vocab = CharVocab("abca")
    hot = vocab.one_hot(np.array([[0, 2], [1, 1]]))
    assert hot.shape == (2, 2, 3) and hot.dtype == np.float32
    np.testing.assert_array_equal(hot.argmax(-1), [[0, 2], [1, 1]])
    np.testing.assert_array_equal(hot.sum(-1), np.ones((2, 2)))


def test_char_vocab_errors():
    vocab = CharVocab("hello")
    with pytest.raises(ValueError, match=r"character 'x' at position 2 is not in the vocabulary of 4 characters "
                                         r"'ehlo'"):
        vocab.encode("hex")
    with pytest.raises(ValueError, match=r"indices must be in \[0, 3\], got 7"):
        vocab.decode([1, 7])
    with pytest.raises(ValueError, match=r"indices must be a 1-D sequence of ints \(L,\), got shape \(2, 1\)"):
        vocab.decode([[1], [2]])
    with pytest.raises(ValueError, match=r"indices must be in \[0, 3\], got values from 0 to 4"):
        vocab.one_hot([0, 4])
    with pytest.raises(ValueError, match=r"text must not be empty"):
        CharVocab("")
    with pytest.raises(TypeError, match=r"text must be a str, got list"):
        CharVocab(["a"])
