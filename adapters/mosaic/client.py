"""Mosaic's REST facade over an injected requests session: auth, timeouts, error classes, bounded retries.

429 (honouring Retry-After), 5xx, timeouts and dropped connections are retryable; any other 4xx is fatal.
409 is not an error here: it is how Mosaic says an external reference exists, and the writer adopts it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.base import FatalError, RetryableError

# A response cut off mid-body is a dropped connection too, though requests does not file it under one.
DROPPED = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class Answer:
    """A 2xx, or a status the caller asked to see (409): the status and the decoded JSON body, if any."""

    status: int
    body: Any

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


class MosaicClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        session: requests.Session,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._backoff = wait_exponential(multiplier=0.5, max=max_wait)

    def retrying(self) -> Retrying:
        """A bounded loop retrying RetryableError; its waits go through the injected `sleep`.

        The writer drives its own create loops with it, so that a create whose outcome is unknown is looked up
        before it is sent again.
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
        allow: tuple[int, ...] = (409,),
    ) -> Answer:
        """A call retried on retryable errors: only for calls that are safe to repeat (GET, PATCH, or a
        create whose repeat Mosaic answers 409). Statuses in `allow` are returned rather than raised."""
        for attempt in self.retrying():
            with attempt:
                return self.once(method, path, json=json, params=params, allow=allow)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def once(
        self,
        method: str,
        path: str,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (409,),
    ) -> Answer:
        """Exactly one request, no retry."""
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(
                method, url, json=json, params=params, headers=self.headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise RetryableError(f"Mosaic did not answer {method} {path} within {self.timeout:g} s") from None
        except DROPPED as exc:
            raise RetryableError(
                f"could not reach Mosaic for {method} {path}: {type(exc).__name__}"
            ) from None
        body = _json(response)
        status = response.status_code
        if 200 <= status < 300 or status in allow:
            return Answer(status, body)
        reason = _reason(method, path, status, body)
        if status == 429 or status >= 500:
            raise RetryableError(reason, status, _retry_after(response.headers.get("Retry-After")))
        raise FatalError(reason, status)


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _reason(method: str, path: str, status: int, body: Any) -> str:
    """Status, Mosaic's message and its field errors: Mosaic's own words, never the data we sent."""
    reason = f"Mosaic answered {status} to {method} {path}"
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            reason += f": {body['message'][:200]}"
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            details = "; ".join(
                f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                for field, msgs in errors.items()
            )
            reason += f" ({details[:300]})"
    return reason


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return None if math.isnan(seconds) else max(0.0, seconds)
