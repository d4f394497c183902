"""The engine's fast path on a generated caseload: the same obligations, text for text, as a fresh engine per
subject (no caches kept across calls), and as the engine gave before its hot loop was made faster (the digests
below were written by the engine of fda37d8, with only the fix that a worker's case-supervision cycles count
every session they held on the case, on this caseload)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.support.caseload import AS_OF, Caseload, make_caseload

from rules.calendar import WorkingCalendar
from rules.engine import Engine
from rules.held import HeldIndex, SessionsKept
from rules.model import Obligation, Session
from rules.pack import RulePack, load_pack

TEST_PACK = Path(__file__).parent / "packs" / "test-council.toml"
PACKS = ("lincolnshire", "bracknell-forest", "test-council")
DAYS = (AS_OF, AS_OF + timedelta(days=30))
CASELOAD = make_caseload()
CALENDAR = WorkingCalendar([date(2026, 12, 24)])

# (pack, day) -> (lines, sha256 of the lines), from the engine before it was made faster (with that fix alone).
GOLDEN: dict[tuple[str, date], tuple[int, str]] = {
    ("lincolnshire", DAYS[0]): (1336, "1ffbc998395df735b76cb6e2c403d161bf453e5768108d479503cdc5d03b4e8d"),
    ("lincolnshire", DAYS[1]): (1318, "a9285749b8ef32b5f2a6a4c26fcf3ca8ccc4b905b96fabb21ddd4e8e0a7db58a"),
    ("bracknell-forest", DAYS[0]): (1250, "b6565d24af39d46fec9cc7592d448d2af02ff748f43993580860c5a8a55b9ea7"),
    ("bracknell-forest", DAYS[1]): (1223, "174452130bd0ff8d95c463e7a8773a8c853067dddf2c69944f0e7715e7326219"),
    ("test-council", DAYS[0]): (1084, "bb57ac21df84e4fde275c762abdf637f3ceb0e494ae7f54cb8ff9a03421e6378"),
    ("test-council", DAYS[1]): (1072, "2270df06d598bb01e290b97a7665a8e0df483d939859fa28d3bac28037e0512f"),
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


def _index(sessions: Sequence[Session]) -> HeldIndex:
    kept = SessionsKept()
    for session in sessions:
        kept.add(session)
    return kept.index()


def indexed(caseload: Caseload) -> Caseload:
    """The caseload with every subject's sessions indexed, as the service's folds hand them to the engine."""
    workers = {w.worker_id: replace(w, held=_index(w.sessions)) for w in caseload.workers}
    return Caseload(
        tuple(
            (replace(case, held=_index(case.sessions)), {w: workers[w] for w in known})
            for case, known in caseload.cases
        ),
        tuple(workers.values()),
        tuple(
            replace(t, members=tuple(workers[m.worker_id] for m in t.members), held=_index(t.sessions))
            for t in caseload.teams
        ),
    )


@pytest.mark.parametrize("name", PACKS)
def test_the_caseload_with_its_sessions_indexed_gives_the_same_obligations(name: str) -> None:
    # The engine reads an index when the facts carry one (the service's) and filters and sorts otherwise.
    pack = _pack(name)
    shared = Engine(pack, CALENDAR)
    for as_of in DAYS:
        assert digest(lines(shared, pack, indexed(CASELOAD), as_of)) == GOLDEN[(name, as_of)]


def test_the_fast_constructor_refuses_a_class_whose_fields_it_does_not_fill() -> None:
    from rules.engine.build import check_made

    with pytest.raises(TypeError, match="Obligation"):
        check_made(Obligation, {"kind", "scope"})  # a field added to Obligation must be added to build.py too
