"""A reminder follows its obligation: a late status event that changes the rules a due date cites (not the date,
not who is told) corrects the reminder in the tray, once, and only the reminders whose text changed."""

from __future__ import annotations

from datetime import date

from tests.connector.pipeline.one_case import CP_PLAN, WORKER
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import Connector

from connector.pipeline.reminder_texts import digest, next_reference, reminder_of

# Told late: a Child Protection plan from 4 Nov replaces the floor (LINC-CS-FLOOR) by LINC-CS-CP, whose first
# due date (2 Dec) is later, so the due date stays 30 Nov (LINC-CS-ALLOC) and only the rules cited change.
BEFORE = "Case supervision for child 100234 is due on 2026-11-30 (LINC-CS-ALLOC, policy 5.1.1, 5.1.6; LINC-CS-FLOOR, policy 5.1)."
AFTER = "Case supervision for child 100234 is due on 2026-11-30 (LINC-CS-ALLOC, policy 5.1.1, 5.1.6)."
REFERENCE = "linc:reminder:{step}:due-7:20261130:5521"


def tray(mosaic: FakeMosaic) -> dict[str, tuple[int, str, str]]:
    return {
        n["external_reference"]: (n["worker_id"], n["notification_date"], n["message"])
        for n in mosaic.notifications.values()
    }


def step_id(mosaic: FakeMosaic) -> int:
    [step] = [s for s in mosaic.open_steps() if s["subject_person_id"] == 100234]
    assert step["due_date"] == "2026-11-30"
    return int(step["workflow_step_id"])


def test_a_sent_notification_is_withdrawn_and_sent_again_corrected_under_a_new_reference(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    connector.service.tick(date(2026, 11, 23))
    connector.service.drain()
    base = REFERENCE.format(step=step_id(mosaic))
    assert tray(mosaic) == {base: (5521, "2026-11-23", BEFORE)}
    assert connector.post(CP_PLAN).status_code == 202
    connector.service.drain()
    assert step_id(mosaic)  # same due date: nothing moved, so nothing was withdrawn on the step's write
    connector.service.tick(date(2026, 11, 24))
    connector.service.drain()
    # Shown from the day it is sent again (never dated before the day it is queued), as a fresh tick would.
    assert tray(mosaic) == {f"{base}.r2": (5521, "2026-11-24", AFTER)}
    calls = sum(mosaic.calls.values())
    for day in (24, 25):  # once: a repeated tick, or a later one, finds it saying what it should
        connector.service.tick(date(2026, 11, day))
        connector.service.drain()
    assert sum(mosaic.calls.values()) == calls
    assert tray(mosaic) == {f"{base}.r2": (5521, "2026-11-24", AFTER)}


def test_a_queued_reminder_just_has_its_text_replaced(connector: Connector, mosaic: FakeMosaic) -> None:
    connector.service.tick(date(2026, 11, 23))  # queued, not delivered
    assert connector.post(CP_PLAN).status_code == 202
    connector.service.processor.run_until_idle()
    connector.service.tick(date(2026, 11, 23))
    connector.service.drain()
    assert tray(mosaic) == {REFERENCE.format(step=step_id(mosaic)): (5521, "2026-11-23", AFTER)}
    assert mosaic.calls["DELETE /current-work/notifications/{id}"] == 0


def test_a_reminder_sent_before_its_text_was_kept_is_taken_as_matching(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    connector.service.tick(date(2026, 11, 23))
    connector.service.drain()
    with connector.service.db.transaction() as conn:  # as every reminder sent before migration 019
        conn.execute("UPDATE reminders SET said = NULL, rung = NULL")
    assert connector.post(CP_PLAN).status_code == 202
    connector.service.drain()
    before = dict(mosaic.notifications)
    connector.service.tick(date(2026, 11, 24))
    connector.service.drain()
    assert mosaic.notifications == before


def test_an_unchanged_text_is_never_sent_again(connector: Connector, mosaic: FakeMosaic) -> None:
    connector.service.tick(date(2026, 11, 23))
    connector.service.drain()
    # A late event that changes nothing the reminder says (the worker's record again, dated earlier).
    assert connector.post(dict(WORKER, id="evt_w0", occurred_at="2026-10-01T08:00:00Z")).status_code == 202
    connector.service.drain()
    before = dict(mosaic.notifications)
    connector.service.tick(date(2026, 11, 24))
    connector.service.drain()
    assert mosaic.notifications == before


def test_digests_references_and_amendments() -> None:
    assert digest(BEFORE) != digest(AFTER) and len(digest(AFTER)) == 32
    assert next_reference("linc:reminder:1:due-7:20261130:5521") == "linc:reminder:1:due-7:20261130:5521.r2"
    assert (
        next_reference("linc:reminder:1:due-7:20261130:5521.r2") == "linc:reminder:1:due-7:20261130:5521.r3"
    )
    assert reminder_of("x:withdraw", "reminder_withdrawal") == "x"
    assert reminder_of("x:edit", "reminder_edit") == "x"
    assert reminder_of("x:edit", "reminder") == "x:edit"


def test_a_send_tried_and_unanswered_is_corrected_once_it_is_confirmed(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    from datetime import UTC, datetime, timedelta

    mosaic.fail_next(503, times=2)  # tried, unconfirmed: it may have reached Mosaic with the old text
    connector.service.tick(date(2026, 11, 23))
    connector.service.dispatcher.run_once()
    connector.service.dispatcher.run_once()  # the quick second try
    assert connector.post(CP_PLAN).status_code == 202
    connector.service.processor.run_until_idle()
    connector.service.tick(date(2026, 11, 24))
    [queued] = connector.service.db.query("SELECT attempts, payload FROM outbox WHERE item = 'reminder'")
    # Never changed on a guess: its retry must be answered as its first try was.
    assert queued["attempts"] == 2 and BEFORE in queued["payload"]
    connector.service.dispatcher.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    connector.service.drain()
    base = REFERENCE.format(step=step_id(mosaic))
    assert tray(mosaic) == {base: (5521, "2026-11-23", BEFORE)}
    connector.service.tick(date(2026, 11, 24))
    connector.service.drain()
    assert tray(mosaic) == {f"{base}.r2": (5521, "2026-11-24", AFTER)}


def test_a_notification_mosaic_confirmed_without_an_id_is_corrected_beside_it_once(
    connector: Connector, mosaic: FakeMosaic
) -> None:
    connector.service.tick(date(2026, 11, 23))  # queued
    base = REFERENCE.format(step=step_id(mosaic))
    # An earlier try made it and its answer was lost; the retry is answered 409 without the id, and Mosaic has no
    # lookup of notifications.
    mosaic.notifications[1] = {"external_reference": base, "worker_id": 5521, "notification_date": "2026-11-23",
                               "message": BEFORE, "notification_id": 1}  # fmt: skip
    mosaic.fail_next(409)
    connector.service.drain()
    [sent] = connector.service.db.query("SELECT platform_id FROM reminders")
    assert sent["platform_id"] == ""  # delivered, id not given
    assert connector.post(CP_PLAN).status_code == 202
    connector.service.drain()
    connector.service.tick(date(2026, 11, 24))
    connector.service.drain()
    # It cannot be withdrawn (no id to name), so it stays; the correction is sent beside it.
    assert tray(mosaic) == {base: (5521, "2026-11-23", BEFORE), f"{base}.r2": (5521, "2026-11-24", AFTER)}
    assert mosaic.calls["DELETE /current-work/notifications/{id}"] == 0
    calls = sum(mosaic.calls.values())
    for day in (24, 25):  # once: the old one is no longer followed, so no later tick corrects it again
        connector.service.tick(date(2026, 11, day))
        connector.service.drain()
    assert sum(mosaic.calls.values()) == calls
    rows = connector.service.db.query(
        "SELECT reference, withdrawn_at IS NULL AS live FROM reminders ORDER BY 1"
    )
    assert [(r["reference"], bool(r["live"])) for r in rows] == [(base, False), (f"{base}.r2", True)]
