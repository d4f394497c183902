"""/metrics: every metric the README names is there, and the numbers are the connector's."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from tests.support.fake_mosaic import FakeMosaic
from tests.support.harness import event, make_config, start_connector

from connector.observability.metrics import METRIC_NAMES

README = Path(__file__).resolve().parents[3] / "README.md"
ALLOCATED = event(
    "evt_alloc",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100234,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)


def readme_metric_names() -> set[str]:
    section = README.read_text().split("### Metrics", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `(connector_[a-z_]+)` \|", section, re.M))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_every_metric_the_readme_names_is_scraped_with_the_connectors_numbers(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    assert readme_metric_names() == set(METRIC_NAMES)
    mosaic = FakeMosaic(httpserver).install()
    connector = start_connector(make_config(tmp_path, mosaic.base_url))
    try:
        assert connector.post(ALLOCATED).status_code == 202
        assert connector.post(ALLOCATED).status_code == 200
        assert connector.post(ALLOCATED, tenant="nowhere").status_code == 404
        connector.service.processor.run_until_idle()
        before = samples(connector.client.get("/metrics").get_data(as_text=True))
        assert before[("connector_outbox_depth", ())] >= 1
        connector.service.tick(connector.service.today())  # queues a reminder and an escalation: overdue
        connector.service.drain()
        response = connector.client.get("/metrics")
    finally:
        connector.close()
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    for name in readme_metric_names():
        assert re.search(rf"^# TYPE {name} ", text, re.M), name
    got = samples(text)
    webhook = "connector_webhooks_total"
    assert got[(webhook, (("platform", "mosaic"), ("status", "202"), ("tenant", "lincolnshire")))] == 1
    assert got[(webhook, (("platform", "mosaic"), ("status", "200"), ("tenant", "lincolnshire")))] == 1
    # A tenant nobody configured does not become a label of its own (a sender cannot grow the metric).
    assert got[(webhook, (("platform", "unknown"), ("status", "404"), ("tenant", "unknown")))] == 1
    assert got[("connector_outbox_depth", ())] == 0
    assert got[("connector_dead_letters", ())] == 0
    assert got[("connector_inbox_depth", (("state", "pending"),))] == 0
    confirmed = (("outcome", "confirmed"), ("platform", "mosaic"))
    assert got[("connector_platform_writes_total", confirmed)] >= 1
    assert got[("connector_platform_write_seconds_count", (("platform", "mosaic"),))] >= 1
    assert got[("connector_tick_seconds_count", ())] == 1
    kind = (("kind", "case_supervision"), ("tenant", "lincolnshire"))
    assert got[("connector_obligations_open", kind)] == 1
    assert got[("connector_obligations_overdue", kind)] == 1  # due 30 November, today is 1 December
