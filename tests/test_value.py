"""Value, the scalar autodiff engine of the backpropagation chapter."""
from __future__ import annotations

import math

import pytest

from nnlearn import Value


def numeric_derivative(f, x: float, eps: float = 1e-6) -> float:
    return (f(x + eps) - f(x - eps)) / (2 * eps)


FUNCTIONS = {
    "add": (lambda v: v + 3.0 + v, lambda x: x + 3.0 + x),
    "sub": (lambda v: 2.0 - v - v * v, lambda x: 2.0 - x - x * x),
    "mul": (lambda v: v * v * 3.0, lambda x: x * x * 3.0),
    "div": (lambda v: 1.0 / (v * v + 1.0) + v / 4.0, lambda x: 1.0 / (x * x + 1.0) + x / 4.0),
    "pow": (lambda v: (v * v + 1.0) ** 1.5, lambda x: (x * x + 1.0) ** 1.5),
    "exp": (lambda v: (v * 0.5).exp(), lambda x: math.exp(x * 0.5)),
    "log": (lambda v: (v * v + 1.0).log(), lambda x: math.log(x * x + 1.0)),
    "tanh": (lambda v: v.tanh(), math.tanh),
    "relu": (lambda v: (v * 2.0).relu(), lambda x: max(0.0, 2 * x)),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x))),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("x", [-1.7, -0.3, 0.4, 2.2])
def test_value_gradients_match_finite_differences(name, x):
    build, plain = FUNCTIONS[name]
    v = Value(x)
    out = build(v)
    assert out.data == pytest.approx(plain(x), rel=1e-12)
    out.backward()
    assert v.grad == pytest.approx(numeric_derivative(plain, x), rel=1e-6, abs=1e-8)


def test_a_small_neuron_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
    xs, ws, b = [2.0, -1.5, 0.5], [-0.3, 0.8, 1.2], 0.1
    vx, vw, vb = [Value(x) for x in xs], [Value(w) for w in ws], Value(b)
    out = (sum((w * x for w, x in zip(vw, vx)), vb)).tanh() * vx[0] + vw[1].sigmoid()
    out.backward()
    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(ws, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tout = (tw @ tx + tb).tanh() * tx[0] + tw[1].sigmoid()
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-12)
    for v, g in zip(vx + vw + [vb], list(tx.grad) + list(tw.grad) + [tb.grad]):
        assert v.grad == pytest.approx(float(g), rel=1e-10, abs=1e-12)


def test_reused_value_accumulates_and_backward_restarts_cleanly():
    a = Value(3.0)
    b = a * a + a  # db/da = 2a + 1 = 7
    b.backward()
    assert a.grad == 7.0
    b.backward()  # a second call recomputes, it does not double
    assert a.grad == 7.0


def test_long_chain_has_no_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_bad_input():
    with pytest.raises(TypeError, match="real number"):
        Value("abc")
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
