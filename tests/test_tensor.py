"""Tensor: forward values against NumPy, gradients against finite differences and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor, no_grad
from nnlearn.testing import gradcheck


def t64(rng, *shape, positive=False):
    a = rng.standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


# ---------------------------------------------------------------- forward values
def test_arithmetic_matches_numpy(rng):
    a, b = t64(rng, 3, 4), t64(rng, 4)
    A, B = Tensor(a), Tensor(b)
    np.testing.assert_allclose((A + B).data, a + b)
    np.testing.assert_allclose((A - B).data, a - b)
    np.testing.assert_allclose((A * B).data, a * b)
    np.testing.assert_allclose((A / B).data, a / b)
    np.testing.assert_allclose((-A).data, -a)
    np.testing.assert_allclose((A ** 3).data, a ** 3)
    np.testing.assert_allclose((2.0 - A).data, 2.0 - a)
    np.testing.assert_allclose((1.0 / B).data, 1.0 / b)
    np.testing.assert_allclose((A @ B).data, a @ b)


def test_reductions_and_shapes_match_numpy(rng):
    a = t64(rng, 2, 3, 4)
    A = Tensor(a)
    np.testing.assert_allclose(A.sum(axis=1).data, a.sum(axis=1))
    np.testing.assert_allclose(A.mean(axis=(0, 2), keepdims=True).data, a.mean(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(A.max(axis=-1).data, a.max(axis=-1))
    np.testing.assert_allclose(A.min().data, a.min())
    np.testing.assert_allclose(A.var(axis=0).data, a.var(axis=0))
    np.testing.assert_allclose(A.var(axis=0, unbiased=True).data, a.var(axis=0, ddof=1))
    assert A.reshape(6, 4).shape == (6, 4) and A.reshape((4, -1)).shape == (4, 6)
    assert A.transpose(0, 2).shape == (4, 3, 2)
    assert A.permute(2, 0, 1).shape == (4, 2, 3)
    assert A.T.shape == (4, 3, 2)
    assert A.flatten(1).shape == (2, 12)
    assert A.unsqueeze(1).shape == (2, 1, 3, 4) and A.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    np.testing.assert_allclose(A[1, :, ::2].data, a[1, :, ::2])


def test_dtypes_follow_pytorch_conventions():
    assert Tensor([1.0, 2.0]).dtype == np.float32  # Python floats -> the default dtype
    assert Tensor(np.zeros(2)).dtype == np.float64  # NumPy arrays keep theirs
    assert Tensor([1, 2]).dtype.kind == "i"  # integers stay integers (class labels)
    x = Tensor(np.ones(2, dtype=np.float32))
    assert (x * 2.5).dtype == np.float32  # a Python scalar does not upcast
    nnlearn.set_default_dtype(np.float64)
    try:
        assert Tensor([1.0]).dtype == np.float64
    finally:
        nnlearn.set_default_dtype(np.float32)


def test_comparisons_return_bool_tensors_without_grad():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    assert mask.tolist() == [False, True, True]
    assert (x <= 2.0).tolist() == [True, True, False]
    assert x.eq(2.0).tolist() == [False, True, False]


# ---------------------------------------------------------------- gradients
UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "pow3": lambda a: a ** 3,
    "pow_half": lambda a: (a * a + 1.0) ** 0.5,
    "sum_axis": lambda a: a.sum(axis=1),
    "sum_all": lambda a: a.sum(),
    "mean_keepdims": lambda a: a.mean(axis=0, keepdims=True),
    "max_axis": lambda a: a.max(axis=1),
    "max_all": lambda a: a.max(),
    "min_axis": lambda a: a.min(axis=0),
    "var": lambda a: a.var(axis=1, unbiased=True),
    "reshape": lambda a: a.reshape(4, 3) * Tensor(np.arange(12.0).reshape(4, 3)),
    "transpose": lambda a: a.T @ Tensor(np.arange(12.0).reshape(3, 4)),
    "getitem_slice": lambda a: a[1:, ::2],
    "getitem_repeat": lambda a: a[[0, 0, 2]],  # repeated rows add up their gradients
    "getitem_mask": lambda a: a[a.data > 0],
    "abs": lambda a: a.abs(),
    "clip": lambda a: a.clip(-0.5, 0.5),
    "tensor_pow": lambda a: Tensor(np.full((3, 4), 1.5)) ** a,
    "rpow": lambda a: 2.0 ** a,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, rng):
    a = t64(rng, 3, 4)
    a[np.abs(a) < 0.05] += 0.2  # keep clear of kinks (abs, clip) where finite differences straddle
    a[np.abs(np.abs(a) - 0.5) < 0.05] += 0.2
    result = gradcheck(UNARY[name], [a])
    assert result, result


def test_positive_domain_gradients(rng):
    assert gradcheck(lambda a: a.log(), [t64(rng, 3, 4, positive=True)])
    assert gradcheck(lambda a: a.sqrt(), [t64(rng, 3, 4, positive=True)])


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "maximum": lambda a, b: nnlearn.maximum(a, b),
    "where": lambda a, b: nnlearn.where(a.data > b.data, a * 2.0, b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((3, 4), ())])
def test_binary_gradients_with_broadcasting(name, shapes, rng):
    a, b = t64(rng, *shapes[0]), t64(rng, *shapes[1])
    result = gradcheck(BINARY[name], [a, b])
    assert result, result


@pytest.mark.parametrize("shapes", [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
                                    ((2, 3, 4), (2, 4, 5)), ((4,), (4,)), ((5, 1, 3, 4), (2, 4, 3))])
def test_matmul_gradients(shapes, rng):
    result = gradcheck(lambda a, b: a @ b, [t64(rng, *shapes[0]), t64(rng, *shapes[1])])
    assert result, result


def test_cat_and_stack_gradients(rng):
    assert gradcheck(lambda a, b: nnlearn.cat([a, b], axis=1), [t64(rng, 2, 3), t64(rng, 2, 5)])
    assert gradcheck(lambda a, b: nnlearn.stack([a, b], axis=0), [t64(rng, 2, 3), t64(rng, 2, 3)])


def test_max_ties_share_the_gradient():
    x = Tensor(np.array([[1.0, 3.0, 3.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5]])


# ---------------------------------------------------------------- engine behaviour
def test_a_chain_ten_thousand_ops_deep_backpropagates():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.0001 ** 10_000, rtol=1e-10)


def test_gradients_accumulate_until_zero_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * x.data)
    x.zero_grad()
    assert x.grad is None
    (3.0 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_a_tensor_used_twice_gets_both_contributions():
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1 = 5
    y.backward()
    np.testing.assert_allclose(x.grad, [5.0])


def test_only_leaves_keep_grad_unless_retained():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3.0).retain_grad()
    h2 = h * 2.0
    (h2 * h2).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h2.data * 2.0)
    assert h2.grad is None
    assert x.is_leaf and not h.is_leaf


def test_no_grad_records_nothing():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2.0
        assert not nnlearn.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert nnlearn.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_detach_cuts_the_graph():
    x = Tensor([1.0], requires_grad=True)
    y = (x * 2.0).detach() * x
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0])


def test_item_numpy_and_repr():
    x = Tensor([[2.5]])
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert isinstance(x.numpy(), np.ndarray)
    assert "tensor([[2.5]])" == repr(x)
    assert "requires_grad=True" in repr(Tensor([1.0], requires_grad=True))


# ---------------------------------------------------------------- bad input
def test_clear_errors():
    with pytest.raises(ValueError, match=r"inner dimensions differ.*\(2, 3\).*\(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(ValueError, match="single-element"):
        Tensor(np.ones(3), requires_grad=True).backward()
    with pytest.raises(ValueError, match=r"grad must have the tensor's shape \(3,\)"):
        (Tensor(np.ones(3), requires_grad=True) * 1.0).backward(np.ones(2))
    with pytest.raises(ValueError, match="exactly one element"):
        Tensor(np.ones(2)).item()
    with pytest.raises(TypeError, match="floating-point"):
        Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="numeric"):
        Tensor(["a", "b"])
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        Tensor(np.ones((2, 3))).sum(axis=3)
    with pytest.raises(ValueError, match="empty"):
        Tensor(np.ones((0, 3))).mean()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))


def test_manual_seed_makes_random_tensors_repeatable():
    nnlearn.manual_seed(7)
    a = nnlearn.randn(3, 2).numpy().copy()
    nnlearn.manual_seed(7)
    np.testing.assert_array_equal(a, nnlearn.randn(3, 2).numpy())
    assert not np.array_equal(a, nnlearn.randn(3, 2).numpy())
    with pytest.raises(TypeError, match="seed must be an int"):
        nnlearn.manual_seed(1.5)


# ---------------------------------------------------------------- PyTorch parity
def test_composite_expression_matches_pytorch(rng):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: parity tests skipped")
    a, b, c = t64(rng, 4, 3), t64(rng, 3, 5), t64(rng, 5)

    def ours(A, B, C):
        h = A @ B + C
        return (h * h.exp() / (1.0 + h * h)).sum() + (h ** 2).mean() - h.max(axis=1).sum() + h.T[1:].var()

    def theirs(A, B, C):
        h = A @ B + C
        return (h * h.exp() / (1.0 + h * h)).sum() + (h ** 2).mean() - h.max(dim=1).values.sum() \
            + h.T[1:].var(unbiased=False)

    mine = [Tensor(x, requires_grad=True) for x in (a, b, c)]
    ref = [torch.tensor(x, requires_grad=True) for x in (a, b, c)]
    out_mine, out_ref = ours(*mine), theirs(*ref)
    out_mine.backward()
    out_ref.backward()
    np.testing.assert_allclose(out_mine.item(), out_ref.item(), rtol=1e-12)
    for m, r in zip(mine, ref):
        np.testing.assert_allclose(m.grad, r.grad.numpy(), rtol=1e-10, atol=1e-12)
