"""The read API's OpenAPI 3.1 description (served at GET /openapi.json), and the compliance filters it names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

COMPLIANCE_FILTERS = ("team", "from", "to")


def compliance_filters(args: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The report's arguments from a query string, or the errors naming each bad filter."""
    errors: dict[str, list[str]] = {}
    for name in sorted(set(args) - set(COMPLIANCE_FILTERS)):
        errors[name] = ["Unknown filter; use team, from or to."]
    dates: dict[str, date] = {}
    for name in ("from", "to"):
        if name in args:
            try:
                dates[name] = date.fromisoformat(args[name])
            except ValueError:
                errors[name] = ["Not a date in the form YYYY-MM-DD."]
    if "from" in dates and "to" in dates and dates["from"] > dates["to"]:
        errors["from"] = ["Must not be after 'to'."]
    return {"team": args.get("team"), "start": dates.get("from"), "end": dates.get("to")}, errors


_ERROR = {"$ref": "#/components/schemas/Error"}


def _param(name: str, description: str, fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "A filter is not valid",
        401: "Wrong token",
        403: "No admin token configured",
        404: "No such tenant",
    }
    return {
        str(c): {"description": words[c], "content": {"application/json": {"schema": _ERROR}}} for c in codes
    }


def openapi_document() -> dict[str, Any]:
    tenant = {"name": "tenant", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Supervision connector read API",
            "version": "1",
            "description": "Ids, dates and codes only. Send the admin token as 'Authorization: Bearer <token>'.",
        },
        "components": {
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "status", "message", "errors"],
                    "properties": {
                        "code": {"type": "integer"},
                        "status": {"type": "string"},
                        "message": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
                "Tally": {
                    "type": "object",
                    "properties": {
                        name: {
                            "type": ["number", "null"] if name.endswith(("mean", "percent")) else "integer"
                        }
                        for name in (
                            "due",
                            "on_time",
                            "late",
                            "missed",
                            "pending",
                            "days_late_total",
                            "days_late_mean",
                            "days_late_max",
                            "open_now",
                            "overdue_now",
                            "on_time_percent",
                        )
                    }
                    | {"rag": {"enum": ["green", "amber", "red", "none"]}},
                },
            },
        },
        "security": [{"admin": []}],
        "paths": {
            "/api/tenants/{tenant}/obligations": {
                "get": {
                    "summary": "The open obligations with why",
                    "parameters": [
                        tenant,
                        _param("worker", "A worker's id"),
                        _param("person", "A child's id"),
                        _param("team", "A team's id"),
                        _param("kind", "An obligation kind"),
                        _param("state", "open (the default) or overdue"),
                    ],
                    "responses": {"200": {"description": "The obligations"}, **_errors(400, 401, 403, 404)},
                }
            },
            "/api/tenants/{tenant}/compliance": {
                "get": {
                    "summary": "Compliance figures for cycles due in a range (default: the twelve months to today)",
                    "parameters": [
                        tenant,
                        _param("team", "One team's id"),
                        _param("from", "First due date counted", "date"),
                        _param("to", "Last due date counted", "date"),
                    ],
                    "responses": {
                        "200": {
                            "description": "Totals, teams, workers, kinds and months, records and actions",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["tenant", "from", "to", "as_of", "total", "teams"],
                                        "properties": {
                                            "total": {"$ref": "#/components/schemas/Tally"},
                                            "teams": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Tally"},
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
        },
    }
