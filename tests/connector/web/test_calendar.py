"""A team's iCalendar feed parses with `icalendar`, holds each booked session, drops a cancelled one, and
names the kind and the worker, never a child."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from flask.testing import FlaskClient
from tests.connector.reports.support import booked
from tests.connector.web.support_read_side import CALENDAR, read_side

from connector.pipeline.inbox import Inbox
from connector.reports.calendar_feed import feed_token
from connector.service import Service

MONDAY = datetime(2026, 6, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[Service, FlaskClient]]:
    service, client = read_side(tmp_path)
    yield service, client
    service.close()


def feed(client: FlaskClient, team: str = "310") -> icalendar.Calendar:
    answer = client.get(f"/calendar/lincolnshire/{team}/{feed_token(CALENDAR, 'lincolnshire', team)}.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(answer.data)


def test_booked_sessions_and_due_dates_with_stable_uids(app: tuple[Service, FlaskClient]) -> None:
    service, client = app
    inbox = Inbox(service.db)
    booked(inbox, "b1", "BK-1", MONDAY)
    booked(inbox, "b2", "BK-2", MONDAY.replace(day=23))
    booked(inbox, "b3", "BK-3", MONDAY.replace(day=24))
    later = datetime(2026, 6, 2, tzinfo=UTC)
    booked(inbox, "b4", "BK-2", MONDAY.replace(day=25), at=later)  # moved
    booked(inbox, "b5", "BK-3", MONDAY.replace(day=24), status="cancelled", at=later)
    calendar = feed(client)
    assert (
        str(calendar["REFRESH-INTERVAL"].to_ical().decode()) == "PT1H"
        and calendar["X-PUBLISHED-TTL"] == "PT1H"
    )
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    bookings = {uid: e for uid, e in events.items() if uid.startswith("booking-")}
    assert set(bookings) == {
        "booking-lincolnshire-mosaic-BK-1@supervision-connector",
        "booking-lincolnshire-mosaic-BK-2@supervision-connector",
    }
    moved = bookings["booking-lincolnshire-mosaic-BK-2@supervision-connector"]
    assert moved.decoded("DTSTART") == MONDAY.replace(day=25)
    assert str(moved["SUMMARY"]) == "Case supervision booked: worker 5521"
    [due] = [e for uid, e in events.items() if uid.startswith("due-")]
    assert str(due["SUMMARY"]) == "Case supervision due (overdue): worker 5521"
    assert "100234" not in calendar.to_ical().decode()  # no child's id anywhere, UIDs included
    assert {str(e["UID"]) for e in feed(client).walk("VEVENT")} == set(events)  # stable


def test_a_wrong_token_or_unknown_team_is_404(app: tuple[Service, FlaskClient]) -> None:
    _, client = app
    assert client.get("/calendar/lincolnshire/310/0123456789abcdef0123456789abcdef.ics").status_code == 404
    token = feed_token(CALENDAR, "lincolnshire", "310")
    assert client.get(f"/calendar/lincolnshire/320/{token}.ics").status_code == 404
    # The token is for one tenant and team.
    assert client.get(f"/calendar/bracknell/310/{token}.ics").status_code == 404
