"""The dashboard: a viewer token per tenant, kept in a signed cookie; one tenant's viewer never sees another's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from tests.connector.web.support_read_side import ADMIN, VIEWERS, read_side


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    service, client = read_side(tmp_path)
    yield client
    service.close()


def login(client: FlaskClient, tenant: str, token: str) -> int:
    return client.post(f"/dashboard/{tenant}/login", data={"token": token}).status_code


def test_pages_ask_for_the_token_first(client: FlaskClient) -> None:
    answer = client.get("/dashboard/lincolnshire")
    assert answer.status_code == 302 and "/dashboard/lincolnshire/login" in answer.headers["Location"]


def test_the_session_cookie_is_signed_http_only_and_same_site_lax(client: FlaskClient) -> None:
    answer = client.post("/dashboard/lincolnshire/login", data={"token": VIEWERS["lincolnshire"]})
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert VIEWERS["lincolnshire"] not in cookie


def test_the_team_table_is_red_with_the_overdue_reason(client: FlaskClient) -> None:
    assert login(client, "lincolnshire", VIEWERS["lincolnshire"]) == 302
    page = client.get("/dashboard/lincolnshire").get_data(as_text=True)
    page = " ".join(page.split())
    assert '<tr class="rag-red">' in page and "team 310" in page
    assert "33.3%" in page  # 1 on time of 3 fallen due
    assert "rule LINC-CS-GEN (policy 5.1.1); counted from case supervision held on 2026-04-01" in page
    assert "<svg" in page and "cdn" not in page.lower()


def test_a_team_page_lists_workers_and_offers_the_calendar(client: FlaskClient) -> None:
    login(client, "lincolnshire", VIEWERS["lincolnshire"])
    page = client.get("/dashboard/lincolnshire/teams/310").get_data(as_text=True)
    assert "/dashboard/lincolnshire/workers/5521" in page
    assert 'href="webcal://localhost/calendar/lincolnshire/310/' in page


def test_a_worker_page_shows_their_open_obligations(client: FlaskClient) -> None:
    login(client, "lincolnshire", VIEWERS["lincolnshire"])
    page = client.get("/dashboard/lincolnshire/workers/5521").get_data(as_text=True)
    assert "case_supervision" in page and "2026-06-02" in page and "13 day(s) overdue" in page


def test_a_wrong_token_is_refused(client: FlaskClient) -> None:
    assert login(client, "lincolnshire", "not-the-token-at-all") == 401
    assert client.get("/dashboard/lincolnshire").status_code == 302


def test_a_viewer_of_one_tenant_never_sees_another(client: FlaskClient) -> None:
    # Another tenant's token, and the admin token, open nothing here.
    assert login(client, "lincolnshire", VIEWERS["bracknell"]) == 401
    assert login(client, "lincolnshire", ADMIN) == 401
    assert login(client, "bracknell", VIEWERS["bracknell"]) == 302
    for path in (
        "/dashboard/lincolnshire",
        "/dashboard/lincolnshire/teams/310",
        "/dashboard/lincolnshire/workers/5521",
    ):
        answer = client.get(path)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert "100234" not in client.get("/dashboard/bracknell").get_data(as_text=True)


def test_after_login_it_goes_back_only_to_the_tenants_own_pages(client: FlaskClient) -> None:
    answer = client.post(
        "/dashboard/lincolnshire/login?next=https://elsewhere.example/",
        data={"token": VIEWERS["lincolnshire"]},
    )
    assert answer.headers["Location"] == "/dashboard/lincolnshire"


def test_an_unknown_tenant_is_404_in_the_one_error_shape(client: FlaskClient) -> None:
    answer = client.get("/dashboard/nowhere/login")
    assert answer.status_code == 404 and answer.get_json()["code"] == 404


def test_logging_out_closes_the_pages(client: FlaskClient) -> None:
    login(client, "lincolnshire", VIEWERS["lincolnshire"])
    client.post("/dashboard/lincolnshire/logout")
    assert client.get("/dashboard/lincolnshire").status_code == 302
