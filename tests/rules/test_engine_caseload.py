"""The engine's fast path on a generated caseload: the same obligations, text for text, as a fresh engine per
subject (no caches kept across calls), and as the engine gave before its hot loop was made faster (the digests
below were written by the engine of fda37d8 on this caseload)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.support.caseload import AS_OF, Caseload, make_caseload

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.model import Obligation
from rules.pack import RulePack, load_pack

TEST_PACK = Path(__file__).parent / "packs" / "test-council.toml"
PACKS = ("lincolnshire", "bracknell-forest", "test-council")
DAYS = (AS_OF, AS_OF + timedelta(days=30))
CASELOAD = make_caseload()
CALENDAR = WorkingCalendar([date(2026, 12, 24)])

# (pack, day) -> (lines, sha256 of the lines), from the engine before it was made faster.
GOLDEN: dict[tuple[str, date], tuple[int, str]] = {
    ("lincolnshire", DAYS[0]): (1336, "8fb9ee96d79ca3749ac2a99637c05558d9335c36a39ab4ccac0131893ae85132"),
    ("lincolnshire", DAYS[1]): (1318, "a883a558233bfa2ebf4fc15b5097b81157222a9c893fa9551cbb8a1473eb7eb0"),
    ("bracknell-forest", DAYS[0]): (1250, "e5ca122210913b9708d76d5476dc61ae83cfe8ed50bd7d6665d750872d3cf8de"),
    ("bracknell-forest", DAYS[1]): (1223, "c2eab805bab78cd0f6ef90cd27043e0a44ad894505478ae6c661db9a00489e22"),
    ("test-council", DAYS[0]): (1084, "415f82b856e74cda8be087a9266d3f410d3d4ca4b955d74a47b0b7be31247ff6"),
    ("test-council", DAYS[1]): (1072, "6876bab4e26379b25aef1b8e6dc99fed53c0564ef4926d5c57a71c436fa13762"),
}


def _pack(name: str) -> RulePack:
    return load_pack(str(TEST_PACK) if name == "test-council" else name)


def line(subject: str, o: Obligation) -> str:
    reasons = ",".join(f"{r.rule_id}/{r.source}/{r.words}" for r in o.reasons)
    return "|".join(
        str(part)
        for part in (
            subject,
            *o.key,
            o.assignee_id,
            o.case_id,
            o.team_id,
            o.supervisor_id,
            o.due_date.isoformat(),
            reasons,
            o.counted_from.fact,
            o.counted_from.on.isoformat(),
            o.explanation,
            o.form,
        )
    )


def lines(engine: Engine | None, pack: RulePack, caseload: Caseload, as_of: date) -> list[str]:
    """Every obligation and change day of the caseload; a new engine per subject when `engine` is None."""

    def fresh() -> Engine:
        return engine if engine is not None else Engine(pack, CALENDAR)

    found = []
    for case, workers in caseload.cases:
        found += [line(case.case_id, o) for o in fresh().for_case(case, workers, as_of)]
        found.append(f"{case.case_id} changes {fresh().case_changes(case, workers, as_of)}")
    for worker in caseload.workers:
        found += [line(worker.worker_id, o) for o in fresh().for_worker(worker, as_of)]
        found.append(f"{worker.worker_id} changes {fresh().worker_changes(worker, as_of)}")
    for team in caseload.teams:
        found += [line(team.team_id, o) for o in fresh().for_team(team, as_of)]
        found.append(f"{team.team_id} changes {fresh().team_changes(team, as_of)}")
    return found


def digest(found: list[str]) -> tuple[int, str]:
    return len(found), hashlib.sha256("\n".join(found).encode()).hexdigest()


@pytest.mark.parametrize("name", PACKS)
def test_one_engine_for_the_whole_caseload_gives_what_a_fresh_engine_per_subject_gives(name: str) -> None:
    pack = _pack(name)
    shared = Engine(pack, CALENDAR)
    for as_of in DAYS:
        # Both days on the same engine: what it keeps from the first must not leak into the second.
        assert lines(shared, pack, CASELOAD, as_of) == lines(None, pack, CASELOAD, as_of)


@pytest.mark.parametrize("name", PACKS)
def test_the_caseload_gives_the_obligations_the_engine_gave_before_it_was_made_faster(name: str) -> None:
    pack = _pack(name)
    shared = Engine(pack, CALENDAR)
    for as_of in DAYS:
        found = lines(shared, pack, CASELOAD, as_of)
        assert sum(1 for f in found if " changes " not in f) > 100  # the caseload owes plenty
        assert digest(found) == GOLDEN[(name, as_of)]


def test_the_fast_constructor_refuses_a_class_whose_fields_it_does_not_fill() -> None:
    from rules.engine.build import check_made

    with pytest.raises(TypeError, match="Obligation"):
        check_made(Obligation, {"kind", "scope"})  # a field added to Obligation must be added to build.py too
