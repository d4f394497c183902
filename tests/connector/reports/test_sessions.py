"""Records within their deadline (with the held-to-recorded gap) and actions past due with no review."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.connector.reports.support import TODAY, recorded, tenant

from connector.pipeline.inbox import Inbox
from connector.reports.sessions import open_actions, record_tally, recorded_sessions
from connector.store.database import Database
from rules.events import Action


def test_each_session_has_its_gap_and_whether_it_met_the_three_working_days(
    db: Database, tmp_path: Path
) -> None:
    inbox = Inbox(db)
    recorded(
        inbox, "e1", date(2026, 5, 1), date(2026, 5, 6)
    )  # Fri -> Wed: 3 working days (4 May bank holiday)
    recorded(inbox, "e2", date(2026, 5, 11), date(2026, 5, 20))  # 9 days later: late
    sessions = recorded_sessions(db, tenant(tmp_path), date(2026, 1, 1), date(2026, 6, 30))
    assert [(s.gap_days, s.within_deadline, s.rule_id) for s in sessions] == [
        (5, True, "LINC-REC"),
        (9, False, "LINC-REC"),
    ]
    tally = record_tally(sessions)
    assert (tally.within_deadline, tally.with_deadline, tally.within_percent, tally.gap_days_max) == (
        1,
        2,
        50.0,
        9,
    )


def test_a_team_filter_reads_only_that_teams_sessions(db: Database, tmp_path: Path) -> None:
    inbox = Inbox(db)
    recorded(inbox, "e1", date(2026, 5, 1), date(2026, 5, 1))
    recorded(inbox, "e2", date(2026, 5, 1), date(2026, 5, 1), team="320")
    sessions = recorded_sessions(db, tenant(tmp_path), date(2026, 1, 1), date(2026, 6, 30), team="320")
    assert [s.team_id for s in sessions] == ["320"]


def test_an_action_past_due_with_no_later_case_supervision_is_listed(db: Database, tmp_path: Path) -> None:
    inbox = Inbox(db)
    actions = (Action("5521", date(2026, 5, 1)), Action("5500", date(2026, 7, 1)))
    recorded(inbox, "e1", date(2026, 4, 1), date(2026, 4, 2), cases=("100234", "100235"), actions=actions)
    # 100235 was supervised again: its actions were reviewed. A personal supervision reviews nothing.
    recorded(inbox, "e2", date(2026, 5, 10), date(2026, 5, 10), cases=("100235",))
    recorded(inbox, "e3", date(2026, 5, 10), date(2026, 5, 10), kind="personal", cases=())
    found = open_actions(db, tenant(tmp_path), TODAY)
    assert [(a.case_id, a.owner_worker_id, a.due_date, a.days_past_due) for a in found] == [
        ("100234", "5521", date(2026, 5, 1), 45)
    ]
    assert open_actions(db, tenant(tmp_path), TODAY, team="320") == []
