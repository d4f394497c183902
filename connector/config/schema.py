"""The config's shape, field by field (marshmallow); each platform's own table is checked by its adapter."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from connector.config.ladder import LadderSchema, RungSchema
from connector.store.url import SERVER_SCHEMES
from rules.codes import OBLIGATION_KINDS

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# `postgresql://...`, `sqlite:///x`: a URL, where a SQLite file path belongs.
DATABASE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
MIN_ADMIN_TOKEN_LENGTH = 16
UNKNOWN_KEY = "Unknown key."  # the same words the platform adapters use for their own tables
SECTIONS = ("storage", "service", "delivery", "reminders", "logging", "tenants")
INLINE_SECRETS = frozenset(
    {
        "api_token",
        "webhook_secrets",
        "admin_token",
        "api_key",
        "viewer_token",
        "calendar_secret",
        "session_secret",
        "password",
    }
)
MIN_SECRET_LENGTH = 16  # viewer tokens, calendar and session secrets, as the admin token


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE

    # marshmallow's own words are "Unknown field."; one wording in every part of the config.
    error_messages = {"unknown": UNKNOWN_KEY}  # noqa: RUF012  (marshmallow reads it from the class)


class StorageSchema(StrictSchema):
    database = fields.String(required=True, validate=validate.Length(min=1))
    # The PostgreSQL user's password, kept out of the URL (which is shown in messages and /status).
    password = fields.String(validate=validate.Length(min=1))
    password_env = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def _a_file_path_or_a_server(self, data: dict[str, Any], **_: Any) -> None:
        database = data.get("database", "")
        scheme = database.split("://", 1)[0].lower() if DATABASE_URL.match(database) else None
        if scheme is None:
            if "password" in data or "password_env" in data:
                key = "password" if "password" in data else "password_env"
                raise ValidationError("Only for a postgresql:// database; a SQLite file has no password.", key)
            return
        if scheme not in SERVER_SCHEMES:
            raise ValidationError(
                f"Unknown database scheme {scheme!r}: give a SQLite file path or a postgresql:// URL.", "database"
            )
        parts = urlsplit(database)
        if parts.password is not None:
            raise ValidationError(
                "Give the password as storage.password_env (or storage.password), not in the URL.", "database"
            )
        if not parts.hostname or not parts.path.strip("/"):
            raise ValidationError(
                "Give the server and the database: postgresql://user@host:5432/database.", "database"
            )
        if "password" in data and "password_env" in data:
            raise ValidationError("Give password or password_env, not both.", "password_env")


class ServiceSchema(StrictSchema):
    background = fields.Boolean(load_default=True)
    worker_process = fields.Boolean(load_default=True)
    delivery_process = fields.Boolean(load_default=True)
    reevaluation_processes = fields.Integer(load_default=0, validate=validate.Range(min=0, max=16))
    poll_interval_seconds = fields.Float(load_default=1.0, validate=validate.Range(min=0.01, max=3600))
    tick_interval_seconds = fields.Float(load_default=3600.0, validate=validate.Range(min=1, max=86400))
    tick_at = fields.String(
        load_default="06:00",
        validate=validate.Regexp(
            r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Give a time of day as HH:MM (00:00 to 23:59)."
        ),
    )
    admin_token = fields.String(validate=validate.Length(min=MIN_ADMIN_TOKEN_LENGTH))
    admin_token_env = fields.String(validate=validate.Length(min=1))
    threads = fields.Integer(load_default=16, validate=validate.Range(min=1, max=64))
    burst_rate = fields.Float(load_default=200.0, validate=validate.Range(min=0))
    batch_size = fields.Integer(load_default=200, validate=validate.Range(min=1, max=2000))
    connection_limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=10000))
    channel_timeout_seconds = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3600))
    future_tolerance_seconds = fields.Float(
        load_default=86400.0, validate=validate.Range(min=0, max=30 * 86400)
    )
    session_secret = fields.String(validate=validate.Length(min=MIN_SECRET_LENGTH))
    session_secret_env = fields.String(validate=validate.Length(min=1))
    public_url = fields.Url(schemes={"http", "https"}, require_tld=False)


class DeliverySchema(StrictSchema):
    max_attempts = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    backoff_seconds = fields.Float(load_default=30.0, validate=validate.Range(min=0))
    backoff_max_seconds = fields.Float(load_default=3600.0, validate=validate.Range(min=0))
    workers = fields.Integer(load_default=8, validate=validate.Range(min=1, max=64))


class RemindersSchema(StrictSchema):
    # Before ladders these two were the whole of reminders; they still shape the default ladder.
    days_before = fields.Integer(validate=validate.Range(min=0, max=90))
    escalate = fields.Boolean()
    ladder = fields.List(fields.Nested(RungSchema))

    @validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        if "ladder" in data and ("days_before" in data or "escalate" in data):
            raise ValidationError("Give either ladder or days_before/escalate, not both.", "ladder")
        if "ladder" in data:
            LadderSchema().load({"ladder": data["ladder"]})


# One optional ladder per obligation kind, so an unknown kind is "Unknown key." at its own path.
KindLaddersSchema = StrictSchema.from_dict(
    {kind: fields.Nested(LadderSchema) for kind in OBLIGATION_KINDS}, name="KindLaddersSchema"
)


class TenantRemindersSchema(StrictSchema):
    ladder = fields.List(fields.Nested(RungSchema))
    kinds = fields.Nested(KindLaddersSchema)

    @validates_schema
    def _no_repeats(self, data: dict[str, Any], **_: Any) -> None:
        if "ladder" in data:
            LadderSchema().load({"ladder": data["ladder"]})


class LoggingSchema(StrictSchema):
    format = fields.String(load_default="text", validate=validate.OneOf(("json", "text")))
    level = fields.String(load_default=None, validate=validate.OneOf(("DEBUG", "INFO", "WARNING", "ERROR")))


class ComplianceSchema(StrictSchema):
    target = fields.Float(load_default=90.0, validate=validate.Range(min=0, max=100))
    floor = fields.Float(load_default=80.0, validate=validate.Range(min=0, max=100))

    @validates_schema
    def _floor_below_target(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("floor", 80.0) > data.get("target", 90.0):
            raise ValidationError("The floor must not be above the target.", "floor")


class TenantSchema(StrictSchema):
    id = fields.String(
        required=True,
        validate=validate.Regexp(TENANT_ID, error="Use lower-case letters, digits, '-' or '_' (at most 63)."),
    )
    rule_pack = fields.String(required=True, validate=validate.Length(min=1))
    reference_prefix = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,20}$", error="Use 1 to 20 letters, digits, '-' or '_'.")
    )
    closure_days = fields.List(fields.Date(), load_default=list)
    assignees = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    team_tags = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String(validate=validate.Length(min=1))),
        load_default=dict,
    )
    reminders = fields.Nested(TenantRemindersSchema)
    mosaic = fields.Dict(keys=fields.String())
    childview = fields.Dict(keys=fields.String())
    compliance = fields.Nested(ComplianceSchema, load_default=lambda: {"target": 90.0, "floor": 80.0})
    viewer_token = fields.String(validate=validate.Length(min=MIN_SECRET_LENGTH))
    viewer_token_env = fields.String(validate=validate.Length(min=1))
    calendar_secret = fields.String(validate=validate.Length(min=MIN_SECRET_LENGTH))
    calendar_secret_env = fields.String(validate=validate.Length(min=1))
    retention_days = fields.Integer(
        strict=True,
        load_default=400,
        validate=validate.Range(
            min=30, max=36_500, error="Use a whole number of days from 30 (late deliveries) to 36500."
        ),
    )
    compact_after_days = fields.Integer(
        strict=True,
        load_default=400,
        validate=validate.Range(
            min=30, max=36_500, error="Use a whole number of days from 30 (late deliveries) to 36500."
        ),
    )

    @validates_schema
    def _one_platform(self, data: dict[str, Any], **_: Any) -> None:
        if "mosaic" not in data and "childview" not in data:
            raise ValidationError(
                "A tenant needs at least one platform table: [tenants.mosaic] or [tenants.childview]."
            )
