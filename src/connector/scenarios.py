"""YAML scenario tests beside each rule pack: events in, open obligations out (in the manner of OpenFisca).

Each scenario's events are turned into domain events, folded into facts exactly as the service folds them, and
evaluated by the pack; the obligations must be exactly those the scenario expects. The events are also replayed
in reverse, since delivery order must not matter. The file format is described at the top of each YAML file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from connector.domain import (
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
    WorkerUpdated,
)
from connector.facts import fold_case, fold_team, fold_worker
from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.model import Obligation
from rules.pack import PackError, RulePack, load_pack, pack_path


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    passed: bool
    message: str = ""


class ScenarioError(ValueError):
    """A scenario file that cannot be read: names the file, the scenario and the problem."""


def scenario_file_for(pack: RulePack) -> Path:
    return pack.path.parent / "tests" / f"{pack.path.stem}.yaml"


def run_pack_tests(pack_name_or_path: str, tests_path: str | None = None) -> list[ScenarioResult]:
    pack = load_pack(pack_name_or_path)
    path = Path(tests_path) if tests_path else scenario_file_for(pack)
    if not path.exists():
        raise ScenarioError(f"no scenario file for pack {pack.name!r} at {path}")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("scenarios"), list):
        raise ScenarioError(f"{path.name}: expected a top-level 'scenarios' list")
    return [run_scenario(pack, scenario, path.name) for scenario in document["scenarios"]]


def run_scenario(pack: RulePack, scenario: Mapping[str, Any], file_name: str = "scenarios") -> ScenarioResult:
    name = str(scenario.get("name", "?"))
    try:
        as_of = _date(scenario["as_of"])
        events = [to_event(raw, index) for index, raw in enumerate(scenario.get("events", []), start=1)]
        expected = [dict(e) for e in scenario.get("expect", [])]
        closures = [_date(d) for d in scenario.get("closure_days", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f"{file_name}: scenario {name!r}: {exc}") from None
    engine = Engine(pack, WorkingCalendar(closures))
    forwards = evaluate(engine, events, as_of, scenario.get("team_tags", {}))
    backwards = evaluate(engine, list(reversed(events)), as_of, scenario.get("team_tags", {}))
    problems = compare(forwards, expected)
    if sorted(forwards, key=_sort_key) != sorted(backwards, key=_sort_key):
        problems.append("the events replayed in reverse order gave different obligations")
    if problems:
        shown = (
            "\n".join(f"    got: {describe(o)}" for o in sorted(forwards, key=_sort_key))
            or "    got: nothing"
        )
        return ScenarioResult(name, False, "\n".join(f"  - {p}" for p in problems) + "\n" + shown)
    return ScenarioResult(name, True)


def evaluate(
    engine: Engine, events: list[Event], as_of: date, team_tags: Mapping[str, list[str]]
) -> list[Obligation]:
    cases = sorted({c for e in events for c in e.case_ids()})
    worker_ids = sorted({w for e in events for w in e.worker_ids()})
    workers = {w: fold_worker(w, events) for w in worker_ids}
    known = {w: f for w, f in workers.items() if f is not None}
    obligations: list[Obligation] = []
    for case_id in cases:
        case = fold_case(case_id, events)
        if case is not None:
            obligations += engine.for_case(
                case,
                {a.worker_id: known[a.worker_id] for a in case.allocations if a.worker_id in known},
                as_of,
            )
    for worker in known.values():
        obligations += engine.for_worker(worker, as_of)
    for team_id in sorted({t for e in events for t in e.team_ids()}):
        members = [w for w in known.values() if w.team_id == team_id and w.end_date is None]
        tags = frozenset(team_tags.get(team_id, []))
        obligations += engine.for_team(fold_team(team_id, members, events, tags), as_of)
    return obligations


def compare(got: list[Obligation], expected: list[dict[str, Any]]) -> list[str]:
    problems = []
    unmatched = list(got)
    for want in expected:
        kind = want.get("kind", "case_supervision")
        candidates = [
            o
            for o in unmatched
            if o.kind == kind
            and ("case" not in want or o.case_id == str(want["case"]))
            and ("worker" not in want or o.holder == str(want["worker"]))
        ]
        if not candidates:
            problems.append(f"expected {kind} {_who(want)}: none open")
            continue
        obligation = candidates[0]
        unmatched.remove(obligation)
        if "due" in want and obligation.due_date != _date(want["due"]):
            problems.append(f"{kind} {_who(want)}: due {obligation.due_date}, expected {_date(want['due'])}")
        if "rules" in want and sorted(obligation.rule_ids) != sorted(want["rules"]):
            problems.append(
                f"{kind} {_who(want)}: rules {list(obligation.rule_ids)}, expected {want['rules']}"
            )
        if "counted_from" in want and obligation.counted_from.fact != want["counted_from"]:
            problems.append(
                f"{kind} {_who(want)}: counted from {obligation.counted_from.fact!r}, expected {want['counted_from']!r}"
            )
        if "counted_from_date" in want and obligation.counted_from.on != _date(want["counted_from_date"]):
            problems.append(
                f"{kind} {_who(want)}: counted from {obligation.counted_from.on}, expected {want['counted_from_date']}"
            )
        if "assignee" in want and obligation.assignee_id != str(want["assignee"]):
            problems.append(
                f"{kind} {_who(want)}: assigned to {obligation.assignee_id}, expected {want['assignee']}"
            )
        if "cycle" in want and obligation.cycle != want["cycle"]:
            problems.append(f"{kind} {_who(want)}: cycle {obligation.cycle}, expected {want['cycle']}")
        for text in want.get("explanation_contains", []):
            if text not in obligation.explanation:
                problems.append(f"{kind} {_who(want)}: explanation lacks {text!r}: {obligation.explanation}")
        for field, text in want.get("form_contains", {}).items():
            value = dict(obligation.form).get(field, "")
            if text not in value:
                problems.append(f"{kind} {_who(want)}: form field {field} lacks {text!r}: {value!r}")
    for extra in unmatched:
        problems.append(f"unexpected open obligation: {describe(extra)}")
    return problems


def describe(o: Obligation) -> str:
    subject = f"person {o.case_id} " if o.case_id else ""
    return (
        f"{o.kind} {subject}worker {o.holder} cycle {o.cycle}: due {o.due_date} by {', '.join(o.rule_ids)},"
        f" counted from {o.counted_from.fact} on {o.counted_from.on}"
    )


def _who(want: Mapping[str, Any]) -> str:
    parts = []
    if "case" in want:
        parts.append(f"person {want['case']}")
    if "worker" in want:
        parts.append(f"worker {want['worker']}")
    return " ".join(parts) or "(any)"


def _sort_key(o: Obligation) -> tuple[str, str, str, int]:
    return o.key


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"'at' needs an offset or Z: {value!r}")
    return moment


def _opt(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def to_event(raw: Mapping[str, Any], index: int) -> Event:
    """One event in the scenario shorthand: `type`, `at`, and the event's fields with short names."""
    kind = raw["type"]
    event_id = str(raw.get("id", f"scenario-{index:03d}"))
    at = _moment(raw["at"])
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
            raw.get("permanency_plan_agreed"),
            raw.get("fsm"),
        )
    if kind == "case.closed":
        return CaseClosed(event_id, at, str(raw["case"]), _date(raw["end_date"]), raw.get("reason"))
    if kind == "worker.updated":
        return WorkerUpdated(
            event_id,
            at,
            worker_id=str(raw["worker"]),
            team_id=_opt(raw, "team"),
            supervisor_id=_opt(raw, "supervisor"),
            job_role=raw.get("job_role", "SOCIAL_WORKER"),
            case_holding=raw.get("case_holding", True),
            supervises_case_holders=raw.get("supervises_case_holders", False),
            frontline=raw.get("frontline", True),
            asye=raw.get("asye", False),
            employment=raw.get("employment", "permanent"),
            start_date=_date(raw["start_date"]),
            end_date=_date(raw["end_date"]) if raw.get("end_date") else None,
        )
    if kind == "worker.shift_worked":
        return ShiftWorked(event_id, at, str(raw["worker"]), _date(raw["shift_date"]))
    if kind == "supervision.booked":
        return SupervisionBooked(
            event_id,
            at,
            booking_id=str(raw["booking"]),
            kind=raw["kind"],
            worker_id=str(raw["worker"]),
            supervisor_id=_opt(raw, "supervisor"),
            team_id=_opt(raw, "team"),
            case_ids_discussed=tuple(str(c) for c in raw.get("cases", [])),
            starts_at=_moment(raw["starts_at"]),
            duration_minutes=int(raw.get("duration_minutes", 60)),
            status=raw.get("status", "booked"),
        )
    if kind == "supervision.recorded":
        held = _date(raw["held_on"])
        return SupervisionRecorded(
            event_id,
            at,
            kind=raw["kind"],
            worker_id=str(raw["worker"]),
            supervisor_id=_opt(raw, "supervisor"),
            team_id=_opt(raw, "team"),
            case_ids_discussed=tuple(str(c) for c in raw.get("cases", [])),
            held_on=held,
            recorded_on=_date(raw.get("recorded_on", held)),
            significant=bool(raw.get("significant", False)),
            step_ref=_opt(raw, "step"),
            actions=tuple(
                Action(_opt(a, "owner"), _date(a["due"]) if a.get("due") else None)
                for a in raw.get("actions", [])
            ),
        )
    raise ValueError(f"event {index}: unknown type {kind!r}")


__all__ = ["PackError", "ScenarioError", "ScenarioResult", "pack_path", "run_pack_tests"]
