"""``Module``: the base class of every layer and model, shaped like ``torch.nn.Module``.

A Module owns Parameters (what it learns), buffers (state that is saved but not learned, like running
averages) and sub-Modules. Assigning one of these to an attribute registers it, so a model written like this::

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()          # sets up the registries: call it first
            self.fc1 = Linear(2, 16)    # a sub-Module, registered as "fc1"
            self.fc2 = Linear(16, 1)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

lists its four parameters through ``model.parameters()`` (``fc1.weight``, ``fc1.bias``, ``fc2.weight``,
``fc2.bias``), switches every sub-Module with ``model.train()`` / ``model.eval()``, and saves and restores them
with ``state_dict()`` / ``load_state_dict()``. Calling ``model(x)`` runs ``forward(x)``.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import numpy as np

from ..device import asarray_like, check_device, is_device_name, to_device
from ..tensor import Tensor
from .parameter import Parameter

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_hook_ids = itertools.count()  # unique keys, so a stale handle can never remove a newer hook


class StateDictError(ValueError, RuntimeError):
    """A state dict that does not fit the model (missing or unexpected keys, or a shape mismatch).

    It is a ``ValueError`` (bad input) and also a ``RuntimeError``, the type PyTorch raises here, so code
    written for either library catches it.
    """


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` skipped: keys the model has but the state lacked, and
    keys the state had but the model does not."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by :meth:`Module.register_forward_hook`; ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: dict[int, Callable], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first, so a child's multi-line repr nests inside its parent's."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
    if name == "" or "." in name:
        raise ValueError(f"{kind} name must be a non-empty string without '.', got {name!r} "
                         "(dots separate the levels of names like 'fc1.weight')")


class Module:
    """Base class for layers and models. Subclasses call ``super().__init__()`` and define ``forward``.

    Attributes:
        training: True in training mode (the default), False after :meth:`eval`. Layers such as Dropout
            behave differently in the two modes.
    """

    training: bool

    def __init__(self) -> None:
        # object.__setattr__ skips our own __setattr__, which needs these registries to exist already.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # ------------------------------------------------------------------ the forward pass
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): a subclass of Module must define "
            "`def forward(self, x): ...` computing its output (model(x) calls model.forward(x))")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    def register_forward_hook(self, hook: Callable[["Module", tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward pass (e.g. to record activations).

        A hook that returns something other than None replaces the output. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        key = next(_hook_ids)
        self._forward_hooks[key] = hook
        return RemovableHandle(self._forward_hooks, key)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        modules = self.__dict__.get("_modules")
        buffers = self.__dict__.get("_buffers")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(f"cannot assign {type(value).__name__} {name!r} before Module.__init__() "
                                 "has run: call super().__init__() first in your __init__")
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                f"(nn.Parameter or None expected); to change its values in place, "
                                f"assign to {name}.data")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(nn.Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                "(Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: the registered things live in the registries, not __dict__.
        # `self.__dict__.get` (not `self._parameters`) so that a half-built object (copy, pickle) cannot
        # recurse back into __getattr__.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                del entries[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        """Remove ``name`` from every registry and from __dict__ before it is registered anew."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def _check_slot(self, kind: str, registry: str, name: str) -> None:
        """Checks shared by register_parameter, register_buffer and add_module before ``name`` is taken."""
        if registry not in self.__dict__:
            raise AttributeError(f"cannot register a {kind} before Module.__init__() has run: "
                                 "call super().__init__() first in your __init__")
        _check_name(kind, name)
        if name in self.__dict__ or (hasattr(type(self), name) and name not in self.__dict__[registry]):
            raise KeyError(f"attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an optional parameter such as a missing bias) as ``name``."""
        self._check_slot("parameter", "_parameters", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter {name!r} "
                            "(nn.Parameter or None expected)")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a Tensor that is state but not learned (e.g. BatchNorm's running mean).

        Buffers follow ``to(dtype)`` and, when ``persistent``, are saved in ``state_dict()``; optimizers never
        see them.
        """
        self._check_slot("buffer", "_buffers", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register {type(tensor).__name__} as buffer {name!r} (Tensor or None "
                            "expected); wrap arrays with nnlearn.tensor(...)")
        if isinstance(tensor, Parameter):
            raise TypeError(f"buffer {name!r} must not be a Parameter; use register_parameter for "
                            "learnable tensors")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (what ``self.name = module`` does for valid names)."""
        self._check_slot("module", "_modules", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass (adding child {name!r})")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------------ walking the tree
    def named_modules(self, memo: set[int] | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and all below it, each once, as ``(dotted_name, module)``; this module's name is ''."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every module below it (depth first, each once)."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules as ``(name, module)``."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        # A tensor shared by two layers (tied weights) is reported once, under the first name found.
        seen: set[int] = set()
        owners = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, value in owner.__dict__[registry].items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every Parameter as ``(dotted_name, parameter)``, e.g. ``('fc1.weight', ...)``, ``('0.bias', ...)``."""
        yield from self._named_members("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter of this module and (with ``recurse``) its sub-modules: what an optimizer updates."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, only_trainable: bool = False) -> int:
        """Total number of scalar parameters (only those that require grad, with ``only_trainable``)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not only_trainable)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on this module; returns self.

        The usual use is custom initialisation: ``model.apply(init_weights)``.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all below it; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode must be a bool, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout stops dropping, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking for every parameter (``False`` freezes the module); returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients accumulated by ``backward()``: set each ``.grad`` to None (or to zeros)."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    # ------------------------------------------------------------------ dtype
    def to(self, target: Any) -> Module:
        """Move every parameter, gradient and buffer to a device (``"cpu"``/``"cuda"``), or convert the
        floating-point ones to a dtype (float32/float64), in place; returns self.

        The Parameter objects stay the same (only their ``.data`` changes), so an optimizer built before the
        call still updates them — though its state (e.g. Adam's moments) should be created after moving.
        """
        tensors = [*self.parameters(), *self.buffers()]
        if is_device_name(target):
            device = check_device(target)
            for tensor in tensors:
                tensor.data = to_device(tensor.data, device)
                if tensor.grad is not None:
                    tensor.grad = to_device(tensor.grad, device)
            return self
        try:
            dtype = np.dtype(target)
        except TypeError:
            raise TypeError(f"to(): expected a device ('cpu' or 'cuda') or a dtype (float32 or float64), "
                            f"got {target!r}") from None
        if dtype not in _FLOAT_DTYPES:
            raise TypeError(f"to(): dtype must be float32 or float64, got {dtype}")
        for tensor in tensors:
            if tensor.data.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dtype)
        return self

    def cuda(self) -> Module:
        """Move the module to the GPU (``to("cuda")``)."""
        return self.to("cuda")

    def cpu(self) -> Module:
        """Move the module to host memory (``to("cpu")``)."""
        return self.to("cpu")

    def double(self) -> Module:
        """Convert floating-point parameters and buffers to float64 (for gradient checks); returns self."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Convert floating-point parameters and buffers to float32; returns self."""
        return self.to(np.float32)

    # ------------------------------------------------------------------ saving and loading
    def state_dict(self, prefix: str = "") -> OrderedDict[str, np.ndarray]:
        """Everything needed to restore the module: ``dotted_name -> NumPy array`` (a copy), in PyTorch's
        order (each module's parameters, then its buffers, then its children's entries)."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                state[prefix + name] = param.data.copy()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                state[prefix + name] = buffer.data.copy()
        for name, module in self._modules.items():
            if module is not None:
                state.update(module.state_dict(prefix=f"{prefix}{name}."))
        return state

    def _state_tensors(self) -> OrderedDict[str, Tensor]:
        """The tensors that :meth:`state_dict` copies, by the same names."""
        tensors: OrderedDict[str, Tensor] = OrderedDict()

        def collect(module: Module, prefix: str) -> None:
            for name, param in module._parameters.items():
                if param is not None:
                    tensors[prefix + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    tensors[prefix + name] = buffer
            for name, child in module._modules.items():
                if child is not None:
                    collect(child, f"{prefix}{name}.")

        collect(self, "")
        return tensors

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` (name -> array or Tensor) into this module's parameters and buffers.

        Values are copied into the existing arrays, so each parameter keeps its dtype and identity (an
        optimizer that holds it is unaffected). With ``strict`` (the default) the keys must match
        :meth:`state_dict` exactly. A shape mismatch is always an error. Nothing is copied unless
        everything fits.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)`` (both empty when ``strict``).

        Raises:
            StateDictError (a ValueError and RuntimeError): listing every missing and unexpected key and every
                shape mismatch.
            TypeError: if ``state_dict`` is not a mapping or holds a non-numeric value.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping from names to arrays (what model.state_dict() "
                            f"returns), got {type(state_dict).__name__}")
        targets = self._state_tensors()
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]

        errors: list[str] = []
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(repr(k) for k in unexpected) + ".")
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(repr(k) for k in missing) + ".")
        values: dict[str, np.ndarray] = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = to_device(value.data if isinstance(value, Tensor) else value, "cpu")
            value = np.asarray(value)
            if value.dtype.kind not in "biuf":
                raise TypeError(f"state_dict[{key!r}] must be a numeric array, got dtype {value.dtype}")
            if value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a value with shape {value.shape} from "
                              f"state_dict, the shape in the current model is {target.shape}.")
            values[key] = value
        if errors:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                                 + "\n\t".join(errors))
        for key, value in values.items():
            # in place (on the parameter's device), cast to the parameter's own dtype
            targets[key].data[...] = asarray_like(value, targets[key].data)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (e.g. ``in_features=2, ...``); override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_addindent(repr(module), 2)}" for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = type(self).__name__ + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._parameters, *self._buffers, *self._modules})
