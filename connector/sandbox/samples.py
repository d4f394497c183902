"""What the sandbox plays: a Lincolnshire team's month on Mosaic and its Youth Offending Service's on Childview,
the config it writes for them, and the local secrets it signs with (for this machine only)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SANDBOX_SECRET = "whsec_c2FuZGJveC1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9u"
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_KEY = "sandbox-key"
# The dashboard's viewer token, the calendar feeds' secret and the session cookie's key, for this machine only.
SANDBOX_VIEWER = "sandbox-viewer-token"
SANDBOX_CALENDAR = "sandbox-calendar-secret"
SANDBOX_SESSION = "sandbox-session-secret-not-for-production"

CONFIG_TEMPLATE = """\
# Written by `connector sandbox`: a local config against the simulated Mosaic and Childview. Safe to read,
# edit and reuse.
[storage]
database = "{database}"

[service]
poll_interval_seconds = 0.2
session_secret = "{session}"

[delivery]
max_attempts = 5
backoff_seconds = 0.5
backoff_max_seconds = 2

[[tenants]]
id = "lincolnshire"
rule_pack = "lincolnshire"
reference_prefix = "linc"
viewer_token = "{viewer}"
calendar_secret = "{calendar}"

[tenants.mosaic]
base_url = "{base_url}"
api_token = "{token}"
webhook_secrets = ["{secret}"]
timeout_seconds = 5
max_attempts = 3
max_retry_wait_seconds = 1

[tenants.mosaic.step_types]
{step_types}

[tenants.mosaic.form_types]
case_supervision = 7701
personal_supervision = 7702

# The Youth Offending Service's cases and staff, on Childview (string ids, an API key, prompts).
[tenants.childview]
base_url = "{childview_url}"
api_key = "{key}"
webhook_secrets = ["{secret}"]
timeout_seconds = 5
max_attempts = 3
max_retry_wait_seconds = 1
"""

STEP_TYPES = {
    "case_supervision": 9101,
    "personal_supervision": 9102,
    "group_supervision": 9103,
    "supervision_agreement": 9104,
    "practice_observation": 9105,
    "team_brief": 9106,
    "fsm_group_supervision": 9107,
    "supervision_record": 9108,
    "dip_sample": 9109,
    "agenda": 9110,
    "supervision_booking": 9111,
}


MONTHS = ("lincolnshire_month.json", "lincolnshire_yos_month.json")


def sample_months() -> list[dict[str, Any]]:
    """Each month of events with its tenant and platform (Mosaic's names `platform` only by default)."""
    months = []
    for name in MONTHS:
        text = resources.files("connector.sandbox").joinpath(f"data/{name}").read_text("utf-8")
        month: dict[str, Any] = json.loads(text)
        month.setdefault("platform", "mosaic")
        months.append(month)
    return months


def config_text(database: str, mosaic_url: str, childview_url: str) -> str:
    return CONFIG_TEMPLATE.format(
        database=database,
        base_url=mosaic_url,
        childview_url=childview_url,
        token=SANDBOX_TOKEN,
        key=SANDBOX_KEY,
        secret=SANDBOX_SECRET,
        viewer=SANDBOX_VIEWER,
        calendar=SANDBOX_CALENDAR,
        session=SANDBOX_SESSION,
        step_types="\n".join(f"{k} = {v}" for k, v in STEP_TYPES.items()),
    )
