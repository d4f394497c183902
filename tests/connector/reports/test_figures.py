"""Figures on hand-built histories: on time, late with days late, missed, pending, open and overdue now."""

from __future__ import annotations

from datetime import date

from tests.connector.reports.support import TODAY, closed, open_obligation

from connector.reports.figures import compliance_figures, figures_json
from connector.store.database import Database

START, END = date(2026, 1, 1), date(2026, 6, 30)


def history(db: Database) -> None:
    closed(db, "a", "2026-03-10", "met", "2026-03-09", "2026-03-09", 0)  # on time
    closed(db, "b", "2026-04-07", "met", "2026-04-12", "2026-04-12", 5)  # late by 5
    closed(db, "c", "2026-05-05", "withdrawn", None, "2026-05-20", 15)  # missed: withdrawn past due
    closed(db, "d", "2026-05-26", "withdrawn", None, "2026-05-01", 0)  # never owed: left out
    open_obligation(db, "e", "2026-06-02")  # missed so far, and overdue now
    open_obligation(db, "f", "2026-06-30")  # pending
    open_obligation(db, "g", "2026-08-01", team="320", worker="6001")  # outside the range, open now
    closed(db, "h", "2025-12-01", "met", "2025-12-20", "2025-12-20", 19)  # outside the range


def test_each_cycle_is_classed_by_how_it_ended(db: Database) -> None:
    history(db)
    figures = compliance_figures(db, "lincolnshire", START, END, TODAY)
    total = figures.total
    assert (total.due, total.on_time, total.late, total.missed, total.pending) == (5, 1, 1, 2, 1)
    assert (total.days_late, total.max_days_late, total.mean_days_late) == (5, 5, 5.0)
    assert total.on_time_percent == 25.0  # 1 of the 4 whose due date has come
    assert (total.open_now, total.overdue_now) == (3, 1)


def test_figures_by_team_worker_kind_and_month(db: Database) -> None:
    history(db)
    figures = compliance_figures(db, "lincolnshire", START, END, TODAY)
    assert set(figures.teams) == {"310", "320"}
    assert figures.teams["320"].due == 0 and figures.teams["320"].open_now == 1
    assert figures.workers[("310", "5521")].late == 1
    assert figures.kinds["case_supervision"].missed == 2
    assert figures.months["2026-05"].missed == 1 and figures.months["2026-03"].on_time == 1
    assert figures.team_months[("310", "2026-06")].missed == 1
    assert figures.month_range()[0] == "2026-01" and figures.month_range()[-1] == "2026-06"


def test_a_team_filter_keeps_only_that_team(db: Database) -> None:
    history(db)
    figures = compliance_figures(db, "lincolnshire", START, END, TODAY, team="320")
    assert figures.total.due == 0 and figures.total.open_now == 1
    assert figures.total.on_time_percent is None
    assert figures_json(figures)["teams"] == [{"team_id": "320", **figures.teams["320"].as_json()}]


def test_a_new_kind_simply_appears(db: Database) -> None:
    open_obligation(db, "x", "2026-06-01", kind="supervision_booking")
    assert compliance_figures(db, "lincolnshire", START, END, TODAY).kinds["supervision_booking"].missed == 1


def test_another_tenants_cycles_are_not_counted(db: Database) -> None:
    history(db)
    assert compliance_figures(db, "bracknell", START, END, TODAY).total.due == 0
