"""A large caseload written straight into the store as intake and processing would have left it, fast.

The caseload has the shape of `bench/reevaluate_store.py`'s (open Lincolnshire cases, each allocated with a
status and a year of case supervisions every 3 to 8 weeks; teams of 15 with a manager who holds no cases), but
is generated team by team, so every event naming a subject is at hand when the subject is folded: each case's,
worker's and team's fold is made in memory with the service's own fold code (`new_fold(...).apply` in event
order) and stored beside its events, as `KeptState.save` would have kept it. Events, their subjects and the
folds are written with `executemany` in large transactions. Deterministic: a team's events depend only on the
parameters and the team's number.

Checkpoints are not written (they serve only a late event re-folding a long history, which the daily run never
does). Used by `bench/daily.py`; prints nothing.
"""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from connector.pipeline.folds import CaseFold, Fold, WorkerFold, new_fold
from connector.pipeline.inbox import subject_keys
from connector.pipeline.kept_state import FOLD_VERSION
from connector.store.database import Database
from connector.store.event_codec import event_to_json
from connector.store.migrations import utc_position
from rules.events import (
    CaseAllocated,
    CaseStatusChanged,
    Event,
    Relationship,
    SupervisionRecorded,
    WorkerUpdated,
)

TEAM_SIZE = 15
STATUSES = ["CIN"] * 35 + ["CP"] * 15 + ["LAC"] * 25 + ["CFP"] * 10 + ["TAC"] * 15
ROLES = ["SOCIAL_WORKER"] * 10 + ["SENIOR_PRACTITIONER"] * 3 + ["FAMILY_SUPPORT_WORKER"] * 2
# Events per transaction: large, since nothing else writes while the bench builds its store.
EVENTS_PER_COMMIT = 200_000


def build_caseload(db: Database, cases: int, workers: int, today: date) -> int:
    """Store `cases` open cases over `workers` workers as processed events with their kept folds, as of
    `today` (supervisions run up to it); returns the number of events stored."""
    conn = db.conn
    conn.execute("PRAGMA synchronous=OFF")  # a bench's scratch database: a crash just means building again
    conn.execute("PRAGMA cache_size=-400000")  # 400 MB: the indexes of millions of rows stay in memory
    received = datetime.now(UTC).isoformat()
    seq = int(db.scalar("SELECT COALESCE(MAX(seq), 0) FROM inbox") or 0)
    inbox: list[tuple[object, ...]] = []
    subjects: list[tuple[object, ...]] = []
    folds: list[tuple[object, ...]] = []
    stored = 0
    for events in _teams(cases, workers, today):
        per_subject: dict[str, list[tuple[str, str, Event]]] = {}
        for event in events:
            seq += 1
            at = utc_position(event.occurred_at.isoformat())
            placed = (at, event.event_id, event)  # the fold's order, worked out once per event
            inbox.append(
                (
                    seq,
                    event.event_id,
                    event.type_name,
                    event.occurred_at.isoformat(),
                    received,
                    json.dumps(event_to_json(event), separators=(",", ":")),
                    received,
                )
            )
            for key in sorted(subject_keys(event)):
                subjects.append((seq, key, at))
                per_subject.setdefault(key, []).append(placed)
        for subject, about in per_subject.items():
            fold = new_fold(subject)
            about.sort(key=lambda placed: (placed[0], placed[1]))
            for _, _, event in about:
                fold.apply(event)
            if fold.at is not None:
                folds.append(_fold_row(subject, fold, received))
        stored += len(events)
        if len(inbox) >= EVENTS_PER_COMMIT:
            _write(db, inbox, subjects, folds)
            inbox, subjects, folds = [], [], []
    _write(db, inbox, subjects, folds)
    conn.execute("PRAGMA synchronous=FULL")
    return stored


def _fold_row(subject: str, fold: Fold, now: str) -> tuple[object, ...]:
    assert fold.at is not None
    closed = fold.closed_on.isoformat() if isinstance(fold, CaseFold) and fold.closed_on else None
    supervisor = fold.supervisor_id if isinstance(fold, WorkerFold) else None
    blob = pickle.dumps(fold, protocol=5)
    return (subject, fold.at[0], fold.at[1], FOLD_VERSION, blob, now, supervisor, closed)


def _write(
    db: Database,
    inbox: list[tuple[object, ...]],
    subjects: list[tuple[object, ...]],
    folds: list[tuple[object, ...]],
) -> None:
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO inbox (seq, tenant, platform, webhook_id, event_type, occurred_at, received_at, event,"
            " state, processed_at) VALUES (?, 'lincolnshire', 'mosaic', ?, ?, ?, ?, ?, 'processed', ?)",
            inbox,
        )
        conn.executemany(
            "INSERT INTO event_subjects (seq, tenant, platform, subject, at)"
            " VALUES (?, 'lincolnshire', 'mosaic', ?, ?)",
            subjects,
        )
        conn.executemany(
            "INSERT INTO subject_folds (tenant, platform, subject, at, event_id, version, revision, state,"
            " updated_at, supervisor_id, closed_on) VALUES ('lincolnshire', 'mosaic', ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            folds,
        )


def _teams(cases: int, workers: int, today: date) -> Iterator[list[Event]]:
    """Each team's events: its workers' `worker.updated`, then its cases' allocations, statuses, supervisions.
    Cases are dealt to the workers who hold cases (every one but the manager) in turn, so each holds about
    the same number."""
    holders = [n for n in range(workers) if n % TEAM_SIZE != 0]
    if not holders:
        holders = list(range(workers))
    share, extra = divmod(cases, len(holders))
    first_case = 0
    held_before = {n: i for i, n in enumerate(holders)}
    year_ago = today - timedelta(days=365)
    at = datetime.combine(year_ago - timedelta(days=21), datetime.min.time().replace(hour=8), UTC)
    for team in range(0, (workers + TEAM_SIZE - 1) // TEAM_SIZE):
        rng = random.Random(f"{cases}/{workers}/{team}")
        team_id = str(1_000 + team)  # a Mosaic id: a positive whole number
        events: list[Event] = []
        manager = 10_000 + team * TEAM_SIZE
        members = range(team * TEAM_SIZE, min(workers, (team + 1) * TEAM_SIZE))
        for n in members:
            worker_id = 10_000 + n
            events.append(
                WorkerUpdated(
                    f"w-{worker_id}",
                    at,
                    str(worker_id),
                    team_id,
                    None if worker_id == manager else str(manager),
                    "TEAM_MANAGER" if worker_id == manager else rng.choice(ROLES),
                    worker_id != manager,
                    worker_id == manager,
                    True,
                    False,
                    "permanent",
                    year_ago - timedelta(days=rng.randint(0, 3000)),
                )
            )
        for n in members:
            if n not in held_before:
                continue
            i = held_before[n]
            count = share + (1 if i < extra else 0)
            start = i * share + min(i, extra)
            first_case = max(first_case, start + count)
            for c in range(start, start + count):
                events += case_events(rng, str(1_000_000 + c), str(10_000 + n), team_id, year_ago, today)
        yield events


def case_events(
    rng: random.Random, case_id: str, worker_id: str, team: str, year_ago: date, today: date
) -> list[Event]:
    """One open case's events: allocated in the year, a status, and case supervisions every three to eight weeks
    (`bench/reevaluate_store.py` builds its caseload from them too)."""
    allocated = year_ago + timedelta(days=rng.randint(0, 330))
    moment = datetime.combine(allocated, datetime.min.time(), UTC)
    events: list[Event] = [
        CaseAllocated(
            f"a-{case_id}", moment, case_id, worker_id, team, Relationship.ALLOCATED_WORKER, allocated
        ),
        CaseStatusChanged(f"s-{case_id}", moment, case_id, rng.choice(STATUSES), allocated),
    ]
    day = allocated + timedelta(days=rng.randint(7, 28))
    k = 0
    while day <= today:
        held = datetime.combine(day, datetime.min.time(), UTC)
        events.append(
            SupervisionRecorded(
                f"cs-{case_id}-{k}", held, "case", worker_id, None, team, (case_id,), day, day, False
            )
        )
        day += timedelta(days=rng.randint(21, 56))
        k += 1
    return events
