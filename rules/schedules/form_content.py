"""`form_content`: not a due date; a field the obligation's pre-filled form carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from rules.codes import OBLIGATION_KINDS
from rules.kinds import FORM_FIELDS
from rules.schedules.base import Schedule

if TYPE_CHECKING:
    from rules.pack import Rule
    from rules.pack.reader import Reader


@dataclass(frozen=True)
class FormContent(Schedule):
    type: ClassVar[str] = "form_content"
    times: ClassVar[frozenset[str]] = frozenset(OBLIGATION_KINDS)
    required: ClassVar[frozenset[str]] = frozenset({"field"})
    sets_due_dates: ClassVar[bool] = False
    field: str = ""

    @classmethod
    def parse(cls, table: Mapping[str, Any], kind: str, reader: Reader) -> Self:
        name = table["field"]
        if name not in FORM_FIELDS:
            raise reader.fail(f"unknown form field {name!r} (known: {', '.join(sorted(FORM_FIELDS))})")
        if kind not in FORM_FIELDS[name]:
            raise reader.fail(
                f"the form field {name!r} belongs on {', '.join(sorted(FORM_FIELDS[name]))}, not {kind}"
            )
        return cls(field=name)


def form_fields(rules: Iterable[Rule]) -> list[tuple[Rule, str]]:
    """The form fields these rules fill, each with its rule, in pack order."""
    return [(r, r.schedule.field) for r in rules if isinstance(r.schedule, FormContent)]
