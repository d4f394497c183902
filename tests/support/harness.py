"""Builds a configured connector against a fake Mosaic, and signs webhooks the way Mosaic's sender does."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import requests
from flask.testing import FlaskClient

from connector.config import Config, parse_config
from connector.sandbox.run import STEP_TYPES
from connector.service import Service
from connector.store.url import DatabaseUrl
from connector.web.app import create_app
from tests.support.fake_mosaic import TOKEN
from webhooks.signature import secret_key, sign

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The connector's clock in these tests (Unix seconds): noon on start_connector's default `today`, 2026-12-01, so
# that the events the tests date in November and early December are not in the future.
NOW = 1_796_126_400


# The PostgreSQL database the current test runs on (set by the `store_engine` fixture), else None: SQLite.
_database: DatabaseUrl | None = None


def use_database(url: DatabaseUrl | None) -> None:
    global _database
    _database = url


def database_for(tmp_path: Path) -> Path | DatabaseUrl:
    """The current test's store: its PostgreSQL database, or a SQLite file in its folder."""
    return _database if _database is not None else tmp_path / "connector.db"


def config_document(tmp_path: Path, base_url: str, **mosaic: Any) -> dict[str, Any]:
    return {
        "storage": {"database": _database.url if _database else str(tmp_path / "connector.db")},
        "delivery": {"max_attempts": 3, "backoff_seconds": 0, "backoff_max_seconds": 0},
        "tenants": [
            {
                "id": "lincolnshire",
                "rule_pack": "lincolnshire",
                "reference_prefix": "linc",
                "mosaic": {
                    "base_url": base_url,
                    "api_token": TOKEN,
                    "webhook_secrets": [SECRET],
                    "step_types": dict(STEP_TYPES),
                    "form_types": {"case_supervision": 7701},
                    "timeout_seconds": 2,
                    "max_attempts": 2,
                    "max_retry_wait_seconds": 0,
                    **mosaic,
                },
            }
        ],
    }


def make_config(tmp_path: Path, base_url: str, **mosaic: Any) -> Config:
    return parse_config(config_document(tmp_path, base_url, **mosaic), base_dir=tmp_path, environ={})


def signed(event: dict[str, Any], secret: str = SECRET, timestamp: int = NOW) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": str(event.get("id", "")),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret_key(secret), str(event.get("id", "")), str(timestamp), body),
    }
    return body, headers


@dataclass
class Connector:
    service: Service
    client: FlaskClient

    def post(self, event: dict[str, Any], tenant: str = "lincolnshire", platform: str = "mosaic") -> Any:
        body, headers = signed(event)
        return self.client.post(f"/webhooks/{tenant}/{platform}", data=body, headers=headers)

    def close(self) -> None:
        self.service.close()


def start_connector(
    config: Config,
    today: date = date(2026, 12, 1),
    session_factory: Callable[[], requests.Session] = requests.Session,
) -> Connector:
    service = Service(config, today=lambda: today, session_factory=session_factory)
    app = create_app(service, clock=lambda: NOW)
    return Connector(service, app.test_client())


def event(event_id: str, type_: str, occurred_at: str, **data: Any) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "occurred_at": occurred_at, "data": data}


def write_config_file(tmp_path: Path, base_url: str, **mosaic: Any) -> Path:
    """The harness config as a TOML file, for commands run through click's CliRunner."""
    path = tmp_path / "connector.toml"
    path.write_text(config_toml(config_document(tmp_path, base_url, **mosaic)))
    return path


def config_toml(doc: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))

    def table(name: str, body: dict[str, Any], header: str) -> list[str]:
        lines = [header] if header else []
        nested = []
        for key, v in body.items():
            if isinstance(v, dict):
                nested.append((key, v))
            else:
                lines.append(f"{key} = {value(v)}")
        for key, v in nested:
            lines += table(f"{name}.{key}", v, f"[{name}.{key}]")
        return lines

    lines: list[str] = []
    for key, v in doc.items():
        if isinstance(v, list):
            for item in v:
                lines += table(key, item, f"[[{key}]]")
        else:
            lines += table(key, v, f"[{key}]")
    return "\n".join(lines) + "\n"
