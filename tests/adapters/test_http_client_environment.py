"""The shared HTTP client's session settings: the environment is read once and never replaces our token; the
session's transport adapter, CA bundle and certificate are used on every call; redirects are never followed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from requests.adapters import HTTPAdapter
from werkzeug import Request, Response

from adapters.base import FatalError
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


def test_a_redirect_is_an_answer_and_is_never_followed(httpserver: HTTPServer) -> None:
    # Following it would send the write (and the token) where the platform's API did not say to.
    httpserver.expect_request("/api/steps", method="POST").respond_with_data(
        "", 302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_json({"id": 1})
    with pytest.raises(FatalError, match="Mosaic answered 302 to POST /steps") as caught:
        client(httpserver.url_for("/api")).once("POST", "/steps", json={"a": 1})
    assert caught.value.status == 302
    assert [request.path for request, _ in httpserver.log] == ["/api/steps"]


class Recording(HTTPAdapter):
    """A transport adapter mounted on the session, noting what each call was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.seen.append({"url": request.url, "headers": dict(request.headers), **kwargs})
        return super().send(request, *args, **kwargs)


def test_every_call_goes_through_the_sessions_adapter_with_its_tls_settings(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "council-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = requests.Session()
    certificate = tmp_path / "client.pem"
    certificate.write_text("not read over plain http")
    session.cert = str(certificate)
    session.headers["User-Agent"] = "council-proxy-allowlisted"
    recording = Recording()
    session.mount("http://", recording)
    httpserver.expect_request("/api/steps", method="GET").respond_with_json({"items": []})
    sent = HttpClient("Mosaic", httpserver.url_for("/api"), {"Authorization": "Bearer the-token"}, session)
    sent.once("GET", "/steps", params={"external_reference": "linc:case_supervision:1:2:1"})
    sent.once("GET", "/steps")
    assert len(recording.seen) == 2
    first = recording.seen[0]
    assert first["verify"] == str(bundle) and first["cert"] == str(certificate)
    assert (
        first["url"]
        == httpserver.url_for("/api/steps") + "?external_reference=linc%3Acase_supervision%3A1%3A2%3A1"
    )
    assert first["headers"]["Authorization"] == "Bearer the-token"
    assert first["headers"]["User-Agent"] == "council-proxy-allowlisted"
    assert first["headers"]["Accept"] == "application/json"


def test_tls_verification_stays_on_when_the_session_leaves_it_unset(httpserver: HTTPServer) -> None:
    session = requests.Session()
    session.verify = None  # type: ignore[assignment]  # what a caller may set; requests' adapter reads it as off
    recording = Recording()
    session.mount("http://", recording)
    httpserver.expect_request("/api/steps").respond_with_json({})
    HttpClient("Mosaic", httpserver.url_for("/api"), {}, session).once("GET", "/steps")
    assert recording.seen[0]["verify"] is True
