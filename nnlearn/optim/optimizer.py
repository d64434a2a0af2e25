"""``Optimizer``: the base class every optimizer builds on (PyTorch's ``torch.optim.Optimizer``, in small).

An optimizer holds

* ``param_groups``: a list of dicts, each with a ``"params"`` list of tensors and that group's own options
  (``lr``, ``momentum``, ...), so that, say, the last layer can learn faster than the rest;
* ``state``: a dict from a parameter to what the optimizer remembers about it between steps (a momentum
  buffer, running averages of the gradient and its square, the step count ``t``).

A subclass only writes ``step()``: for every group, for every parameter that received a gradient, read
``p.grad`` and change ``p.data`` in place. ``p.data`` and ``p.grad`` are plain NumPy arrays, so an update is
ordinary NumPy arithmetic and never enters the autograd graph.

>>> w = nnlearn.zeros(3, requires_grad=True)            # doctest: +SKIP
>>> opt = SGD([w], lr=0.1)                              # doctest: +SKIP
>>> loss = ((w - 1.0) ** 2).sum(); loss.backward()      # doctest: +SKIP
>>> opt.step(); opt.zero_grad()                         # doctest: +SKIP
"""
from __future__ import annotations

import copy
import numbers
from collections import defaultdict
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors to optimize (e.g. ``model.parameters()``), or an iterable of dicts,
            each a *param group* ``{"params": [...], "lr": ..., ...}`` whose options override ``defaults``.
            Every tensor must be a leaf with ``requires_grad=True``.
        defaults: the optimizer's options (``{"lr": 1e-3, ...}``), used where a group does not set its own.

    Subclasses set ``defaults`` and implement :meth:`step`; they check their options by overriding
    :meth:`_check_options`, which runs on the defaults and again on every param group.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self._check_options(self.defaults, where=type(self).__name__)
        # state[p] starts as an empty dict the first time a step touches p (as in PyTorch)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        if isinstance(params, (Tensor, dict)) or not isinstance(params, Iterable):
            raise TypeError("params must be an iterable of Tensors or of param-group dicts "
                            f"(e.g. model.parameters() or [w, b]), got {type(params).__name__}")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list: pass at least one tensor to optimize")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]  # a plain list of tensors is one group with the default options
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ parameter groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. unfreezing a layer during fine-tuning).

        Options the group does not set are taken from ``defaults``. The caller's dict is not modified.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict with a 'params' entry, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry (a list of tensors), got keys "
                             f"{sorted(param_group)}")
        index = len(self.param_groups)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters must be an ordered collection (a list or a generator): the "
                            "order of a set changes between runs, and the state_dict relies on the order")
        else:
            params = list(params)

        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but param_groups[{index}]['params'][{i}] "
                                f"is a {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"param_groups[{index}]['params'][{i}] (shape {p.shape}) does not require grad, "
                                 "so it would never get a gradient: create it with requires_grad=True "
                                 "(nn.Parameter does) or leave it out")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor: param_groups[{index}]['params'][{i}] "
                                 "was computed by an operation; optimize the leaf tensors it came from")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"param_groups[{index}] lists the same tensor more than once; "
                             "it would be updated twice per step")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")

        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group, where=f"{type(self).__name__} param_groups[{index}]")
        self.param_groups.append(group)

    def _check_options(self, options: dict[str, Any], where: str) -> None:
        """Raise ``ValueError``/``TypeError`` if an option is out of range. ``where`` prefixes the message."""
        if "lr" in options:
            check_number(options, "lr", where)

    # ------------------------------------------------------------------ the update
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, once. Returns ``closure()``'s loss if given."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next ``backward()`` (they would otherwise add up).

        ``set_to_none=True`` (PyTorch's default) drops the arrays, so a parameter that gets no gradient in
        the next pass is skipped by ``step()``; ``False`` fills the existing arrays with zeros instead.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def _params_with_grad(self, group: dict[str, Any]) -> Iterator[tuple[Tensor, np.ndarray]]:
        """Yield ``(p, p.grad)`` for the parameters of ``group`` that received a gradient.

        A parameter whose ``.grad`` is None took no part in the loss: it is skipped, state and all.
        """
        for i, p in enumerate(group["params"]):
            grad = p.grad
            if grad is None:
                continue
            if not isinstance(grad, np.ndarray):
                raise TypeError(f"{type(self).__name__}.step: the .grad of parameter {i} (shape {p.shape}) must be "
                                f"a NumPy array, got {type(grad).__name__}")
            if grad.shape != p.shape:
                raise ValueError(f"{type(self).__name__}.step: parameter {i} has shape {p.shape} but its .grad "
                                 f"has shape {grad.shape}")
            yield p, grad

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        """Run ``closure`` (which recomputes the loss and calls ``backward()``) with autograd on."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer: ``{"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are replaced by their position (counting through the groups in order), so the dict can
        be loaded into a new optimizer built over new tensors of the same shapes. Unlike PyTorch, the arrays
        are copies: a saved dict does not change when training goes on.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: copy.deepcopy(s) for p, s in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by :meth:`state_dict` (same group sizes, same parameter shapes)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups' entries, as returned "
                             "by Optimizer.state_dict()")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        params_of: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict's param_groups[{i}] has {len(saved['params'])} parameters, "
                                 f"the optimizer's has {len(group['params'])}")
            params_of.update(zip(saved["params"], group["params"]))

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if key not in params_of:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no group lists")
            p = params_of[key]
            restored = {}
            for name, value in saved_state.items():
                if isinstance(value, np.ndarray):
                    if value.shape != p.shape:
                        raise ValueError(f"loaded state of parameter {key}: {name!r} has shape {value.shape}, "
                                         f"expected the parameter's shape {p.shape}")
                    value = value.astype(p.dtype, copy=True)  # the state follows the parameter's dtype
                else:
                    value = copy.deepcopy(value)
                restored[name] = value
            state[p] = restored

        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            options = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            self._check_options(options, where=f"loaded state dict param_groups[{i}]")
            new_groups.append({**options, "params": group["params"]})
        self.param_groups = new_groups
        self.state = state

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- option checks
# Small helpers the optimizers use in _check_options. Each names the option, the allowed range and the value.

def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(options: dict[str, Any], name: str, where: str, *, low: float = 0.0,
                 high: float | None = None, high_inclusive: bool = True) -> None:
    """Check that ``options[name]`` is a real number in ``[low, high]`` (or ``[low, high)``)."""
    value = options[name]
    if not _is_real(value):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    if high is None:
        if not value >= low:  # written this way so NaN fails too
            raise ValueError(f"{where}: {name} must be >= {low}, got {value!r}")
        return
    inside = low <= value <= high if high_inclusive else low <= value < high
    if not inside:
        interval = f"[{low}, {high}]" if high_inclusive else f"[{low}, {high})"
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")


def check_flag(options: dict[str, Any], name: str, where: str) -> None:
    """Check that ``options[name]`` is a bool."""
    value = options[name]
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False, got {type(value).__name__} {value!r}")


def check_betas(options: dict[str, Any], where: str) -> None:
    """Check that ``options["betas"]`` is a pair of numbers, each in ``[0, 1)``."""
    betas = options["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        check_number({f"betas[{i}]": beta}, f"betas[{i}]", where, low=0.0, high=1.0, high_inclusive=False)
