"""The `[tenants.mosaic]` table: what it accepts, and each error keyed relative to the table."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.base import SettingsError
from adapters.mosaic import MosaicAdapter
from adapters.mosaic.settings import DEFAULT_QUESTION_CODES, MosaicSettings, parse_mosaic_settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_c2Vjb25kLXNlY3JldA=="


URL_REQUIRED = "Required: an https:// URL (http:// only to this machine)."


def table(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "base_url": "https://mosaic.council.example/api/",
        "api_token": "dev-token",
        "webhook_secrets": [SECRET],
        "step_types": {"case_supervision": 9101, "personal_supervision": 9102},
        "form_types": {"case_supervision": 7701},
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def errors_of(raw: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, list[str]]:
    with pytest.raises(SettingsError) as caught:
        parse_mosaic_settings(raw, environ or {})
    return caught.value.errors


def test_a_full_table_with_defaults() -> None:
    settings = parse_mosaic_settings(table(), {})

    assert settings.base_url == "https://mosaic.council.example/api"
    assert settings.api_token == "dev-token"
    assert settings.webhook_secrets == (SECRET,)
    assert dict(settings.step_types) == {"case_supervision": 9101, "personal_supervision": 9102}
    assert dict(settings.form_types) == {"case_supervision": 7701}
    assert dict(settings.question_codes) == dict(DEFAULT_QUESTION_CODES)
    assert settings.question_codes["children_to_cover"] == "CS_CHILDREN"
    assert (settings.timeout_seconds, settings.max_attempts, settings.max_retry_wait_seconds) == (
        10.0,
        4,
        30.0,
    )


def test_tunings_and_question_codes_override_defaults() -> None:
    raw = table(
        timeout_seconds=2.5,
        max_attempts=1,
        max_retry_wait_seconds=0,
        question_codes={"due_date": "LINC_DUE", "carer_view": "LINC_CARER"},
    )
    settings = parse_mosaic_settings(raw, {})

    assert (settings.timeout_seconds, settings.max_attempts, settings.max_retry_wait_seconds) == (2.5, 1, 0.0)
    assert settings.question_codes["due_date"] == "LINC_DUE"
    assert settings.question_codes["carer_view"] == "LINC_CARER"
    assert settings.question_codes["reason"] == "CS_REASON"


def test_secrets_from_the_environment() -> None:
    raw = table(api_token=None, webhook_secrets=None, api_token_env="TOKEN", webhook_secrets_env="SECRETS")
    environ = {"TOKEN": "from-env", "SECRETS": f"{SECRET}, {OTHER_SECRET}"}
    settings = parse_mosaic_settings(raw, environ)

    assert settings.api_token == "from-env"
    assert settings.webhook_secrets == (SECRET, OTHER_SECRET)


def test_secrets_stay_out_of_repr() -> None:
    settings = parse_mosaic_settings(table(), {})
    assert "dev-token" not in repr(settings)
    assert SECRET not in repr(settings)


def test_settings_are_frozen() -> None:
    settings = parse_mosaic_settings(table(), {})
    with pytest.raises(AttributeError):
        settings.base_url = "http://elsewhere"  # type: ignore[misc]  # the point of the test
    with pytest.raises(TypeError):
        settings.step_types["agenda"] = 1  # type: ignore[index]  # the point of the test


def test_the_adapter_exposes_settings_secrets_and_a_writer() -> None:
    import requests

    adapter = MosaicAdapter()
    settings = adapter.parse_settings(table(), {})
    assert isinstance(settings, MosaicSettings)
    assert adapter.webhook_secrets(settings) == [SECRET]
    writer = adapter.writer(settings, "linc", requests.Session())
    assert writer.client.base_url == "https://mosaic.council.example/api"
    assert writer.client.max_attempts == 4


@pytest.mark.parametrize(
    ("changes", "environ", "expected"),
    [
        ({"base_url": None}, {}, {"base_url": [URL_REQUIRED]}),
        ({"base_url": "ftp://mosaic/api"}, {}, {"base_url": [URL_REQUIRED]}),
        ({"base_url": "mosaic.council.example"}, {}, {"base_url": [URL_REQUIRED]}),
        ({"api_token": None}, {}, {"api_token": ["Required: give api_token or api_token_env."]}),
        ({"api_token": ""}, {}, {"api_token": ["Required: give api_token or api_token_env."]}),
        ({"api_token": "short"}, {}, {"api_token": ["The API token must be at least 8 characters."]}),
        (
            {"api_token": None, "api_token_env": "TOKEN"},
            {"TOKEN": " x "},
            {"api_token_env": ["The API token must be at least 8 characters."]},
        ),
        (
            {"base_url": "http://mosaic.council.example/api"},
            {},
            {
                "base_url": [
                    "Use https://: http:// would send the API token in clear (allowed only to loopback)."
                ]
            },
        ),
        (
            {"base_url": "http://10.0.0.5:8080/api"},
            {},
            {
                "base_url": [
                    "Use https://: http:// would send the API token in clear (allowed only to loopback)."
                ]
            },
        ),
        (
            {"api_token": None, "api_token_env": "LINCS_MOSAIC_TOKEN"},
            {},
            {"api_token_env": ["Environment variable LINCS_MOSAIC_TOKEN is not set."]},
        ),
        ({"api_token_env": "X"}, {"X": "t"}, {"api_token": ["Give api_token or api_token_env, not both."]}),
        ({"webhook_secrets": []}, {}, {"webhook_secrets": ["Required: at least one whsec_ secret."]}),
        ({"webhook_secrets": None}, {}, {"webhook_secrets": ["Required: at least one whsec_ secret."]}),
        (
            {"webhook_secrets": None, "webhook_secrets_env": "HOOKS"},
            {},
            {"webhook_secrets_env": ["Environment variable HOOKS is not set."]},
        ),
        (
            {"webhook_secrets_env": "HOOKS"},
            {"HOOKS": SECRET},
            {"webhook_secrets": ["Give webhook_secrets or webhook_secrets_env, not both."]},
        ),
        (
            {"webhook_secrets_env": 3, "webhook_secrets": None},
            {},
            {"webhook_secrets_env": ["Must name an environment variable."]},
        ),
        (
            {"step_types": {"case_supervision": 0}},
            {},
            {"step_types.case_supervision": ["Must be a positive whole number."]},
        ),
        (
            {"step_types": {"case_supervision": "9101"}},
            {},
            {"step_types.case_supervision": ["Must be a positive whole number."]},
        ),
        (
            {"step_types": {"case_supervision": True}},
            {},
            {"step_types.case_supervision": ["Must be a positive whole number."]},
        ),
        (
            {"form_types": {"personal_supervision": -1}},
            {},
            {"form_types.personal_supervision": ["Must be a positive whole number."]},
        ),
        (
            {"step_types": [9101]},
            {},
            {"step_types": ["Must be a table of obligation kind = Mosaic type id."]},
        ),
        (
            {"question_codes": {"due_date": ""}},
            {},
            {"question_codes.due_date": ["Must be a non-empty question user code."]},
        ),
        (
            {"question_codes": "CS"},
            {},
            {"question_codes": ['Must be a table of field = "QUESTION_USER_CODE".']},
        ),
        ({"timeout_seconds": 0}, {}, {"timeout_seconds": ["Must be a number of seconds greater than 0."]}),
        ({"timeout_seconds": "10"}, {}, {"timeout_seconds": ["Must be a number of seconds greater than 0."]}),
        (
            {"timeout_seconds": float("nan")},
            {},
            {"timeout_seconds": ["Must be a number of seconds greater than 0."]},
        ),
        (
            {"max_retry_wait_seconds": -1},
            {},
            {"max_retry_wait_seconds": ["Must be a number of seconds of 0 or more."]},
        ),
        ({"max_attempts": 0}, {}, {"max_attempts": ["Must be a whole number from 1 to 20."]}),
        ({"max_attempts": 2.0}, {}, {"max_attempts": ["Must be a whole number from 1 to 20."]}),
        ({"api_key": "x"}, {}, {"api_key": ["Unknown key."]}),
    ],
)
def test_each_error(changes: dict[str, Any], environ: dict[str, str], expected: dict[str, list[str]]) -> None:
    assert errors_of(table(**changes), environ) == expected


def test_a_step_type_for_an_unknown_kind_is_refused() -> None:
    errors = errors_of(table(step_types={"case_supervison": 9101}))
    assert list(errors) == ["step_types.case_supervison"]
    assert errors["step_types.case_supervison"][0].startswith(
        "Unknown obligation kind; use one of case_supervision"
    )


def test_a_secret_that_is_not_text_is_named_by_its_index() -> None:
    # Whether text is a usable whsec_ secret is the webhook edge's to say: the config asks it (test_config).
    errors = errors_of(table(webhook_secrets=[SECRET, 7]))
    assert set(errors) == {"webhook_secrets[1]"}


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of({"base_url": "nope", "max_attempts": 0, "colour": "blue"})
    assert set(errors) == {"base_url", "api_token", "webhook_secrets", "max_attempts", "colour"}


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9001/api", "http://127.8.0.1/api", "http://[::1]:9001/api", "http://localhost/api"],
)
def test_http_is_allowed_to_this_machine_only(url: str) -> None:
    assert parse_mosaic_settings(table(base_url=url), environ={}).base_url == url.rstrip("/")
