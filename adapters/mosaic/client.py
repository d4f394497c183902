"""Mosaic's REST facade: the shared HTTP client with Mosaic's bearer token and Mosaic's error shape.

409 is not an error here: it is how Mosaic says an external reference exists, and the writer adopts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from adapters.http_client import DROPPED, Answer, HttpClient

__all__ = ["DROPPED", "Answer", "MosaicClient"]


class MosaicClient(HttpClient):
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
        super().__init__(
            "Mosaic",
            base_url,
            {"Authorization": f"Bearer {token}"},
            session,
            timeout=timeout,
            max_attempts=max_attempts,
            max_wait=max_wait,
            sleep=sleep,
            error_detail=mosaic_error_detail,
            allow=(409,),
        )


def mosaic_error_detail(body: Any) -> str | None:
    """Mosaic's message and its field errors."""
    if not isinstance(body, dict):
        return None
    detail = body["message"][:200] if isinstance(body.get("message"), str) else ""
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        fields = "; ".join(
            f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
        detail = f"{detail} ({fields[:300]})" if detail else f"({fields[:300]})"
    return detail or None
