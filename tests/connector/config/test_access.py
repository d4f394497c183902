"""The read side's keys: compliance thresholds, viewer tokens, calendar and session secrets, public_url."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.harness import config_document

from connector.config import ConfigError, parse_config

URL = "http://127.0.0.1:9001/api"


def errors_of(document: dict[str, object], tmp_path: Path, environ: dict[str, str]) -> dict[str, list[str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(document, base_dir=tmp_path, environ=environ)
    return caught.value.errors


def test_defaults_are_90_and_80_and_no_viewer_token(tmp_path: Path) -> None:
    config = parse_config(config_document(tmp_path, URL), base_dir=tmp_path, environ={})
    tenant = config.tenants["lincolnshire"]
    assert (tenant.compliance.target, tenant.compliance.floor) == (90.0, 80.0)
    assert tenant.viewer_token is None and tenant.calendar_secret is None
    assert config.service.session_secret is None and config.service.public_url is None
    assert [tenant.compliance.rag(p) for p in (95, 90, 85, 79.9, None)] == [
        "green",
        "green",
        "amber",
        "red",
        "none",
    ]


def test_tokens_and_secrets_come_inline_or_from_the_environment(tmp_path: Path) -> None:
    document = config_document(tmp_path, URL)
    document["tenants"][0].update(
        viewer_token_env="VIEW", calendar_secret="c" * 16, compliance={"target": 95, "floor": 70}
    )
    document["service"] = {"session_secret_env": "SESSION", "public_url": "https://connector.example/"}
    config = parse_config(document, base_dir=tmp_path, environ={"VIEW": "v" * 20, "SESSION": "s" * 32})
    tenant = config.tenants["lincolnshire"]
    assert tenant.viewer_token == "v" * 20 and tenant.calendar_secret == "c" * 16
    assert tenant.compliance.rag(80) == "amber"
    assert config.service.session_secret == "s" * 32
    assert config.service.public_url == "https://connector.example"


def test_every_bad_key_is_named(tmp_path: Path) -> None:
    document = config_document(tmp_path, URL)
    document["tenants"][0].update(
        viewer_token="short",
        calendar_secret_env="UNSET",
        compliance={"target": 70, "floor": 80},
    )
    document["service"] = {"session_secret_env": "SHORT", "public_url": "ftp://x"}
    errors = errors_of(document, tmp_path, {"SHORT": "abc"})
    assert "16" in " ".join(errors["tenants[0].viewer_token"])
    assert errors["tenants[0].compliance.floor"] == ["The floor must not be above the target."]
    assert "UNSET" in " ".join(errors["tenants[0].calendar_secret_env"])
    assert "at least 16" in " ".join(errors["service.session_secret_env"])
    assert "service.public_url" in errors


def test_a_viewer_token_may_not_be_the_admin_token(tmp_path: Path) -> None:
    document = config_document(tmp_path, URL)
    document["service"] = {"admin_token": "a" * 20}
    document["tenants"][0]["viewer_token"] = "a" * 20
    errors = errors_of(document, tmp_path, {})
    assert errors["tenants[0].viewer_token"] == ["Must differ from service.admin_token."]


def test_an_unknown_compliance_key_is_refused(tmp_path: Path) -> None:
    document = config_document(tmp_path, URL)
    document["tenants"][0]["compliance"] = {"colour": "red"}
    assert errors_of(document, tmp_path, {})["tenants[0].compliance.colour"] == ["Unknown key."]
