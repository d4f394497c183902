"""Standard Webhooks (v1) signature verification with several secrets (key rotation).

Written here rather than taken from the `standardwebhooks` package because that package reads the wall clock
itself (tests need to pass time in) and raises on malformed headers, which must be a plain 401 here. The tests
sign with that package, so the two implementations are checked against each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"
# ASCII digits only: str.isdigit() also accepts "²" and other Unicode digits, which int() then refuses.
TIMESTAMP = re.compile(r"[0-9]{1,12}")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("the part after 'whsec_' is not valid base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    keys: Iterable[bytes],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if the timestamp is within tolerance and any `v1,` signature matches any key. Never raises."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not webhook_id or not timestamp or not signatures:
        return False
    if not TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > tolerance:
        return False
    candidates: list[bytes] = []
    for item in signatures.split():
        version, _, value = item.partition(",")
        if version != "v1" or not value:
            continue
        try:
            candidates.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    if not candidates:
        return False
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return True
    return False
