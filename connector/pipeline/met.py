"""Whether an obligation cycle that is no longer owed ended because it was met, or was simply withdrawn.

The distinction decides how its platform step ends: a met cycle's step is COMPLETED, so the platform's reports
show the supervision as done; one no longer owed (case closed, worker de-allocated or transferred away, a rule
that no longer applies) is CANCELLED.

The ledger calls a cycle met when either
- the desired set holds the same (kind, scope, holder) with a higher cycle: the engine numbers cycles by the
  sessions that ended them, so a higher cycle means a session ended this one (the ledger checks this itself); or
- the subject's recorded sessions hold one that counts for the obligation's kind, of its holder, held after the
  fact the cycle counted from (on or after it, unless that fact was itself a session, which started this cycle
  rather than meeting it). This covers obligations that end with no next cycle: an agreement made, a year's
  observations done, a booked session's record written. A booking-scoped obligation (record, agenda) is met by
  any session its holder held on or after the booked day;
- or, for the prompt to book sessions ahead (`supervision_booking`), its holder booked a session later than the
  furthest one booked when the cycle was counted (or any, if none was): the prompt went because bookings now
  reach far enough, which is what it asked for.
This predicate answers the second question from the same events the subject's facts were folded from.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, TypeVar

from connector.store.engines.base import Row
from rules.events import Event, SupervisionBooked, SupervisionRecorded
from rules.explain import HELD
from rules.model import Booking, Session
from rules.pack import RulePack
from rules.schedules.base import LONDON

SESSION_FACTS = frozenset(HELD.values())
MetCheck = Callable[[Row], bool]


@dataclass(frozen=True)
class Held:
    """A recorded session as the compliance history keeps it: when it was held and recorded, and by whom."""

    kind: str
    worker_id: str
    held_on: date
    recorded_on: date | None = None
    supervisor_id: str | None = None
    # The event that recorded it, to tell the sessions a batch brings (pipeline/skipped.py); never stored.
    session_id: str | None = field(default=None, compare=False)


_S = TypeVar("_S", Held, Session)

# The session that met a ledger row's cycle (the first that counts for it), or None.
SessionFinder = Callable[["Columns"], Held | None]


class Columns(Protocol):
    """What a finder or an outcome reads of a ledger row: its columns by name (a row read, or the columns of a
    cycle the ledger never held, connector/pipeline/skipped.py)."""

    def __getitem__(self, key: str, /) -> Any: ...


def never_met(row: Row) -> bool:
    return False


def no_session(row: Columns) -> Held | None:
    return None


def held_of(event: SupervisionRecorded) -> Held:
    return Held(
        event.kind, event.worker_id, event.held_on, event.recorded_on, event.supervisor_id, event.event_id
    )


def held_of_session(session: Session) -> Held:
    return Held(
        session.kind,
        session.worker_id,
        session.held_on,
        session.recorded_on,
        session.supervisor_id,
        session.session_id,
    )


def meeting_session(
    events: Iterable[Event], counting_kinds: Callable[[str], frozenset[str]]
) -> SessionFinder:
    """For the ledger's rows of one subject, given every event folded about it: the earliest session that met
    the row's cycle, by the rules in the module's docstring."""
    held = [held_of(e) for e in events if isinstance(e, SupervisionRecorded)]
    held.sort(key=_held_on)
    return _finder(held, counting_kinds, lambda h: h)


def meeting_session_of_fold(
    in_held_order: Sequence[Session], counting_kinds: Callable[[str], frozenset[str]]
) -> SessionFinder:
    """The same, from a kept fold's held sessions, already in held order (ties in the order folded)."""
    return _finder(in_held_order, counting_kinds, held_of_session)


def _held_on(item: Held | Session) -> date:
    return item.held_on


def _finder(
    held: Sequence[_S], counting_kinds: Callable[[str], frozenset[str]], to_held: Callable[[_S], Held]
) -> SessionFinder:
    if not held:
        return no_session

    def first(row: Columns) -> Held | None:
        since = date.fromisoformat(row["counted_from_date"])
        from_session = row["counted_from_fact"] in SESSION_FACTS or row["counted_from_fact"].endswith(" held")
        scope = str(row["scope"])
        any_kind = scope.startswith("booking-") and scope != "booking-ahead"
        kinds = counting_kinds(row["kind"])
        holder = row["holder"]
        # Sessions held before the fact the cycle counted from cannot meet it: start from there, by halving,
        # so finding the session that met a cycle does not pass over the subject's whole history.
        at = (bisect_right if from_session else bisect_left)(held, since, key=_held_on)
        for n in range(at, len(held)):
            session = held[n]
            if holder != "-" and session.worker_id != holder:
                continue
            if not any_kind and session.kind not in kinds:
                continue
            return to_held(session)
        return None

    return first


def met_by_sessions(
    events: Iterable[Event],
    counting_kinds: Callable[[str], frozenset[str]],
    booking_kinds: frozenset[str] = frozenset(),
) -> MetCheck:
    """A check for the ledger's rows of one subject, given every event folded about that subject.
    `booking_kinds`: the kinds of booked session that count for booking ahead."""
    events = list(events)
    booked = _booked(events, booking_kinds)
    return _met(meeting_session(events, counting_kinds), lambda: booked)


def fold_checks(
    in_held_order: Sequence[Session],
    bookings: Iterable[Booking],
    counting_kinds: Callable[[str], frozenset[str]],
    booking_kinds: frozenset[str] = frozenset(),
) -> tuple[MetCheck, SessionFinder]:
    """From a kept fold: whether each ledger row's cycle was met, and the session that met it (the ledger asks
    both of the same rows). Nothing is built until a row asks: most diffs end no cycle."""

    def booked() -> list[tuple[str, date]]:
        return [
            (b.worker_id, b.starts_at.astimezone(LONDON).date())
            for b in bookings
            if b.kind in booking_kinds and not b.cancelled
        ]

    finder = meeting_session_of_fold(in_held_order, counting_kinds)
    return _met(finder, booked), finder


def _met(finder: SessionFinder, booked: Callable[[], Sequence[tuple[str, date]]]) -> MetCheck:
    standing: list[Sequence[tuple[str, date]]] = []

    def met(row: Row) -> bool:
        if row["kind"] == "supervision_booking":
            if not standing:
                standing.append(booked())
            since = date.fromisoformat(row["counted_from_date"])
            counted_from_booking = row["counted_from_fact"] == "furthest session booked"
            return any(
                worker == row["holder"] and (day > since or not counted_from_booking)
                for worker, day in standing[0]
            )
        return finder(row) is not None

    return met


def _booked(events: list[Event], kinds: frozenset[str]) -> list[tuple[str, date]]:
    """(worker, day) of each booking of these kinds whose latest word is that it stands (not cancelled)."""
    latest: dict[str, SupervisionBooked] = {}
    for e in events:
        if (
            isinstance(e, SupervisionBooked)
            and e.kind in kinds
            and (e.booking_id not in latest or e.occurred_at >= latest[e.booking_id].occurred_at)
        ):
            latest[e.booking_id] = e
    return [
        (b.worker_id, b.starts_at.astimezone(LONDON).date())
        for b in latest.values()
        if b.status != "cancelled"
    ]


def booked_ahead_kinds(pack: RulePack) -> frozenset[str]:
    """The booked session kinds the pack's booking-ahead rules count."""
    return frozenset(
        kind
        for r in pack.rules_of("supervision_booking")
        for kind in getattr(r.schedule, "booking_kinds", ())
    )
