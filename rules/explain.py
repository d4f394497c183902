"""What an obligation says: its explanation sentence and the basic fields of its pre-filled form.

Every text goes through the pack's vocabulary, so each council reads its own words (Bracknell's "children" for
"children looked after"). Texts about a worker's personal supervision name the worker only, never a child.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from rules.dates import format_day
from rules.model import Basis, Obligation, Reason, Wording

if TYPE_CHECKING:  # only for the hints: the schedules use these helpers and the pack loads the schedules
    from rules.pack import Rule, RulePack

HELD = {
    "case": "case supervision held",
    "ad_hoc": "ad hoc case discussion held",
    "allocation_discussion": "allocation discussion held",
    "ten_twenty_day_discussion": "10/20 day discussion held",
    "personal": "personal supervision held",
    "group": "group supervision held",
    "fsm_group": "FSM group casework supervision held",
    "team_brief": "team brief held",
    "practice_observation": "practice observation held",
    "agreement": "supervision agreement made",
    "dip_sample": "dip sample recorded",
}

LABELS = {
    "case_supervision": "case supervision",
    "personal_supervision": "personal supervision",
    "group_supervision": "group supervision",
    "supervision_agreement": "supervision agreement",
    "practice_observation": "practice observation",
    "team_brief": "team brief",
    "fsm_group_supervision": "FSM group casework supervision",
    "supervision_record": "supervision record",
    "dip_sample": "dip sample",
    "agenda": "agenda",
    "supervision_booking": "booking of supervision sessions",
}


def held(kind: str) -> str:
    return HELD.get(kind, f"{kind.replace('_', ' ')} held")


def label(kind: str) -> str:
    return LABELS.get(kind, kind.replace("_", " "))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def explanation(
    pack: RulePack, what: str, due: date, reasons: Sequence[Reason], basis: Basis, more: Sequence[str] = ()
) -> str:
    """One sentence: what is due by when, every rule that set that date, and the fact it counted from."""
    why = "; ".join(f"{r.words} ({r.rule_id}, policy {r.source})" for r in reasons)
    tail = "".join(f"; {m}" for m in more)
    return pack.words(
        f"{what} is due by {format_day(due)}: {why}, counted from the {basis.fact} on {format_day(basis.on)}{tail}."
    )


def basic_form(pack: RulePack, due: date, reasons: Sequence[Reason], basis: Basis) -> list[tuple[str, str]]:
    return [
        ("due_date", due.isoformat()),
        ("reason", "; ".join(f"{r.rule_id} ({r.source})" for r in reasons)),
        ("counted_from", pack.words(f"{basis.fact} on {basis.on.isoformat()}")),
    ]


def cited(rule: Rule) -> str:
    return f"{rule.id}, policy {rule.source}"


class Later:
    """A form field's value written only when the form is (one that takes work per obligation to write)."""

    def write(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class PackWording(Wording):
    """An engine-made obligation's texts in its pack's words: `what` is due, `more` sentences after the reasons,
    and the `fields` its form has after the basic three."""

    pack: RulePack = field(repr=False, hash=False)
    what: str
    more: tuple[str, ...] = ()
    fields: tuple[tuple[str, str | Later], ...] = ()

    def explanation(self, obligation: Obligation) -> str:
        return explanation(
            self.pack, self.what, obligation.due_date, obligation.reasons, obligation.counted_from, self.more
        )

    def form(self, obligation: Obligation) -> tuple[tuple[str, str], ...]:
        basic = basic_form(self.pack, obligation.due_date, obligation.reasons, obligation.counted_from)
        return (*basic, *((name, v if isinstance(v, str) else v.write()) for name, v in self.fields))
