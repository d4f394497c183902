"""`connector import --platform childview`: a Youth Offending Service extract (staff, allocations with roles,
disposals, oversight records) builds what its webhooks build, and a full one reconciles looked-after status."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from tests.support.config_file import write_config

from adapters.registry import get_adapter
from connector.cli import main
from connector.config import load_config_file
from connector.importing.importer import import_extract, plan_files
from connector.pipeline.inbox import Inbox
from connector.pipeline.processor import Processor
from connector.sandbox.samples import sample_months
from connector.store.database import Database
from rules.events import CaseStatusChanged

TENANT = "lincolnshire"
TAKEN = "2026-11-30T23:00:00Z"

# The sandbox's YOS month (connector/sandbox/data/lincolnshire_yos_month.json) as a data mart reports it at the
# month's end. A name column no layout declares, and the text of an agreed action, must never be stored.
EXTRACT = {
    "workers.csv": (
        "staff_id,yot_team,manager_id,case_holding,supervises_case_holders,asye,employment,start_date,name\n"
        "TM-0007,YOT-NORTH,,false,true,false,permanent,2018-06-01,Tess Manager\n"
        "CM-0042,YOT-NORTH,TM-0007,true,false,false,permanent,2020-04-01,Cal Manager\n"
        "CM-0050,YOT-NORTH,TM-0007,true,false,false,permanent,2022-09-05,Cara Manager\n"
    ),
    "allocations.csv": (
        "yp_id,case_manager_id,yot_team,role,start_date\n"
        "YP-00412,CM-0042,YOT-NORTH,CASE_MANAGER,2026-11-02\n"
        "YP-00412,CM-0050,YOT-NORTH,SUPPORTING,2026-11-04\n"
        "YP-00413,CM-0050,YOT-NORTH,CASE_MANAGER,2026-11-09\n"
    ),
    "statuses.csv": (
        "yp_id,disposal,start_date,looked_after\n"
        "YP-00412,YRO,2026-11-02,\n"
        "YP-00413,DTO_COMMUNITY,2026-11-09,true\n"
    ),
    "supervisions.jsonl": (
        '{"kind": "case", "staff_id": "CM-0042", "manager_id": "TM-0007", "yp_ids": ["YP-00412"],'
        ' "held_on": "2026-11-20", "recorded_on": "2026-11-20", "significant": false,'
        ' "actions": [{"text": "Review the intervention plan"}]}\n'
        '{"kind": "personal", "staff_id": "CM-0050", "manager_id": "TM-0007", "yp_ids": [],'
        ' "held_on": "2026-11-12", "recorded_on": "2026-11-12", "significant": false}\n'
    ),
}


def write_extract(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name, text in EXTRACT.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths


def hear_yos_month(folder: Path, change: dict[str, dict[str, Any]] | None = None) -> tuple[Database, Any]:
    """A connector that heard the YOS month as webhooks (`change`: event id -> data fields sent otherwise)."""
    folder.mkdir(exist_ok=True)
    config = load_config_file(write_config(folder))
    db = Database(config.database)
    db.migrate()
    [month] = [m for m in sample_months() if m["platform"] == "childview"]
    adapter, inbox = get_adapter("childview"), Inbox(db)
    for body in month["events"]:
        body = {**body, "data": {**body["data"], **(change or {}).get(body["id"], {})}}
        inbox.accept(TENANT, "childview", body["id"], adapter.parse_event(body))
    as_of = datetime.fromisoformat(TAKEN).date()
    Processor(db, config, lambda: as_of).run_until_idle()
    return db, config


def open_obligations(db: Database) -> dict[tuple[str, str, str, str], list[str]]:
    rows = db.query("SELECT * FROM obligations WHERE status = 'open' AND platform = 'childview'")
    return {
        (r["kind"], r["case_id"], r["holder"], r["assignee_id"]): [rule[0] for rule in json.loads(r["rules"])]
        for r in rows
    }


def test_a_childview_extract_is_imported_and_builds_what_its_webhooks_built(tmp_path: Path) -> None:
    files = write_extract(tmp_path / "extract")
    config_path = write_config(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            *("import", "--config", str(config_path), "--tenant", TENANT, "--platform", "childview"),
            *("--as-of", TAKEN, *map(str, files)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "workers.csv: 3 workers row(s)",
        "allocations.csv: 3 allocations row(s)",
        "statuses.csv: 2 statuses row(s)",
        "supervisions.jsonl: 2 supervisions row(s)",
        "stored 10 new event(s), 0 already held",
    ]

    config = load_config_file(config_path)
    imported = Database(config.database)
    stored = imported.query("SELECT platform, event_type, event, source FROM inbox")
    assert {(r["platform"], r["source"]) for r in stored} == {("childview", "import")}
    assert not any("Manager" in r["event"] or "intervention" in r["event"] for r in stored)
    [looked_after] = [
        json.loads(r["event"])
        for r in stored
        if "YP-00413" in r["event"] and r["event_type"] == "case.status_changed"
    ]
    assert looked_after["status"] == "DTO_COMMUNITY" and looked_after["looked_after"] is True
    Processor(imported, config, lambda: datetime.fromisoformat(TAKEN).date()).run_until_idle()
    extract = open_obligations(imported)
    imported.close()

    heard, _ = hear_yos_month(tmp_path / "heard")
    webhooks = open_obligations(heard)
    heard.close()
    # The same obligations for every young person, clock holder and assignee, under the same rules (a date
    # counted from an allocation may differ: at go-live it counts from the day the connector was told).
    assert webhooks and extract == webhooks
    assert {key[1] for key in webhooks} >= {"YP-00412", "YP-00413"}


def test_a_reconcile_corrects_a_young_persons_looked_after_status(tmp_path: Path) -> None:
    files = write_extract(tmp_path / "extract")
    # The connector heard YP-00413's disposal without its looked-after flag being set.
    db, _ = hear_yos_month(tmp_path / "held", {"evt_sbx_yos_0009": {"looked_after": False}})
    taken = datetime.fromisoformat(TAKEN)
    result = import_extract(
        db, TENANT, "childview", plan_files(files, "childview", None), taken, reconcile_state=True
    )
    assert result.corrections is not None
    assert (result.corrections.statuses, result.corrections.total) == (1, 1)  # nothing else differs
    [corrective] = [
        e
        for e in Inbox(db).events_about(TENANT, "childview", "case:YP-00413")
        if isinstance(e, CaseStatusChanged) and e.event_id.startswith("reconcile:")
    ]
    assert corrective.looked_after is True and corrective.status == "DTO_COMMUNITY"

    again = import_extract(
        db, TENANT, "childview", plan_files(files, "childview", None), taken, reconcile_state=True
    )
    assert again.corrections is not None and again.corrections.total == 0 and again.stored == 0
    db.close()
