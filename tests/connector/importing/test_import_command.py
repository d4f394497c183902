"""`connector import`: rows validated with the webhook schemas, bad rows named, stored once however often run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.config_file import write_config
from tests.support.harness import make_config

from connector.cli import main
from connector.importing.command import ImportCommandError, run_import
from connector.store.database import Database

HEADER = "person_id,worker_id,team_id,relationship,start_date,child_name\n"
GOOD = [
    "100234,5521,310,ALLWKR,2026-11-02,Alice Example\n",
    "100235,5521,310,INVWKR,2026-10-01,Bob Example\n",
]


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    return run_on(tmp_path, "mosaic", *args)


def run_on(tmp_path: Path, platform: str, *args: str) -> tuple[int, str, str]:
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        main,
        ["import", "--config", str(config), "--tenant", "lincolnshire", "--platform", platform, *args],
    )
    return result.exit_code, result.stdout, result.stderr


def inbox_rows(tmp_path: Path) -> list[dict[str, object]]:
    db = Database(tmp_path / "connector.db")
    try:
        return [
            dict(r) for r in db.query("SELECT webhook_id, event_type, event, source, occurred_at FROM inbox")
        ]
    finally:
        db.close()


def test_a_good_extract_is_stored_once_however_often_it_is_imported(tmp_path: Path) -> None:
    extract = tmp_path / "allocations.csv"
    extract.write_text(HEADER + "".join(GOOD))
    code, out, _ = run(tmp_path, "--as-of", "2026-12-01", str(extract))
    assert code == 0, out
    assert "stored 2 new event(s), 0 already held" in out
    first = inbox_rows(tmp_path)
    assert {r["event_type"] for r in first} == {"case.allocated"}
    assert all(str(r["webhook_id"]).startswith("import:") and r["source"] == "import" for r in first)
    # The extract's time, so a webhook about the same case that happened later still wins.
    assert {r["occurred_at"] for r in first} == {"2026-12-01T00:00:00+00:00"}
    # Least data: a column the layout does not name (here a child's name) is never stored.
    assert not any("Example" in str(r["event"]) for r in first)

    code, out, _ = run(tmp_path, "--as-of", "2026-12-02", str(extract))
    assert code == 0 and "stored 0 new event(s), 2 already held" in out
    assert inbox_rows(tmp_path) == first


def test_a_file_with_a_bad_row_is_refused_whole_naming_file_line_and_field(tmp_path: Path) -> None:
    extract = tmp_path / "allocations.csv"
    extract.write_text(HEADER + GOOD[0] + "100236,5521,310,ALLWKR,2026-13-45,Carol\n" + GOOD[1])
    code, _, err = run(tmp_path, "--as-of", "2026-12-01", str(extract))
    assert code == 2
    assert "  allocations.csv:3: data.start_date: Not a valid date." in err.splitlines()
    assert err.splitlines()[-1] == (
        "connector: error: 1 bad row(s); nothing was stored (fix them, or give --skip-bad-rows)"
    )
    assert inbox_rows(tmp_path) == []


def test_skip_bad_rows_stores_the_good_ones_and_lists_the_bad(tmp_path: Path) -> None:
    extract = tmp_path / "allocations.csv"
    extract.write_text(HEADER + GOOD[0] + "x100,5521,310,BOSS,2026-11-02,Carol\n" + GOOD[1])
    code, out, err = run(tmp_path, "--as-of", "2026-12-01", "--skip-bad-rows", str(extract))
    assert code == 0, err
    assert "allocations.csv:3: data.person_id: Not a valid integer." in err
    assert "allocations.csv:3: data.relationship: Must be one of: ALLWKR, LEADPROF, INVWKR." in err
    assert "stored 2 new event(s), 0 already held; 1 bad row(s) skipped" in out
    assert len(inbox_rows(tmp_path)) == 2


def test_json_lines_rows_keep_their_types_and_may_carry_their_own_time(tmp_path: Path) -> None:
    extract = tmp_path / "workers.jsonl"
    rows = [
        {
            "worker_id": 5521,
            "team_id": 310,
            "supervisor_id": None,
            "job_role": "SOCIAL_WORKER",
            "case_holding": True,
            "supervises_case_holders": False,
            "frontline": True,
            "asye": False,
            "employment": "permanent",
            "start_date": "2021-09-01",
            "occurred_at": "2026-11-20T09:00:00Z",
            "name": "Dana Example",
        },
        {"worker_id": "5522", "team_id": 310},
    ]
    extract.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    code, _, err = run(tmp_path, str(extract))
    assert code == 2
    lines = err.splitlines()
    assert "  workers.jsonl:2: data.worker_id: Not a valid integer." in lines
    assert "  workers.jsonl:2: data.job_role: Missing data for required field." in lines
    assert any(line.startswith("  workers.jsonl:3: row: Not valid JSON") for line in lines)
    code, _, err = run(tmp_path, "--skip-bad-rows", str(extract))
    assert code == 0, err
    (stored,) = inbox_rows(tmp_path)
    assert stored["occurred_at"] == "2026-11-20T09:00:00+00:00"
    assert "Dana" not in str(stored["event"])


def test_operator_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    odd = tmp_path / "people.csv"
    odd.write_text("a\n1\n")
    code, _, err = run(tmp_path, str(odd))
    assert code == 2 and err.startswith("connector: error: people.csv: cannot tell the record kind")
    short = tmp_path / "allocations.csv"
    short.write_text("person_id,worker_id\n1,2\n")
    code, _, err = run(tmp_path, str(short))
    assert code == 2
    assert err.strip() == (
        "connector: error: allocations.csv:1: header: missing column(s) team_id, relationship, start_date"
        " (the allocations layout has person_id, worker_id, team_id, relationship, start_date, optionally occurred_at)"
    )
    code, _, err = run(tmp_path, "--as-of", "2026-12-01T02:00", str(short))
    assert code == 2 and "--as-of: '2026-12-01T02:00' has no UTC offset" in err
    code, _, err = run(tmp_path, "--kind", "bookings", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv: no such file" in err


def test_progress_goes_to_stderr_only_when_asked_or_on_a_terminal(tmp_path: Path) -> None:
    extract = tmp_path / "allocations.csv"
    extract.write_text(HEADER + "".join(GOOD))
    code, _, err = run(tmp_path, "--progress", str(extract))
    assert code == 0, err
    # click draws the moving bar only on a terminal; elsewhere it names the file being read.
    assert err.splitlines() == ["allocations.csv"]
    code, _, err = run(tmp_path, str(extract))  # not a terminal and not asked: nothing
    assert code == 0 and err == ""


def test_a_platform_the_tenant_does_not_use_is_refused_in_one_line(tmp_path: Path) -> None:
    mosaic_only = make_config(tmp_path, "http://127.0.0.1:9/api")
    extract = tmp_path / "allocations.csv"
    extract.write_text(
        "yp_id,case_manager_id,yot_team,role,start_date\nYP1,CM1,YOT-N,CASE_MANAGER,2026-11-02\n"
    )
    with pytest.raises(ImportCommandError) as refused:
        run_import(
            mosaic_only, "lincolnshire", "childview", [extract], datetime.now(UTC), None, False, False, False
        )
    assert str(refused.value) == "--platform: tenant 'lincolnshire' has no childview platform configured"
    assert not (tmp_path / "connector.db").exists()  # refused before the database is opened
