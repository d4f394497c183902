"""The shared HTTP client's session settings: the environment is read once, and never replaces our token."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from adapters.http_client import HttpClient


def client(base_url: str) -> HttpClient:
    return HttpClient("Mosaic", base_url, {"Authorization": "Bearer the-token"}, requests.Session())


def test_a_netrc_entry_for_the_platform_does_not_replace_the_token(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        "machine 127.0.0.1 login someone password secret\nmachine localhost login someone password x\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Authorization", ""))
        return Response("{}", 200, content_type="application/json")

    httpserver.expect_request("/api/steps", method="POST").respond_with_handler(handler)
    client(httpserver.url_for("/api")).once("POST", "/steps", json={"a": 1})
    assert seen == ["Bearer the-token"]


def test_the_proxy_the_environment_names_is_used(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake server stands in for the council's proxy: it receives the request for the platform's host.
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    httpserver.expect_request("/api/steps", method="POST").respond_with_json({"id": 7})
    answer = client("http://mosaic.council.invalid/api").once("POST", "/steps", json={"a": 1})
    assert answer.field("id") == 7
