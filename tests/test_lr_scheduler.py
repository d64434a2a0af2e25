"""Tests for nnlearn.optim.lr_scheduler: the lr sequences equal PyTorch's, warmup+cosine by hand, bad input."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import nnlearn
from nnlearn import optim
from nnlearn.optim import lr_scheduler

BASE_LRS = (0.1, 0.05)  # two param groups, so every schedule is checked per group
STEPS = 40


def make_optimizer(lib, base_lrs=BASE_LRS):
    """An SGD over one tensor per base lr, from nnlearn (lib=None) or from torch (lib=torch)."""
    if lib is None:
        params = [nnlearn.Tensor(np.zeros(2), requires_grad=True) for _ in base_lrs]
        return optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)])
    params = [lib.zeros(2, requires_grad=True) for _ in base_lrs]
    return lib.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)])


def lr_sequence(opt, scheduler, steps=STEPS):
    """The lrs in force for steps 0 .. steps-1, read from both get_last_lr() and the param groups."""
    sequence = []
    for _ in range(steps):
        lrs = scheduler.get_last_lr()
        assert lrs == [group["lr"] for group in opt.param_groups]
        sequence.append(lrs)
        opt.step()  # the documented order: optimizer first, then scheduler
        scheduler.step()
    return np.array(sequence, dtype=float)


# Each case builds the scheduler from a module `m` (nnlearn's lr_scheduler or torch's) and an optimizer.
CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "StepLR-default-gamma": lambda m, o: m.StepLR(o, step_size=3),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[20, 5, 12, 12], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30),
    "CosineAnnealingLR-past-T_max": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "LinearLR-default": lambda m, o: m.LinearLR(o),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=25),
    "LinearLR-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.5, total_iters=8),
    "SequentialLR-warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=30, eta_min=1e-3)],
        milestones=[5]),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.25, total_iters=4), m.ExponentialLR(o, gamma=0.8),
            m.StepLR(o, step_size=5, gamma=0.5)], milestones=[4, 15]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_lr_sequence_matches_pytorch(torch, case):
    ours_opt = make_optimizer(None)
    ours = lr_sequence(ours_opt, CASES[case](lr_scheduler, ours_opt))
    theirs_opt = make_optimizer(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation notes are not what this test is about
        theirs = lr_sequence(theirs_opt, CASES[case](torch.optim.lr_scheduler, theirs_opt))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(np.unique(ours[:, 0])) > 2, "the schedule should actually change the lr"


@pytest.mark.parametrize("warmup,total,eta_min", [(5, 40, 0.0), (10, 35, 1e-3), (1, 30, 0.0)])
def test_linear_warmup_cosine_matches_pytorch_composition(torch, warmup, total, eta_min):
    ours_opt = make_optimizer(None)
    ours = lr_sequence(ours_opt, lr_scheduler.linear_warmup_cosine(ours_opt, warmup, total, eta_min=eta_min))
    theirs_opt = make_optimizer(torch)
    m = torch.optim.lr_scheduler
    sched = m.SequentialLR(theirs_opt, [m.LinearLR(theirs_opt, start_factor=1 / (warmup + 1), total_iters=warmup),
                                        m.CosineAnnealingLR(theirs_opt, T_max=total - warmup, eta_min=eta_min)],
                           milestones=[warmup])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lr_sequence(theirs_opt, sched)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_linear_warmup_cosine_by_hand():
    """warmup 4, total 12, base 0.1: the warmup climbs by 0.1/5 a step, the cosine falls to 0 over 8 steps."""
    opt = make_optimizer(None, base_lrs=(0.1,))
    lrs = lr_sequence(opt, lr_scheduler.linear_warmup_cosine(opt, warmup_steps=4, total_steps=12), steps=13)[:, 0]
    np.testing.assert_allclose(lrs[:5], [0.02, 0.04, 0.06, 0.08, 0.1], rtol=1e-12)  # 0.1·(t+1)/5
    np.testing.assert_allclose(lrs[8], 0.05, rtol=1e-12)  # half-way down the cosine: (1 + cos(π/2))/2 = ½
    np.testing.assert_allclose(lrs[4:13], [0.05 * (1 + math.cos(math.pi * s / 8)) for s in range(9)], atol=1e-15)
    assert lrs[12] == pytest.approx(0.0, abs=1e-15)


def test_linear_warmup_cosine_without_warmup_is_the_cosine():
    opt = make_optimizer(None, base_lrs=(0.1,))
    sched = lr_scheduler.linear_warmup_cosine(opt, warmup_steps=0, total_steps=10, eta_min=0.01)
    assert isinstance(sched, lr_scheduler.CosineAnnealingLR) and sched.T_max == 10 and sched.eta_min == 0.01


def test_closed_forms_by_hand():
    """A few values worked out from the formulas in the docstrings (base lr 1)."""
    def lrs(make, steps):
        opt = make_optimizer(None, base_lrs=(1.0,))
        return lr_sequence(opt, make(opt), steps)[:, 0]
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.StepLR(o, 2, gamma=0.5), 5), [1, 1, .5, .5, .25])
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.MultiStepLR(o, [1, 3, 3], gamma=0.1), 4),
                               [1, .1, .1, .001])
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.ExponentialLR(o, 0.5), 3), [1, .5, .25])
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, 2), 5), [1, .5, 0, .5, 1],
                               atol=1e-15)  # past T_max the cosine comes back up
    np.testing.assert_allclose(lrs(lambda o: lr_scheduler.LinearLR(o, 0.5, 1.0, total_iters=2), 4),
                               [.5, .75, 1, 1])


def test_the_optimizer_uses_the_scheduled_lr():
    """SGD with lr 0.1 halved after one step: θ moves by 0.1·g, then by 0.05·g."""
    w = nnlearn.Tensor(np.array([0.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(2):
        w.grad = np.array([1.0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(w.data, [-0.15])


def test_base_lr_is_recorded_once_and_schedulers_can_be_stacked_in_sequence():
    opt = make_optimizer(None)
    lr_scheduler.LinearLR(opt, start_factor=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASE_LRS)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.025]
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    assert cosine.base_lrs == list(BASE_LRS)  # the base is the original lr, not the warmed-down one


def test_scheduler_state_dict_resumes_the_schedule():
    """Checkpoint after 8 steps (optimizer and scheduler), restore into fresh objects: the same lrs follow."""
    opt = make_optimizer(None)
    sched = lr_scheduler.linear_warmup_cosine(opt, 5, 30)
    lr_sequence(opt, sched, 8)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sched_state
    expected = lr_sequence(opt, sched, 12)

    opt2 = make_optimizer(None)
    sched2 = lr_scheduler.linear_warmup_cosine(opt2, 5, 30)  # build the scheduler first: it resets the lr ...
    opt2.load_state_dict(opt_state)                          # ... which the optimizer's state then restores
    sched2.load_state_dict(sched_state)
    np.testing.assert_allclose(lr_sequence(opt2, sched2, 12), expected, rtol=1e-15)


def test_resuming_with_last_epoch():
    opt = make_optimizer(None)
    lr_scheduler.ExponentialLR(opt, gamma=0.5)  # records initial_lr
    resumed = lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=2)
    assert resumed.last_epoch == 3
    np.testing.assert_allclose(resumed.get_last_lr(), [0.1 * 0.5 ** 3, 0.05 * 0.5 ** 3])
    with pytest.raises(KeyError, match=r"param_groups\[0\] has no 'initial_lr'"):
        lr_scheduler.StepLR(make_optimizer(None), step_size=2, last_epoch=4)


BAD = [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size must be >= 1, got 0"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2.5), TypeError, "step_size must be an int, got float 2.5"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.0), ValueError, r"gamma must be > 0.0, got 0.0"),
    (lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, -1]), ValueError, r"milestones\[1\] must be >= 0, got -1"),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=-0.9), ValueError, r"gamma must be > 0.0, got -0.9"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be >= 1, got 0"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=-1e-3), ValueError,
     r"eta_min must be >= 0.0, got -0.001"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), ValueError, r"start_factor must be in \(0.0, 1.0\], got 0.0"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, r"end_factor must be in \[0.0, 1.0\], got 1.5"),
    (lambda o: lr_scheduler.LinearLR(o, total_iters=0), ValueError, "total_iters must be >= 1, got 0"),
    (lambda o: lr_scheduler.StepLR(o, 2, last_epoch=-2), ValueError, "last_epoch must be >= -1, got -2"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2), lr_scheduler.StepLR(o, 3)], milestones=[]),
     ValueError, "one milestone fewer than schedulers, got 2 schedulers and 0 milestones"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(make_optimizer(None), 2)], milestones=[]),
     ValueError, r"schedulers\[0\] \(StepLR\) was built on a different optimizer"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)] * 3, milestones=[5, 5]),
     ValueError, r"milestones must be strictly increasing, got \[5, 5\]"),
    (lambda o: lr_scheduler.SequentialLR(o, [], milestones=[]), ValueError, "at least one scheduler"),
    (lambda o: lr_scheduler.StepLR("not an optimizer", 2), TypeError,
     "optimizer must be an nnlearn.optim.Optimizer, got str"),
    (lambda o: lr_scheduler.linear_warmup_cosine(o, warmup_steps=10, total_steps=10), ValueError,
     "total_steps must be larger than warmup_steps, got total_steps=10 and warmup_steps=10"),
]


@pytest.mark.parametrize("make,error,message", BAD, ids=[m for _, _, m in BAD])
def test_bad_arguments_are_rejected(make, error, message):
    with pytest.raises(error, match=message):
        make(make_optimizer(None))
