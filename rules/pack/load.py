"""Loading a pack: the shipped ones by name or a file by path, every part checked before any date is computed.

A bad pack is refused with the file, the rule and the problem, so `connector check-config` and start-up catch
it. FORMAT.md beside the packs explains the format to a council's system administrator.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rules import codes
from rules.kinds import ASSIGNEES, DEFAULT_ASSIGNEE, LEVELS
from rules.pack.applies_to import read_applies_to
from rules.pack.model import LOOKED_AFTER, Rule, RulePack
from rules.pack.reader import PackError, Reader
from rules.schedules.base import Schedule
from rules.schedules.form_content import FormContent
from rules.schedules.registry import UnknownSchedule, schedule_type

# The data files stay beside the package: rules/packs/*.toml, their scenario tests and FORMAT.md.
PACKS_DIR = Path(__file__).resolve().parent.parent / "packs"
PRECEDENCE = ("specific", "general", "always")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def shipped_pack_names() -> list[str]:
    return sorted(p.stem for p in PACKS_DIR.glob("*.toml"))


def pack_path(name_or_path: str) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        return Path(name_or_path)
    path = PACKS_DIR / f"{name_or_path}.toml"
    if not path.exists():
        shipped = ", ".join(shipped_pack_names())
        raise PackError(
            f"no shipped rule pack named {name_or_path!r} (shipped: {shipped}); or give a path to a pack file"
        )
    return path


def load_pack(name_or_path: str) -> RulePack:
    """A shipped pack by name (`lincolnshire`) or a pack file by path, checked through; PackError if bad."""
    path = pack_path(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(f"{path.name}: not valid TOML: {exc}") from None
    return _read_pack(Reader(path), document, hashlib.sha256(raw).hexdigest())


def with_assignees(pack: RulePack, overrides: Mapping[str, str]) -> RulePack:
    """The pack with some rules' assignees chosen by the tenant (e.g. Bracknell's records made by the
    supervisee: `assignees = { "BFC-REC" = "worker" }`). Raises PackError naming a rule or value it cannot take."""
    if not overrides:
        return pack
    by_id = {rule.id: rule for rule in pack.rules}
    replaced = dict(by_id)
    for rule_id, assignee in overrides.items():
        rule = by_id.get(rule_id)
        if rule is None:
            raise PackError(f"no rule {rule_id!r} in pack {pack.name!r}")
        allowed = ASSIGNEES[LEVELS[rule.kind]]
        if assignee not in allowed:
            raise PackError(f"rule {rule_id}: assignee must be one of {', '.join(allowed)}, not {assignee!r}")
        replaced[rule_id] = replace(rule, assignee=assignee)
    # The assignee is digested with each rule (rules/pack/levels.py), so an override keeps its entry's digest.
    sources = tuple(
        (replaced[rule.id], digest) for rule, digest in pack.sources if rule is by_id.get(rule.id)
    )
    chosen = ",".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    return replace(
        pack,
        rules=tuple(replaced[rule.id] for rule in pack.rules),
        sources=sources,
        fingerprint=hashlib.sha256(f"{pack.fingerprint}|{chosen}".encode()).hexdigest(),
    )


def _read_pack(reader: Reader, document: Mapping[str, Any], fingerprint: str) -> RulePack:
    reader.keys(document, "the file", {"pack", "rules"}, set())
    head = reader.table(document["pack"], "[pack]")
    reader.keys(
        head, "[pack]", {"name", "council", "policy", "qualifying_case_sessions"}, {"vocabulary", "disposals"}
    )
    name = reader.text(head, "name")
    if not NAME_PATTERN.match(name):
        raise reader.fail(f"[pack] name {name!r} must be lower case letters, digits, '-' or '_'")
    vocabulary = head.get("vocabulary", {})
    if not isinstance(vocabulary, dict) or not all(
        isinstance(k, str) and k.strip() and isinstance(v, str) for k, v in vocabulary.items()
    ):
        raise reader.fail("[pack] vocabulary must map phrases to the council's own words")
    qualifying = reader.codes(
        head["qualifying_case_sessions"], "qualifying_case_sessions", codes.SESSION_KINDS
    )
    disposals = _read_disposals(reader, head.get("disposals", {}))
    raw_rules = document["rules"]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise reader.fail("a pack needs at least one [[rules]] entry")
    rules: list[Rule] = []
    sources: list[tuple[Rule, str]] = []
    seen: set[str] = set()
    fields_seen: set[tuple[str, str]] = set()
    for number, entry in enumerate(raw_rules, start=1):
        given = entry.get("id") if isinstance(entry, dict) else None
        reader.rule_id = given.strip() if isinstance(given, str) and given.strip() else f"number {number}"
        rule = _read_rule(reader, entry)
        if rule.id in seen:
            raise reader.fail("the id is used by another rule too")
        seen.add(rule.id)
        if isinstance(rule.schedule, FormContent):
            if (rule.kind, rule.schedule.field) in fields_seen:
                raise reader.fail(
                    f"another rule already fills the {rule.kind} form's {rule.schedule.field!r}"
                )
            fields_seen.add((rule.kind, rule.schedule.field))
        rules.append(rule)
        sources.append((rule, _entry_digest(entry)))
    reader.rule_id = None
    return RulePack(
        name=name,
        council=reader.text(head, "council"),
        policy=reader.text(head, "policy"),
        qualifying_case_sessions=qualifying,
        vocabulary={k.strip(): v for k, v in vocabulary.items()},
        rules=tuple(rules),
        path=reader.path,
        fingerprint=fingerprint,
        disposals=disposals,
        sources=tuple(sources),
    )


def _entry_digest(entry: Mapping[str, Any]) -> str:
    """A rule's entry as written (TOML's dates and times as their ISO text), whatever order its keys are in."""
    text = json.dumps(entry, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _read_disposals(reader: Reader, value: Any) -> dict[str, frozenset[str]]:
    """[pack.disposals]: which of the policy's statuses a youth justice disposal, or being looked after, brings
    in (e.g. `looked_after = ["LAC"]`)."""
    table = reader.table(value, "[pack.disposals]")
    known = frozenset(codes.YOUTH_JUSTICE_DISPOSALS) | {LOOKED_AFTER}
    unknown = sorted(set(table) - known)
    if unknown:
        raise reader.fail(
            f"[pack.disposals] has unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return {
        key: reader.codes(statuses, f"disposals.{key}", frozenset(codes.MOSAIC_STATUSES))
        for key, statuses in table.items()
    }


def _read_rule(reader: Reader, entry: Any) -> Rule:
    entry = reader.table(entry, "each [[rules]] entry")
    reader.keys(
        entry,
        "the rule",
        {"id", "source", "kind", "words", "schedule"},
        {"applies_to", "precedence", "assignee"},
    )
    rule_id = reader.text(entry, "id")
    if not ID_PATTERN.match(rule_id):
        raise reader.fail(f"the id {rule_id!r} may hold only letters, digits, '-', '_' and '.'")
    kind = reader.text(entry, "kind")
    if kind not in codes.OBLIGATION_KINDS:
        raise reader.fail(f"unknown obligation kind {kind!r} (known: {', '.join(codes.OBLIGATION_KINDS)})")
    level = LEVELS[kind]
    schedule = _read_schedule(reader, entry["schedule"], kind)
    precedence = entry.get("precedence", "always")
    if precedence not in PRECEDENCE:
        raise reader.fail(f"'precedence' must be one of {', '.join(PRECEDENCE)}, not {precedence!r}")
    assignee = entry.get("assignee", DEFAULT_ASSIGNEE.get(kind, "worker"))
    if assignee not in ASSIGNEES[level]:
        raise reader.fail(
            f"'assignee' for {kind} must be one of {', '.join(ASSIGNEES[level])}, not {assignee!r}"
        )
    return Rule(
        id=rule_id,
        source=reader.text(entry, "source"),
        kind=kind,
        words=reader.text(entry, "words"),
        applies_to=read_applies_to(reader, entry.get("applies_to", {}), kind),
        schedule=schedule,
        precedence=precedence,
        assignee=assignee,
    )


def _read_schedule(reader: Reader, value: Any, kind: str) -> Schedule:
    table = reader.table(value, "'schedule'")
    try:
        cls = schedule_type(table.get("type"))
    except UnknownSchedule as exc:
        raise reader.fail(str(exc)) from None
    name = cls.type
    if kind not in cls.times:
        raise reader.fail(f"a {name} schedule cannot time {kind} (it times {', '.join(sorted(cls.times))})")
    reader.keys(table, f"the {name} schedule", cls.required | {"type"}, cls.allowed)
    return cls.parse(table, kind, reader)
