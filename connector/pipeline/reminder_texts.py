"""A reminder follows what its obligation says: a late event may change the rules a due date cites without
moving the date or changing who is told, and the reminder in the tray must not keep citing the old rule.

Each reminder keeps a digest of the message it was queued with (`reminders.said`, with its rung's tag). The
daily tick works out what every live ladder reminder of an obligation would say now; one whose digest differs
is corrected, and only those (never a storm of re-sends):

- still queued and never tried: its queued write's message is replaced;
- sent, on a platform that edits its reminders (Childview PATCHes a prompt's text): an edit is queued;
- sent, on one that cannot (Mosaic only POSTs and DELETEs notifications): the old one is withdrawn and the
  corrected one sent under the next reference (`.r2`, then `.r3`), deterministic, so a retried write is answered
  409 rather than doubled;
- sent, but confirmed without an id (Mosaic's 409 on an existing reference need not name it, and Mosaic has no
  lookup of notifications): it can be neither withdrawn nor edited, so the corrected one is sent under the next
  reference and the old one, left in the tray, is no longer followed (`withdrawn_at`);
- tried but not confirmed (in flight, or a dead letter): left alone; the tick after its confirmation corrects it.

A reminder written before digests were kept (`said` NULL) is taken as matching, so an upgrade re-sends nothing.
Dated reminders (`on-DATE`) cite no rule, so they have no rung and are never corrected: a moved due date
withdraws them as it does every reminder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from adapters.base import ID_NOT_GIVEN, FatalError, PlatformWriter
from adapters.registry import ADAPTERS
from connector.config.ladder import Rung
from connector.pipeline.ladder import Chain, rung_message, why
from connector.pipeline.outbox import Outbox, OutboxRow
from connector.store.database import utc_now_text
from connector.store.engines.base import Connection, Row

WITHDRAW_SUFFIX = ":withdraw"
EDIT_SUFFIX = ":edit"
# The outbox items that amend a reminder already on the platform, by the suffix of their reference.
AMENDS = {"reminder_withdrawal": WITHDRAW_SUFFIX, "reminder_edit": EDIT_SUFFIX}
_REVISION = re.compile(r"(?P<base>.*)\.r(?P<n>[0-9]+)")


def digest(message: str) -> str:
    """What a reminder said, kept as a digest: the message itself names a child's id and is not stored twice."""
    return hashlib.sha256(message.encode()).hexdigest()[:32]


def next_reference(reference: str) -> str:
    """The reference a corrected reminder is sent under where the platform cannot edit one: `.r2`, then on."""
    found = _REVISION.fullmatch(reference)
    if found is None:
        return f"{reference}.r2"
    return f"{found['base']}.r{int(found['n']) + 1}"


def reminder_of(reference: str, item: str) -> str:
    """The reminder an outbox row is about: its own reference, or the one its amendment names."""
    return reference.removesuffix(AMENDS.get(item, ""))


def edits_reminders(platform: str) -> bool:
    adapter = ADAPTERS.get(platform)
    return bool(getattr(adapter, "edits_reminders", False))


def amend(writer: PlatformWriter, row: OutboxRow) -> None:
    """Apply an amendment row: withdraw a reminder, or edit its text where the platform can."""
    if row.item == "reminder_edit":
        edit = getattr(writer, "edit_reminder", None)  # only a platform that `edits_reminders` queues one
        if edit is None:
            raise FatalError(f"{type(writer).__name__} cannot edit a reminder")
        edit(row.payload["platform_id"], row.payload["message"])
    else:
        writer.withdraw_reminder(row.payload["platform_id"])


class Said(NamedTuple):
    """A live reminder of an obligation, as the tick reads it: what it said (its digest) and to whom (a tuple:
    a slice of the tick reads tens of thousands, and a frozen dataclass cost several times as much to make)."""

    reference: str
    rung: str
    said: str
    worker_id: str
    due_date: str | None


@dataclass(frozen=True)
class Correction:
    """A reminder whose message changed, with what it should say now and what the tick read it saying."""

    tenant: str
    platform: str
    reference: str
    was: str
    message: str
    as_of: date
    # The obligation's platform_id, case_id and kind, for a send under a new reference.
    step: Mapping[str, Any]


@lru_cache(maxsize=64)
def _rungs_by_tag(ladder: tuple[Rung, ...]) -> dict[str, Rung]:
    """A ladder's rungs by tag, the first of a tag winning, once per ladder (a tick asks for every reminder)."""
    found: dict[str, Rung] = {}
    for rung in ladder:
        found.setdefault(rung.tag, rung)
    return found


def corrections(
    row: Row, live: list[Said], ladder: tuple[Rung, ...], chain: Chain, as_of: date
) -> list[Correction]:
    """The live ladder reminders of an obligation (`row`, as the tick reads it) whose message is no longer what
    the obligation says, while their due date and recipient still fit it (those that do not are withdrawn when
    the step's write is confirmed, dispatcher._withdraw_stale_reminders)."""
    found: list[Correction] = []
    by_tag = _rungs_by_tag(ladder)
    due_date, assignee = row["due_date"], row["assignee_id"]
    due: date | None = None
    because = ""
    for held in live:
        rung = by_tag.get(held.rung)
        if rung is None or held.due_date != due_date:
            continue  # a rung the ladder no longer has, or a due date that moved: not this module's to fix
        if chain.recipient(row["tenant"], row["platform"], rung.to, assignee) != held.worker_id:
            continue
        if due is None:  # the row's part of every message, once for all its reminders
            due, because = date.fromisoformat(due_date), why(row["rules"])
        message = rung_message(rung, row["kind"], row["case_id"], due, assignee, because)
        if digest(message) != held.said:
            step = {"platform_id": row["platform_id"], "case_id": row["case_id"], "kind": row["kind"]}
            found.append(
                Correction(row["tenant"], row["platform"], held.reference, held.said, message, as_of, step)
            )
    return found


def apply(conn: Connection, outbox: Outbox, c: Correction) -> bool:
    """Correct one reminder inside the tick's write transaction; False when it changed since the tick read it
    (sent, withdrawn or corrected meanwhile) or is in flight, and the next tick decides it again."""
    key = (c.tenant, c.platform, c.reference)
    held = conn.execute(
        "SELECT obligation_reference, worker_id, show_on, escalation, due_date, recipient, platform_id, said,"
        " withdrawn_at, rung FROM reminders WHERE tenant = ? AND platform = ? AND reference = ?",
        key,
    ).fetchone()
    if held is None or held["withdrawn_at"] is not None or held["said"] != c.was:
        return False
    queued = conn.execute(
        "SELECT id, payload FROM outbox WHERE tenant = ? AND platform = ? AND reference = ? AND item = 'reminder'"
        " AND state = 'pending' AND attempts = 0 AND lease_until IS NULL",
        key,
    ).fetchone()
    said = (digest(c.message), *key)
    if queued is not None:
        # Nothing can have sent it yet: the platform only ever sees the corrected text.
        payload = {**json.loads(queued["payload"]), "message": c.message}
        conn.execute(
            "UPDATE outbox SET payload = ?, version = version + 1, updated_at = ? WHERE id = ?",
            (json.dumps(payload, separators=(",", ":"), sort_keys=True), utc_now_text(), queued["id"]),
        )
    elif held["platform_id"] is None:
        # Tried and unconfirmed: what it made is unknown, so nothing is corrected on a guess (its retry must be
        # answered as its first try was); the next tick decides again once it is confirmed.
        return False
    elif held["platform_id"] != ID_NOT_GIVEN and edits_reminders(c.platform):
        edit = {"platform_id": held["platform_id"], "message": c.message}
        outbox.put(conn, c.tenant, c.platform, f"{c.reference}{EDIT_SUFFIX}", "reminder_edit", "edit", edit)
    else:
        _resend(conn, outbox, c, held)
        return True
    conn.execute("UPDATE reminders SET said = ? WHERE tenant = ? AND platform = ? AND reference = ?", said)
    return True


def _resend(conn: Connection, outbox: Outbox, c: Correction, held: Any) -> None:
    """Withdraw the sent reminder and send its corrected text under the next reference, with the same worker,
    rung, due date and date shown (never before the day it is queued)."""
    now = utc_now_text()
    conn.execute(
        "UPDATE reminders SET withdrawn_at = ? WHERE tenant = ? AND platform = ? AND reference = ?",
        (now, c.tenant, c.platform, c.reference),
    )
    if held["platform_id"] != ID_NOT_GIVEN:
        withdrawal = {"platform_id": held["platform_id"]}
        outbox.put(
            conn,
            c.tenant,
            c.platform,
            f"{c.reference}{WITHDRAW_SUFFIX}",
            "reminder_withdrawal",
            "withdraw",
            withdrawal,
        )
    # Else confirmed without an id (Mosaic's 409 without one): it cannot be withdrawn or edited, so it stays in
    # the tray beside its correction, and is no longer followed (withdrawn_at), so no tick corrects it again.
    reference = next_reference(c.reference)
    show_on = max(date.fromisoformat(held["show_on"]), c.as_of).isoformat()
    conn.execute(
        "INSERT INTO reminders (tenant, platform, reference, obligation_reference, worker_id, show_on, escalation,"
        " created_at, due_date, recipient, said, rung) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (
            c.tenant,
            c.platform,
            reference,
            held["obligation_reference"],
            held["worker_id"],
            show_on,
            held["escalation"],
            now,
            held["due_date"],
            held["recipient"],
            digest(c.message),
            held["rung"],
        ),
    )
    send = {
        "worker_id": held["worker_id"],
        "platform_id": c.step["platform_id"],
        "case_id": c.step["case_id"],
        "kind": c.step["kind"],
        "show_on": show_on,
        "due_date": held["due_date"],
        "message": c.message,
        "escalation": bool(held["escalation"]),
    }
    outbox.put(conn, c.tenant, c.platform, reference, "reminder", "send", send)
