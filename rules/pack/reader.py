"""Reading a pack's TOML values: each check raises a PackError naming the file, the rule and the problem."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any

MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")


class PackError(Exception):
    """A pack that cannot be used: the message names the file, the rule (if any) and the problem."""


class Reader:
    """The checks every part of a pack is read with; `rule_id` is the rule being read, for the messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rule_id: str | None = None

    def fail(self, problem: str) -> PackError:
        where = f"{self.path.name}: rule {self.rule_id}: " if self.rule_id else f"{self.path.name}: "
        return PackError(where + problem)

    def keys(
        self, table: Mapping[str, Any], where: str, required: Collection[str], allowed: Collection[str]
    ) -> None:
        needed, known_keys = set(required), set(required) | set(allowed)
        missing = sorted(needed - set(table))
        if missing:
            raise self.fail(f"{where} is missing {', '.join(repr(m) for m in missing)}")
        unknown = sorted(set(table) - known_keys)
        if unknown:
            known = ", ".join(sorted(known_keys)) or "none"
            raise self.fail(
                f"{where} has unknown key(s) {', '.join(repr(u) for u in unknown)} (known: {known})"
            )

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a table")
        return value

    def text(self, table: Mapping[str, Any], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be non-empty text")
        return " ".join(value.split())

    def positive(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"'{key}' must be a positive whole number, not {value!r}")
        return value

    def flag(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false, not {value!r}")
        return value

    def codes(self, value: Any, key: str, known: Collection[str] | None) -> frozenset[str]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(f"'{key}' must be a non-empty list of codes")
        if known is None:
            return frozenset(value)
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise self.fail(
                f"'{key}' has unknown code(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return frozenset(value)

    def month_day(self, value: Any, key: str) -> tuple[int, int]:
        match = MONTH_DAY.match(value) if isinstance(value, str) else None
        if match is None:
            raise self.fail(f"'{key}' must be a month and day as \"MM-DD\", not {value!r}")
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(2027, month, day)  # not a leap year: 29 February cannot start a year every year
        except ValueError:
            raise self.fail(f"'{key}' is not a day of every year: {value!r}") from None
        return month, day
