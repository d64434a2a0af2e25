"""Public tests for the chapter 13 exercises (recurrent networks in NumPy: an RNN step forward and backward, the
LSTM step's backward, backpropagation through time, a masked loss for padded batches, gradient clipping).

Each test takes ``nb``, the learner's answers: ``nb.rnn_step_forward`` is the function the notebook defines.
Backward passes are checked three ways: on small cases worked out by hand in the comments, with
``nnlearn.testing.gradcheck`` (central finite differences in float64, on every element of every input), and
against the library's reference kernels (``nnlearn.kernels.reference.recurrent``), which are themselves tested
against finite differences and PyTorch. The forward passes that feed the learner's backward passes are computed
here, never taken from the notebook, so each exercise is graded on its own (exercise 4 may call the learner's
``rnn_step_backward``, as the notebook suggests). Test names start with the exercise they grade:
``test_step_forward_*``, ``test_step_backward_*``, ``test_lstm_backward_*``, ``test_bptt_*``, ``test_masked_*``,
``test_clip_*``. Where a test has a ``hint``, a learner's graded report shows it next to a failure.
"""
from __future__ import annotations

import numpy as np

from nnlearn import Function, tensor
from nnlearn.grading import points
from nnlearn.kernels.reference import recurrent as ref
from nnlearn.testing import gradcheck


# --- helpers (not tests) -----------------------------------------------------------------------------------

def normal(seed, *shapes, scale=1.0):
    """Float64 arrays of the given shapes from a fixed seed: the same numbers on every run."""
    rng = np.random.default_rng(seed)
    return [scale * rng.normal(size=shape) for shape in shapes]


def check_shape(got, shape, what):
    got = np.asarray(got)
    assert got.shape == shape, f"{what} should have shape {shape}, got {got.shape}"
    return got


def check_tuple(result, names, fn):
    assert isinstance(result, tuple) and len(result) == len(names), \
        f"{fn} must return a tuple ({', '.join(names)}), got {type(result).__name__}" + \
        (f" of length {len(result)}" if isinstance(result, tuple) else "")
    return result


def assert_close(got, expected, what):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=1e-9, atol=1e-12, err_msg=what)


def rnn_case(seed, N, I, H):
    """x: (N, I), h_prev: (N, H), W_ih: (H, I), W_hh: (H, H), b: (H,); weights scaled so tanh is not saturated."""
    x, h_prev, b = normal(seed, (N, I), (N, H), (H,))
    W_ih, W_hh = normal(seed + 1000, (H, I), (H, H), scale=0.5)
    return x, h_prev, W_ih, W_hh, b


def rnn_step(x, h_prev, W_ih, W_hh, b):
    """The tanh RNN step, written here so that backward tests do not depend on the learner's forward."""
    return np.tanh(x @ W_ih.T + h_prev @ W_hh.T + b)


def lstm_step(x, h_prev, c_prev, W_ih, W_hh, b):
    """The LSTM step of the notebook (gates i, f, g, o), returning (h, c, cache) in the notebook's cache layout."""
    H = h_prev.shape[1]
    a = x @ W_ih.T + h_prev @ W_hh.T + b
    i, f, o = ref.sigmoid(a[:, :H]), ref.sigmoid(a[:, H:2 * H]), ref.sigmoid(a[:, 3 * H:])
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, (x, h_prev, c_prev, W_ih, W_hh, i, f, g, o, c)


def lstm_case(seed, N, I, H):
    """x: (N, I), h_prev, c_prev: (N, H), W_ih: (4H, I), W_hh: (4H, H), b: (4H,)."""
    x, h_prev, c_prev, b = normal(seed, (N, I), (N, H), (N, H), (4 * H,))
    W_ih, W_hh = normal(seed + 1000, (4 * H, I), (4 * H, H), scale=0.5)
    return x, h_prev, c_prev, W_ih, W_hh, b


def sequence_case(seed, T, N, I, H):
    """A sequence x: (T, N, I), h0: (N, H), weights and bias, and the hidden states hs: (T, N, H) of the reference."""
    x, h0, b = normal(seed, (T, N, I), (N, H), (H,))
    W_ih, W_hh = normal(seed + 1000, (H, I), (H, H), scale=0.5)
    hs, _, _ = ref.rnn_forward(x, h0, W_ih, W_hh, b, None)
    return x, h0, W_ih, W_hh, b, hs


def padded_case(seed, T, N, C, lengths):
    """logits: (T, N, C) and targets: (T, N) in [0, C), with -100 (PyTorch's ignore_index) at padded steps."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(T, N, C))
    targets = rng.integers(0, C, size=(T, N))
    lengths = np.asarray(lengths)
    targets[np.arange(T)[:, None] >= lengths[None, :]] = -100
    return logits, targets, lengths


def masked_cross_entropy_autograd(logits, targets):
    """Loss and dlogits from the library's F.cross_entropy(ignore_index=-100) and autograd: an independent route."""
    from nnlearn import functional as F

    T, N, C = logits.shape
    z = tensor(logits, requires_grad=True)
    loss = F.cross_entropy(z.reshape(T * N, C), tensor(targets.reshape(-1)), ignore_index=-100)
    loss.backward()
    return loss.item(), z.grad


# --- Exercise 1: rnn_step_forward --------------------------------------------------------------------------

@points(1)
def test_step_forward_hand_computed(nb):
    # One input, one hidden unit: a = 1 * 0.5 + 2 * (-0.25) + 0.3 = 0.3, so h = tanh(0.3).
    got = check_shape(nb.rnn_step_forward(np.array([[1.0]]), np.array([[2.0]]), np.array([[0.5]]),
                                          np.array([[-0.25]]), np.array([0.3])), (1, 1), "h")
    assert_close(got, [[np.tanh(0.3)]], "h = tanh(x W_ih^T + h_prev W_hh^T + b)")
    # Zero weights: every row of the batch is tanh(b), whatever x and h_prev are.
    x, h_prev, _, _, b = rnn_case(0, 3, 2, 4)
    got = check_shape(nb.rnn_step_forward(x, h_prev, np.zeros((4, 2)), np.zeros((4, 4)), b), (3, 4), "h")
    assert_close(got, np.tile(np.tanh(b), (3, 1)), "with zero weights h = tanh(b) in every row")


@points(1)
def test_step_forward_shapes(nb):
    for N, I, H in [(1, 1, 1), (4, 3, 5), (2, 7, 3)]:
        x, h_prev, W_ih, W_hh, b = rnn_case(1, N, I, H)
        check_shape(nb.rnn_step_forward(x, h_prev, W_ih, W_hh, b), (N, H),
                    f"h for x {x.shape}, h_prev {h_prev.shape}, W_ih {W_ih.shape}")


@points(2)
def test_step_forward_matches_reference(nb):
    for seed, (N, I, H) in enumerate([(3, 4, 5), (1, 6, 2), (5, 2, 8)]):
        x, h_prev, W_ih, W_hh, b = rnn_case(10 + seed, N, I, H)
        expected, _, _ = ref.rnn_forward(x[None], h_prev, W_ih, W_hh, b, None)  # a sequence of length 1
        got = check_shape(nb.rnn_step_forward(x, h_prev, W_ih, W_hh, b), (N, H), "h")
        assert_close(got, expected[0], f"N={N}, I={I}, H={H}")


@points(1, hint="W_ih has PyTorch's layout (H, I), one row per hidden unit: the step uses x @ W_ih.T "
                             "and h_prev @ W_hh.T. With square weights a missing .T gives no shape error.")
def test_step_forward_square_weights_and_inputs_unchanged(nb):
    x, h_prev, W_ih, W_hh, b = rnn_case(2, 3, 4, 4)  # I = H: W_ih and W_ih.T have the same shape
    copies = [a.copy() for a in (x, h_prev, W_ih, W_hh, b)]
    got = nb.rnn_step_forward(x, h_prev, W_ih, W_hh, b)
    assert_close(got, rnn_step(*copies), "I = H = 4, with weights that are not symmetric")
    for name, a, copy in zip(("x", "h_prev", "W_ih", "W_hh", "b"), (x, h_prev, W_ih, W_hh, b), copies):
        np.testing.assert_array_equal(a, copy, err_msg=f"rnn_step_forward must not change {name}")


# --- Exercise 2: rnn_step_backward -------------------------------------------------------------------------

STEP_GRADS = ("dx", "dh_prev", "dW_ih", "dW_hh", "db")


class _RNNStep(Function):
    """Our forward, the learner's backward: gradcheck then compares rnn_step_backward with finite differences."""

    @staticmethod
    def forward(ctx, x, h_prev, W_ih, W_hh, b, backward):
        h = rnn_step(x, h_prev, W_ih, W_hh, b)
        ctx.save_for_backward(x, h_prev, W_ih, W_hh, h, backward)
        return h

    @staticmethod
    def backward(ctx, dh):
        *saved, backward = ctx.saved
        return tuple(backward(dh, *saved)) + (None,)


@points(1)
def test_step_backward_hand_computed(nb):
    # The case of exercise 1: a = 0.3, h = tanh(0.3); with dh = 1, da = 1 - tanh(0.3)^2 =: s, and then
    # dx = s * W_ih = 0.5 s, dh_prev = s * W_hh = -0.25 s, dW_ih = s * x = s, dW_hh = s * h_prev = 2 s, db = s.
    h = np.array([[np.tanh(0.3)]])
    s = 1 - np.tanh(0.3) ** 2
    result = check_tuple(nb.rnn_step_backward(np.array([[1.0]]), np.array([[1.0]]), np.array([[2.0]]),
                                              np.array([[0.5]]), np.array([[-0.25]]), h), STEP_GRADS,
                         "rnn_step_backward")
    for name, got, expected in zip(STEP_GRADS, result, [0.5 * s, -0.25 * s, s, 2 * s, s]):
        assert_close(np.ravel(got), [expected], f"{name}, with da = 1 - tanh(0.3)^2 = {s:.6f}")


@points(1)
def test_step_backward_shapes(nb):
    x, h_prev, W_ih, W_hh, b = rnn_case(3, 2, 3, 5)
    h = rnn_step(x, h_prev, W_ih, W_hh, b)
    dh, = normal(3, (2, 5))
    result = check_tuple(nb.rnn_step_backward(dh, x, h_prev, W_ih, W_hh, h), STEP_GRADS, "rnn_step_backward")
    for name, got, like in zip(STEP_GRADS, result, (x, h_prev, W_ih, W_hh, b)):
        check_shape(got, like.shape, f"{name} (like {name[1:]})")


@points(2)
def test_step_backward_gradcheck(nb):
    for seed, (N, I, H) in enumerate([(3, 4, 5), (1, 2, 3)]):
        inputs = [tensor(a, requires_grad=True) for a in rnn_case(20 + seed, N, I, H)]
        result = gradcheck(lambda *a: _RNNStep.apply(*a, nb.rnn_step_backward), inputs)
        assert result, f"N={N}, I={I}, H={H}: {result} (inputs 0..4 are x, h_prev, W_ih, W_hh, b)"


@points(2)
def test_step_backward_matches_reference(nb):
    for seed, (N, I, H) in enumerate([(4, 3, 6), (2, 6, 6), (1, 1, 4)]):
        x, h_prev, W_ih, W_hh, b = rnn_case(30 + seed, N, I, H)
        _, _, saved = ref.rnn_forward(x[None], h_prev, W_ih, W_hh, b, None)
        dh, = normal(30 + seed, (N, H))
        expected = ref.rnn_backward(dh[None], np.zeros((N, H)), x[None], h_prev, W_ih, W_hh, saved)
        expected = (expected[0][0],) + expected[1:5]  # dx of the only step; db_ih (= db_hh) is our db
        result = check_tuple(nb.rnn_step_backward(dh, x, h_prev, W_ih, W_hh, saved[0][1]), STEP_GRADS,
                             "rnn_step_backward")
        for name, got, e in zip(STEP_GRADS, result, expected):
            assert_close(got, e, f"{name}, N={N}, I={I}, H={H}")


@points(1, hint="dW_ih, dW_hh and db add up the contributions of every row of the batch: "
                             "da.T @ x sums over the batch by itself, and db needs a sum over axis 0.")
def test_step_backward_batch_is_the_sum_of_its_rows(nb):
    x, h_prev, W_ih, W_hh, b = rnn_case(4, 5, 3, 4)
    h = rnn_step(x, h_prev, W_ih, W_hh, b)
    dh, = normal(4, (5, 4))
    batch = nb.rnn_step_backward(dh, x, h_prev, W_ih, W_hh, h)
    rows = [nb.rnn_step_backward(dh[n:n + 1], x[n:n + 1], h_prev[n:n + 1], W_ih, W_hh, h[n:n + 1])
            for n in range(5)]
    for k, name in enumerate(STEP_GRADS):
        if k < 2:  # dx and dh_prev: row n of the batch is the gradient of sample n alone
            expected = np.concatenate([np.asarray(r[k]) for r in rows])
        else:      # the shared weights and bias: the sum over the samples
            expected = sum(np.asarray(r[k], dtype=np.float64) for r in rows)
        assert_close(batch[k], expected, f"{name} for a batch of 5 against 5 batches of one")


# --- Exercise 3: lstm_step_backward ------------------------------------------------------------------------

LSTM_GRADS = ("dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db")


class _LSTMStep(Function):
    """Our LSTM forward with output [h, c] side by side, (N, 2H), and the learner's backward: gradcheck then
    exercises both incoming gradients, dh and dc."""

    @staticmethod
    def forward(ctx, x, h_prev, c_prev, W_ih, W_hh, b, backward):
        h, c, cache = lstm_step(x, h_prev, c_prev, W_ih, W_hh, b)
        ctx.save_for_backward(cache, backward)
        return np.concatenate([h, c], axis=1)

    @staticmethod
    def backward(ctx, grad):
        cache, backward = ctx.saved
        dh, dc = np.split(grad, 2, axis=1)
        return tuple(backward(dh, dc, cache)) + (None,)


@points(1)
def test_lstm_backward_shapes(nb):
    x, h_prev, c_prev, W_ih, W_hh, b = lstm_case(5, 2, 3, 4)
    _, _, cache = lstm_step(x, h_prev, c_prev, W_ih, W_hh, b)
    dh, dc = normal(5, (2, 4), (2, 4))
    result = check_tuple(nb.lstm_step_backward(dh, dc, cache), LSTM_GRADS, "lstm_step_backward")
    for name, got, like in zip(LSTM_GRADS, result, (x, h_prev, c_prev, W_ih, W_hh, b)):
        check_shape(got, like.shape, f"{name} (like {name[1:]})")


@points(1)
def test_lstm_backward_cell_gradient_only(nb):
    # With dh = 0 nothing reaches the output gate (h = o * tanh(c) is the only place o is used), so the o-block
    # [3H:4H] of db is 0; and c = f * c_prev + i * g gives dc_prev = dc * f exactly.
    x, h_prev, c_prev, W_ih, W_hh, b = lstm_case(6, 3, 2, 4)
    _, _, cache = lstm_step(x, h_prev, c_prev, W_ih, W_hh, b)
    dc, = normal(6, (3, 4))
    result = check_tuple(nb.lstm_step_backward(np.zeros((3, 4)), dc, cache), LSTM_GRADS, "lstm_step_backward")
    f = cache[6]
    assert_close(result[2], dc * f, "dc_prev = dc * f when dh = 0: the forget gate is the cell's path back")
    assert_close(np.asarray(result[5])[12:], np.zeros(4),
                 "db[3H:4H] (the output gate o) must be 0 when dh = 0; gates are stacked i, f, g, o")


@points(2)
def test_lstm_backward_gradcheck(nb):
    for seed, (N, I, H) in enumerate([(3, 4, 5), (1, 2, 2)]):
        inputs = [tensor(a, requires_grad=True) for a in lstm_case(40 + seed, N, I, H)]
        result = gradcheck(lambda *a: _LSTMStep.apply(*a, nb.lstm_step_backward), inputs)
        assert result, f"N={N}, I={I}, H={H}: {result} (inputs 0..5 are x, h_prev, c_prev, W_ih, W_hh, b)"


@points(2)
def test_lstm_backward_matches_reference(nb):
    for seed, (N, I, H) in enumerate([(4, 3, 5), (2, 5, 3)]):
        x, h_prev, c_prev, W_ih, W_hh, b = lstm_case(50 + seed, N, I, H)
        _, _, cache = lstm_step(x, h_prev, c_prev, W_ih, W_hh, b)
        _, _, _, saved = ref.lstm_forward(x[None], h_prev, c_prev, W_ih, W_hh, b, None)
        dh, dc = normal(50 + seed, (N, H), (N, H))
        # One step: dout[0] = dh is the gradient of h, dc_n = dc the gradient of c.
        expected = ref.lstm_backward(dh[None], np.zeros((N, H)), dc, x[None], h_prev, c_prev, W_ih, W_hh, saved)
        expected = (expected[0][0],) + expected[1:6]
        result = check_tuple(nb.lstm_step_backward(dh, dc, cache), LSTM_GRADS, "lstm_step_backward")
        for name, got, e in zip(LSTM_GRADS, result, expected):
            assert_close(got, e, f"{name}, N={N}, I={I}, H={H}")


@points(1, hint="Leave dh, dc and the cache as you found them: `dc += ...` or `dc *= f` changes the "
                             "caller's array (in BPTT, the gradient another step still needs). Write dc = dc + ...")
def test_lstm_backward_inputs_unchanged(nb):
    x, h_prev, c_prev, W_ih, W_hh, b = lstm_case(7, 2, 3, 3)
    _, _, cache = lstm_step(x, h_prev, c_prev, W_ih, W_hh, b)
    dh, dc = normal(7, (2, 3), (2, 3))
    before = [a.copy() for a in (dh, dc, *cache)]
    nb.lstm_step_backward(dh, dc, cache)
    names = ("dh", "dc", "cache[0] (x)", "cache[1] (h_prev)", "cache[2] (c_prev)", "cache[3] (W_ih)",
             "cache[4] (W_hh)", "cache[5] (i)", "cache[6] (f)", "cache[7] (g)", "cache[8] (o)", "cache[9] (c)")
    for name, a, copy in zip(names, (dh, dc, *cache), before):
        np.testing.assert_array_equal(a, copy, err_msg=f"lstm_step_backward changed {name} in place")


# --- Exercise 4: rnn_backward (backpropagation through time) ----------------------------------------------

BPTT_GRADS = ("dx", "dh0", "dW_ih", "dW_hh", "db")


class _RNNSequence(Function):
    """The reference forward over a sequence and the learner's BPTT: gradcheck on every input."""

    @staticmethod
    def forward(ctx, x, h0, W_ih, W_hh, b, backward):
        hs, _, _ = ref.rnn_forward(x, h0, W_ih, W_hh, b, None)
        ctx.save_for_backward(x, h0, W_ih, W_hh, hs, backward)
        return hs

    @staticmethod
    def backward(ctx, dout):
        *saved, backward = ctx.saved
        return tuple(backward(dout, *saved)) + (None,)


def reference_bptt(dout, x, h0, W_ih, W_hh, b):
    _, _, saved = ref.rnn_forward(x, h0, W_ih, W_hh, b, None)
    dx, dh0, dW_ih, dW_hh, db, _ = ref.rnn_backward(dout, np.zeros_like(h0), x, h0, W_ih, W_hh, saved)
    return dx, dh0, dW_ih, dW_hh, db


@points(1)
def test_bptt_shapes(nb):
    x, h0, W_ih, W_hh, b, hs = sequence_case(8, 4, 2, 3, 5)
    dout, = normal(8, hs.shape)
    result = check_tuple(nb.rnn_backward(dout, x, h0, W_ih, W_hh, hs), BPTT_GRADS,
                         "rnn_backward")
    for name, got, like in zip(BPTT_GRADS, result, (x, h0, W_ih, W_hh, b)):
        check_shape(got, like.shape, f"{name} (like {name[1:]})")


@points(1)
def test_bptt_no_recurrence_means_no_gradient_back_in_time(nb):
    # With W_hh = 0 each state depends on its own input only: h_t = tanh(x_t W_ih^T + b). A loss on the last
    # output then reaches x[T-1] alone: dx[t] = 0 for t < T-1, dh0 = 0, and dx[T-1] is one step's gradient,
    # (dout[T-1] * (1 - h_T^2)) @ W_ih.
    x, h0, W_ih, _, b, _ = sequence_case(9, 5, 2, 3, 4)
    W_hh = np.zeros((4, 4))
    hs, _, _ = ref.rnn_forward(x, h0, W_ih, W_hh, b, None)
    dout = np.zeros_like(hs)
    dout[-1], = normal(9, (2, 4))
    dx, dh0, *_ = check_tuple(nb.rnn_backward(dout, x, h0, W_ih, W_hh, hs), BPTT_GRADS,
                              "rnn_backward")
    assert_close(np.asarray(dx)[:-1], np.zeros((4, 2, 3)), "dx[t] for t < T-1 when W_hh = 0")
    assert_close(dh0, np.zeros((2, 4)), "dh0 when W_hh = 0")
    assert_close(np.asarray(dx)[-1], (dout[-1] * (1 - hs[-1] ** 2)) @ W_ih, "dx[T-1] when W_hh = 0")


@points(2)
def test_bptt_gradcheck(nb):
    for seed, (T, N, I, H) in enumerate([(4, 2, 3, 3), (1, 2, 2, 3)]):
        x, h0, W_ih, W_hh, b, _ = sequence_case(60 + seed, T, N, I, H)
        inputs = [tensor(a, requires_grad=True) for a in (x, h0, W_ih, W_hh, b)]
        result = gradcheck(lambda *a: _RNNSequence.apply(*a, nb.rnn_backward), inputs)
        assert result, f"T={T}, N={N}, I={I}, H={H}: {result} (inputs 0..4 are x, h0, W_ih, W_hh, b)"


@points(2)
def test_bptt_matches_reference(nb):
    for seed, (T, N, I, H) in enumerate([(6, 3, 4, 5), (3, 1, 2, 2), (8, 2, 3, 4)]):
        x, h0, W_ih, W_hh, b, hs = sequence_case(70 + seed, T, N, I, H)
        dout, = normal(70 + seed, hs.shape)
        result = check_tuple(nb.rnn_backward(dout, x, h0, W_ih, W_hh, hs), BPTT_GRADS,
                             "rnn_backward")
        for name, got, e in zip(BPTT_GRADS, result,
                                reference_bptt(dout, x, h0, W_ih, W_hh, b)):
            assert_close(got, e, f"{name}, T={T}, N={N}, I={I}, H={H}")


@points(1, hint="The gradient entering step t is dout[t] plus the dh_prev that step t+1 sent back; "
                             "with a loss on the last output only, every earlier step still gets a gradient.")
def test_bptt_gradient_flows_back_through_time(nb):
    x, h0, W_ih, W_hh, b, hs = sequence_case(10, 6, 2, 3, 4)
    dout = np.zeros_like(hs)
    dout[-1] = 1.0  # L = sum of the last state's units
    result = nb.rnn_backward(dout, x, h0, W_ih, W_hh, hs)
    for name, got, e in zip(BPTT_GRADS, result, reference_bptt(dout, x, h0, W_ih, W_hh, b)):
        assert_close(got, e, f"{name} for a loss on the last output only")


@points(1, hint="Leave dout and hs as you found them: adding into dout[t] in place (dout[t] += ...) "
                             "changes the caller's array.")
def test_bptt_inputs_unchanged(nb):
    x, h0, W_ih, W_hh, b, hs = sequence_case(11, 5, 2, 3, 3)
    dout, = normal(11, hs.shape)
    arrays = (dout, x, h0, W_ih, W_hh, hs)
    before = [a.copy() for a in arrays]
    nb.rnn_backward(*arrays)
    for name, a, copy in zip(("dout", "x", "h0", "W_ih", "W_hh", "hs"), arrays, before):
        np.testing.assert_array_equal(a, copy, err_msg=f"rnn_backward changed {name} in place")


# --- Exercise 5: masked_cross_entropy ----------------------------------------------------------------------

def check_masked(result, T, N, C):
    loss, dlogits = check_tuple(result, ("loss", "dlogits"), "masked_cross_entropy")
    assert np.ndim(loss) == 0, f"loss should be a single number, got an array of shape {np.shape(loss)}"
    return float(loss), check_shape(dlogits, (T, N, C), "dlogits (like logits)")


@points(1)
def test_masked_hand_computed_uniform_logits(nb):
    # All logits 0: softmax is 1/C everywhere, every counted step costs log C, so the mean is log C = log 4.
    # lengths (3, 1) count M = 4 steps; dlogits = (1/4 - onehot(target)) / 4 there and 0 at the 2 padded steps.
    targets = np.array([[1, 2], [3, -100], [0, -100]])
    loss, dlogits = check_masked(nb.masked_cross_entropy(np.zeros((3, 2, 4)), targets, np.array([3, 1])), 3, 2, 4)
    assert_close(loss, np.log(4.0), "uniform logits: the loss is log C")
    expected = np.zeros((3, 2, 4))
    for t, n in [(0, 0), (1, 0), (2, 0), (0, 1)]:
        expected[t, n] = 0.25 / 4
        expected[t, n, targets[t, n]] -= 1 / 4
    assert_close(dlogits, expected, "dlogits = (softmax - onehot) / M at counted steps, 0 at padded steps")


@points(1)
def test_masked_padded_steps_do_not_count(nb):
    # Changing the logits of padded steps (t >= lengths[n]) changes neither the loss nor the other gradients.
    logits, targets, lengths = padded_case(12, 5, 3, 6, [5, 2, 3])
    loss, dlogits = check_masked(nb.masked_cross_entropy(logits, targets, lengths), 5, 3, 6)
    padded = np.arange(5)[:, None] >= lengths[None, :]
    changed = logits.copy()
    changed[padded] = 50.0 * np.random.default_rng(12).normal(size=(int(padded.sum()), 6))
    loss2, dlogits2 = check_masked(nb.masked_cross_entropy(changed, targets, lengths), 5, 3, 6)
    assert_close(loss2, loss, "the loss must not depend on the logits of padded steps")
    assert_close(dlogits2, dlogits, "dlogits must not depend on the logits of padded steps")
    assert_close(np.asarray(dlogits)[padded], np.zeros((int(padded.sum()), 6)), "dlogits at padded steps")


@points(2)
def test_masked_matches_library_cross_entropy(nb):
    for seed, (T, N, C, lengths) in enumerate([(4, 3, 5, [4, 1, 2]), (6, 2, 3, [6, 6]), (3, 4, 7, [1, 3, 2, 1])]):
        logits, targets, lengths = padded_case(80 + seed, T, N, C, lengths)
        loss, dlogits = check_masked(nb.masked_cross_entropy(logits, targets, lengths), T, N, C)
        expected_loss, expected_dlogits = masked_cross_entropy_autograd(logits, targets)
        assert_close(loss, expected_loss, f"loss: F.cross_entropy(ignore_index=-100), lengths {lengths.tolist()}")
        assert_close(dlogits, expected_dlogits, f"dlogits: autograd of F.cross_entropy, lengths {lengths.tolist()}")


class _MaskedLoss(Function):
    """The learner's masked_cross_entropy as an autograd op of the logits, for gradcheck."""

    @staticmethod
    def forward(ctx, logits, targets, lengths, fn):
        loss, dlogits = fn(logits, targets, lengths)
        ctx.save_for_backward(np.asarray(dlogits))
        return np.asarray(loss, dtype=np.float64)

    @staticmethod
    def backward(ctx, grad):
        (dlogits,) = ctx.saved
        return grad * dlogits, None, None, None


@points(1)
def test_masked_gradcheck(nb):
    logits, targets, lengths = padded_case(13, 4, 3, 5, [2, 4, 1])
    result = gradcheck(lambda z: _MaskedLoss.apply(z, targets, lengths, nb.masked_cross_entropy),
                       [tensor(logits, requires_grad=True)])
    assert result, f"dlogits against finite differences of the loss: {result}"


@points(1, hint="Compute the log-softmax stably: subtract each row's maximum before np.exp, "
                             "so logits in the hundreds do not overflow to inf (and the loss to nan).")
def test_masked_large_logits_are_stable(nb):
    logits, targets, lengths = padded_case(14, 3, 2, 4, [3, 2])
    big = 1000.0 + 100.0 * logits  # exp(1000) overflows float64; the loss itself is an ordinary number
    loss, dlogits = check_masked(nb.masked_cross_entropy(big, targets, lengths), 3, 2, 4)
    expected_loss, expected_dlogits = masked_cross_entropy_autograd(big, targets)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits)), "loss and dlogits must be finite for large logits"
    assert_close(loss, expected_loss, "loss for logits around 1000")
    assert_close(dlogits, expected_dlogits, "dlogits for logits around 1000")


# --- Exercise 6: clip_grad_norm_ ---------------------------------------------------------------------------

@points(1)
def test_clip_hand_computed(nb):
    # Together the gradients form the vector (3, 0, 0, 4), of norm 5 > max_norm = 1: each is multiplied by
    # 1 / (5 + 1e-6), and the norm before clipping, 5, is returned.
    grads = [np.array([3.0, 0.0]), np.array([[0.0], [4.0]])]
    total = nb.clip_grad_norm_(grads, 1.0)
    assert_close(total, 5.0, "the returned total norm (before clipping)")
    assert_close(grads[0], np.array([3.0, 0.0]) / (5 + 1e-6), "grads[0] after clipping to max_norm 1")
    assert_close(grads[1], np.array([[0.0], [4.0]]) / (5 + 1e-6), "grads[1] after clipping to max_norm 1")


@points(1)
def test_clip_below_max_norm_changes_nothing(nb):
    grads = normal(15, (3, 2), (4,), scale=0.1)
    before = [g.copy() for g in grads]
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    assert_close(nb.clip_grad_norm_(grads, 10.0), norm, "the returned total norm")
    for k, (g, b) in enumerate(zip(grads, before)):
        np.testing.assert_array_equal(g, b, err_msg=f"grads[{k}]: a norm below max_norm must not change anything")


@points(2)
def test_clip_matches_library(nb):
    from nnlearn.nn.utils import clip_grad_norm_ as library_clip

    for seed, max_norm in enumerate([0.5, 3.0, 100.0]):
        grads = normal(90 + seed, (4, 3), (3,), (2, 2, 2), scale=2.0)
        params = [tensor(np.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.copy()
        expected = library_clip(params, max_norm).item()
        total = nb.clip_grad_norm_(grads, max_norm)
        assert_close(total, expected, f"total norm, max_norm {max_norm}")
        for k, (g, p) in enumerate(zip(grads, params)):
            assert_close(g, p.grad, f"grads[{k}] after clip_grad_norm_(grads, {max_norm})")


@points(1, hint="The trailing _ means in place, as in PyTorch: scale the arrays in the list you were "
                             "given (g *= scale), and return the total norm from before the clipping.")
def test_clip_is_in_place_on_the_same_arrays(nb):
    grads = normal(16, (2, 3), (5,), scale=10.0)
    originals = list(grads)  # the same array objects
    total = nb.clip_grad_norm_(grads, 1.0)
    assert all(a is b for a, b in zip(grads, originals)), "the list must still hold the same arrays"
    clipped = np.sqrt(sum(np.sum(g ** 2) for g in originals))
    assert abs(clipped - 1.0) < 1e-5, f"after clipping, the arrays given should have total norm 1, got {clipped:.6g}"
    assert float(total) > 1.0, f"the returned norm must be the one before clipping, got {float(total):.6g}"
