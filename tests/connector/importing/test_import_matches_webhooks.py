"""Done-when: a connector fed the sandbox month's final state as an extract holds the same open obligations as
one that heard the month through webhooks."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.harness import make_config
from tests.support.sandbox_extract import TENANT, export_state, hear_month

from connector.importing.importer import import_extract, plan_files
from connector.pipeline.processor import Processor
from connector.store.database import Database

GO_LIVE = "first event the connector received about the case"


def open_obligations(db: Database) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Keyed by what an obligation is (kind, child, whose clock, who does it); the rest is compared per item."""
    return {
        (r["kind"], r["case_id"], r["holder"], r["assignee_id"]): {
            "due_date": r["due_date"],
            "rules": [rule[0] for rule in json.loads(r["rules"])],
            "counted_from": (r["counted_from_fact"], r["counted_from_date"]),
        }
        for r in db.query("SELECT * FROM obligations WHERE status = 'open'")
    }


def test_an_extract_with_the_platforms_timestamps_holds_exactly_the_obligations_the_webhooks_built(
    tmp_path: Path,
) -> None:
    """The issue's done-when, to the letter: an extract that says when each record was first made on the
    platform (as a data mart's created timestamps do) gives the same open obligations, due dates and reasons."""
    (tmp_path / "heard").mkdir()
    (tmp_path / "imported").mkdir()
    heard_config = make_config(tmp_path / "heard", "http://127.0.0.1:9/api")
    heard = Database(heard_config.database)
    heard.migrate()
    as_of = hear_month(heard, heard_config)
    files = export_state(heard, tmp_path, with_times=True)

    imported_config = make_config(tmp_path / "imported", "http://127.0.0.1:9/api")
    imported = Database(imported_config.database)
    imported.migrate()
    taken = datetime.combine(as_of, time(23, 0), ZoneInfo("Europe/London"))
    result = import_extract(imported, TENANT, "mosaic", plan_files(files, "mosaic", None), taken)
    assert not result.refused and result.bad_rows == 0
    Processor(imported, imported_config, lambda: as_of).run_until_idle()
    webhooks, extract = open_obligations(heard), open_obligations(imported)
    heard.close()
    imported.close()
    assert len(webhooks) >= 10
    assert extract == webhooks


def test_an_extract_without_timestamps_counts_first_due_dates_from_go_live(tmp_path: Path) -> None:
    (tmp_path / "heard").mkdir()
    (tmp_path / "imported").mkdir()
    heard_config = make_config(tmp_path / "heard", "http://127.0.0.1:9/api")
    heard = Database(heard_config.database)
    heard.migrate()
    as_of = hear_month(heard, heard_config)
    files = export_state(heard, tmp_path)

    imported_config = make_config(tmp_path / "imported", "http://127.0.0.1:9/api")
    imported = Database(imported_config.database)
    imported.migrate()
    taken = datetime.combine(as_of, time(23, 0), ZoneInfo("Europe/London"))
    result = import_extract(imported, TENANT, "mosaic", plan_files(files, "mosaic", None), taken)
    assert not result.refused and result.bad_rows == 0
    Processor(imported, imported_config, lambda: as_of).run_until_idle()

    webhooks, extract = open_obligations(heard), open_obligations(imported)
    heard.close()
    imported.close()
    # The same obligations: every kind, child, clock holder and assignee, under the same rules.
    assert extract.keys() == webhooks.keys()
    assert len(webhooks) >= 10
    same_date = 0
    for key, want in webhooks.items():
        got = extract[key]
        assert got["rules"] == want["rules"], key
        if got["due_date"] == want["due_date"]:
            assert got["counted_from"] == want["counted_from"], key
            same_date += 1
            continue
        # The one intended difference (rule 13, go-live): a first due date the webhooks counted from an
        # allocation the connector saw happen counts, for a caseload it is told about only at go-live, from the
        # day it was told, so nothing is overdue on day one. Dates from a session held are unaffected.
        assert got["counted_from"] == (GO_LIVE, as_of.isoformat()), key
        assert want["counted_from"][0] == "allocation", key
        assert got["due_date"] > want["due_date"], key
    # Only allocations the webhooks saw happen differ (each checked above); everything else is the same.
    assert same_date >= len(webhooks) // 2
