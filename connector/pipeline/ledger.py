"""The obligation ledger: what the connector decided each obligation cycle is, and the diff that queues writes.

Rows are keyed by the deterministic reference the platform also holds. `owner` says which evaluation produced a
row ("case:<id>", "worker:<id>", "team:<id>"), so a re-evaluation of one subject diffs only its own rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.pipeline.ledger_writes import LedgerWrites
from connector.pipeline.met import Held, MetCheck, SessionFinder, never_met, no_session
from connector.pipeline.outbox import Outbox
from connector.pipeline.outcomes import outcome_params
from connector.pipeline.skipped import SkippedCycles, none_skipped
from connector.store.database import Database, utc_now_text
from connector.store.engines.base import Connection, Row
from rules.model import Obligation, Reason

# Parameters per `rows_of` query: under every SQLite build's limit (999 before 3.32).
ROWS_OF_PARAMETERS = 900

TITLES = {
    "case_supervision": "Case supervision due",
    "personal_supervision": "Personal supervision due",
    "group_supervision": "Group supervision due",
    "supervision_agreement": "Supervision agreement due",
    "practice_observation": "Practice observation due",
    "team_brief": "Team brief due",
    "fsm_group_supervision": "FSM group supervision due",
    "supervision_record": "Supervision record due",
    "dip_sample": "Dip sample due",
    "agenda": "Supervision agenda due",
    "supervision_booking": "Book supervision sessions to cover the next three months",
}


def base_reference(prefix: str, obligation: Obligation) -> str:
    return f"{prefix}:{obligation.kind}:{obligation.scope}:{obligation.holder}:{obligation.cycle}"


@dataclass(frozen=True)
class DiffCounts:
    created: int = 0
    moved: int = 0
    withdrawn: int = 0
    met: int = 0


def obligation_payload(obligation: Obligation, incoming_on: date) -> dict[str, Any]:
    """The write the platform should hold for this obligation (ids of the platform's records excluded)."""
    return {
        "open": True,
        "kind": obligation.kind,
        "case_id": obligation.case_id,
        "assignee_id": obligation.assignee_id,
        "team_id": obligation.team_id,
        "due_date": obligation.due_date.isoformat(),
        "title": TITLES.get(obligation.kind, obligation.kind.replace("_", " ").capitalize() + " due"),
        "notes": obligation.explanation,
        "incoming_on": incoming_on.isoformat(),
        "form": [list(pair) for pair in obligation.form],
        "supervisor_id": obligation.supervisor_id,
    }


class Ledger:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    def apply(
        self,
        conn: Connection,
        tenant: str,
        platform: str,
        prefix: str,
        owner: str,
        desired: list[Obligation],
        today: date,
        met_by: MetCheck = never_met,
        held_by: SessionFinder = no_session,
        rows: list[Row] | None = None,
        skipped: SkippedCycles = none_skipped,
    ) -> DiffCounts:
        """Make the ledger hold `desired` for this owner and queue the platform writes that takes (`diff`, and
        its writes made at once)."""
        if rows is None:
            rows = self.rows_of(conn, tenant, platform, [(owner, desired)]).get(owner, [])
        writes = LedgerWrites()
        counts = self.diff(
            conn, writes, tenant, platform, prefix, owner, desired, today, met_by, held_by, rows, skipped
        )
        writes.write(conn)
        return counts

    def diff(
        self,
        conn: Connection,
        writes: LedgerWrites,
        tenant: str,
        platform: str,
        prefix: str,
        owner: str,
        desired: list[Obligation],
        today: date,
        met_by: MetCheck,
        held_by: SessionFinder,
        rows: list[Row],
        skipped: SkippedCycles = none_skipped,
    ) -> DiffCounts:
        """The writes (added to `writes`) that make the ledger hold `desired` for this owner, from its `rows` as
        `rows_of` gives them. `conn` is read only for a series first desired above cycle 1 with `skipped`.

        A cycle that leaves the desired set ends `met` (its step completed) when the desired set holds a later
        cycle of the same kind, scope and holder, or when `met_by` says a session met it (see connector/met.py);
        otherwise it is `withdrawn` (its step cancelled). `held_by` names the session that met it, for the
        compliance history (connector/pipeline/outcomes.py). `skipped`: the cycles a jump of the desired set
        went past, whose outcomes are recorded too (connector/pipeline/skipped.py)."""
        if met_by is never_met and held_by is not no_session:
            met_by = _found_by(held_by)
        by_key: dict[tuple[str, str, str, int], list[Row]] = {}
        for row in rows:
            by_key.setdefault((row["kind"], row["scope"], row["holder"], row["cycle"]), []).append(row)

        created = moved = withdrawn = met = 0
        wanted: set[str] = set()
        latest_cycle: dict[tuple[str, str, str], int] = {}
        for obligation in desired:
            series = (obligation.kind, obligation.scope, obligation.holder)
            latest_cycle[series] = max(latest_cycle.get(series, obligation.cycle), obligation.cycle)
        now = writes.now
        inserted: list[tuple[tuple[str, str, str], int]] = []  # what `_first_of_series` would have found
        for obligation in desired:
            history = by_key.get(obligation.key, [])
            live = [r for r in history if r["status"] in ("open", "closed", "met")]
            if live:
                row = live[0]
                wanted.add(row["reference"])
                if row["status"] in ("closed", "met"):
                    # Done on the platform already; the session that closed it opens the next cycle.
                    continue
                columns = _mutable_columns(obligation)
                if tuple(row[c] for c in _MUTABLE) != columns:
                    # Made only for a write: most obligations of a re-evaluation are unchanged.
                    payload = obligation_payload(obligation, today)
                    payload["incoming_on"] = row["created_at"][:10]
                    writes.moves.append((*columns, now, tenant, platform, row["reference"]))
                    writes.queue(tenant, platform, row["reference"], "move", payload)
                    moved += 1
                continue
            # A withdrawn cycle cannot be reopened on the platform (a cancelled step is final): use a new reference.
            reference = base_reference(prefix, obligation)
            if history:
                reference = f"{reference}.r{len(history) + 1}"
            wanted.add(reference)
            writes.inserts.append(
                (tenant, platform, reference, owner, obligation.kind, obligation.scope, obligation.holder,
                 obligation.cycle, *_mutable_columns(obligation), now, now)
            )  # fmt: skip
            series = (obligation.kind, obligation.scope, obligation.holder)
            if obligation.cycle > 1 and not history and skipped is not none_skipped:
                self._first_of_series(
                    conn, writes, tenant, platform, prefix, owner, obligation, rows, inserted, skipped, today
                )
            inserted.append((series, obligation.cycle))
            writes.queue(tenant, platform, reference, "create", obligation_payload(obligation, today))
            created += 1

        for row in rows:
            if row["status"] == "open" and row["reference"] not in wanted:
                series = (row["kind"], row["scope"], row["holder"])
                latest = latest_cycle.get(series, row["cycle"])
                if latest > row["cycle"] or met_by(row):
                    session = held_by(row)
                    self._end(writes, tenant, platform, row, True, session, today)
                    met += 1
                    if latest > row["cycle"] + 1:
                        found = skipped(series, row["cycle"] + 1, session, latest)
                        self._record_skipped(writes, tenant, platform, prefix, found, today)
                else:
                    self._end(writes, tenant, platform, row, False, None, today)
                    withdrawn += 1
        return DiffCounts(created, moved, withdrawn, met)

    def _first_of_series(
        self,
        conn: Connection,
        writes: LedgerWrites,
        tenant: str,
        platform: str,
        prefix: str,
        owner: str,
        obligation: Obligation,
        rows: list[Row],
        inserted: list[tuple[tuple[str, str, str], int]],
        skipped: SkippedCycles,
        today: date,
    ) -> None:
        """A series first desired above cycle 1 (a subject's first evaluation saw several of its sessions at
        once): the cycles before had no row, unless the ledger held them once (a worker given a case back) or
        this diff inserts one."""
        series = (obligation.kind, obligation.scope, obligation.holder)
        if any((r["kind"], r["scope"], r["holder"]) == series for r in rows):
            return
        if any(s == series and cycle < obligation.cycle for s, cycle in inserted):
            return
        held_before = conn.execute(
            "SELECT 1 FROM obligations WHERE tenant = ? AND platform = ? AND owner = ? AND kind = ? AND scope = ?"
            " AND holder = ? AND cycle < ? LIMIT 1",
            (tenant, platform, owner, *series, obligation.cycle),
        ).fetchone()
        if held_before is None:
            self._record_skipped(
                writes, tenant, platform, prefix, skipped(series, 1, None, obligation.cycle), today
            )

    def _record_skipped(
        self,
        writes: LedgerWrites,
        tenant: str,
        platform: str,
        prefix: str,
        found: list[tuple[Obligation, Held | None]],
        today: date,
    ) -> None:
        for obligation, session in found:
            # The columns the outcome reads, as the row a diff that saw the cycle open would have held.
            row = dict(zip(_MUTABLE, _mutable_columns(obligation), strict=True))
            row.update(
                reference=base_reference(prefix, obligation), kind=obligation.kind, holder=obligation.holder
            )
            writes.outcomes.append(outcome_params(tenant, platform, row, True, session, today))

    def rows_of(
        self, conn: Connection, tenant: str, platform: str, desired: Sequence[tuple[str, list[Obligation]]]
    ) -> dict[str, list[Row]]:
        """For each owner, the only ledger rows its diff can touch: the open ones (which it may end) and every
        row of a desired cycle (which it may keep, move, or follow with a new reference), oldest first. An
        owner's ended cycles grow with its history; reading them all made each event cost more the longer the
        subject's past. One query per batch of owners, each half by its own index."""
        found: dict[str, list[Row]] = {}
        batch: list[tuple[str, list[Obligation]]] = []
        size = 0
        for owner, obligations in desired:
            if batch and size + 1 + 7 * len(obligations) > ROWS_OF_PARAMETERS:
                self._rows_of_batch(conn, tenant, platform, batch, found)
                batch, size = [], 0
            batch.append((owner, obligations))
            size += 1 + 7 * len(obligations)
        if batch:
            self._rows_of_batch(conn, tenant, platform, batch, found)
        return found

    def _rows_of_batch(
        self,
        conn: Connection,
        tenant: str,
        platform: str,
        batch: list[tuple[str, list[Obligation]]],
        found: dict[str, list[Row]],
    ) -> None:
        owners = [owner for owner, _ in batch]
        keys = sorted({(owner, *o.key) for owner, obligations in batch for o in obligations})
        sql = (
            "SELECT * FROM obligations WHERE tenant = ? AND platform = ? AND status = 'open'"
            f" AND owner IN ({', '.join('?' * len(owners))})"
        )
        params: list[object] = [tenant, platform, *owners]
        if keys:
            # Each cycle spelled out whole, so each is found through the cycle index (SQLite searches a row-value
            # IN list by the tenant alone, every row of it).
            cycle = "(tenant = ? AND platform = ? AND owner = ? AND kind = ? AND scope = ? AND holder = ? AND cycle = ?)"
            sql += " UNION SELECT * FROM obligations WHERE " + " OR ".join([cycle] * len(keys))
            params += [part for key in keys for part in (tenant, platform, *key)]
        for row in conn.execute(sql + " ORDER BY created_at, reference", params).fetchall():
            found.setdefault(row["owner"], []).append(row)

    def _end(
        self,
        writes: LedgerWrites,
        tenant: str,
        platform: str,
        row: Row,
        met: bool,
        session: Held | None,
        today: date,
    ) -> None:
        """Close a cycle: `met` (the platform step is completed) or `withdrawn` (the step is cancelled)."""
        writes.outcomes.append(outcome_params(tenant, platform, row, met, session, today))
        writes.ends.append(("met" if met else "withdrawn", writes.now, tenant, platform, row["reference"]))
        payload = json.loads(_payload_of_row(row))
        payload["open"] = False
        payload["met"] = met
        writes.queue(tenant, platform, row["reference"], "complete" if met else "withdraw", payload)

    def record_confirmation(
        self,
        conn: Connection,
        tenant: str,
        platform: str,
        reference: str,
        platform_id: str | None,
        form_id: str | None,
        closed_on_platform: bool,
    ) -> None:
        conn.execute(
            "UPDATE obligations SET platform_id = COALESCE(?, platform_id), form_id = COALESCE(?, form_id),"
            " status = CASE WHEN ? AND status = 'open' THEN 'closed' ELSE status END, updated_at = ?"
            " WHERE tenant = ? AND platform = ? AND reference = ?",
            (platform_id, form_id, closed_on_platform, utc_now_text(), tenant, platform, reference),
        )

    def platform_ids(self, tenant: str, platform: str, reference: str) -> tuple[str | None, str | None]:
        rows = self.db.query(
            "SELECT platform_id, form_id FROM obligations WHERE tenant = ? AND platform = ? AND reference = ?",
            (tenant, platform, reference),
        )
        if not rows:
            return None, None
        return rows[0]["platform_id"], rows[0]["form_id"]

    def mark_closed_by_step(
        self,
        conn: Connection,
        tenant: str,
        platform: str,
        step_ref: str,
        session: Held | None = None,
        today: date | None = None,
    ) -> None:
        """A session recorded against one of our steps met it: it ends `met`, never cancelled. The platform may
        not have completed the step itself, so a complete is queued (answered 409 if it already is)."""
        rows = conn.execute(
            "SELECT * FROM obligations WHERE tenant = ? AND platform = ? AND platform_id = ? AND status = 'open'",
            (tenant, platform, step_ref),
        ).fetchall()
        writes = LedgerWrites()
        for row in rows:
            closed_on = today or (session.held_on if session is not None else date.today())
            self._end(writes, tenant, platform, row, True, session, closed_on)
        writes.write(conn)


def _found_by(held_by: SessionFinder) -> MetCheck:
    return lambda row: held_by(row) is not None


def _mutable_columns(obligation: Obligation) -> tuple[Any, ...]:
    return (
        obligation.case_id,
        obligation.assignee_id,
        obligation.team_id,
        obligation.due_date.isoformat(),
        _rules_json(obligation.reasons),
        obligation.counted_from.fact,
        obligation.counted_from.on.isoformat(),
        obligation.explanation,
        json.dumps([list(p) for p in obligation.form]),
    )


_RULES_JSON: dict[tuple[Reason, ...], str] = {}


def _rules_json(reasons: tuple[Reason, ...]) -> str:
    """The `rules` column: the same few rule combinations time every obligation of a tenant, so each one's JSON
    is written once (bounded: a pack change brings new ones)."""
    found = _RULES_JSON.get(reasons)
    if found is None:
        if len(_RULES_JSON) > 10_000:
            _RULES_JSON.clear()
        found = _RULES_JSON[reasons] = json.dumps([[r.rule_id, r.source, r.words] for r in reasons])
    return found


_MUTABLE = (
    "case_id",
    "assignee_id",
    "team_id",
    "due_date",
    "rules",
    "counted_from_fact",
    "counted_from_date",
    "explanation",
    "form",
)


def _payload_of_row(row: Row) -> str:
    return json.dumps(
        {
            "open": True,
            "kind": row["kind"],
            "case_id": row["case_id"],
            "assignee_id": row["assignee_id"],
            "team_id": row["team_id"],
            "due_date": row["due_date"],
            "title": TITLES.get(row["kind"], row["kind"]),
            "notes": row["explanation"],
            "incoming_on": row["created_at"][:10],
            "form": json.loads(row["form"] or "[]"),
        }
    )
