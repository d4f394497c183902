"""Reading a config file and checking it through: sections, tenants, their rule packs and platform tables.

Every problem is collected before one ConfigError is raised, so `check-config` reports them all in one pass.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import time
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError

from adapters.base import SettingsError
from adapters.registry import ADAPTERS
from adapters.settings_fields import secrets_key
from adapters.validation import flatten_errors
from connector.config.access import check_viewer_tokens
from connector.config.access import secret as read_secret
from connector.config.ladder import TenantLadders, as_ladder, default_ladder
from connector.config.model import (
    Compliance,
    Config,
    ConfigError,
    DeliveryConfig,
    LoggingConfig,
    RemindersConfig,
    ServiceConfig,
    TenantConfig,
)
from connector.config.schema import (
    DATABASE_URL,
    INLINE_SECRETS,
    MIN_ADMIN_TOKEN_LENGTH,
    SECTIONS,
    UNKNOWN_KEY,
    DeliverySchema,
    LoggingSchema,
    RemindersSchema,
    ServiceSchema,
    StorageSchema,
    TenantSchema,
)
from connector.store.url import DatabaseUrl
from rules.pack import PackError, RulePack, load_pack, with_assignees
from webhooks.signature import secret_key


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
    storage = _section(StorageSchema(), raw.get("storage", {}), "storage", errors)
    service = _section(ServiceSchema(), raw.get("service", {}), "service", errors)
    delivery = _section(DeliverySchema(), raw.get("delivery", {}), "delivery", errors)
    reminders = _section(RemindersSchema(), raw.get("reminders", {}), "reminders", errors)
    log_settings = _section(LoggingSchema(), raw.get("logging", {}), "logging", errors)

    tenants: dict[str, TenantConfig] = {}
    viewer_tokens: dict[str, str | None] = {}
    raw_tenants = raw.get("tenants")
    if not isinstance(raw_tenants, list) or not raw_tenants:
        errors["tenants"] = ["At least one [[tenants]] table is required."]
        raw_tenants = []
    for index, raw_tenant in enumerate(raw_tenants):
        where = f"tenants[{index}]"
        tenant = _section(TenantSchema(), raw_tenant, where, errors)
        if tenant.get("id") in tenants:
            errors[f"{where}.id"] = [f"Duplicate tenant id {tenant['id']!r}."]
            continue
        tenant_config = _tenant(tenant, where, base_dir, environ, errors)
        viewer_tokens[where] = None if tenant_config is None else tenant_config.viewer_token
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
    session_secret = read_secret(service, "session_secret", environ, "service", errors)
    check_viewer_tokens(viewer_tokens, admin_token, errors)
    if errors:
        raise ConfigError(errors, source)

    database = _database(storage, base_dir, environ, errors)
    if errors:
        raise ConfigError(errors, source)
    return Config(
        database=database,
        tenants=tenants,
        service=ServiceConfig(
            background=service["background"],
            worker_process=service["worker_process"],
            delivery_process=service["delivery_process"],
            reevaluation_processes=service["reevaluation_processes"],
            poll_interval_seconds=service["poll_interval_seconds"],
            tick_interval_seconds=service["tick_interval_seconds"],
            tick_at=time.fromisoformat(service["tick_at"]),
            admin_token=admin_token,
            threads=service["threads"],
            burst_rate=service["burst_rate"],
            batch_size=service["batch_size"],
            connection_limit=service["connection_limit"],
            channel_timeout_seconds=service["channel_timeout_seconds"],
            future_tolerance_seconds=service["future_tolerance_seconds"],
            session_secret=session_secret,
            public_url=service.get("public_url", "").rstrip("/") or None,
        ),
        delivery=DeliveryConfig(**delivery),
        reminders=RemindersConfig(
            as_ladder(reminders)
            if "ladder" in reminders
            else default_ladder(reminders.get("days_before", 7), reminders.get("escalate", True))
        ),
        logging=LoggingConfig(**log_settings),
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
        bad_secrets = _unusable_secrets(adapter.webhook_secrets(settings), tenant[platform])
        if bad_secrets:
            errors.update({f"{where}.{platform}.{key}": msgs for key, msgs in bad_secrets.items()})
            continue
        if pack is not None:
            missing = _unconfigured_kinds(settings, pack)
            if missing:
                errors[f"{where}.{platform}.step_types"] = [
                    f"No step type for {', '.join(missing)}, which rule pack {pack.label} can produce."
                ]
        platforms[platform] = settings

    viewer_token = read_secret(tenant, "viewer_token", environ, where, errors)
    calendar_secret = read_secret(tenant, "calendar_secret", environ, where, errors)
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
        ladders=_ladders(tenant.get("reminders", {})),
        compliance=Compliance(**tenant["compliance"]),
        viewer_token=viewer_token,
        calendar_secret=calendar_secret,
        retention_days=tenant["retention_days"],
        compact_after_days=tenant["compact_after_days"],
    )


def _ladders(loaded: Mapping[str, Any]) -> TenantLadders:
    return TenantLadders(
        default=as_ladder(loaded) if "ladder" in loaded else None,
        kinds={kind: as_ladder(table) for kind, table in loaded.get("kinds", {}).items()},
    )


def _unconfigured_kinds(settings: Any, pack: RulePack) -> list[str]:
    step_types = getattr(settings, "step_types", None)
    if step_types is None:
        return []
    return sorted(kind for kind in pack.kinds if kind not in step_types)


def _unusable_secrets(secrets: list[str], table: Mapping[str, Any]) -> dict[str, list[str]]:
    """Secrets the webhook edge could not verify with, checked by the edge's own parser (never echoed)."""
    key = secrets_key(table)
    found: dict[str, list[str]] = {}
    for index, secret in enumerate(secrets):
        try:
            secret_key(secret)
        except ValueError as exc:
            found[f"{key}[{index}]"] = [f"Not a webhook secret: {exc}."]
    return found


def _database(
    storage: Mapping[str, Any], base_dir: Path, environ: Mapping[str, str], errors: dict[str, list[str]]
) -> Path | DatabaseUrl:
    """A SQLite file (relative to the config's folder) or a server's URL with its password beside it."""
    if DATABASE_URL.match(storage["database"]):
        password = storage.get("password")
        if "password_env" in storage:
            password = environ.get(storage["password_env"])
            if not password:
                errors["storage.password_env"] = [f"Environment variable {storage['password_env']} is not set."]
        return DatabaseUrl(storage["database"], password)
    database = Path(storage["database"])
    return database if database.is_absolute() else base_dir / database
