"""Containers: ``Sequential`` (a pipeline of layers) and ``ModuleList`` (a list whose layers get registered).

A plain Python list of layers is invisible to ``parameters()`` (the optimizer would never update them);
these containers register each layer under its index, so the names read ``0.weight``, ``1.bias``, ...
"""
from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Any, Iterable, Iterator

from .module import Module


def _check_module(module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        if isinstance(module, type) and issubclass(module, Module):
            hint = f" (an instance is needed: {module.__name__}(...), with parentheses)"
        elif callable(module):
            hint = " (for an activation use its Module, e.g. nn.ReLU(), not F.relu)"
        else:
            hint = ""
        kind = f"the class {module.__name__}" if isinstance(module, type) else type(module).__name__
        raise TypeError(f"{where} must be a Module, got {kind}{hint}")
    return module


def _index(idx: Any, length: int, container: str) -> int:
    """Turn ``idx`` (possibly negative) into a position in ``range(length)``."""
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{container} indices must be integers or slices, got {type(idx).__name__}") from None
    if not -length <= idx < length:
        raise IndexError(f"index {idx} is out of range for a {container} of length {length}")
    return idx % length


class Sequential(Module):
    """Layers applied one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    ::

        model = Sequential(Linear(2, 16), ReLU(), Linear(16, 1))   # children named '0', '1', '2'
        model = Sequential(OrderedDict([("fc1", Linear(2, 16)), ("act", ReLU())]))   # or named yourself

    Indexing gives a layer (``model[0]``, ``model[-1]``) and slicing a new Sequential sharing the layers
    (``model[:2]``); ``len(model)`` and ``for layer in model`` work as for a list.
    """

    def __init__(self, *args: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, _check_module(module, f"Sequential: entry {name!r}"))
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), _check_module(module, f"Sequential: argument {i}"))

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self._modules[key] = _check_module(module, "the assigned value")

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), "Sequential")]]):
            del self._modules[key]
        # keep the default names 0, 1, 2, ... consecutive, as PyTorch does
        if all(key.isdigit() for key in keys):
            modules = list(self._modules.values())
            self._modules.clear()
            for i, module in enumerate(modules):
                self._modules[str(i)] = module

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self.add_module(str(len(self)), _check_module(module, "Sequential.append: module"))
        return self


class ModuleList(Module):
    """A list of Modules that registers them (``0``, ``1``, ...), so their parameters are found.

    It has no ``forward``: the module holding it decides how the layers are used, e.g.
    ``for layer in self.layers: x = layer(x)``.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Module | ModuleList:
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self._modules[str(_index(idx, len(self), "ModuleList"))] = _check_module(module, "the assigned value")

    def __delitem__(self, idx: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[_index(idx, len(self), "ModuleList")]
        self._modules.clear()  # renumber, so indices stay 0, 1, 2, ...
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(module, "ModuleList.append: module"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of ``modules``; returns self."""
        if isinstance(modules, Module) or not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleList.extend needs an iterable of Modules, got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(index, _check_module(module, "ModuleList.insert: module"))
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m
