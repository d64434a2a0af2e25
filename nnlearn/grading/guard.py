"""Keeping the tests' tools honest inside the grading child: a snapshot of what tests rely on, and plain answers.

Student code and the tests share one interpreter (a test must call the learner's function), so student code
could rebind ``numpy.allclose``, ``numpy.testing.assert_allclose``, ``builtins.isinstance`` or a method of
``nnlearn.Tensor``, or return an object whose ``__eq__`` always says True. Two defences:

* :class:`ModuleGuard` snapshots, *before any student code runs*, every function, class and module bound in
  ``builtins``, ``math``, ``numpy.*`` and ``nnlearn.*`` (and the methods of nnlearn's classes), and puts them
  back (:meth:`ModuleGuard.restore`) after the notebook's answers are defined, before every test, and after
  every call a test makes through ``nb``. Data (flags, random generators) is left alone: tests may change it.
* :func:`plain` turns what an answer returns into plain data before the test sees it: an ``ndarray``
  subclass becomes a base-class copy (copied in C: none of its Python methods runs), tuples, lists and dicts
  are rebuilt, ``int``/``float``/``str`` subclasses become the built-in values, and an object of the learner's
  own class that overrides comparisons or conversions is turned into a float array by ``numpy.array`` (so
  the tests compare what it *is*, not what its ``__eq__`` says) or refused with a ``TypeError``.

Limits, stated plainly: objects of the learner's own classes (a model, a Function subclass) are handed to the
tests as they are, so their methods run learner code; and code that digs through the interpreter (``gc``,
frames) can reach anything in the process. The parent therefore trusts nothing from the child but "test X
passed", and only on lines carrying this run's token.
"""
from __future__ import annotations

import builtins
import sys
from types import FunctionType, ModuleType
from typing import Any, Callable

PROTECTED = ("builtins", "math", "numpy", "nnlearn")

# Dunders through which an object can lie to a comparison or a conversion.
_LYING = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__array__",
          "__array_ufunc__", "__array_function__", "__array_interface__", "__float__", "__int__", "__index__",
          "__complex__", "__abs__", "__sub__", "__rsub__")


def _protected(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PROTECTED)


def _is_code(value: Any) -> bool:
    """Functions, classes, modules and other callables: what tests use as tools (not data they may change)."""
    return isinstance(value, (type, ModuleType)) or callable(value)


class ModuleGuard:
    """A snapshot of the protected modules' tools and classes, and a way to put them back."""

    def __init__(self) -> None:
        self.modules: list[tuple[dict, dict, set, int]] = []  # (module dict, its tools, its keys, length)
        self.classes: list[tuple[type, dict]] = []
        self.sys_modules = {n: m for n, m in sys.modules.items() if _protected(n)}
        self.trusted_types: set[type] = set()
        for name, module in self.sys_modules.items():
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            tools = {k: v for k, v in namespace.items() if _is_code(v)}
            self.modules.append((namespace, tools, set(namespace), len(namespace)))
            for value in tools.values():
                if isinstance(value, type):
                    self.trusted_types.add(value)
                    if name.startswith("nnlearn") and value.__module__.startswith("nnlearn"):
                        self.classes.append((value, {k: v for k, v in vars(value).items()}))
        self.trusted_types.update(t for t in vars(builtins).values() if isinstance(t, type))

    def restore(self) -> None:
        """Put every snapshotted tool back and remove tools added since (added modules may stay)."""
        current = sys.modules
        for name, module in self.sys_modules.items():
            if current.get(name) is not module:
                current[name] = module
        for namespace, tools, keys, length in self.modules:
            for key, value in tools.items():
                if namespace.get(key) is not value:
                    namespace[key] = value
            if len(namespace) != length:
                for key in [k for k, v in namespace.items() if k not in keys and _is_code(v)
                            and not isinstance(v, ModuleType)]:
                    del namespace[key]
        for cls, attrs in self.classes:
            now = cls.__dict__
            if len(now) != len(attrs) or any(now.get(k) is not v for k, v in attrs.items()):
                for key in [k for k in now if k not in attrs]:
                    try:
                        delattr(cls, key)
                    except (AttributeError, TypeError):
                        pass
                for key, value in attrs.items():
                    if now.get(key) is not value and key not in ("__dict__", "__weakref__"):
                        try:
                            setattr(cls, key, value)
                        except (AttributeError, TypeError):
                            pass

    def lies(self, obj: Any) -> bool:
        """True when ``obj``'s class, or a base not known before student code ran, overrides a comparison or
        a conversion."""
        for cls in type(obj).__mro__:
            if cls in self.trusted_types:
                continue
            if any(name in cls.__dict__ for name in _LYING):
                return True
        return False


def plain(obj: Any, guard: ModuleGuard, depth: int = 0) -> Any:
    """``obj`` as plain data the tests can trust (see the module docstring)."""
    import numpy as np

    kind = type(obj)
    if obj is None or kind in (bool, int, float, complex, str, bytes):
        return obj
    if depth > 20:
        raise TypeError("the answer is nested more than 20 levels deep")
    if isinstance(obj, np.ndarray):
        if kind is not np.ndarray or obj.dtype == object:
            copy = np.array(obj, subok=False, copy=True)  # a C-level copy: the subclass's methods never run
            if copy.dtype == object:
                flat = [plain(x, guard, depth + 1) for x in copy.ravel().tolist()]
                copy = np.array(flat + [None], dtype=object)[:-1].reshape(copy.shape)
            return copy
        return obj
    if isinstance(obj, np.generic):
        return obj if kind in guard.trusted_types or kind.__module__ == "numpy" and kind in vars(np).values() \
            else np.array(obj, subok=False)[()]
    for base in (bool, int, float, complex, str, bytes):
        if isinstance(obj, base):
            return {int: int.__int__, float: float.__float__, complex: complex.__complex__,
                    str: str.__str__, bytes: bytes.__bytes__}.get(base, bool)(obj)
    if isinstance(obj, tuple):
        return tuple(plain(x, guard, depth + 1) for x in tuple.__iter__(obj))
    if isinstance(obj, list):
        return [plain(x, guard, depth + 1) for x in list.__iter__(obj)]
    if isinstance(obj, dict):
        return {plain(k, guard, depth + 1): plain(v, guard, depth + 1) for k, v in dict.items(obj)}
    if kind in guard.trusted_types or not guard.lies(obj):
        return obj
    # The learner's own object that redefines comparisons or conversions: keep only the numbers it holds.
    try:
        value = np.array(obj, dtype=float)
    except BaseException as exc:  # noqa: BLE001 — whatever the object does
        raise TypeError(f"the answer returned a {kind.__name__} object that redefines comparisons or "
                        f"conversions and is not convertible to numbers; return a number or a NumPy array "
                        f"({type(exc).__name__})") from None
    return np.array(value, subok=False, copy=True)


def guarded(func: Callable, guard: ModuleGuard) -> Callable:
    """``func`` wrapped so that every call is followed by restoring the tools and making its result plain."""
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
        finally:
            guard.restore()
        try:
            return plain(result, guard)
        finally:
            guard.restore()
    call.__name__ = getattr(func, "__name__", "answer") if isinstance(func, FunctionType) else "answer"
    call.__wrapped__ = func
    return call
