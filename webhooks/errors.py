"""The one JSON error shape every HTTP error of the connector uses."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from flask import Response, jsonify


def error_response(status: int, message: str, errors: Mapping[str, list[str]] | None = None) -> Response:
    """`{"code", "status", "message", "errors"}`; `errors` maps a field path to its messages."""
    body = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "errors": dict(errors or {}),
    }
    response = jsonify(body)
    response.status_code = status
    return response
