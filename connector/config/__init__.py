"""The operator's TOML config: its schema, the dataclasses it becomes, and loading it with every check."""

from connector.config.load import load_config_file, parse_config, secrets_exposed
from connector.config.model import (
    Config,
    ConfigError,
    DeliveryConfig,
    LoggingConfig,
    RemindersConfig,
    ServiceConfig,
    TenantConfig,
)

__all__ = [
    "Config",
    "ConfigError",
    "DeliveryConfig",
    "LoggingConfig",
    "RemindersConfig",
    "ServiceConfig",
    "TenantConfig",
    "load_config_file",
    "parse_config",
    "secrets_exposed",
]
