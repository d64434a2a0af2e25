"""Truncated BPTT: ``detach_state``, ``bptt_chunks`` and ``fit_tbptt``.

The training loop is checked against the loop written out by hand (the same chunks, the same detaching), on a
small float64 LSTM so that the comparisons are tight. The key facts:

* with ``chunk_len == T`` one epoch is exactly one step of full BPTT;
* with a shorter chunk, a chunk's gradient is the one computed from a *constant* incoming state — it differs
  from the full-graph gradient that also runs back through the earlier chunk;
* the forward values are those of one pass over the whole sequence (the state carries over), and every epoch
  starts again from the zero state.
"""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import nn, optim
from nnlearn.autograd import no_grad
from nnlearn.tensor import Tensor
from nnlearn.train import Callback, bptt_chunks, detach_state, fit_tbptt

T, N, I, H = 12, 3, 2, 4


class Forecaster(nn.Module):
    """LSTM + linear head, float64; ``forward(x, state) -> (y, state)`` as fit_tbptt expects."""

    def __init__(self, batch_first: bool = False) -> None:
        super().__init__()
        self.rnn = nn.LSTM(I, H, batch_first=batch_first, dtype=np.float64)
        self.head = nn.Linear(H, 1, dtype=np.float64)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


class RecordGrads(Callback):
    """Copies of every parameter's gradient after each chunk's backward pass."""

    def __init__(self) -> None:
        self.grads: list[list[np.ndarray]] = []

    def after_backward(self, state) -> None:
        self.grads.append([p.grad.copy() for p in state.model.parameters()])


@pytest.fixture
def data(rng):
    x = rng.standard_normal((T, N, I))
    y = rng.standard_normal((T, N, 1))
    return x, y


def _copy(model: nn.Module) -> nn.Module:
    twin = Forecaster(model.rnn.batch_first)
    twin.load_state_dict({k: np.array(v.data) for k, v in model.state_dict().items()})
    return twin


def _params(model) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


# ---------------------------------------------------------------------- detach_state
def test_detach_state_keeps_values_and_structure_but_drops_the_graph():
    w = Tensor(np.ones(3), requires_grad=True)
    h, c = w * 2.0, w * 3.0
    assert h.requires_grad
    assert detach_state(None) is None
    single = detach_state(h)
    assert isinstance(single, Tensor) and not single.requires_grad
    np.testing.assert_array_equal(single.numpy(), h.numpy())
    pair = detach_state((h, c))
    assert isinstance(pair, tuple) and len(pair) == 2 and not any(t.requires_grad for t in pair)
    nested = detach_state([(h, c), h])
    assert isinstance(nested, list) and isinstance(nested[0], tuple)
    assert not nested[0][1].requires_grad and not nested[1].requires_grad
    np.testing.assert_array_equal(nested[0][1].numpy(), c.numpy())


def test_detach_state_cuts_the_gradient_to_an_earlier_chunk(data):
    x, y = data
    model = Forecaster()
    h0 = Tensor(np.zeros((1, N, H)), requires_grad=True)
    c0 = Tensor(np.zeros((1, N, H)), requires_grad=True)
    _, state = model(Tensor(x[:6]), (h0, c0))

    # Without detaching, the second chunk's loss reaches back to the first chunk's initial state ...
    out, _ = model(Tensor(x[6:]), state)
    ((out - Tensor(y[6:])) ** 2).mean().backward()
    assert np.abs(h0.grad).max() > 1e-6
    # ... with detaching it does not.
    h0.zero_grad()
    out, _ = model(Tensor(x[6:]), detach_state(state))
    ((out - Tensor(y[6:])) ** 2).mean().backward()
    assert h0.grad is None or np.abs(h0.grad).max() == 0


def test_detach_state_rejects_other_types():
    with pytest.raises(TypeError, match=r"detach_state: state must be a Tensor.*got dict"):
        detach_state({"h": Tensor(np.zeros(2))})


# ---------------------------------------------------------------------- bptt_chunks
@pytest.mark.parametrize("chunk_len, lengths", [(3, [3, 3, 3, 3]), (5, [5, 5, 2]), (12, [12]), (50, [12]),
                                                (1, [1] * 12)])
def test_bptt_chunks_cover_the_sequence_in_order(data, chunk_len, lengths):
    x, y = data
    chunks = list(bptt_chunks(x, y, chunk_len))
    assert [cx.shape[0] for cx, _ in chunks] == lengths
    assert all(cx.shape[1:] == (N, I) and cy.shape[1:] == (N, 1) for cx, cy in chunks)
    np.testing.assert_array_equal(np.concatenate([cx for cx, _ in chunks]), x)
    np.testing.assert_array_equal(np.concatenate([cy for _, cy in chunks]), y)


def test_bptt_chunks_batch_first_and_tensors(data):
    x, y = data
    xb, yb = Tensor(x.transpose(1, 0, 2)), Tensor(y.transpose(1, 0, 2))   # (N, T, ...)
    chunks = list(bptt_chunks(xb, yb, 5, batch_first=True))
    assert all(isinstance(cx, Tensor) and isinstance(cy, Tensor) for cx, cy in chunks)
    assert [cx.shape for cx, _ in chunks] == [(N, 5, I), (N, 5, I), (N, 2, I)]
    np.testing.assert_array_equal(np.concatenate([cx.numpy() for cx, _ in chunks], axis=1), xb.numpy())


def test_bptt_chunks_checks_its_arguments_at_once(data):
    x, y = data
    with pytest.raises(ValueError, match=r"chunk_len must be an int >= 1, got 0"):
        bptt_chunks(x, y, 0)          # raised by the call itself, before any chunk is read
    with pytest.raises(TypeError, match=r"chunk_len must be an int >= 1, got 2\.5"):
        bptt_chunks(x, y, 2.5)
    with pytest.raises(ValueError, match=r"same number of time steps.*\(12, 3, 2\) \(T=12\).*\(11, 3, 1\) \(T=11\)"):
        bptt_chunks(x, y[:11], 4)
    with pytest.raises(ValueError, match=r"same batch size.*\(12, 3, 2\) \(N=3\).*\(12, 2, 1\) \(N=2\)"):
        bptt_chunks(x, y[:, :2], 4)
    with pytest.raises(ValueError, match=r"inputs must have a time and a batch axis.*got shape \(12,\)"):
        bptt_chunks(x[:, 0, 0], y, 4)
    # time-major data read as batch-first: the time axes (1) disagree, and the message says which layout it assumed
    with pytest.raises(ValueError, match=r"axis 1 for the layout \(N, T, \.\.\.\) \(batch_first=True\)"):
        bptt_chunks(x, y[:, :2], 4, batch_first=True)


# ---------------------------------------------------------------------- fit_tbptt
def test_one_chunk_is_one_step_of_full_bptt(data):
    x, y = data
    model = Forecaster()
    manual = _copy(model)

    history = fit_tbptt(model, x, y, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1, chunk_len=T,
                        progress=False)

    opt = optim.SGD(manual.parameters(), lr=0.1)
    opt.zero_grad()
    out, _ = manual(Tensor(x))
    loss = ((out - Tensor(y)) ** 2).mean()
    loss.backward()
    opt.step()
    for ours, expected in zip(_params(model), _params(manual)):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
    assert history["loss"] == pytest.approx([loss.item()], rel=1e-12)
    assert len(history) == 1 and {"loss", "grad_norm", "lr", "time"} <= set(history.keys())


def test_chunks_match_the_loop_written_by_hand(data):
    x, y = data
    model = Forecaster()
    manual = _copy(model)
    fit_tbptt(model, x, y, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.01), epochs=2, chunk_len=5,
              progress=False)

    opt = optim.Adam(manual.parameters(), lr=0.01)
    for _ in range(2):
        state = None
        for start in range(0, T, 5):
            opt.zero_grad()
            out, state = manual(Tensor(x[start:start + 5]), state)
            ((out - Tensor(y[start:start + 5])) ** 2).mean().backward()
            opt.step()
            state = tuple(s.detach() for s in state)
    for ours, expected in zip(_params(model), _params(manual)):
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


def test_a_chunk_gradient_stops_at_the_chunk_boundary(data):
    """The second chunk's gradient is that of its loss with the incoming state held constant, not the full one."""
    x, y = data
    model = Forecaster()
    record = RecordGrads()
    # lr = 0: the weights stay put, so the recorded gradients can be recomputed on the same model
    fit_tbptt(model, x, y, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), epochs=1, chunk_len=6,
              callbacks=[record], progress=False)
    assert len(record.grads) == 2

    def second_chunk_grads(detach: bool) -> list[np.ndarray]:
        model.zero_grad()
        _, state = model(Tensor(x[:6]))
        if detach:
            state = (Tensor(state[0].numpy().copy()), Tensor(state[1].numpy().copy()))   # fresh constants
        out, _ = model(Tensor(x[6:]), state)
        ((out - Tensor(y[6:])) ** 2).mean().backward()
        return [p.grad.copy() for p in model.parameters()]

    truncated, full = second_chunk_grads(True), second_chunk_grads(False)
    for got, expected in zip(record.grads[1], truncated):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)
    # The full gradient differs (it also flows back through chunk 1's weights): the truncation is real.
    w_hh = [name for name, _ in model.named_parameters()].index("rnn.weight_hh_l0")
    assert np.abs(full[w_hh] - truncated[w_hh]).max() > 1e-4


def test_the_state_carries_across_chunks_and_resets_every_epoch(data):
    x, y = data
    model = Forecaster()
    outputs = []

    def recording_model(chunk, state):
        out, state = model(chunk, state)
        outputs.append(out.numpy().copy())
        return out, state

    history = fit_tbptt(recording_model, x, y, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), epochs=2,
                        chunk_len=5, progress=False)
    with no_grad():
        whole, _ = model(Tensor(x))
    full_loss = float(((whole.numpy() - y) ** 2).mean())
    np.testing.assert_allclose(np.concatenate(outputs[:3]), whole.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.concatenate(outputs[3:]), whole.numpy(), rtol=1e-12, atol=1e-14)   # epoch 2
    # The epoch loss weights each chunk's mean by its length: the mean over all steps (chunks of 5, 5, 2).
    assert history["loss"] == pytest.approx([full_loss, full_loss], rel=1e-12)


def test_batch_first_gives_the_same_training(data):
    x, y = data
    time_major = Forecaster()
    batch_first = Forecaster(batch_first=True)
    batch_first.load_state_dict({k: np.array(v.data) for k, v in time_major.state_dict().items()})
    h1 = fit_tbptt(time_major, x, y, nn.MSELoss(), optim.SGD(time_major.parameters(), lr=0.1), epochs=2,
                   chunk_len=4, progress=False)
    h2 = fit_tbptt(batch_first, x.transpose(1, 0, 2), y.transpose(1, 0, 2), nn.MSELoss(),
                   optim.SGD(batch_first.parameters(), lr=0.1), epochs=2, chunk_len=4, batch_first=True,
                   progress=False)
    assert h1["loss"] == pytest.approx(h2["loss"], rel=1e-12)
    for a, b in zip(_params(time_major), _params(batch_first)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_clipping_bounds_the_step_and_logs_the_norm_before_clipping(data):
    x, y = data
    model = Forecaster()
    seen = []

    class Norms(Callback):
        def after_backward(self, state):   # runs after fit_tbptt has clipped
            seen.append(np.sqrt(sum((p.grad ** 2).sum() for p in state.model.parameters())))

    twin = _copy(model)
    unclipped = fit_tbptt(twin, x, y, nn.MSELoss(), optim.SGD(twin.parameters(), lr=0.0), epochs=1, chunk_len=4,
                          progress=False)["grad_norm"][0]
    history = fit_tbptt(model, x, y, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), epochs=1, chunk_len=4,
                        clip_grad_norm=1e-3, callbacks=[Norms()], progress=False)
    assert unclipped > 1e-2, "the example needs gradients larger than the clipping threshold"
    assert history["grad_norm"][0] == pytest.approx(unclipped, rel=1e-10)   # logged before clipping
    assert max(seen) <= 1e-3 * (1 + 1e-6)


def test_val_data_is_the_loss_of_one_pass_without_gradients(data, rng):
    x, y = data
    vx, vy = rng.standard_normal((7, N, I)), rng.standard_normal((7, N, 1))
    model = Forecaster()
    history = fit_tbptt(model, x, y, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.0), epochs=1, chunk_len=3,
                        val_data=(vx, vy), progress=False)
    with no_grad():
        out, _ = model(Tensor(vx))
    assert history["val_loss"] == pytest.approx([float(((out.numpy() - vy) ** 2).mean())], rel=1e-12)


def test_fit_tbptt_errors_name_the_argument(data):
    x, y = data
    model = Forecaster()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.MSELoss()
    with pytest.raises(ValueError, match=r"fit_tbptt: chunk_len must be an int >= 1, got 0"):
        fit_tbptt(model, x, y, loss, opt, epochs=1, chunk_len=0, progress=False)
    with pytest.raises(ValueError, match=r"fit_tbptt: epochs must be an int >= 1, got 0"):
        fit_tbptt(model, x, y, loss, opt, epochs=0, chunk_len=4, progress=False)
    with pytest.raises(ValueError, match=r"same number of time steps.*inputs \(12, 3, 2\).*targets \(10, 3, 1\)"):
        fit_tbptt(model, x, y[:10], loss, opt, epochs=1, chunk_len=4, progress=False)
    with pytest.raises(ValueError, match=r"clip_grad_norm must be None or a finite number > 0, got -1"):
        fit_tbptt(model, x, y, loss, opt, epochs=1, chunk_len=4, clip_grad_norm=-1, progress=False)
    with pytest.raises(TypeError, match=r"val_data must be a pair"):
        fit_tbptt(model, x, y, loss, opt, epochs=1, chunk_len=4, val_data=x, progress=False)

    def output_only(chunk, state):
        return model(chunk, state)[0]

    with pytest.raises(TypeError, match=r"model must return a pair \(output, state\).*got a Tensor "
                                        r"\(epoch 1, chunk 1\)"):
        fit_tbptt(output_only, x, y, loss, opt, epochs=1, chunk_len=4, progress=False)


def test_a_diverging_loss_names_the_epoch_and_chunk(data):
    x, y = data
    model = Forecaster()
    y = y.copy()
    y[9] = np.nan   # the third chunk of 4
    with pytest.raises(FloatingPointError, match=r"loss is nan in epoch 1, chunk 3"):
        fit_tbptt(model, x, y, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), epochs=1, chunk_len=4,
                  progress=False)


def test_a_plain_rnn_layer_trains_and_the_loss_falls(rng):
    """nn.GRU itself returns (output, h_n): fit_tbptt can train it directly, and a few epochs reduce the loss."""
    nnlearn.manual_seed(0)
    gru = nn.GRU(1, 1, dtype=np.float64)
    t = np.arange(201) * 0.2
    series = (0.5 * np.sin(t)).reshape(-1, 1, 1)
    history = fit_tbptt(gru, series[:-1], series[1:], nn.MSELoss(), optim.Adam(gru.parameters(), lr=0.05),
                        epochs=8, chunk_len=20, progress=False)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
