"""nn.Module machinery: registration, traversal, modes, state dicts, dtype, repr, hooks; nn.utils clipping."""
from __future__ import annotations

import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import nnlearn
from nnlearn import Tensor, nn


class TwoLayer(nn.Module):
    def __init__(self, hidden: int = 8):
        super().__init__()
        self.fc1 = nn.Linear(3, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, 2)
        self.scale = 2.0                      # a plain attribute: not a parameter
        self.not_a_param = nnlearn.ones(3)    # a plain Tensor: not registered (as in PyTorch)
        self.python_list = [nn.Linear(1, 1)]  # a plain list: its layers are invisible (use ModuleList)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


# ---------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(np.zeros((2, 3)))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    # built from a Tensor, it shares the storage (PyTorch semantics) and is a leaf even if t was not
    t = nnlearn.ones(2, requires_grad=True) * 3
    q = nn.Parameter(t)
    assert q.data is t.data and q.is_leaf


def test_parameter_receives_gradients():
    p = nn.Parameter(np.array([1.0, 2.0]))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad, [2.0, 4.0])


# ---------------------------------------------------------------- registration and traversal
def test_named_parameters_use_dotted_names_in_registration_order():
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [p.shape for p in model.parameters()] == [(8, 3), (8,), (2, 8), (2,)]
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    assert model.num_parameters() == 8 * 3 + 8 + 2 * 8 + 2


def test_sequential_names_match_pytorch(torch):
    ours = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 4), nn.ReLU()), nn.Linear(4, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(),
                                 torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()), torch.nn.Linear(4, 1))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]


def test_children_and_modules():
    model = TwoLayer()
    assert [name for name, _ in model.named_children()] == ["fc1", "act", "fc2"]
    assert list(model.children()) == [model.fc1, model.act, model.fc2]
    assert list(model.modules()) == [model, model.fc1, model.act, model.fc2]


def test_shared_parameters_are_listed_once():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight  # tied weights
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    shared = nn.Linear(2, 2)
    twice = nn.Sequential(shared, shared)
    assert len(list(twice.parameters())) == 2 and len(list(twice.modules())) == 2


def test_reassigning_and_deleting_attributes_updates_the_registries():
    model = TwoLayer()
    model.fc2 = nn.Linear(8, 5)
    assert model.fc2.out_features == 5 and model._modules["fc2"] is model.fc2
    model.fc2 = None  # an optional child may be None
    assert "fc2.weight" not in dict(model.named_parameters())
    del model.fc1
    assert [n for n, _ in model.named_parameters()] == []
    with pytest.raises(AttributeError, match="fc1"):
        model.fc1
    # a plain attribute that becomes a Parameter is registered (and leaves __dict__)
    model.scale = nn.Parameter(np.array(2.0))
    assert "scale" in dict(model.named_parameters()) and "scale" not in model.__dict__


def test_assigning_a_plain_tensor_to_a_parameter_name_is_a_type_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign Tensor as parameter 'weight'.*weight\.data"):
        layer.weight = nnlearn.zeros(2, 2)
    layer.bias = None  # None is allowed: an optional parameter
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="cannot assign int as child module '0'"):
        setattr(seq, "0", 3)


def test_assignment_before_super_init_explains_the_fix():
    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_register_helpers_validate_names_and_types():
    m = nn.Module()
    with pytest.raises(ValueError, match="without '.'"):
        m.register_parameter("a.b", nn.Parameter(np.zeros(1)))
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        m.register_parameter("w", nnlearn.zeros(1))
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("child", 3)
    with pytest.raises(TypeError, match="Tensor or None expected"):
        m.register_buffer("running", np.zeros(3))
    m.register_buffer("running", nnlearn.zeros(3))
    m.register_buffer("scratch", nnlearn.zeros(1), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert list(m.state_dict()) == ["running"]  # non-persistent buffers are not saved
    assert list(m.parameters()) == []           # buffers are not parameters


def test_forward_not_overridden_is_a_helpful_error():
    with pytest.raises(NotImplementedError, match=r"Module has no forward\(\).*def forward"):
        nn.Module()(nnlearn.zeros(1))


def test_call_runs_forward_with_args_and_kwargs():
    class Affine(nn.Module):
        def forward(self, x, shift=0.0):
            return x * 2 + shift

    out = Affine()(nnlearn.tensor([1.0, 2.0]), shift=1.0)
    np.testing.assert_allclose(out.data, [3.0, 5.0])


def test_forward_hooks_see_outputs_and_can_be_removed():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    seen = []
    handle = model[1].register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    model(nnlearn.randn(5, 3))
    handle.remove()
    model(nnlearn.randn(5, 3))
    assert seen == [(5, 4)]
    # a hook that returns a value replaces the output
    model[1].register_forward_hook(lambda module, inputs, output: output * 0)
    assert np.all(model(nnlearn.randn(2, 3)).data == 0)


# ---------------------------------------------------------------- modes and gradients
def test_train_and_eval_propagate_to_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.ModuleList([nn.ReLU()])))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model[1].train(False)  # a sub-tree can be switched on its own
    assert model.training and model[0].training and not model[1].training and not model[1][1][0].training
    with pytest.raises(ValueError, match="must be a bool"):
        model.train("yes")


def test_zero_grad_clears_every_gradient():
    model = TwoLayer()
    model(nnlearn.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_requires_grad_freezes_parameters():
    model = TwoLayer()
    model.fc1.requires_grad_(False)
    assert model.num_parameters(only_trainable=True) == 2 * 8 + 2
    model(nnlearn.randn(4, 3)).sum().backward()
    assert model.fc1.weight.grad is None and model.fc2.weight.grad is not None


def test_apply_visits_children_before_parents():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU()))
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    model.apply(init_weights)
    assert np.all(model[0].weight.data == 0.5)


# ---------------------------------------------------------------- dtype
def test_to_double_and_float_convert_in_place():
    model = TwoLayer()
    model(nnlearn.randn(2, 3)).sum().backward()
    weight = model.fc1.weight
    assert model.double() is model
    assert model.fc1.weight is weight  # the same Parameter object: an optimizer keeps working
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())
    out = model(nnlearn.randn(2, 3, dtype=np.float64))
    assert out.dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    model.to("float64")
    assert all(p.dtype == np.float64 for p in model.parameters())
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        model.to(np.int64)


# ---------------------------------------------------------------- state dicts
def test_state_dict_is_an_ordered_copy():
    model = TwoLayer()
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["fc1.weight"][...] = 123.0  # editing the copy leaves the model alone
    assert not np.any(model.fc1.weight.data == 123.0)


def test_state_dict_round_trip_reproduces_the_outputs():
    source, target = TwoLayer(), TwoLayer()
    x = nnlearn.randn(6, 3)
    assert not np.allclose(source(x).data, target(x).data)
    weight = target.fc1.weight
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(source(x).data, target(x).data)
    assert target.fc1.weight is weight  # loaded in place


def test_load_state_dict_keeps_the_model_dtype_and_copies():
    model = nn.Linear(2, 2)  # float32
    state = {"weight": np.arange(4.0).reshape(2, 2), "bias": nnlearn.tensor([1.0, 2.0], dtype=np.float64)}
    model.load_state_dict(state)
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    np.testing.assert_array_equal(model.weight.data, [[0, 1], [2, 3]])
    state["weight"][0, 0] = 99.0
    assert model.weight.data[0, 0] == 0.0  # copied, not aliased


def test_load_state_dict_buffers_round_trip():
    m = nn.Module()
    m.register_buffer("running_mean", nnlearn.zeros(3))
    m.load_state_dict({"running_mean": np.array([1.0, 2.0, 3.0])})
    np.testing.assert_array_equal(m.running_mean.data, [1, 2, 3])


def test_load_state_dict_reports_missing_and_unexpected_keys():
    model = TwoLayer()
    state = model.state_dict()
    del state["fc2.bias"]
    state["fc3.weight"] = np.zeros((1, 1))
    with pytest.raises(ValueError, match=r"Missing key\(s\) in state_dict: 'fc2.bias'") as info:
        model.load_state_dict(state)
    assert "Unexpected key(s) in state_dict: 'fc3.weight'" in str(info.value)
    assert isinstance(info.value, RuntimeError)  # what PyTorch raises, too
    before = model.fc1.weight.data.copy()
    state["fc1.weight"] = state["fc1.weight"] + 1
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc2.bias"] and result.unexpected_keys == ["fc3.weight"]
    np.testing.assert_allclose(model.fc1.weight.data, before + 1)


def test_load_state_dict_shape_mismatch_names_key_and_both_shapes():
    model = TwoLayer()
    state = TwoLayer(hidden=5).state_dict()
    before = model.fc2.bias.data.copy()  # fc2.bias has shape (2,) in both: it would fit
    with pytest.raises(ValueError, match=r"size mismatch for fc1.weight: .*\(5, 3\).*\(8, 3\)"):
        model.load_state_dict(state, strict=False)  # shapes are checked even when not strict
    assert not np.array_equal(state["fc2.bias"], before)
    np.testing.assert_array_equal(model.fc2.bias.data, before)  # nothing was copied: all or nothing


def test_load_state_dict_rejects_bad_containers_and_values():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="mapping"):
        model.load_state_dict([np.zeros((2, 2)), np.zeros(2)])
    with pytest.raises(TypeError, match=r"state_dict\['bias'\] must be a numeric array"):
        model.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.array(["a", "b"])})


def test_torch_state_dict_loads_into_the_same_architecture(torch):
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    ours = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- copying and printing
def test_deepcopy_and_pickle_give_independent_models():
    model = TwoLayer()
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]
        assert isinstance(clone.fc1.weight, nn.Parameter)
        clone.fc1.weight.data[...] = 0
        assert model.fc1.weight.data.any()


def test_repr_matches_pytorch(torch):
    ours = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Sequential(nn.Linear(16, 4, bias=False), nn.Tanh()),
                         nn.Identity(), nn.Sigmoid(), nn.Linear(4, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(16, 4, bias=False), torch.nn.Tanh()),
                                 torch.nn.Identity(), torch.nn.Sigmoid(), torch.nn.Linear(4, 1))
    assert repr(ours) == repr(theirs)
    assert repr(ours).startswith("Sequential(\n  (0): Linear(in_features=2, out_features=16, bias=True)\n")
    layers = [(nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
              (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
              (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1)), (nn.Flatten(), torch.nn.Flatten())]
    for mine, reference in layers:
        assert repr(mine) == repr(reference)


def test_repr_of_a_custom_module():
    assert repr(TwoLayer()) == ("TwoLayer(\n"
                                "  (fc1): Linear(in_features=3, out_features=8, bias=True)\n"
                                "  (act): ReLU()\n"
                                "  (fc2): Linear(in_features=8, out_features=2, bias=True)\n"
                                ")")


# ---------------------------------------------------------------- nn.utils
def _grads_model(rng):
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x = Tensor(rng.standard_normal((5, 4)))
    (model(x) ** 2).sum().backward()
    return model


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_matches_torch(torch, rng, norm_type, max_norm):
    model = _grads_model(rng)
    params = list(model.parameters())
    copies = [torch.tensor(p.data, requires_grad=True) for p in params]
    for c, p in zip(copies, params):
        c.grad = torch.tensor(p.grad.copy())
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(copies, max_norm, norm_type=norm_type)
    assert isinstance(total, Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for p, c in zip(params, copies):
        np.testing.assert_allclose(p.grad, c.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_by_hand():
    # gradients (3, 4) and (0,): total 2-norm 5; max_norm 1 scales by 1 / (5 + 1e-6)
    a, b = nn.Parameter(np.array([0.0, 0.0])), nn.Parameter(np.array([1.0]))
    a.grad, b.grad = np.array([3.0, 4.0]), np.array([0.0])
    unused = nn.Parameter(np.array([1.0]))  # no grad: skipped
    total = nn.utils.clip_grad_norm_([a, b, unused], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [3 / (5 + 1e-6), 4 / (5 + 1e-6)])
    assert nn.utils.clip_grad_norm_(unused, 1.0).item() == 0.0
    with pytest.raises(ValueError, match="max_norm must be non-negative, got -1"):
        nn.utils.clip_grad_norm_([a], -1.0)
    with pytest.raises(TypeError, match="parameters must be a Tensor or an iterable"):
        nn.utils.clip_grad_norm_(3, 1.0)
    a.grad = np.array([np.inf, 0.0])
    with pytest.raises(RuntimeError, match="inf"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_elementwise():
    p = nn.Parameter(np.zeros(4))
    p.grad = np.array([-3.0, -0.5, 0.5, 3.0])
    assert nn.utils.clip_grad_value_([p], 1.0) is None
    np.testing.assert_array_equal(p.grad, [-1.0, -0.5, 0.5, 1.0])


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert vec.shape == (model.num_parameters(),)
    np.testing.assert_array_equal(vec.data, np.concatenate([p.data.ravel() for p in model.parameters()]))
    (vec * vec).sum().backward()  # differentiable: d(sum v^2)/dp = 2p
    for p in model.parameters():
        np.testing.assert_allclose(p.grad, 2 * p.data)
    nn.utils.vector_to_parameters(Tensor(np.arange(vec.size, dtype=np.float32)), model.parameters())
    np.testing.assert_array_equal(model[0].weight.data, np.arange(6).reshape(3, 2))
    with pytest.raises(ValueError, match=r"vec must have shape \(13,\).*got \(3,\)"):
        nn.utils.vector_to_parameters(nnlearn.zeros(3), model.parameters())
