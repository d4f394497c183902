"""`connector report` in its three formats, the evidence pack's CSV files, and `connector calendar-url`."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tests.connector.reports.support import closed
from tests.support.harness import config_document, config_toml, database_for

from connector.cli import main
from connector.store.database import Database

RANGE = ["--from", "2026-01-01", "--to", "2026-06-30"]


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, ["--log-level", "ERROR", *args])


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["calendar_secret"] = "c" * 20
    path = tmp_path / "connector.toml"
    path.write_text(config_toml(document))
    db = Database(database_for(tmp_path))
    db.migrate()
    closed(db, "a", "2026-03-10", "met", "2026-03-09", "2026-03-09", 0)
    closed(db, "b", "2026-04-07", "met", "2026-04-12", "2026-04-12", 5, case="100300")
    closed(
        db, "c", "2026-05-05", "withdrawn", None, "2026-05-20", 15, team="320", worker="6001", case="100400"
    )
    db.close()
    return path


def test_the_table_shows_each_team_with_its_rag(config_path: Path) -> None:
    result = run(["report", "--config", str(config_path), "--tenant", "lincolnshire", *RANGE])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("lincolnshire: cycles due 2026-01-01 to 2026-06-30")
    team_310 = next(line for line in lines if line.startswith("310"))
    assert team_310.split()[1:5] == ["2", "1", "1", "0"] and team_310.endswith("50.0% red")
    assert next(line for line in lines if line.startswith("320")).endswith("0.0% red")


def test_csv_has_a_row_per_group(config_path: Path) -> None:
    result = run(
        ["report", "--config", str(config_path), "--tenant", "lincolnshire", *RANGE, "--format", "csv"]
    )
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {(r["group"], r["team_id"] or r["kind"] or r["month"]) for r in rows} >= {
        ("team", "310"),
        ("team", "320"),
        ("kind", "case_supervision"),
        ("month", "2026-04"),
    }
    worker = next(r for r in rows if r["group"] == "worker" and r["worker_id"] == "5521")
    assert (worker["late"], worker["days_late_total"]) == ("1", "5")


def test_json_with_a_team_filter(config_path: Path) -> None:
    args = ["report", "--config", str(config_path), "--tenant", "lincolnshire", *RANGE, "--team", "320"]
    body = json.loads(run([*args, "--format", "json"]).output)
    assert body["total"]["missed"] == 1 and body["total"]["rag"] == "red"
    assert [t["team_id"] for t in body["teams"]] == ["320"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "xml"], "--format: 'xml' is not one of table, csv, json"),
        (["--from", "2026-07-01", "--to", "2026-01-01"], "--from: 2026-07-01 is after --to 2026-01-01"),
        (["--from", "July"], "--from: 'July' is not a date"),
        (["--evidence"], "--evidence needs both --from and --to"),
    ],
)
def test_bad_options_are_one_line(config_path: Path, extra: list[str], message: str) -> None:
    result = run(["report", "--config", str(config_path), "--tenant", "lincolnshire", *extra])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"connector: error: {message}")


def test_an_unknown_tenant_is_named(config_path: Path) -> None:
    result = run(["report", "--config", str(config_path), "--tenant", "nope"])
    assert result.exit_code == 2 and "--tenant: no tenant 'nope'" in result.stderr


def test_the_evidence_pack_is_a_zip_of_csv_files(config_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    result = run(
        ["report", "--config", str(config_path), "--tenant", "lincolnshire", *RANGE, "--evidence",
         "--sample", "3", "--output", str(out)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert {
            "teams.csv",
            "workers.csv",
            "sessions.csv",
            "actions_not_reviewed.csv",
            "sample_children.csv",
        } <= names
        teams = list(csv.DictReader(io.StringIO(archive.read("teams.csv").decode())))
        children = list(csv.DictReader(io.StringIO(archive.read("sample_children.csv").decode())))
    assert [(t["team_id"], t["on_time"], t["late"], t["missed"]) for t in teams] == [
        ("310", "1", "1", "0"),
        ("320", "0", "0", "1"),
    ]
    assert {c["person_id"] for c in children} == {"100234", "100300", "100400"}
    [late] = [c for c in children if c["person_id"] == "100300"]
    assert (late["held_on"], late["days_late"], late["supervisor_id"]) == (
        "2026-04-12",
        "5",
        "5500",
    )


def test_calendar_url_prints_https_and_webcal(config_path: Path) -> None:
    result = run(["calendar-url", "--config", str(config_path), "--tenant", "lincolnshire", "--team", "310",
                  "--base-url", "https://connector.example"])  # fmt: skip
    https, webcal = result.output.splitlines()
    assert https.startswith("https://connector.example/calendar/lincolnshire/310/") and https.endswith(".ics")
    assert webcal == "webcal://" + https.removeprefix("https://")
