"""A rule-pack change re-evaluated the fast way (digests, slices, only what changed written, in parts) leaves the
ledger and the outbox exactly as diffing every subject alone and in full does, on a generated caseload; and a
re-evaluation that changes nothing writes nothing."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support import harness

from connector.config import parse_config
from connector.pipeline import processor, reevaluation
from connector.service import Service
from connector.store.url import DatabaseUrl
from rules.events import (
    Action,
    CaseAllocated,
    CaseClosed,
    CaseStatusChanged,
    CaseTransferred,
    Event,
    Relationship,
    SupervisionRecorded,
    WorkerUpdated,
)
from rules.pack import PACKS_DIR

TODAY = date(2026, 11, 22)
START = TODAY - timedelta(days=300)
STATUSES = ["CIN", "CP", "LAC", "CFP", "TAC"]


def caseload(cases: int = 36, workers: int = 8) -> list[Event]:
    """Deterministic: allocations, statuses, transfers, closures and case supervisions (some agreeing actions)."""
    rng = random.Random(14)
    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    events: list[Event] = []
    for n in range(workers):
        manager = n % 4 == 0
        team = str(n // 4)
        events.append(
            WorkerUpdated(
                f"w-{n}",
                at,
                str(500 + n),
                team,
                None if manager else str(500 + n - n % 4),
                "TEAM_MANAGER" if manager else "SOCIAL_WORKER",
                not manager,
                manager,
                True,
                False,
                "permanent",
                START - timedelta(days=400),
            )
        )
    holders = [str(500 + n) for n in range(workers) if n % 4]
    for n in range(cases):
        case, worker = str(100_000 + n), rng.choice(holders)
        team = str((int(worker) - 500) // 4)
        day = START + timedelta(days=rng.randint(0, 200))
        moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
        events.append(
            CaseAllocated(f"a-{case}", moment, case, worker, team, Relationship.ALLOCATED_WORKER, day)
        )
        events.append(CaseStatusChanged(f"s-{case}", moment, case, rng.choice(STATUSES), day))
        held, k = day + timedelta(days=rng.randint(5, 30)), 0
        while held <= TODAY - timedelta(days=3):
            actions = (Action(worker, held + timedelta(days=14)),) if rng.random() < 0.3 else ()
            events.append(
                SupervisionRecorded(
                    f"cs-{case}-{k}",
                    datetime.combine(held, datetime.min.time(), UTC) + timedelta(hours=11),
                    "case",
                    worker,
                    None,
                    team,
                    (case,),
                    held,
                    held,
                    False,
                    actions=actions,
                )
            )
            held, k = held + timedelta(days=rng.randint(14, 50)), k + 1
        if n % 9 == 0:
            other = rng.choice([h for h in holders if h != worker])
            when = TODAY - timedelta(days=rng.randint(5, 40))
            events.append(
                CaseTransferred(
                    f"t-{case}",
                    datetime.combine(when, datetime.min.time(), UTC) + timedelta(hours=13),
                    case,
                    worker,
                    other,
                    str((int(other) - 500) // 4),
                    Relationship.ALLOCATED_WORKER,
                    when,
                )
            )
        elif n % 11 == 0:
            when = TODAY - timedelta(days=rng.randint(1, 20))
            events.append(
                CaseClosed(
                    f"c-{case}",
                    datetime.combine(when, datetime.min.time(), UTC) + timedelta(hours=15),
                    case,
                    when,
                )
            )
    return events


def _cp_every_three_weeks(text: str) -> str:
    rule = text.index('id = "LINC-CS-CP"')
    every = text.index("every_days = 28", rule)
    return text[:every] + "every_days = 21" + text[every + len("every_days = 28") :]


def _cp_rule_reworded(text: str) -> str:
    return text.replace("at least every four weeks", "at least every 28 days", 1)


def _in_the_councils_words(text: str) -> str:
    return text.replace(
        "[pack.disposals]",
        '[pack.vocabulary]\n"case supervision" = "casework supervision"\n\n[pack.disposals]',
    )


CHANGES: dict[str, Callable[[str], str]] = {
    "due dates": _cp_every_three_weeks,
    "a rule's words": _cp_rule_reworded,
    "the pack's vocabulary": _in_the_councils_words,
}


def _service(target: Path | DatabaseUrl, folder: Path, pack: str) -> Service:
    database = target.url if isinstance(target, DatabaseUrl) else str(target)
    document: dict[str, Any] = harness.config_document(folder, "http://127.0.0.1:9/api")
    document["storage"] = {"database": database}
    document["tenants"][0]["rule_pack"] = pack
    return Service(parse_config(document, base_dir=folder, environ={}), today=lambda: TODAY)


def _outcome(service: Service) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    obligations = service.db.query(
        "SELECT reference, owner, kind, scope, holder, cycle, case_id, assignee_id, team_id, due_date, rules,"
        " counted_from_fact, counted_from_date, explanation, form, status FROM obligations ORDER BY reference"
    )
    outbox = service.db.query(
        "SELECT reference, item, action, payload, version, state FROM outbox ORDER BY reference"
    )
    return [tuple(r) for r in obligations], [tuple(r) for r in outbox]


@pytest.fixture
def databases(tmp_path: Path, store_engine: str, request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Two stores on the test's engine, one for each way of re-evaluating."""
    if store_engine == "postgresql":
        server = request.getfixturevalue("postgres_server")
        yield [server.fresh_database(), server.fresh_database()]
    else:
        yield [tmp_path / "fast.db", tmp_path / "each.db"]


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_pack_change_reaches_the_outbox_as_a_subject_by_subject_full_diff_does(
    tmp_path: Path, databases: list[Any], change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tmp_path / "lincolnshire-changed.toml"
    changed.write_text(CHANGES[change]((PACKS_DIR / "lincolnshire.toml").read_text(encoding="utf-8")))
    events = caseload()
    outcomes = []
    for target, one_by_one in zip(databases, (False, True), strict=True):
        service = _service(target, tmp_path, "lincolnshire")
        for event in events:  # as intake accepts them, then processed through the event path
            assert service.inbox.accept("lincolnshire", "mosaic", event.event_id, event)
        service.processor.run_until_idle()
        service.reevaluate_if_rules_changed()  # records the fingerprint
        service.close()
        with monkeypatch.context() as patch:
            if one_by_one:
                # The reference: every subject evaluated in a slice of its own and diffed in full.
                patch.setattr(processor, "REEVALUATION_SLICE", 1)
                service = _service(target, tmp_path, str(changed))
                with service.db.transaction() as conn:
                    conn.execute("UPDATE reevaluate_on SET digest = NULL")
            else:
                patch.setattr(reevaluation, "WRITE_PART", 7)  # several parts in each slice
                service = _service(target, tmp_path, str(changed))
            before = _outcome(service)
            counts = service.reevaluate_if_rules_changed()["lincolnshire"]
            outcomes.append((counts, before, _outcome(service)))
            service.close()
    (fast_counts, before, fast), (each_counts, _, each) = outcomes
    assert each_counts.moved > 0 and fast[1] != before[1]  # the change moves obligations
    assert fast_counts == each_counts
    assert fast[0] == each[0]  # the same ledger
    assert fast[1] == each[1]  # and every difference queued, the same


def test_a_reevaluation_that_changes_nothing_writes_nothing(tmp_path: Path, databases: list[Any]) -> None:
    service = _service(databases[0], tmp_path, "lincolnshire")
    try:
        for event in caseload(cases=20, workers=4):
            assert service.inbox.accept("lincolnshire", "mosaic", event.event_id, event)
        service.processor.run_until_idle()
        service.reevaluate_everything()
        before = _outcome(service)
        opened: list[int] = []
        transaction = service.db.transaction
        service.db.transaction = lambda: (opened.append(1), transaction())[1]  # type: ignore[method-assign]
        counts = service.processor.reevaluate_all("lincolnshire", "mosaic")
        assert (counts.created, counts.moved, counts.withdrawn, counts.met) == (0, 0, 0, 0)
        assert opened == []
        assert _outcome(service) == before
    finally:
        service.close()


def test_a_whole_reevaluation_takes_each_workers_cases_one_after_another(
    tmp_path: Path, databases: list[Any]
) -> None:
    """So a slice meets few workers and each worker's fold is read once, not once a slice."""
    service = _service(databases[0], tmp_path, "lincolnshire")
    try:
        for event in caseload():
            assert service.inbox.accept("lincolnshire", "mosaic", event.event_id, event)
        service.processor.run_until_idle()
        conn = service.db.conn
        owners = reevaluation.owners_to_reevaluate(conn, service.inbox, "lincolnshire", "mosaic", TODAY, None)
        every = {
            f"{kind}:{sid}"
            for kind in ("case", "worker", "team")
            for sid in service.inbox.subjects("lincolnshire", "mosaic", kind)
        }
        assert sorted(owners) == sorted(every)
        holder = {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT owner, MIN(holder) FROM obligations WHERE status = 'open' AND kind = 'case_supervision'"
                " GROUP BY owner"
            )
        }
        held = [holder[o] for o in owners if o in holder]
        assert len(set(held)) > 3
        # Each worker's cases in one run: the worker changes once per worker, never comes back.
        runs = [h for n, h in enumerate(held) if n == 0 or held[n - 1] != h]
        assert len(runs) == len(set(held))
    finally:
        service.close()


def test_slices_are_cut_by_what_their_subjects_weigh_so_a_run_of_teams_is_never_one_slice() -> None:
    owners = [f"case:{n}" for n in range(2500)] + [f"team:{n}" for n in range(50)] + [f"worker:{n}" for n in range(900)]
    cut = list(reevaluation.slices(owners, 2000))
    assert [o for part in cut for o in part] == owners  # every owner once, in order
    sizes = [(len(part), part[0].split(":")[0]) for part in cut]
    # 2,000 cases; 500 more and 15 teams; 20 teams; 15 teams and 125 workers (1,500 + 500); 500 workers; 275.
    assert sizes == [(2000, "case"), (515, "case"), (20, "team"), (140, "team"), (500, "worker"), (275, "worker")]
    for part in cut:
        weight = sum(reevaluation.SLICE_WEIGHTS[o.split(":")[0]] for o in part)
        assert weight <= 2000
    # A subject heavier than a slice is a slice of its own, never skipped.
    assert list(reevaluation.slices(["team:1", "team:2", "case:3"], 50)) == [["team:1"], ["team:2"], ["case:3"]]
