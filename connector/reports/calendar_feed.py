"""A team's supervision calendar as iCalendar (Bracknell 5.3 (7): "each team will maintain a visual calendar of
supervision booked"): its booked sessions and the due dates of its open obligations.

Built with the `icalendar` library, which folds lines, escapes text and writes the dates RFC 5545's way. Each
event's UID is made of the booking id or the obligation's reference, so a calendar program updates an event when
the booking moves and removes it when it is cancelled or met. Titles name the kind and the worker, never a child,
and no child's id is in the feed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

from connector.config import TenantConfig
from connector.pipeline.inbox import FOLDED_STATES
from connector.store.database import Database
from rules.explain import label

REFRESH = timedelta(hours=1)


def feed_token(secret: str, tenant: str, team: str) -> str:
    """The unguessable part of a team's feed URL, derived from the tenant's calendar secret."""
    return hmac.new(secret.encode(), f"calendar:{tenant}:{team}".encode(), hashlib.sha256).hexdigest()[:32]


def feed_path(tenant: TenantConfig, team: str) -> str | None:
    if tenant.calendar_secret is None:
        return None
    return f"/calendar/{tenant.id}/{team}/{feed_token(tenant.calendar_secret, tenant.id, team)}.ics"


def _bookings(db: Database, tenant: TenantConfig, team: str) -> dict[tuple[str, str], dict[str, object]]:
    """The latest state of every booking of the team (by occurred_at, then arrival), cancelled ones dropped."""
    placeholders = ", ".join("?" for _ in tenant.platforms)
    rows = db.query(
        "SELECT i.platform, i.event FROM event_subjects s JOIN inbox i ON i.seq = s.seq WHERE s.tenant = ?"
        f" AND s.platform IN ({placeholders}) AND s.subject = ? AND i.event_type = 'supervision.booked'"
        f" AND i.state IN {FOLDED_STATES} ORDER BY i.occurred_at, i.seq",
        (tenant.id, *tenant.platforms, f"team:{team}"),
    )
    latest: dict[tuple[str, str], dict[str, object]] = {}
    for platform, text in rows:
        event = json.loads(text)
        latest[(platform, str(event["booking_id"]))] = event
    return {k: v for k, v in latest.items() if v["status"] != "cancelled" and v.get("team_id") == team}


def team_calendar(db: Database, tenant: TenantConfig, team: str, today: date) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//supervision connector//team calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Team {team} supervision")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for (platform, booking_id), booking in sorted(_bookings(db, tenant, team).items()):
        starts = datetime.fromisoformat(str(booking["starts_at"]))
        event = Event()
        event.add("uid", f"booking-{tenant.id}-{platform}-{booking_id}@supervision-connector")
        event.add("dtstamp", datetime.fromisoformat(str(booking["occurred_at"])))
        event.add("dtstart", starts)
        event.add("dtend", starts + timedelta(minutes=int(str(booking["duration_minutes"]))))
        event.add(
            "summary", f"{label(str(booking['kind'])).capitalize()} booked: worker {booking['worker_id']}"
        )
        event.add("categories", ["BOOKED"])
        calendar.add_component(event)
    rows = db.query(
        "SELECT reference, kind, assignee_id, holder, due_date, updated_at FROM obligations"
        " WHERE tenant = ? AND team_id = ? AND status = 'open' ORDER BY due_date, reference",
        (tenant.id, team),
    )
    for row in rows:
        due = date.fromisoformat(row["due_date"])
        worker = row["assignee_id"] if row["holder"] == "-" else row["holder"]
        event = Event()
        event.add(
            "uid", f"due-{hashlib.sha256(row['reference'].encode()).hexdigest()[:24]}@supervision-connector"
        )
        event.add("dtstamp", datetime.fromisoformat(row["updated_at"]) if "T" in row["updated_at"] else due)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        overdue = " (overdue)" if due < today else ""
        event.add("summary", f"{label(row['kind']).capitalize()} due{overdue}: worker {worker}")
        event.add("transp", "TRANSPARENT")
        event.add("categories", ["DUE"])
        calendar.add_component(event)
    return bytes(calendar.to_ical())
