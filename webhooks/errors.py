"""The one JSON error shape every HTTP error of the connector uses."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Response, jsonify

# What a 5xx says: the cause is in the log, not in the answer.
UNEXPECTED = "Something went wrong in the connector; it has been logged."


def error_body(status: int, message: str, errors: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """`{"code", "status", "message", "errors"}`; `errors` maps a field path to its messages."""
    return {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "errors": dict(errors or {}),
    }


def error_response(status: int, message: str, errors: Mapping[str, list[str]] | None = None) -> Response:
    """`error_body` as a Flask response."""
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    return response
