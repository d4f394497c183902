"""Every adapter in the registry keeps the interface the connector relies on."""

from __future__ import annotations

import pytest
import requests

from adapters.base import EventValidationError, SettingsError
from adapters.registry import ADAPTERS, UnknownPlatformError, get_adapter

# A valid settings table per platform; a new adapter must add its own.
SAMPLE_SETTINGS = {
    "mosaic": {
        "base_url": "http://127.0.0.1:9/api",
        "api_token": "conformance-token",
        "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        "step_types": {"case_supervision": 1},
    },
}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_the_adapter_is_registered_under_its_own_name(name: str) -> None:
    assert get_adapter(name).name == name


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_an_unknown_event_type_is_a_validation_error_naming_type(name: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        get_adapter(name).parse_event(
            {"id": "e1", "type": "no.such", "occurred_at": "2026-11-02T09:30:00Z", "data": {}}
        )
    assert "type" in caught.value.errors


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_empty_settings_are_refused_field_by_field(name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        get_adapter(name).parse_settings({}, environ={})
    assert caught.value.errors and all(isinstance(v, list) and v for v in caught.value.errors.values())


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_the_writer_offers_what_the_dispatcher_calls(name: str) -> None:
    adapter = get_adapter(name)
    assert name in SAMPLE_SETTINGS, f"add a sample [tenants.{name}] table for the {name} adapter"
    settings = adapter.parse_settings(SAMPLE_SETTINGS[name], environ={})
    assert adapter.webhook_secrets(settings) == ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    writer = adapter.writer(settings, "x", requests.Session())
    assert callable(writer.sync_obligation) and callable(writer.send_reminder)
    assert callable(writer.withdraw_reminder)


def test_an_unknown_platform_fails_loudly() -> None:
    with pytest.raises(UnknownPlatformError, match="unknown platform 'childview'"):
        get_adapter("childview")
