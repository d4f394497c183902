"""Numbered schema migrations. Append a new function to MIGRATIONS; never edit one that has shipped."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import sqlite_utils

from connector.store.event_codec import utc_position

# The obligations of the dated-reminders index (migration 20) and of the tick's query that uses it.
DATED_REMINDERS = "status = 'open' AND platform_id IS NOT NULL AND form LIKE '%\"reminder_on\"%'"


def _001_inbox(db: sqlite_utils.Database) -> None:
    # The inbox is also the event log the facts are folded from: an event is never deleted once accepted.
    db.table("inbox").create(
        {
            "seq": int,
            "tenant": str,
            "platform": str,
            "webhook_id": str,
            "event_type": str,
            "occurred_at": str,
            "received_at": str,
            "event": str,
            "state": str,
            "processed_at": str,
            "error": str,
        },
        pk="seq",
        not_null=[
            "tenant",
            "platform",
            "webhook_id",
            "event_type",
            "occurred_at",
            "received_at",
            "event",
            "state",
        ],
    )
    db.table("inbox").create_index(["tenant", "platform", "webhook_id"], unique=True)
    db.table("inbox").create_index(["state", "seq"])
    db.table("event_subjects").create(
        {"seq": int, "tenant": str, "platform": str, "subject": str},
        pk=("tenant", "platform", "subject", "seq"),
    )


def _002_obligations(db: sqlite_utils.Database) -> None:
    # What the connector decided each obligation cycle should be on the platform, and what it confirmed.
    db.table("obligations").create(
        {
            "tenant": str,
            "platform": str,
            "reference": str,
            "owner": str,
            "kind": str,
            "scope": str,
            "holder": str,
            "cycle": int,
            "case_id": str,
            "assignee_id": str,
            "team_id": str,
            "due_date": str,
            "rules": str,
            "counted_from_fact": str,
            "counted_from_date": str,
            "explanation": str,
            "form": str,
            "status": str,
            "platform_id": str,
            "form_id": str,
            "overdue_since": str,
            "created_at": str,
            "updated_at": str,
        },
        pk=("tenant", "platform", "reference"),
        not_null=["owner", "kind", "status", "due_date", "assignee_id"],
    )
    db.table("obligations").create_index(["tenant", "platform", "owner", "status"])
    db.table("obligations").create_index(["status", "due_date"])


def _003_outbox(db: sqlite_utils.Database) -> None:
    # One row per reference still to be made true on the platform; a newer desired state replaces the payload
    # (and bumps `version`) so a write never goes out stale.
    db.table("outbox").create(
        {
            "id": int,
            "tenant": str,
            "platform": str,
            "reference": str,
            "item": str,
            "action": str,
            "payload": str,
            "version": int,
            "state": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null=["tenant", "platform", "reference", "item", "action", "payload", "state"],
        defaults={"version": 1, "attempts": 0},
    )
    db.table("outbox").create_index(["tenant", "platform", "reference"], unique=True)
    db.table("outbox").create_index(["state", "next_attempt_at"])
    db.table("reminders").create(
        {
            "tenant": str,
            "platform": str,
            "reference": str,
            "obligation_reference": str,
            "worker_id": str,
            "show_on": str,
            "escalation": int,
            "platform_id": str,
            "created_at": str,
        },
        pk=("tenant", "platform", "reference"),
    )
    db.table("audit").create(
        {
            "id": int,
            "at": str,
            "tenant": str,
            "platform": str,
            "reference": str,
            "action": str,
            "outcome": str,
            "detail": str,
        },
        pk="id",
    )


def _004_meta(db: sqlite_utils.Database) -> None:
    # Remembers which rule pack and settings each tenant was last evaluated with, so a change re-evaluates.
    db.table("tenant_state").create({"tenant": str, "fingerprint": str, "evaluated_at": str}, pk="tenant")


def _005_reminder_due_dates(db: sqlite_utils.Database) -> None:
    # Which due date a reminder spoke of, and when it was taken back, so a cancelled or moved step's stale
    # reminders can be withdrawn from the worker's tray.
    reminders = db.table("reminders")
    reminders.add_column("due_date", str)
    reminders.add_column("withdrawn_at", str)
    reminders.create_index(["tenant", "platform", "obligation_reference"])


def _006_failures(db: sqlite_utils.Database) -> None:
    # Subjects (stage 'evaluate') and obligations (stage 'tick') whose work failed, so one bad subject is set
    # aside and reported while every other goes on; a later success clears its row. Ids and errors only.
    db.table("failures").create(
        {"tenant": str, "platform": str, "stage": str, "subject": str, "failed_at": str, "reason": str},
        pk=("tenant", "platform", "stage", "subject"),
    )


def _007_service_state(db: sqlite_utils.Database) -> None:
    # Small values every process of one database must agree on, such as the date of the last tick, so that
    # `connector status` and GET /status say the same and a restart does not redo the day's work.
    db.table("service_state").create({"key": str, "value": str, "updated_at": str}, pk="key")


def _008_reminder_recipients(db: sqlite_utils.Database) -> None:
    # Which rung of the ladder a reminder was (who it was for: assignee, supervisor, supervisor_of_supervisor),
    # so one addressed to someone who no longer holds that role is withdrawn. NULL: written before ladders.
    db.table("reminders").add_column("recipient", str)


def _009_event_source(db: sqlite_utils.Database) -> None:
    # Where an event came from: NULL for a webhook, 'import' for a caseload extract, 'reconcile' for a
    # corrective event the nightly reconcile stored, so `connector explain` can say a date rests on one.
    db.table("inbox").add_column("source", str)


def _010_cycle_outcomes(db: sqlite_utils.Database) -> None:
    # Each cycle's outcome as it was when it closed (met or withdrawn), with the session that met it, so the
    # compliance figures keep their history whatever a later re-evaluation decides. Ids, dates and codes only.
    db.table("cycle_outcomes").create(
        {
            "tenant": str,
            "platform": str,
            "reference": str,
            "kind": str,
            "case_id": str,
            "worker_id": str,
            "assignee_id": str,
            "supervisor_id": str,
            "team_id": str,
            "due_date": str,
            "rules": str,
            "counted_from_fact": str,
            "counted_from_date": str,
            "outcome": str,
            "held_on": str,
            "recorded_on": str,
            "closed_on": str,
            "days_late": int,
            "recorded_at": str,
        },
        pk=("tenant", "platform", "reference"),
        not_null=["kind", "worker_id", "due_date", "outcome", "closed_on"],
    )
    db.table("cycle_outcomes").create_index(["tenant", "team_id", "due_date"])
    db.table("cycle_outcomes").create_index(["tenant", "case_id"])
    db.table("obligations").create_index(["tenant", "team_id", "status"])
    # Cycles closed before this table existed keep what the ledger knew of them; the session is unknown.
    db.execute(
        "INSERT INTO cycle_outcomes (tenant, platform, reference, kind, case_id, worker_id, assignee_id, team_id,"
        " due_date, rules, counted_from_fact, counted_from_date, outcome, closed_on, days_late, recorded_at)"
        " SELECT tenant, platform, reference, kind, case_id, CASE WHEN holder = '-' THEN assignee_id ELSE holder"
        " END, assignee_id, team_id, due_date, rules, counted_from_fact, counted_from_date, status,"
        " substr(updated_at, 1, 10), MAX(0, CAST(julianday(substr(updated_at, 1, 10)) - julianday(due_date)"
        " AS INTEGER)), updated_at FROM obligations WHERE status IN ('met', 'withdrawn')"
    )


def _011_kept_state(db: sqlite_utils.Database) -> None:
    # Each subject's folded facts, kept with the position (UTC occurred_at, event id) they were folded to, so a
    # new event costs the same however long the subject's history; `revision` lets a process's cache of folds
    # notice another process's write. Checkpoints are earlier states, so a late event re-folds only from the
    # checkpoint before it.
    for name, pk in (
        ("subject_folds", ("tenant", "platform", "subject")),
        ("fold_checkpoints", ("tenant", "platform", "subject", "at", "event_id")),
    ):
        db.table(name).create(
            {
                "tenant": str,
                "platform": str,
                "subject": str,
                "at": str,
                "event_id": str,
                "version": int,
                "revision": int,
                "state": bytes,
                "updated_at": str,
            },
            pk=pk,
            not_null=["at", "event_id", "version", "state"],
        )
    # A worker's current supervisor beside their fold: the daily tick looks the whole chain up in one query.
    db.table("subject_folds").add_column("supervisor_id", str)
    # The event's position beside each subject it names, so a re-fold reads only the events after a checkpoint.
    db.table("event_subjects").add_column("at", str)
    rows = db.execute("SELECT seq, occurred_at, event FROM inbox").fetchall()
    db.conn.executemany(
        "UPDATE event_subjects SET at = ? WHERE seq = ?",
        [(utc_position(occurred_at), seq) for seq, occurred_at, _ in rows],
    )
    db.table("event_subjects").create_index(["tenant", "platform", "subject", "at"])


def _012_retention(db: sqlite_utils.Database) -> None:
    # A compacted subject's base: its fold at the point its raw events were deleted (retention of a closed
    # case), so a later event still folds onto it and one older than it is refused rather than misplaced.
    db.table("subject_bases").create(
        {
            "tenant": str,
            "platform": str,
            "subject": str,
            "at": str,
            "event_id": str,
            "version": int,
            "state": bytes,
            "compacted_at": str,
        },
        pk=("tenant", "platform", "subject"),
        not_null=["at", "event_id", "version", "state"],
    )
    # A case's closing date beside its fold, so retention finds the cases closed long enough in one query.
    db.table("subject_folds").add_column("closed_on", str)
    rows = db.execute(
        "SELECT tenant, platform, subject, state FROM subject_folds WHERE subject LIKE 'case:%'"
    )
    updates = []
    for tenant, platform, subject, state in rows.fetchall():
        try:
            closed_on = getattr(pickle.loads(state), "closed_on", None)
        except Exception:  # a fold that no longer loads is re-folded when next read, and saved anew
            closed_on = None
        if closed_on is not None:
            updates.append((closed_on.isoformat(), tenant, platform, subject))
    db.conn.executemany(
        "UPDATE subject_folds SET closed_on = ? WHERE tenant = ? AND platform = ? AND subject = ?", updates
    )
    db.table("subject_folds").create_index(["tenant", "platform", "closed_on"])
    # Retention deletes an event once no subject names it any more: found by its seq.
    db.table("event_subjects").create_index(["seq"])


def _013_reevaluate_on(db: sqlite_utils.Database) -> None:
    # The day each case, worker and team is next re-evaluated by the daily run (pipeline/reevaluate_on.py); a
    # subject without a row is re-evaluated at the next daily run, which writes one.
    db.table("reevaluate_on").create(
        {"tenant": str, "platform": str, "owner": str, "on_date": str},
        pk=("tenant", "platform", "owner"),
        not_null={"tenant", "platform", "owner", "on_date"},
    )
    db.table("reevaluate_on").create_index(["tenant", "platform", "on_date"])


def _014_outbox_first_sent(db: sqlite_utils.Database) -> None:
    # The payload of a create's first unanswered try, kept while newer states replace the payload: Childview
    # ties an idempotency key to the body it first saw, so only that body learns what the lost create made.
    db.table("outbox").add_column("first_sent", str)


def _015_obligation_cycles(db: sqlite_utils.Database) -> None:
    # The ledger's diff reads the rows of the cycles it is given by their key, not every row its owner ever had.
    db.table("obligations").create_index(["tenant", "platform", "owner", "kind", "scope", "holder", "cycle"])


def _016_outbox_leases(db: sqlite_utils.Database) -> None:
    # Until when a process delivering a write holds its row (store/leases.py), so several processes on one
    # PostgreSQL database never send it twice at once; a killed process's lease simply runs out. NULL: free.
    db.table("outbox").add_column("lease_until", str)


def _017_compacted_webhooks(db: sqlite_utils.Database) -> None:
    # The webhook ids of events compaction folded into a base and deleted: a redelivery of one (or the same row
    # of a later full extract) is a duplicate, as it was while its row was kept, not a new event. Ids only.
    db.table("compacted_webhooks").create(
        {"tenant": str, "platform": str, "webhook_id": str},
        pk=("tenant", "platform", "webhook_id"),
        not_null={"tenant", "platform", "webhook_id"},
    )


def _018_reevaluate_on_digest(db: sqlite_utils.Database) -> None:
    # The digest of the obligations an owner's last diff made the ledger hold (pipeline/owner_digest.py): a
    # re-evaluation giving the same ones again skips the diff. NULL (every row before it): diffed in full.
    db.table("reevaluate_on").add_column("digest", str)


def _019_reminder_said(db: sqlite_utils.Database) -> None:
    # What a reminder said (a digest of its message) and the ladder rung it is, so one whose obligation now
    # cites other rules is corrected (pipeline/reminder_texts.py). NULL (every reminder before it): matching.
    reminders = db.table("reminders")
    reminders.add_column("said", str)
    reminders.add_column("rung", str)


def _020_dated_reminders(db: sqlite_utils.Database) -> None:
    # The open obligations whose form dates a reminder of their own (a few a worker a year), found by the tick
    # in an index of them alone: its search through every open row's form read the whole ledger every day.
    # The condition is spelled as the tick's query spells it (pipeline/tick_rows.py): a partial index is used
    # only by a query whose WHERE repeats it; `status` leads, or SQLite's planner prefers the status index.
    db.execute(
        "CREATE INDEX idx_obligations_dated_reminders ON obligations (status, tenant, platform, reference)"
        f" WHERE {DATED_REMINDERS}"
    )


def _021_reevaluate_on_reads(db: sqlite_utils.Database) -> None:
    # The case-level timing rules that applied to a case when it was last evaluated (pipeline/reevaluate_on.py):
    # a pack change of only such rules re-evaluates the cases one of them applied to. NULL (every row before
    # it): taken by every such change, so the first one after the upgrade re-evaluates every case.
    db.table("reevaluate_on").add_column("reads", str)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _001_inbox,
    _002_obligations,
    _003_outbox,
    _004_meta,
    _005_reminder_due_dates,
    _006_failures,
    _007_service_state,
    _008_reminder_recipients,
    _009_event_source,
    _010_cycle_outcomes,
    _011_kept_state,
    _012_retention,
    _013_reevaluate_on,
    _014_outbox_first_sent,
    _015_obligation_cycles,
    _016_outbox_leases,
    _017_compacted_webhooks,
    _018_reevaluate_on_digest,
    _019_reminder_said,
    _020_dated_reminders,
    _021_reevaluate_on_reads,
]
