"""Reading a webhook body as JSON within limits no event needs to exceed.

The standard library's `json` with hooks, rather than a faster parser such as orjson: it needs no compiled
wheel (the connector installs anywhere Python runs), and the limits are ours to choose. Unbounded, `json.loads`
raises RecursionError on a body nested some thousands deep and ValueError on an integer of more than 4,300
digits, and accepts NaN and Infinity, none of which is JSON an event can hold.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

# An envelope holds `data`, which holds `actions`, which hold objects: four levels. 32 leaves room for a
# platform's extra fields (ignored) while keeping any parser's recursion shallow.
MAX_DEPTH = 32
# A 64-bit id has at most 19 digits, and a sign makes 20: nothing an event holds is longer.
MAX_INT_CHARS = 20

# A string, its closing quote optional: a match never fails, so the scan stays linear on `"\"\"\"...` (a
# closing quote required would make each escaped quote restart a scan to the end). An unclosed string hides
# the brackets after it, harmlessly: the parser stops at that string before it could nest into them.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class BodyError(ValueError):
    """A body that is not JSON the connector reads; `detail` says why, naming no value from it."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message
        self.detail = detail


def nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in `body`, brackets inside strings not counted.

    A cheap scan done before parsing, so that a deep body never reaches a recursive parser.
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets), default=0)


def _int(text: str) -> int:
    if len(text) > MAX_INT_CHARS:
        raise BodyError(
            "The body holds a number too large.", f"An integer has more than {MAX_INT_CHARS - 1} digits."
        )
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError("The body holds a number too large.", "A number is too large to be a finite value.")
    return value


def _constant(name: str) -> Any:
    raise BodyError("The body is not valid JSON.", f"{name} is not a JSON value.")


def load_json(body: bytes) -> Any:
    """The parsed body; BodyError when it is not UTF-8 JSON within MAX_DEPTH and MAX_INT_CHARS."""
    # No deeper than it has opening brackets: an event's few brackets are counted in C, and only a body with
    # more than MAX_DEPTH of them is scanned (a twentieth of the scan's cost on an ordinary event).
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and nesting_depth(body) > MAX_DEPTH:
        raise BodyError(
            "The body is nested too deeply.", f"Arrays and objects nest more than {MAX_DEPTH} deep."
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("The body is not valid JSON.", "The body is not UTF-8.") from None
    try:
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        # The position, not the document: JSONDecodeError's message quotes no part of the body.
        raise BodyError("The body is not valid JSON.", str(exc)) from None
    except RecursionError:
        # Unreachable after the depth scan; kept so that a gap in the scan is a 400, never a 500.
        raise BodyError("The body is nested too deeply.", "Arrays and objects nest too deeply.") from None
