"""The platforms' transport adapter: one socket write per request, TLS verified, a caller's own adapter kept."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from tests.support.transport import InterceptedSession

from adapters.base import RetryableError
from adapters.http_client import HttpClient
from adapters.http_transport import OneWriteAdapter


def client(base_url: str, session: requests.Session | None = None) -> HttpClient:
    return HttpClient("Mosaic", base_url, {"Authorization": "Bearer t"}, session or requests.Session())


def test_a_request_with_a_body_goes_out_in_one_socket_write(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    send = http.client.HTTPConnection.send

    def counted(self: http.client.HTTPConnection, data: Any) -> None:
        writes.append(bytes(data))
        send(self, data)

    monkeypatch.setattr(http.client.HTTPConnection, "send", counted)
    httpserver.expect_request("/api/steps", method="POST").respond_with_json({"id": 7}, status=201)
    httpserver.expect_request("/api/steps/7", method="DELETE").respond_with_json({})
    calls = client(httpserver.url_for("/api"))
    assert calls.once("POST", "/steps", json={"a": 1}).field("id") == 7
    assert calls.once("DELETE", "/steps/7").status == 200
    assert len(writes) == 2  # one each: headers and body together for the POST
    assert writes[0].startswith(b"POST /api/steps HTTP/1.1\r\n") and writes[0].endswith(b'\r\n\r\n{"a": 1}')
    assert writes[1].startswith(b"DELETE /api/steps/7 HTTP/1.1\r\n") and b"Content-Length: 0" in writes[1]


def test_an_adapter_the_caller_mounted_stays_mounted() -> None:
    session = InterceptedSession()
    theirs = session.adapters["http://"]
    client("http://mosaic.council.invalid/api", session)
    assert session.adapters["http://"] is theirs
    stock = requests.Session()
    client("http://mosaic.council.invalid/api", stock)
    assert isinstance(stock.adapters["http://"], OneWriteAdapter)
    assert isinstance(stock.adapters["https://"], OneWriteAdapter)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    """An HTTPS fake platform with a self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "platform.pem", tmp_path / "platform.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield server, cert
    finally:
        server.clear()
        server.stop()


def test_tls_is_verified_against_the_ca_bundle_the_environment_names(
    tls_server: tuple[HTTPServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls_server
    server.expect_request("/api/steps", method="POST").respond_with_json({"id": 7}, status=201)
    base = server.url_for("/api")
    assert base.startswith("https://")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(RetryableError, match="could not reach Mosaic"):
        client(base).once("POST", "/steps", json={"a": 1})  # not signed by any CA we trust
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert client(base).once("POST", "/steps", json={"a": 1}).field("id") == 7
