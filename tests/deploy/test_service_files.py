"""The deployment files: Docker and systemd cannot run here, so check what can be checked without them."""

import configparser
import re
import shlex
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, empty_lines_in_values=False)
    parser.optionxform = str  # keep the unit's CamelCase keys
    parser.read_string((DEPLOY / "connector.service").read_text())
    return parser


def test_the_unit_serves_the_config_under_etc_as_a_hardened_dedicated_user() -> None:
    service = _unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/connector") and argv[1] == "serve"
    assert argv[argv.index("--config") + 1] == "/etc/connector/connector.toml"
    assert service["EnvironmentFile"] == "/etc/connector/connector.env"
    assert service["User"] == "connector"
    assert service["NoNewPrivileges"] == "true"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/connector"


def test_the_container_runs_as_non_root_with_a_healthcheck_on_healthz() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER connector$", text, re.M)
    assert re.search(r"^EXPOSE 8080$", text, re.M)
    assert "/healthz" in text.split("HEALTHCHECK", 1)[1]
    assert re.search(r"^RUN pip install -c constraints\.txt \.", text, re.M)  # the pinned, tested versions
    assert (
        'CMD ["connector", "serve", "--config", "/etc/connector/connector.toml", "--host", "0.0.0.0"' in text
    )


def test_the_example_env_file_names_only_placeholders() -> None:
    lines = [
        line
        for line in (DEPLOY / "connector.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[A-Z_]+=\S*replace\S*", line) for line in lines)
