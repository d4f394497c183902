"""Childview's REST facade: the shared HTTP client with Childview's API key and error shape.

Childview answers 503 in its nightly maintenance window and 429 with Retry-After: both retryable, as the shared
client treats every 429 and 5xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from adapters.http_client import HttpClient


class ChildviewClient(HttpClient):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        session: requests.Session,
        timeout: float = 10.0,
        max_attempts: int = 4,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            "Childview",
            base_url,
            {"X-Api-Key": api_key},
            session,
            timeout=timeout,
            max_attempts=max_attempts,
            max_wait=max_wait,
            sleep=sleep,
            error_detail=childview_error_detail,
        )


def childview_error_detail(body: Any) -> str | None:
    """`{"error": {"code", "detail"}}` as "CODE: detail"."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    parts = [str(error[k])[:200] for k in ("code", "detail") if isinstance(error.get(k), str) and error[k]]
    return ": ".join(parts) or None
