"""Mosaic's REST facade over an injected requests session: auth, timeouts, error classes, bounded retries.

429 (honouring Retry-After), 5xx, timeouts and dropped connections are retryable; any other 4xx is fatal.
409 is not an error here: it is how Mosaic says an external reference exists, and the writer adopts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from adapters.base import FatalError, RetryableError


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


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

    def retrying(self) -> Retrying:
        """A bounded retry loop for retryable errors; its waits go through the injected `sleep`."""
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
        return float(min(0.5 * 2 ** (state.attempt_number - 1), self.max_wait))

    def call(
        self,
        method: str,
        path: str,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (409,),
    ) -> Answer:
        """One call, retried on retryable errors. Statuses in `allow` are returned rather than raised."""
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
        """One call, no retry: for creates, whose retry must first look the reference up."""
        url = f"{self.base_url}{path}"
        try:
            response = self.session.request(
                method, url, json=json, params=params, headers=self.headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise RetryableError(f"Mosaic did not answer {method} {path} within {self.timeout:g} s") from None
        except requests.ConnectionError as exc:
            raise RetryableError(
                f"could not reach Mosaic for {method} {path}: {type(exc).__name__}"
            ) from None
        body = _json(response)
        if 200 <= response.status_code < 300 or response.status_code in allow:
            return Answer(response.status_code, body)
        reason = _reason(method, path, response.status_code, body)
        if response.status_code == 429:
            raise RetryableError(reason, 429, _retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            raise RetryableError(
                reason, response.status_code, _retry_after(response.headers.get("Retry-After"))
            )
        raise FatalError(reason, response.status_code)


def _json(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _reason(method: str, path: str, status: int, body: Any) -> str:
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
    return max(0.0, seconds)
