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
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from connector.pipeline.facts import fold_case, fold_team, fold_worker
from connector.scenarios.events import scenario_date, to_event
from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.events import (
    Event,
)
from rules.model import Obligation
from rules.pack import RulePack, load_pack


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
            as_of=scenario_date(raw["as_of"]),
            events=[to_event(e, n) for n, e in enumerate(raw.get("events") or [], start=1)],
            expect=expect,
            absent=absent,
            only=None if only is None else [_matcher(o, with_checks=False) for o in only],
            closures=[scenario_date(d) for d in raw.get("closure_days") or []],
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
    if "due" in want and o.due_date != scenario_date(want["due"]):
        problems.append(f"{what}: due {o.due_date}, expected {scenario_date(want['due'])}")
    if "rules" in want and sorted(o.rule_ids) != sorted(str(r) for r in want["rules"]):
        problems.append(f"{what}: rules {list(o.rule_ids)}, expected {list(want['rules'])}")
    if "counted_from" in want and o.counted_from.fact != want["counted_from"]:
        problems.append(f"{what}: counted from {o.counted_from.fact!r}, expected {want['counted_from']!r}")
    if "counted_from_date" in want and o.counted_from.on != scenario_date(want["counted_from_date"]):
        problems.append(
            f"{what}: counted from {o.counted_from.on}, expected {scenario_date(want['counted_from_date'])}"
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


__all__ = [
    "ScenarioError",
    "ScenarioResult",
    "load_scenarios",
    "run_pack_tests",
    "run_scenario",
    "scenario_file_for",
]
