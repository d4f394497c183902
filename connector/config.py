"""Loading and validating the operator's TOML config into plain dataclasses.

marshmallow checks the shape field by field; each platform's own table is checked by its adapter, and the rule
pack is loaded here so a bad pack is refused at start with the file, the rule and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from adapters.base import SettingsError
from adapters.registry import ADAPTERS
from adapters.validation import flatten_errors
from rules.pack import PackError, RulePack, load_pack, with_assignees


class ConfigError(Exception):
    """A config that cannot be used. `errors` maps dotted field paths to messages."""

    def __init__(self, errors: Mapping[str, list[str]], source: str = "config") -> None:
        self.errors = dict(errors)
        self.source = source
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = [f"{path}: {' '.join(msgs)}" for path, msgs in sorted(self.errors.items())]
        return f"{self.source}: " + "; ".join(parts)

    def lines(self) -> list[str]:
        return [f"{path}: {' '.join(msgs)}" for path, msgs in sorted(self.errors.items())]


TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# `postgresql://...`, `sqlite:///x`: a URL, where a SQLite file path belongs.
DATABASE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
MIN_ADMIN_TOKEN_LENGTH = 16
UNKNOWN_KEY = "Unknown key."  # the same words the platform adapters use for their own tables
SECTIONS = ("storage", "service", "delivery", "reminders", "tenants")
INLINE_SECRETS = frozenset({"api_token", "webhook_secrets", "admin_token", "api_key"})


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    # marshmallow's own words are "Unknown field."; one wording in every part of the config.
    error_messages = {"unknown": UNKNOWN_KEY}  # noqa: RUF012  (marshmallow reads it from the class)


class _StorageSchema(_Strict):
    database = fields.String(required=True, validate=validate.Length(min=1))

    @validates_schema
    def _a_file_path(self, data: dict[str, Any], **_: Any) -> None:
        if DATABASE_URL.match(data.get("database", "")):
            raise ValidationError(
                "PostgreSQL and other database servers are not supported yet; give a SQLite file path.",
                "database",
            )


class _ServiceSchema(_Strict):
    background = fields.Boolean(load_default=True)
    poll_interval_seconds = fields.Float(load_default=1.0, validate=validate.Range(min=0.01, max=3600))
    tick_interval_seconds = fields.Float(load_default=3600.0, validate=validate.Range(min=1, max=86400))
    admin_token = fields.String(validate=validate.Length(min=MIN_ADMIN_TOKEN_LENGTH))
    admin_token_env = fields.String(validate=validate.Length(min=1))
    threads = fields.Integer(load_default=8, validate=validate.Range(min=1, max=64))
    burst_rate = fields.Float(load_default=200.0, validate=validate.Range(min=0))
    connection_limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=10000))
    channel_timeout_seconds = fields.Integer(load_default=30, validate=validate.Range(min=1, max=3600))
    future_tolerance_seconds = fields.Float(
        load_default=86400.0, validate=validate.Range(min=0, max=30 * 86400)
    )


class _DeliverySchema(_Strict):
    max_attempts = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    backoff_seconds = fields.Float(load_default=30.0, validate=validate.Range(min=0))
    backoff_max_seconds = fields.Float(load_default=3600.0, validate=validate.Range(min=0))


class _RemindersSchema(_Strict):
    days_before = fields.Integer(load_default=7, validate=validate.Range(min=0, max=90))
    escalate = fields.Boolean(load_default=True)


class _TenantSchema(_Strict):
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
    mosaic = fields.Dict(keys=fields.String())
    childview = fields.Dict(keys=fields.String())

    @validates_schema
    def _one_platform(self, data: dict[str, Any], **_: Any) -> None:
        if "mosaic" not in data and "childview" not in data:
            raise ValidationError(
                "A tenant needs at least one platform table: [tenants.mosaic] or [tenants.childview]."
            )


@dataclass(frozen=True)
class TenantConfig:
    id: str
    rule_pack: RulePack
    reference_prefix: str
    closure_days: tuple[date, ...]
    team_tags: Mapping[str, frozenset[str]]
    platforms: Mapping[str, Any]  # platform name -> that adapter's parsed settings


@dataclass(frozen=True)
class ServiceConfig:
    background: bool = True
    poll_interval_seconds: float = 1.0
    tick_interval_seconds: float = 3600.0
    admin_token: str | None = None
    threads: int = 8
    burst_rate: float = 200.0
    connection_limit: int = 500
    channel_timeout_seconds: int = 30
    future_tolerance_seconds: float = 86400.0


@dataclass(frozen=True)
class DeliveryConfig:
    max_attempts: int = 10
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0


@dataclass(frozen=True)
class RemindersConfig:
    days_before: int = 7
    escalate: bool = True


@dataclass(frozen=True)
class Config:
    database: Path
    tenants: Mapping[str, TenantConfig]
    service: ServiceConfig = field(default_factory=ServiceConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    # Not errors, but worth an operator's attention: `check-config` prints them, `serve` logs them.
    warnings: tuple[str, ...] = ()


def load_config_file(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; relative paths in it are relative to the file's folder."""
    path = Path(path)
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError({"config": [f"no such file: {path}"]}, source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError({"config": [f"not valid TOML: {exc}"]}, source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError({"config": [f"cannot be read: {exc}"]}, source) from None
    config = parse_config(
        raw, base_dir=path.parent, environ=os.environ if environ is None else environ, source=source
    )
    warning = secrets_exposed(path, raw)
    return replace(config, warnings=(warning,)) if warning else config


def secrets_exposed(path: Path, raw: Mapping[str, Any]) -> str | None:
    """A warning when the file holds secrets inline and its group or others may read it."""
    found = sorted(_inline_secrets(raw))
    if not found:
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & 0o077 == 0:
        return None
    return (
        f"{path} holds secrets inline ({', '.join(found)}) and is readable by others (mode {mode & 0o777:o});"
        f" run `chmod 600 {path}` or use the *_env keys"
    )


def _inline_secrets(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in INLINE_SECRETS:
                found.add(str(key))
            found |= _inline_secrets(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _inline_secrets(inner)
    return found


def parse_config(
    raw: Mapping[str, Any], base_dir: Path, environ: Mapping[str, str], source: str = "config"
) -> Config:
    """Validate a parsed TOML document. Collects every problem before raising one ConfigError.

    Each section, and each tenant, is checked on its own, so a mistake in one does not hide those in another.
    """
    errors: dict[str, list[str]] = {}
    for key in sorted(set(raw) - set(SECTIONS)):
        errors[key] = [UNKNOWN_KEY]
    storage = _section(_StorageSchema(), raw.get("storage", {}), "storage", errors)
    service = _section(_ServiceSchema(), raw.get("service", {}), "service", errors)
    delivery = _section(_DeliverySchema(), raw.get("delivery", {}), "delivery", errors)
    reminders = _section(_RemindersSchema(), raw.get("reminders", {}), "reminders", errors)

    tenants: dict[str, TenantConfig] = {}
    raw_tenants = raw.get("tenants")
    if not isinstance(raw_tenants, list) or not raw_tenants:
        errors["tenants"] = ["At least one [[tenants]] table is required."]
        raw_tenants = []
    for index, raw_tenant in enumerate(raw_tenants):
        where = f"tenants[{index}]"
        tenant = _section(_TenantSchema(), raw_tenant, where, errors)
        if tenant.get("id") in tenants:
            errors[f"{where}.id"] = [f"Duplicate tenant id {tenant['id']!r}."]
            continue
        tenant_config = _tenant(tenant, where, base_dir, environ, errors)
        if tenant_config is not None:
            tenants[tenant_config.id] = tenant_config

    admin_token = service.get("admin_token")
    if "admin_token_env" in service:
        admin_token = environ.get(service["admin_token_env"], "").strip()
        if not admin_token:
            errors["service.admin_token_env"] = [
                f"Environment variable {service['admin_token_env']} is not set."
            ]
        elif len(admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            errors["service.admin_token_env"] = [
                f"The value of {service['admin_token_env']} must be at least {MIN_ADMIN_TOKEN_LENGTH} characters."
            ]
    if errors:
        raise ConfigError(errors, source)

    database = Path(storage["database"])
    if not database.is_absolute():
        database = base_dir / database
    return Config(
        database=database,
        tenants=tenants,
        service=ServiceConfig(
            background=service["background"],
            poll_interval_seconds=service["poll_interval_seconds"],
            tick_interval_seconds=service["tick_interval_seconds"],
            admin_token=admin_token,
            threads=service["threads"],
            burst_rate=service["burst_rate"],
            connection_limit=service["connection_limit"],
            channel_timeout_seconds=service["channel_timeout_seconds"],
            future_tolerance_seconds=service["future_tolerance_seconds"],
        ),
        delivery=DeliveryConfig(**delivery),
        reminders=RemindersConfig(**reminders),
    )


def _section(schema: Schema, raw: Any, where: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The section as loaded, or what of it is valid (recording the rest in `errors`)."""
    if not isinstance(raw, Mapping):
        errors[where] = ["Must be a table."]
        return {}
    try:
        loaded: dict[str, Any] = schema.load(dict(raw))
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages, prefix=where, root=where))
        # The valid part still gets its own checks: a bad tenant id should not hide a bad platform URL.
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return {**valid, "_invalid": True}
    return loaded


def _tenant(
    tenant: dict[str, Any],
    where: str,
    base_dir: Path,
    environ: Mapping[str, str],
    errors: dict[str, list[str]],
) -> TenantConfig | None:
    pack_ref = tenant.get("rule_pack")
    pack: RulePack | None = None
    if pack_ref is not None:
        if "/" in pack_ref or pack_ref.endswith(".toml"):
            pack_path = Path(pack_ref)
            pack_ref = str(pack_path if pack_path.is_absolute() else base_dir / pack_path)
        try:
            pack = load_pack(pack_ref)
        except PackError as exc:
            errors[f"{where}.rule_pack"] = [str(exc)]
    if pack is not None and "assignees" in tenant:
        try:
            pack = with_assignees(pack, tenant["assignees"])
        except PackError as exc:
            errors[f"{where}.assignees"] = [str(exc)]
            pack = None

    platforms: dict[str, Any] = {}
    for platform in ("mosaic", "childview"):
        if platform not in tenant:
            continue
        adapter = ADAPTERS.get(platform)
        if adapter is None:
            errors[f"{where}.{platform}"] = [f"The {platform} adapter is not available in this version."]
            continue
        try:
            settings = adapter.parse_settings(tenant[platform], environ)
        except SettingsError as exc:
            for key, msgs in exc.errors.items():
                errors[f"{where}.{platform}.{key}"] = msgs
            continue
        if pack is not None:
            missing = _unconfigured_kinds(settings, pack)
            if missing:
                errors[f"{where}.{platform}.step_types"] = [
                    f"No step type for {', '.join(missing)}, which rule pack {pack.label} can produce."
                ]
        platforms[platform] = settings

    if (
        tenant.get("_invalid")
        or pack is None
        or len(platforms) != sum(p in tenant for p in ("mosaic", "childview"))
    ):
        return None
    return TenantConfig(
        id=tenant["id"],
        rule_pack=pack,
        reference_prefix=tenant.get("reference_prefix", tenant["id"]),
        closure_days=tuple(tenant["closure_days"]),
        team_tags={team: frozenset(tags) for team, tags in tenant["team_tags"].items()},
        platforms=platforms,
    )


def _unconfigured_kinds(settings: Any, pack: RulePack) -> list[str]:
    step_types = getattr(settings, "step_types", None)
    if step_types is None:
        return []
    return sorted(kind for kind in pack.kinds if kind not in step_types)
