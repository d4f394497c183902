"""GET /api/tenants/{tenant}/compliance behind the admin token, and the OpenAPI document that describes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from tests.connector.web.support_read_side import ADMIN, VIEWERS, read_side

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    service, client = read_side(tmp_path)
    yield client
    service.close()


def test_the_figures_as_json(client: FlaskClient) -> None:
    body = client.get(
        "/api/tenants/lincolnshire/compliance?from=2026-01-01&to=2026-06-30", headers=AUTH
    ).get_json()
    assert (body["total"]["on_time"], body["total"]["late"], body["total"]["missed"]) == (1, 1, 1)
    assert body["total"]["rag"] == "red" and body["thresholds"] == {"target": 90.0, "floor": 80.0}
    assert body["teams"][0]["team_id"] == "310" and body["months"][0]["month"] == "2026-03"


def test_a_team_filter_and_a_range_that_holds_nothing(client: FlaskClient) -> None:
    body = client.get(
        "/api/tenants/lincolnshire/compliance?team=999&from=2020-01-01&to=2020-12-31", headers=AUTH
    )
    assert body.get_json()["total"]["due"] == 0


def test_bad_filters_are_named(client: FlaskClient) -> None:
    answer = client.get(
        "/api/tenants/lincolnshire/compliance?from=June&to=2026-01-01&colour=red", headers=AUTH
    )
    assert answer.status_code == 400
    assert set(answer.get_json()["errors"]) == {"from", "colour"}
    answer = client.get("/api/tenants/lincolnshire/compliance?from=2026-07-01&to=2026-01-01", headers=AUTH)
    assert answer.get_json()["errors"] == {"from": ["Must not be after 'to'."]}


def test_it_needs_the_admin_token_not_a_viewer_token(client: FlaskClient) -> None:
    assert client.get("/api/tenants/lincolnshire/compliance").status_code == 401
    viewer = {"Authorization": f"Bearer {VIEWERS['lincolnshire']}"}
    assert client.get("/api/tenants/lincolnshire/compliance", headers=viewer).status_code == 401
    assert client.get("/api/tenants/nowhere/compliance", headers=AUTH).status_code == 404


def test_the_openapi_document_describes_both_endpoints_and_their_filters(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    compliance = doc["paths"]["/api/tenants/{tenant}/compliance"]["get"]
    assert {p["name"] for p in compliance["parameters"]} == {"tenant", "team", "from", "to"}
    obligations = doc["paths"]["/api/tenants/{tenant}/obligations"]["get"]
    assert {p["name"] for p in obligations["parameters"]} == {
        "tenant",
        "worker",
        "person",
        "team",
        "kind",
        "state",
    }
    assert set(compliance["responses"]) == {"200", "400", "401", "403", "404"}
    # Every $ref points at a schema the document holds.
    text = str(doc)
    for name in ("Error", "Tally"):
        assert f"#/components/schemas/{name}" in text and name in doc["components"]["schemas"]
