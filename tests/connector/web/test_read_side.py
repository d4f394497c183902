"""Why each due date is due: the read API, `connector explain`, and re-evaluation when the rules change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from tests.connector.pipeline.one_case import ALLOCATED
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import NOW, Connector, config_document, config_toml, event, signed, start_connector

from connector.cli import main
from connector.config import parse_config
from connector.service import Service
from connector.web.app import create_app

TOKEN = "admin-token-of-sixteen-chars"
INVOLVED = event(
    "evt_b",
    "case.allocated",
    "2026-11-03T09:30:00Z",
    person_id=100234,
    worker_id=5523,
    team_id=311,
    relationship="INVWKR",
    start_date="2026-11-03",
)


def document(tmp_path: Path, base_url: str) -> dict[str, Any]:
    doc = config_document(tmp_path, base_url)
    doc["service"] = {"admin_token": TOKEN}
    return doc


@pytest.fixture
def connector(tmp_path: Path, httpserver: HTTPServer) -> Iterator[Connector]:
    mosaic = FakeMosaic(httpserver).install()
    config = parse_config(document(tmp_path, mosaic.base_url), base_dir=tmp_path, environ={})
    running = start_connector(config, today=date(2026, 12, 5))
    for item in (ALLOCATED, INVOLVED):
        assert running.post(item).status_code == 202
    running.service.drain()
    yield running
    running.close()


def get(connector: Connector, query: str = "", token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return connector.client.get(f"/api/tenants/lincolnshire/obligations{query}", headers=headers)


def test_the_api_explains_every_open_obligation(connector: Connector) -> None:
    body = get(connector).get_json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["kind"] == "case_supervision"
    assert first["person_id"] == "100234" and first["worker_id"] == "5521"
    assert first["due_date"] == "2026-11-30"
    assert first["overdue"] is True and first["days_overdue"] == 5
    assert [r["id"] for r in first["rules"]] == ["LINC-CS-ALLOC", "LINC-CS-FLOOR"]
    assert first["rules"][0]["source"] == "5.1.1, 5.1.6"
    assert first["counted_from"] == {"fact": "allocation", "date": "2026-11-02", "source": None}
    assert "due by 30 Nov 2026" in first["explanation"]
    assert first["written"] is True


@pytest.mark.parametrize(
    ("query", "workers"),
    [
        ("?worker=5523", ["5523"]),
        ("?person=100234", ["5521", "5523"]),
        ("?team=311", ["5523"]),
        ("?kind=case_supervision&state=overdue", ["5521", "5523"]),
        ("?state=overdue&worker=5521", ["5521"]),
        ("?person=999", []),
    ],
)
def test_filters(connector: Connector, query: str, workers: list[str]) -> None:
    assert [i["worker_id"] for i in get(connector, query).get_json()["items"]] == workers


def test_bad_filters_are_named(connector: Connector) -> None:
    response = get(connector, "?kind=lunch&state=late&colour=blue")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"kind", "state", "colour"}


def test_the_api_needs_the_admin_token(connector: Connector) -> None:
    assert get(connector, token=None).status_code == 401
    assert get(connector, token="wrong-token").status_code == 401
    assert (
        connector.client.get(
            "/api/tenants/nowhere/obligations", headers={"Authorization": f"Bearer {TOKEN}"}
        ).status_code
        == 404
    )


def test_explain_prints_why_for_a_person_and_a_worker(connector: Connector, tmp_path: Path) -> None:
    config_path = tmp_path / "c.toml"
    doc = document(tmp_path, "http://127.0.0.1:9/api")
    config_path.write_text(config_toml(doc))
    connector.service.db.close()
    result = CliRunner().invoke(
        main, ["explain", "--config", str(config_path), "--tenant", "lincolnshire", "--person", "100234"]
    )
    assert result.exit_code == 0, result.output
    assert "rule LINC-CS-ALLOC (policy 5.1.1, 5.1.6)" in result.output
    assert "counted from: allocation on 2026-11-02" in result.output
    assert "due 2026-12-01" in result.output  # the involved worker's own four weeks from 3 Nov
    # The ladder of each: its dates and recipients, and a rung nobody holds said to be skipped.
    assert "reminder 2026-11-23 to the assignee: worker 5521" in result.output
    assert "reminder 2026-11-30 to the supervisor: skipped: no supervisor is known for worker 5521" in (
        result.output
    )
    assert "escalation 2026-12-07 to the supervisor of supervisor: skipped" in result.output
    result = CliRunner().invoke(
        main, ["explain", "--config", str(config_path), "--tenant", "lincolnshire", "--worker", "5523"]
    )
    assert (
        "LINC-CS-ALLOC" in result.output
        and "5521" not in result.output.split("open obligation")[1].split("rule")[0]
    )
    result = CliRunner().invoke(
        main, ["explain", "--config", str(config_path), "--tenant", "nowhere", "--worker", "5523"]
    )
    assert result.exit_code == 2 and result.output.startswith("connector: error: --tenant")


def test_a_changed_rule_pack_reevaluates_at_the_next_start(tmp_path: Path, httpserver: HTTPServer) -> None:
    mosaic = FakeMosaic(httpserver).install()
    pack = tmp_path / "council.toml"
    third_council = Path(__file__).resolve().parents[2] / "rules" / "packs" / "test-council.toml"
    pack.write_text(third_council.read_text())
    doc = document(tmp_path, mosaic.base_url)
    doc["tenants"][0]["rule_pack"] = str(pack)

    def start() -> Service:
        return Service(parse_config(doc, base_dir=tmp_path, environ={}), today=lambda: date(2026, 11, 10))

    service = start()
    service.reevaluate_if_rules_changed()
    client = create_app(service, clock=lambda: NOW).test_client()
    body, headers = signed(ALLOCATED)
    assert client.post("/webhooks/lincolnshire/mosaic", data=body, headers=headers).status_code == 202
    service.drain()
    assert [s["due_date"] for s in mosaic.open_steps()] == ["2026-12-14"]  # six weekly
    service.close()

    # The council edits its pack: six weeks become four.
    pack.write_text(
        pack.read_text().replace("every six weeks", "every four weeks").replace("days = 42", "days = 28")
    )
    service = start()
    changed = service.reevaluate_if_rules_changed()
    service.drain()
    assert changed["lincolnshire"].moved == 1
    assert [s["due_date"] for s in mosaic.open_steps()] == ["2026-11-30"]
    assert "every four weeks" in mosaic.open_steps()[0]["notes"]
    assert service.reevaluate_if_rules_changed() == {}  # nothing changed since: nothing re-evaluated
    service.close()


def test_an_upgrade_that_changes_the_engine_reevaluates_at_the_next_start(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.pipeline import rule_change

    mosaic = FakeMosaic(httpserver).install()
    doc = document(tmp_path, mosaic.base_url)

    def start() -> Service:
        return Service(parse_config(doc, base_dir=tmp_path, environ={}), today=lambda: date(2026, 11, 10))

    first = start()
    assert first.reevaluate_if_rules_changed() == {}  # a new database: nothing to re-evaluate yet
    first.close()
    again = start()
    assert again.reevaluate_if_rules_changed() == {}  # same pack, same engine: nothing
    again.close()
    monkeypatch.setattr(rule_change, "engine_digest", lambda: "another engine")
    upgraded = start()
    assert "lincolnshire" in upgraded.reevaluate_if_rules_changed()  # the same pack, a new engine: all of it
    upgraded.close()
