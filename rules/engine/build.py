"""An obligation from its settled due date: its reasons, and what its explanation sentence and form are made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, TypeVar

from rules.engine.settle import Due
from rules.explain import Later, PackWording
from rules.model import Obligation
from rules.pack import RulePack

T = TypeVar("T")
_new = object.__new__


def made(cls: type[T], **values: Any) -> T:
    """A frozen dataclass (without slots) from all its fields at once, as its constructor would make it.

    The engine makes an obligation and its wording for every slot of every subject: a frozen dataclass's own
    `__init__` sets each field through `object.__setattr__`, about four times the cost of filling the instance's
    dict in one call. Only for classes with no `__post_init__`, and every field must be given (`check_made`)."""
    found: T = _new(cls)
    found.__dict__.update(values)
    return found


def check_made(cls: type[object], given: set[str]) -> None:
    # Fails at import, not with a missing attribute later, when a field is added to one of these classes.
    if {f.name for f in fields(cls)} != given or hasattr(cls, "__post_init__"):  # type: ignore[arg-type]
        raise TypeError(f"rules.engine.build makes {cls.__name__} with the fields {sorted(given)}")


check_made(
    Obligation,
    {
        "kind",
        "scope",
        "holder",
        "cycle",
        "assignee_id",
        "case_id",
        "team_id",
        "due_date",
        "reasons",
        "counted_from",
        "wording",
        "supervisor_id",
    },
)
check_made(PackWording, {"pack", "what", "more", "fields"})


def obligation(
    pack: RulePack,
    kind: str,
    *,
    scope: str,
    holder: str,
    cycle: int,
    assignee: str,
    team_id: str | None,
    settled: Due,
    what: str,
    case_id: str | None = None,
    form: Sequence[tuple[str, str | Later]] = (),
    more: Sequence[str] = (),
    supervisor_id: str | None = None,
) -> Obligation:
    # `made`'s work written out: this runs for every obligation of every subject.
    wording = _new(PackWording)
    wording.__dict__.update(pack=pack, what=what, more=tuple(more), fields=tuple(form))
    found = _new(Obligation)
    found.__dict__.update(
        kind=kind,
        scope=scope,
        holder=holder,
        cycle=cycle,
        assignee_id=assignee,
        case_id=case_id,
        team_id=team_id,
        due_date=settled.due,
        reasons=pack.reasons(settled.rules),
        counted_from=settled.basis,
        wording=wording,
        supervisor_id=supervisor_id,
    )
    return found
