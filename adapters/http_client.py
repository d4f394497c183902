"""A platform's REST API over an injected requests session: auth headers, timeouts, error classes, retries.

Nothing here is one platform's: each adapter names itself, gives its auth headers and says how to read its
error bodies. 429 (honouring Retry-After), 5xx, timeouts and dropped connections are retryable; any other 4xx
is fatal, unless the caller lists the status in `allow` (Mosaic's 409 on a known reference, a 404 on a
withdrawal), in which case it is returned.

A platform cannot wedge a call: the whole answer, headers and body, must arrive within `timeout` (requests'
own timeout bounds each read, so a server trickling a byte at a time would otherwise hold a delivery thread for
ever), and a body over `MAX_BODY` bytes is cut off. An answer that is not what a working platform sends (a 2xx
whose body is not JSON: an HTML error page from a proxy, a body cut off mid-way) is retried like a 5xx: it says
nothing about whether the request was applied.

Each call costs what a write needs and no more: what is the same for every call (the session's headers merged
with ours, the base URL made canonical, the environment's proxies and CA bundle) is settled once, and each request
is a `PreparedRequest` built by hand and handed to the transport adapter the session mounts for its URL, so
requests' per-call merging of session settings, its cookie jar and its redirect machinery are not run. The
session's adapters (the design's extension point), `verify` (TLS verification, a CA bundle), `cert` and
`proxies` are honoured on every call; a redirect is never followed (a 3xx is an answer like any other 4xx: no
platform's API redirects, and following one would send our token where the platform did not say).
"""

from __future__ import annotations

import json as json_module
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.base import FatalError, RetryableError
from adapters.http_transport import use_one_write_transport

# A response cut off mid-body is a dropped connection too, though requests does not file it under one.
DROPPED = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
# No answer of either platform's API comes near this; a longer one is not an answer but a fault.
MAX_BODY = 4 * 1024 * 1024
READ_CHUNK = 64 * 1024
# A path made only of these needs no quoting (our paths are ids and codes); any other is quoted as requests would.
PLAIN_PATH = re.compile(r"[A-Za-z0-9/_.~%-]*")
# requests sends an explicit zero length for a body-less request of any other method; so do we.
NO_BODY_METHODS = ("GET", "HEAD", "OPTIONS")

# Reads the platform's own explanation out of an error body (its words, never the data we sent), or None.
ErrorDetail = Callable[[Any], str | None]


@dataclass(frozen=True)
class Answer:
    """A 2xx, or a status the caller asked to see: the status and the decoded JSON body, if any."""

    status: int
    body: Any

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


def no_detail(body: Any) -> str | None:
    return None


class HttpClient:
    def __init__(
        self,
        platform: str,
        base_url: str,
        headers: Mapping[str, str],
        session: requests.Session,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        error_detail: ErrorDetail = no_detail,
        allow: tuple[int, ...] = (),
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self.error_detail = error_detail
        self.default_allow = allow
        self.headers = {**headers, "Accept": "application/json"}
        self._backoff = wait_exponential(multiplier=0.5, max=max_wait)
        settle_environment(session, self.base_url)
        use_one_write_transport(session)
        # Settled once, not on every call: the session's own headers (User-Agent, Accept-Encoding) under ours,
        # and the base URL as requests makes it canonical (an internationalised host in its ASCII form).
        merged: CaseInsensitiveDict[str] = CaseInsensitiveDict(
            {
                name: value if isinstance(value, str) else value.decode("latin-1")
                for name, value in session.headers.items()
            }
        )
        merged.update(self.headers)
        self._sent_headers: dict[str, str] = dict(merged.items())
        canonical = requests.PreparedRequest()
        canonical.prepare_url(self.base_url, None)
        self._base = str(canonical.url).rstrip("/")

    def retrying(self) -> Retrying:
        """A bounded loop retrying RetryableError; its waits go through the injected `sleep`.

        Writers drive their own create loops with it, so that a create whose outcome is unknown can be
        resolved (looked up, or sent again under the same idempotency key) in between.
        """
        return Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(RetryableError),
            sleep=self.sleep,
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return float(self._backoff(state))

    def call(
        self,
        method: str,
        path: str,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        allow: tuple[int, ...] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """A call retried on retryable errors: only for calls that are safe to repeat (GET, PATCH, or a
        create the platform recognises when repeated). Statuses in `allow` are returned, not raised."""
        for attempt in self.retrying():
            with attempt:
                return self.once(method, path, json=json, params=params, allow=allow, headers=headers)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def once(
        self,
        method: str,
        path: str,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        allow: tuple[int, ...] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Exactly one request, no retry."""
        allowed = self.default_allow if allow is None else allow
        request = self._prepared(method, path, json, params, headers)
        deadline = time.monotonic() + self.timeout
        session = self.session
        try:
            response = session.get_adapter(str(request.url)).send(
                request,
                stream=True,
                timeout=self.timeout,
                # None would turn verification off in requests' adapter: it stays on unless set False.
                verify=True if session.verify is None else session.verify,
                cert=session.cert,
                proxies=session.proxies,
            )
            content = self._content(response, deadline, method, path)
        except requests.Timeout:
            raise RetryableError(
                f"{self.platform} did not answer {method} {path} within {self.timeout:g} s"
            ) from None
        except DROPPED as exc:
            raise RetryableError(
                f"could not reach {self.platform} for {method} {path}: {type(exc).__name__}"
            ) from None
        status = response.status_code
        body, readable = _json(content)
        if 200 <= status < 300 or status in allowed:
            if not readable:
                raise RetryableError(
                    f"{self.platform} answered {status} to {method} {path} with a body that is not JSON",
                    status,
                )
            return Answer(status, body)
        reason = f"{self.platform} answered {status} to {method} {path}"
        detail = self.error_detail(body)
        if detail:
            reason += f": {detail}"
        if status == 429 or status >= 500:
            raise RetryableError(reason, status, retry_after(response.headers.get("Retry-After")))
        raise FatalError(reason, status)

    def _prepared(
        self,
        method: str,
        path: str,
        json: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> requests.PreparedRequest:
        """The request as `Session.request` would prepare it for this client, without its per-call merging."""
        if not PLAIN_PATH.fullmatch(path):
            path = requote_uri(path)
        url = f"{self._base}{path}"
        if params:
            url = f"{url}?{urlencode(params)}"
        sent: CaseInsensitiveDict[str] = CaseInsensitiveDict(self._sent_headers)
        if headers:
            sent.update(headers)
        body: bytes | None = None
        if json is not None:
            # As requests encodes it: NaN is refused rather than sent as a token no JSON parser reads.
            body = json_module.dumps(json, allow_nan=False).encode("utf-8")
            sent["Content-Type"] = "application/json"
            sent["Content-Length"] = str(len(body))
        elif method not in NO_BODY_METHODS:
            sent["Content-Length"] = "0"
        request = requests.PreparedRequest()
        request.method = method
        request.url = url
        request.headers = sent
        request.body = body
        return request

    def _content(self, response: requests.Response, deadline: float, method: str, path: str) -> bytes:
        """The whole body, read by the call's deadline and within MAX_BODY; RetryableError otherwise.

        read1 returns whatever one read of the socket gave, so the deadline is checked between reads (a
        plain read of a chunk would wait for the whole chunk, however slowly it trickles in)."""
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.raw.read1(READ_CHUNK, decode_content=True):
                size += len(chunk)
                if size > MAX_BODY:
                    raise RetryableError(
                        f"{self.platform} answered {method} {path} with a body over {MAX_BODY} bytes"
                    )
                if time.monotonic() > deadline:
                    raise requests.Timeout()
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            raise requests.Timeout() from None
        except urllib3.exceptions.HTTPError as exc:
            # A body cut off before its Content-Length or last chunk: the connection dropped mid-answer.
            raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
        finally:
            # A body not read to its end cannot stay on a kept-alive connection.
            response.close()
        return b"".join(chunks)


def settle_environment(session: requests.Session, url: str) -> None:
    """Read the environment's proxy and CA settings for `url` once, not on every call.

    With `trust_env` requests looks up the proxy variables and reads ~/.netrc again for every request: about a
    fifth of a write's CPU in delivery. And a ~/.netrc entry for the platform's host would replace the token
    this client sends with its own login. The proxies and CA bundle the variables name are kept, read now.
    """
    if not getattr(session, "trust_env", False):
        return
    session.proxies = {**requests.utils.get_environ_proxies(url), **session.proxies}
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def _json(content: bytes) -> tuple[Any, bool]:
    """(the decoded body, True) or (None, False) when the body is not JSON; an empty body is None, readable."""
    if not content.strip():
        return None, True
    try:
        return json_module.loads(content), True
    except ValueError:
        return None, False


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; None for an HTTP date (our own backoff applies then) or nonsense."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return None if math.isnan(seconds) else max(0.0, seconds)
