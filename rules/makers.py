"""Functions that make instances of the engine's per-slot classes as their constructors would, for less.

Calling a class costs more than calling a function with the same arguments: the interpreter packs the arguments
into a tuple and the keywords into a dict for `type.__call__`, which unpacks them again for `__init__` (a
`Clock` made by its class with keywords: about 8,300 instructions; by `maker(Clock)`: 4,800). The engine makes a
`Clock`, a `Candidate` and a `Due` for every slot of every subject, so those are made through these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def maker(cls: Callable[P, T]) -> Callable[P, T]:
    """A function taking exactly the arguments of `cls(...)` (names, order and defaults) and returning the same
    instance. Only for a dataclass with slots that is neither frozen nor has a `__post_init__`, whose
    constructor does nothing but set each field (checked here, at import)."""
    name = getattr(cls, "__name__", repr(cls))
    params = getattr(cls, "__dataclass_params__", None)
    if (
        not isinstance(cls, type)
        or not is_dataclass(cls)
        or params is None
        or params.frozen
        or "__slots__" not in vars(cls)
        or hasattr(cls, "__post_init__")
    ):
        raise TypeError(f"rules.makers cannot make {name}: a plain dataclass with slots only")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    arguments, lines = [], []
    for n, f in enumerate(fields(cls)):
        if not f.init or f.default_factory is not MISSING:
            raise TypeError(f"rules.makers cannot make {name}: field {f.name} needs its constructor")
        if f.default is MISSING:
            arguments.append(f.name)
        else:
            namespace[f"_default{n}"] = f.default
            arguments.append(f"{f.name}=_default{n}")
        lines.append(f"    self.{f.name} = {f.name}")
    source = (
        f"def make({', '.join(arguments)}):\n    self = _new(_cls)\n"
        + "\n".join(lines)
        + "\n    return self\n"
    )
    exec(source, namespace)  # as dataclasses writes `__init__` itself
    made: Callable[P, T] = namespace["make"]
    made.__qualname__ = f"make_{name}"
    made.__doc__ = f"A {name}, as `{name}(...)` makes it."
    return made
