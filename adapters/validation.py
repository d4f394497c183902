"""One shape for field errors everywhere: marshmallow's nested messages as dotted paths."""

from __future__ import annotations

from typing import Any


def flatten_errors(messages: Any, prefix: str = "", root: str = "body") -> dict[str, list[str]]:
    """{"data": {"actions": {0: {"due_date": [...]}}}} -> {"data.actions[0].due_date": [...]}.

    Errors about the whole object (marshmallow's `_schema`) go under the enclosing path, or `root` at the top.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or root
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for field, found in flatten_errors(value, path, root).items():
                flat.setdefault(field, []).extend(found)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat.setdefault(prefix or root, []).extend(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            flat.update(flatten_errors(value, f"{prefix}[{i}]", root))
    else:
        flat[prefix or root] = [str(messages)]
    return flat
