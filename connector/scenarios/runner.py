"""YAML scenario tests beside each rule pack: events in, open obligations out (in the manner of OpenFisca).

Each scenario's events are turned into domain events, folded into facts exactly as the service folds them
(connector/facts.py), and evaluated by the pack's engine as of the scenario's day; the open obligations must be
those the scenario expects. The events are also replayed in reverse and shuffled with duplicates, since
delivery order must not matter. The file format is described at the top of each pack's YAML file.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from connector.pipeline.facts import fold_case, fold_team, fold_worker
from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.events import (
    Action,
    CaseAllocated,
    CaseClosed,
    CaseDeallocated,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    ShiftWorked,
    SupervisionBooked,
    SupervisionRecorded,
    WorkerLeave,
    WorkerUpdated,
)
from rules.model import Obligation
from rules.pack import PackError, RulePack, load_pack, pack_path


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    passed: bool
    message: str = ""


class ScenarioError(ValueError):
    """A scenario file that cannot be read: names the file, the scenario and the problem."""


SCENARIO_KEYS = {"name", "as_of", "events", "expect", "absent", "only", "closure_days", "team_tags", "note"}
MATCH_KEYS = {"kind", "case", "worker", "assignee", "team", "scope", "cycle"}
CHECK_KEYS = {
    "due",
    "rules",
    "counted_from",
    "counted_from_date",
    "explanation_contains",
    "explanation_lacks",
    "form_contains",
    "form_lacks",
}


def scenario_file_for(pack: RulePack) -> Path:
    return pack.path.parent / "tests" / f"{pack.path.stem}.yaml"


def load_scenarios(path: Path) -> list[dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("scenarios"), list):
        raise ScenarioError(f"{path.name}: expected a top-level 'scenarios' list")
    scenarios: list[dict[str, Any]] = []
    for number, scenario in enumerate(document["scenarios"], start=1):
        if not isinstance(scenario, dict):
            raise ScenarioError(f"{path.name}: scenario {number} must be a mapping")
        scenarios.append(scenario)
    return scenarios


def run_pack_tests(pack_name_or_path: str, tests_path: str | None = None) -> list[ScenarioResult]:
    """Run every scenario of a pack (a shipped pack's name or a pack file) from its YAML file beside it, or
    from `tests_path`. A bad pack raises PackError; an unreadable scenario file, ScenarioError."""
    pack = load_pack(pack_name_or_path)
    path = Path(tests_path) if tests_path else scenario_file_for(pack)
    if not path.exists():
        raise ScenarioError(f"no scenario file for pack {pack.name!r} at {path}")
    return [run_scenario(pack, scenario, path.name) for scenario in load_scenarios(path)]


def run_scenario(pack: RulePack, scenario: Mapping[str, Any], file_name: str = "scenarios") -> ScenarioResult:
    name = str(scenario.get("name", "?"))
    try:
        parsed = _Scenario.parse(scenario)
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        return ScenarioResult(name, False, f"  - {file_name}: the scenario cannot be read: {detail}")
    engine = Engine(pack, WorkingCalendar(parsed.closures))
    got = parsed.shown(evaluate(engine, parsed.events, parsed.as_of, parsed.team_tags))
    problems = compare(got, parsed.expect, parsed.absent)
    replays = {
        "in reverse order": list(reversed(parsed.events)),
        "shuffled, each twice": _shuffled_twice(parsed.events),
    }
    for how, events in replays.items():
        again = parsed.shown(evaluate(engine, events, parsed.as_of, parsed.team_tags))
        if sorted(again, key=_key) != sorted(got, key=_key):
            problems.append(f"the events replayed {how} gave different obligations")
    if problems:
        shown = "\n".join(f"    open: {describe(o)}" for o in sorted(got, key=_key)) or "    open: nothing"
        return ScenarioResult(name, False, "\n".join(f"  - {p}" for p in problems) + "\n" + shown)
    return ScenarioResult(name, True)


def _shuffled_twice(events: Sequence[Event]) -> list[Event]:
    doubled = list(events) * 2
    random.Random(len(events)).shuffle(doubled)
    return doubled


@dataclass(frozen=True)
class _Scenario:
    as_of: date
    events: list[Event]
    expect: list[dict[str, Any]]
    absent: list[dict[str, Any]]
    only: list[dict[str, Any]] | None
    closures: list[date]
    team_tags: dict[str, frozenset[str]]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> _Scenario:
        unknown = sorted(set(raw) - SCENARIO_KEYS)
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(SCENARIO_KEYS))})"
            )
        expect = [_matcher(e, with_checks=True) for e in raw.get("expect") or []]
        absent = [_matcher(e, with_checks=False) for e in raw.get("absent") or []]
        only = raw.get("only")
        tags = raw.get("team_tags") or {}
        if not isinstance(tags, dict):
            raise ValueError("'team_tags' maps team ids to lists of tags")
        return cls(
            as_of=_date(raw["as_of"]),
            events=[to_event(e, n) for n, e in enumerate(raw.get("events") or [], start=1)],
            expect=expect,
            absent=absent,
            only=None if only is None else [_matcher(o, with_checks=False) for o in only],
            closures=[_date(d) for d in raw.get("closure_days") or []],
            team_tags={str(team): frozenset(str(t) for t in values) for team, values in tags.items()},
        )

    def shown(self, obligations: list[Obligation]) -> list[Obligation]:
        """The obligations the scenario is about: those matching an `only` entry (any kind unless it names one),
        or all of them."""
        if self.only is None:
            return obligations
        return [o for o in obligations if any(_matches(o, m, default_kind=None) for m in self.only)]


def _matcher(raw: Any, with_checks: bool) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"each expected obligation must be a mapping, not {raw!r}")
    allowed = MATCH_KEYS | (CHECK_KEYS if with_checks else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)} in {raw!r} (known: {', '.join(sorted(allowed))})"
        )
    return dict(raw)


def evaluate(
    engine: Engine, events: list[Event], as_of: date, team_tags: Mapping[str, frozenset[str]]
) -> list[Obligation]:
    """Fold and evaluate every case, worker and team the events mention, as the service would."""
    workers = {w: fold_worker(w, events) for w in sorted({w for e in events for w in e.worker_ids()})}
    known = {w: f for w, f in workers.items() if f is not None}
    obligations: list[Obligation] = []
    for case_id in sorted({c for e in events for c in e.case_ids()}):
        case = fold_case(case_id, events)
        if case is not None:
            allocated = {a.worker_id: known[a.worker_id] for a in case.allocations if a.worker_id in known}
            obligations += engine.for_case(case, allocated, as_of)
    for worker in known.values():
        obligations += engine.for_worker(worker, as_of)
    for team_id in sorted({t for e in events for t in e.team_ids()}):
        members = [w for w in known.values() if w.team_id == team_id and w.end_date is None]
        team = fold_team(team_id, members, events, team_tags.get(team_id, frozenset()))
        obligations += engine.for_team(team, as_of)
    return obligations


def _matches(o: Obligation, want: Mapping[str, Any], default_kind: str | None = "case_supervision") -> bool:
    fields: dict[str, Callable[[Obligation], object]] = {
        "kind": lambda o: o.kind,
        "case": lambda o: o.case_id,
        "worker": lambda o: o.holder,
        "assignee": lambda o: o.assignee_id,
        "team": lambda o: o.team_id,
        "scope": lambda o: o.scope,
        "cycle": lambda o: o.cycle,
    }
    kind = want.get("kind", default_kind)
    if kind is not None and o.kind != kind:
        return False
    for key, read in fields.items():
        if key in want and key != "kind":
            value = read(o)
            expected = want[key] if key == "cycle" else str(want[key])
            if value != expected:
                return False
    return True


def compare(got: list[Obligation], expected: list[dict[str, Any]], absent: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    unmatched = sorted(got, key=_key)
    for want in expected:
        found = [o for o in unmatched if _matches(o, want)]
        what = _who(want)
        if not found:
            problems.append(f"expected {what}: none open")
            continue
        o = found[0]
        unmatched.remove(o)
        problems += _checks(o, want, what)
    for extra in unmatched:
        problems.append(f"not expected: {describe(extra)}")
    for unwanted in absent:
        for o in got:
            if _matches(o, unwanted):
                problems.append(f"expected no {_who(unwanted)}, but open: {describe(o)}")
    return problems


def _checks(o: Obligation, want: Mapping[str, Any], what: str) -> list[str]:
    problems = []
    if "due" in want and o.due_date != _date(want["due"]):
        problems.append(f"{what}: due {o.due_date}, expected {_date(want['due'])}")
    if "rules" in want and sorted(o.rule_ids) != sorted(str(r) for r in want["rules"]):
        problems.append(f"{what}: rules {list(o.rule_ids)}, expected {list(want['rules'])}")
    if "counted_from" in want and o.counted_from.fact != want["counted_from"]:
        problems.append(f"{what}: counted from {o.counted_from.fact!r}, expected {want['counted_from']!r}")
    if "counted_from_date" in want and o.counted_from.on != _date(want["counted_from_date"]):
        problems.append(
            f"{what}: counted from {o.counted_from.on}, expected {_date(want['counted_from_date'])}"
        )
    for text in _texts(want.get("explanation_contains")):
        if text not in o.explanation:
            problems.append(f"{what}: explanation lacks {text!r}: {o.explanation}")
    for text in _texts(want.get("explanation_lacks")):
        if text in o.explanation:
            problems.append(f"{what}: explanation has {text!r}: {o.explanation}")
    form = dict(o.form)
    for name, text in (want.get("form_contains") or {}).items():
        if name not in form or str(text) not in form[name]:
            problems.append(f"{what}: form field {name!r} lacks {text!r}: {form.get(name)!r}")
    for text in _texts(want.get("form_lacks")):
        if any(text in f"{name} {value}" for name, value in o.form):
            problems.append(f"{what}: form has {text!r}: {o.form}")
    return problems


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def describe(o: Obligation) -> str:
    subject = f" person {o.case_id}" if o.case_id else ""
    return (
        f"{o.kind}{subject} worker {o.holder} ({o.scope}, cycle {o.cycle}, for {o.assignee_id}): due {o.due_date}"
        f" by {', '.join(o.rule_ids)}, counted from {o.counted_from.fact} on {o.counted_from.on}"
    )


def _who(want: Mapping[str, Any]) -> str:
    parts = [str(want.get("kind", "case_supervision"))]
    labels = {"case": "person", "worker": "worker", "assignee": "for", "team": "team", "scope": "scope"}
    parts += [f"{label} {want[key]}" for key, label in labels.items() if key in want]
    if "cycle" in want:
        parts.append(f"cycle {want['cycle']}")
    return " ".join(parts)


def _key(o: Obligation) -> tuple[str, str, str, int]:
    return o.key


# --- the event shorthand --------------------------------------------------------------------------------------

EVENT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "case.allocated": ({"case", "worker", "start_date"}, {"team", "relationship"}),
    "case.transferred": ({"case", "from_worker", "to_worker", "transfer_date"}, {"team", "relationship"}),
    "case.deallocated": ({"case", "worker", "end_date"}, set()),
    "case.status_changed": ({"case", "status", "start_date"}, {"permanency_plan_agreed", "fsm"}),
    "case.closed": ({"case", "end_date"}, {"reason"}),
    "worker.updated": (
        {"worker", "start_date"},
        {
            "team",
            "supervisor",
            "job_role",
            "case_holding",
            "supervises_case_holders",
            "frontline",
            "asye",
            "employment",
            "end_date",
        },
    ),
    "worker.shift_worked": ({"worker", "shift_date"}, set()),
    "worker.leave": ({"worker", "leave", "reason", "start_date", "end_date"}, {"status"}),
    "supervision.booked": (
        {"booking", "kind", "worker", "starts_at", "at"},
        {"supervisor", "team", "cases", "duration_minutes", "status"},
    ),
    "supervision.recorded": (
        {"kind", "worker", "held_on"},
        {"supervisor", "team", "cases", "recorded_on", "significant", "step", "actions"},
    ),
}
# With no `at`, an event happened (and was heard of) at noon UTC on the date it carries.
DEFAULT_AT = {
    "case.allocated": "start_date",
    "case.transferred": "transfer_date",
    "case.deallocated": "end_date",
    "case.status_changed": "start_date",
    "case.closed": "end_date",
    "worker.updated": "start_date",
    "worker.shift_worked": "shift_date",
    "worker.leave": "start_date",
    "supervision.recorded": "recorded_on",
}


def to_event(raw: Any, index: int) -> Event:
    """One event in the scenario shorthand: `type`, optional `id` and `at`, and the event's fields."""
    if not isinstance(raw, dict) or "type" not in raw:
        raise ValueError(f"event {index}: needs a 'type'")
    kind = raw["type"]
    if kind not in EVENT_KEYS:
        raise ValueError(f"event {index}: unknown type {kind!r} (known: {', '.join(EVENT_KEYS)})")
    required, optional = EVENT_KEYS[kind]
    fields = set(raw) - {"type", "id", "at"}
    missing = sorted(required - {"at"} - fields) + (["at"] if "at" in required and "at" not in raw else [])
    unknown = sorted(fields - required - optional)
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown field(s) {', '.join(unknown)}"
        raise ValueError(f"event {index} ({kind}): {problem}")
    event_id = str(raw.get("id", f"e{index:03d}"))
    if "at" in raw:
        at = _moment(raw["at"])
    elif kind == "supervision.recorded":
        at = _noon(_date(raw.get("recorded_on", raw["held_on"])))
    else:
        at = _noon(_date(raw[DEFAULT_AT[kind]]))
    return _build(kind, event_id, at, raw)


def _build(kind: str, event_id: str, at: datetime, raw: Mapping[str, Any]) -> Event:
    if kind == "case.allocated":
        return CaseAllocated(
            event_id,
            at,
            str(raw["case"]),
            str(raw["worker"]),
            _opt(raw, "team"),
            Relationship(raw.get("relationship", "ALLWKR")),
            _date(raw["start_date"]),
        )
    if kind == "case.transferred":
        return CaseTransferred(
            event_id,
            at,
            str(raw["case"]),
            str(raw["from_worker"]),
            str(raw["to_worker"]),
            _opt(raw, "team"),
            Relationship(raw.get("relationship", "ALLWKR")),
            _date(raw["transfer_date"]),
        )
    if kind == "case.deallocated":
        return CaseDeallocated(event_id, at, str(raw["case"]), str(raw["worker"]), _date(raw["end_date"]))
    if kind == "case.status_changed":
        return CaseStatusChanged(
            event_id,
            at,
            str(raw["case"]),
            str(raw["status"]),
            _date(raw["start_date"]),
            _flag(raw, "permanency_plan_agreed"),
            _flag(raw, "fsm"),
        )
    if kind == "case.closed":
        return CaseClosed(event_id, at, str(raw["case"]), _date(raw["end_date"]), _opt(raw, "reason"))
    if kind == "worker.updated":
        return WorkerUpdated(
            event_id,
            at,
            worker_id=str(raw["worker"]),
            team_id=_opt(raw, "team"),
            supervisor_id=_opt(raw, "supervisor"),
            job_role=str(raw.get("job_role", "SOCIAL_WORKER")),
            case_holding=bool(raw.get("case_holding", True)),
            supervises_case_holders=bool(raw.get("supervises_case_holders", False)),
            frontline=bool(raw.get("frontline", True)),
            asye=bool(raw.get("asye", False)),
            employment=str(raw.get("employment", "permanent")),
            start_date=_date(raw["start_date"]),
            end_date=_date(raw["end_date"]) if raw.get("end_date") else None,
        )
    if kind == "worker.shift_worked":
        return ShiftWorked(event_id, at, str(raw["worker"]), _date(raw["shift_date"]))
    if kind == "worker.leave":
        return WorkerLeave(
            event_id,
            at,
            worker_id=str(raw["worker"]),
            leave_id=str(raw["leave"]),
            reason=str(raw["reason"]),
            start_date=_date(raw["start_date"]),
            end_date=_date(raw["end_date"]),
            cancelled=raw.get("status") == "cancelled",
        )
    if kind == "supervision.booked":
        return SupervisionBooked(
            event_id,
            at,
            booking_id=str(raw["booking"]),
            kind=str(raw["kind"]),
            worker_id=str(raw["worker"]),
            supervisor_id=_opt(raw, "supervisor"),
            team_id=_opt(raw, "team"),
            case_ids_discussed=tuple(str(c) for c in raw.get("cases") or []),
            starts_at=_moment(raw["starts_at"]),
            duration_minutes=int(raw.get("duration_minutes", 60)),
            status=str(raw.get("status", "booked")),
        )
    held = _date(raw["held_on"])
    return SupervisionRecorded(
        event_id,
        at,
        kind=str(raw["kind"]),
        worker_id=str(raw["worker"]),
        supervisor_id=_opt(raw, "supervisor"),
        team_id=_opt(raw, "team"),
        case_ids_discussed=tuple(str(c) for c in raw.get("cases") or []),
        held_on=held,
        recorded_on=_date(raw.get("recorded_on", held)),
        significant=bool(raw.get("significant", False)),
        step_ref=_opt(raw, "step"),
        actions=tuple(
            Action(_opt(a, "owner"), _date(a["due"]) if a.get("due") else None)
            for a in raw.get("actions") or []
        ),
    )


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return _noon(value)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        # A time written without a zone is taken as UTC, as `Z` would say.
        moment = moment.replace(tzinfo=UTC)
    return moment


def _opt(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def _flag(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    return None if value is None else bool(value)


__all__ = ["PackError", "ScenarioError", "ScenarioResult", "pack_path", "run_pack_tests", "run_scenario"]
