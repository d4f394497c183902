"""Done-when: what a lost webhook left out is repaired by the nightly reconcile of a full extract."""

from __future__ import annotations

import csv
import dataclasses
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from tests.support.config_file import write_config
from tests.support.sandbox_extract import TENANT, export_state, hear_month

from connector.cli import main
from connector.config import Config, load_config_file
from connector.importing.importer import ImportResult, import_extract, plan_files
from connector.pipeline.compaction import apply_compaction
from connector.pipeline.processor import Processor
from connector.store.database import Database

LONDON = ZoneInfo("Europe/London")


def _full_extract(tmp_path: Path) -> list[Path]:
    """The month's final state as a data mart reports it, from a connector that heard every webhook."""
    folder = tmp_path / "complete"
    folder.mkdir()
    config = load_config_file(write_config(folder))
    db = Database(config.database)
    db.migrate()
    hear_month(db, config)
    files = export_state(db, tmp_path)
    db.close()
    return files


def _connector(tmp_path: Path, missed: frozenset[str]) -> tuple[Config, Database]:
    config = load_config_file(write_config(tmp_path))
    db = Database(config.database)
    db.migrate()
    hear_month(db, config, missed)
    return config, db


def _reconcile(db: Database, config: Config, files: list[Path]) -> ImportResult:
    taken = datetime.combine(datetime(2026, 11, 30).date(), time(23, 0), LONDON)
    result = import_extract(
        db, TENANT, "mosaic", plan_files(files, "mosaic", None), taken, reconcile_state=True
    )
    Processor(db, config, lambda: taken.date()).run_until_idle()
    return result


def _open(db: Database, case_id: str) -> set[tuple[str, str, str]]:
    rows = db.query(
        "SELECT kind, holder, due_date FROM obligations WHERE status = 'open' AND case_id = ?", (case_id,)
    )
    return {(r["kind"], r["holder"], r["due_date"]) for r in rows}


def test_an_allocation_the_connector_never_heard_of_is_repaired_and_explained(tmp_path: Path) -> None:
    files = _full_extract(tmp_path)
    # The webhook allocating child 100206 to worker 5523 on 26 November was lost.
    config, db = _connector(tmp_path, frozenset({"evt_sbx_0026"}))
    assert ("case_supervision", "5523", "2026-12-24") not in _open(db, "100206")

    result = _reconcile(db, config, files)
    assert result.corrections is not None and result.corrections.allocated == 1
    assert result.corrections.total == 1  # nothing else differs
    assert _open(db, "100206") == {("case_supervision", "5523", "2026-12-24")}
    (source,) = db.query("SELECT webhook_id, source FROM inbox WHERE source = 'reconcile'")
    assert source["webhook_id"].startswith("reconcile:2026-11-30:")

    # Run again (the next night's extract says the same): nothing is left to correct.
    again = _reconcile(db, config, files)
    assert again.corrections is not None and again.corrections.total == 0 and again.stored == 0
    db.close()

    explained = CliRunner().invoke(
        main,
        ["explain", "--config", str(tmp_path / "connector.toml"), "--tenant", TENANT, "--person", "100206"],
    )
    assert explained.exit_code == 0, explained.output
    assert "counted from: allocation on 2026-11-26 (from the reconcile of 2026-11-30)" in explained.output


def test_an_allocation_the_extract_lacks_is_deallocated(tmp_path: Path) -> None:
    files = _full_extract(tmp_path)
    # The de-allocation of worker 5521 from child 100206 was lost: the connector still has them both.
    config, db = _connector(tmp_path, frozenset({"evt_sbx_0025"}))
    assert {holder for _, holder, _ in _open(db, "100206")} == {"5521", "5523"}
    result = _reconcile(db, config, files)
    assert result.corrections is not None and result.corrections.deallocated == 1
    assert {holder for _, holder, _ in _open(db, "100206")} == {"5523"}
    db.close()


def test_a_changed_worker_and_status_are_corrected(tmp_path: Path) -> None:
    files = _full_extract(tmp_path)
    config, db = _connector(tmp_path, frozenset())
    workers = files[0]
    rows = list(csv.DictReader(workers.open()))
    rows[1]["supervisor_id"] = "5522"  # worker 5521 has a new supervisor upstream
    with workers.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    statuses = files[2]
    text = statuses.read_text().splitlines()
    first = text[1].split(",")
    first[1] = "CIN" if first[1] != "CIN" else "CP"
    statuses.write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n")

    result = _reconcile(db, config, files)
    assert result.corrections is not None
    assert (result.corrections.workers, result.corrections.statuses) == (1, 1)
    assert result.corrections.allocated == result.corrections.deallocated == 0
    db.close()


def test_a_compacted_connector_reconciles_against_its_bases_and_finds_nothing_to_correct(
    tmp_path: Path,
) -> None:
    files = _full_extract(tmp_path)
    config, db = _connector(tmp_path, frozenset())
    # A month on with a 30-day window, the month's events are folded into the bases and mostly deleted.
    short = dataclasses.replace(
        config,
        tenants={tid: dataclasses.replace(t, compact_after_days=30) for tid, t in config.tenants.items()},
    )
    counts = apply_compaction(db, short, date(2027, 1, 15))
    assert counts.events_deleted > 0
    held = _open(db, "100206")
    result = _reconcile(db, config, files)
    assert result.corrections is not None and result.corrections.total == 0
    # The extract's supervisions are stored as the import's own events the first time (as without compaction),
    # and the next night's extract finds nothing new.
    again = _reconcile(db, config, files)
    assert again.corrections is not None and again.corrections.total == 0 and again.stored == 0
    assert _open(db, "100206") == held
    assert db.scalar("SELECT COUNT(*) FROM inbox WHERE state = 'failed'") == 0
    db.close()
