import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from webhooks.signature import secret_key, sign, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + base64.b64encode(b"another key for rotation").decode()
NOW = 1_795_000_000
BODY = b'{"id":"evt_1","type":"case.closed"}'


def reference_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    # The standardwebhooks package is the independent reference implementation.
    return Webhook(secret).sign(webhook_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


def headers(signature: str, timestamp: int = NOW, webhook_id: str = "evt_1") -> dict[str, str]:
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_own_signing_matches_the_reference_implementation() -> None:
    assert sign(secret_key(SECRET), "evt_1", str(NOW), BODY) == reference_signature(
        SECRET, "evt_1", NOW, BODY
    )


def test_a_reference_signature_verifies() -> None:
    assert verify([secret_key(SECRET)], headers(reference_signature(SECRET, "evt_1", NOW, BODY)), BODY, NOW)


def test_any_configured_secret_may_match_during_rotation() -> None:
    signature = reference_signature(OTHER, "evt_1", NOW, BODY)
    assert not verify([secret_key(SECRET)], headers(signature), BODY, NOW)
    assert verify([secret_key(SECRET), secret_key(OTHER)], headers(signature), BODY, NOW)


def test_any_of_several_signatures_in_the_header_may_match() -> None:
    good = reference_signature(SECRET, "evt_1", NOW, BODY)
    assert verify([secret_key(SECRET)], headers(f"v1,AAAA {good}"), BODY, NOW)


@pytest.mark.parametrize("offset, accepted", [(-300, True), (300, True), (-301, False), (301, False)])
def test_timestamp_tolerance_is_five_minutes(offset: int, accepted: bool) -> None:
    timestamp = NOW + offset
    signature = reference_signature(SECRET, "evt_1", timestamp, BODY)
    assert verify([secret_key(SECRET)], headers(signature, timestamp), BODY, NOW) is accepted


def test_a_changed_body_or_id_fails() -> None:
    signature = reference_signature(SECRET, "evt_1", NOW, BODY)
    assert not verify([secret_key(SECRET)], headers(signature), BODY + b" ", NOW)
    assert not verify([secret_key(SECRET)], headers(signature, webhook_id="evt_2"), BODY, NOW)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v1",
        "v1,",
        "v1,not base64!!",
        "v2," + base64.b64encode(b"x" * 32).decode(),
        "garbage",
        ",,,",
        "v1,==",
    ],
)
def test_malformed_signature_headers_are_refused_not_raised(signature: str) -> None:
    assert verify([secret_key(SECRET)], headers(signature), BODY, NOW) is False


@pytest.mark.parametrize(
    "timestamp",
    # "²", "١٧٩٥" (Arabic-Indic) and full-width digits pass str.isdigit() but are not ASCII digits.
    [
        "",
        "abc",
        "-5",
        "1e9",
        "99999999999999999999",
        "²",
        "\u0661\u0667\u0669\u0665",
        "\uff11\uff17",
        " 1795000000",
    ],
)
def test_malformed_timestamps_are_refused(timestamp: str) -> None:
    h = headers(reference_signature(SECRET, "evt_1", NOW, BODY))
    h["webhook-timestamp"] = timestamp
    assert verify([secret_key(SECRET)], h, BODY, NOW) is False


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_***"])
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError):
        secret_key(secret)
