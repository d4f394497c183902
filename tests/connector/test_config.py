"""Config validation, field by field, and the CLI's one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.support.harness import config_document

from connector.cli import main
from connector.config import ConfigError, load_config_file, parse_config


def errors_of(
    document: dict[str, Any], tmp_path: Path, environ: dict[str, str] | None = None
) -> dict[str, list[str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(document, base_dir=tmp_path, environ=environ or {})
    return caught.value.errors


def test_a_good_config_loads_with_defaults(tmp_path: Path) -> None:
    config = parse_config(
        config_document(tmp_path, "http://127.0.0.1:9001/api"), base_dir=tmp_path, environ={}
    )
    tenant = config.tenants["lincolnshire"]
    assert tenant.rule_pack.name == "lincolnshire"
    assert tenant.reference_prefix == "linc"
    assert set(tenant.platforms) == {"mosaic"}
    assert config.service.background is True
    assert config.reminders.days_before == 7


def test_relative_database_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["storage"]["database"] = "var/c.db"
    config = parse_config(document, base_dir=tmp_path, environ={})
    assert config.database == tmp_path / "var" / "c.db"


def test_every_problem_is_reported_by_its_path(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["storage"] = {}
    document["surprise"] = 1
    document["tenants"][0]["id"] = "Not A Slug"
    errors = errors_of(document, tmp_path)
    assert "storage.database" in errors
    assert "surprise" in errors
    assert "tenants[0].id" in errors


def test_platform_settings_errors_carry_the_tenant_path(tmp_path: Path) -> None:
    document = config_document(tmp_path, "not a url")
    del document["tenants"][0]["mosaic"]["api_token"]
    document["tenants"][0]["mosaic"]["api_token_env"] = "NOT_SET_ANYWHERE"
    errors = errors_of(document, tmp_path)
    assert "tenants[0].mosaic.base_url" in errors
    assert any("NOT_SET_ANYWHERE" in " ".join(m) for m in errors.values())


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    del document["tenants"][0]["mosaic"]["api_token"]
    document["tenants"][0]["mosaic"]["api_token_env"] = "LINCS_MOSAIC_TOKEN"
    config = parse_config(document, base_dir=tmp_path, environ={"LINCS_MOSAIC_TOKEN": "from-env"})
    assert config.tenants["lincolnshire"].platforms["mosaic"].api_token == "from-env"


def test_an_unknown_rule_pack_is_refused(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["rule_pack"] = "atlantis"
    assert "tenants[0].rule_pack" in errors_of(document, tmp_path)


def test_every_kind_the_pack_produces_needs_a_step_type(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["mosaic"]["step_types"] = {"personal_supervision": 9102}
    errors = errors_of(document, tmp_path)
    assert "case_supervision" in " ".join(errors["tenants[0].mosaic.step_types"])


def test_childview_is_refused_until_its_adapter_exists(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["childview"] = {"base_url": "http://127.0.0.1:9002/api"}
    assert "tenants[0].childview" in errors_of(document, tmp_path)


def test_duplicate_tenants_are_refused(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"].append(dict(document["tenants"][0]))
    assert "tenants[1].id" in errors_of(document, tmp_path)


def test_a_missing_or_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config_file(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[storage\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_file(broken)


def test_check_config_prints_each_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[storage]\ndatabase = ""\n[[tenants]]\nid = "x"\nrule_pack = "lincolnshire"\n')
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 2
    assert "storage.database" in result.output
    assert "tenants[0]" in result.output


def test_serve_with_a_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--config", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("connector: error: ")


def test_tick_refuses_a_bad_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["tick", "--config", str(tmp_path / "c.toml"), "--now", "31/12/2026"])
    assert result.exit_code == 2
    assert result.output == "connector: error: --now: '31/12/2026' is not a date in the form YYYY-MM-DD\n"


def test_a_tenant_may_choose_who_a_rule_assigns(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["rule_pack"] = "bracknell-forest"
    document["tenants"][0]["assignees"] = {"BFC-REC": "worker"}
    config = parse_config(document, base_dir=tmp_path, environ={})
    pack = config.tenants["lincolnshire"].rule_pack
    [record] = [r for r in pack.rules if r.id == "BFC-REC"]
    assert record.assignee == "worker"
    shipped = parse_config(
        config_document(tmp_path, "http://127.0.0.1:9001/api"), base_dir=tmp_path, environ={}
    )
    assert pack.fingerprint != shipped.tenants["lincolnshire"].rule_pack.fingerprint


@pytest.mark.parametrize(
    ("assignees", "problem"),
    [({"BFC-NOPE": "worker"}, "no rule 'BFC-NOPE'"), ({"BFC-REC": "the cat"}, "assignee must be one of")],
)
def test_a_bad_assignee_choice_is_named(tmp_path: Path, assignees: dict[str, str], problem: str) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["rule_pack"] = "bracknell-forest"
    document["tenants"][0]["assignees"] = assignees
    errors = errors_of(document, tmp_path)
    assert problem in " ".join(errors["tenants[0].assignees"])


def test_future_tolerance_defaults_to_a_day_and_is_validated(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    assert parse_config(document, base_dir=tmp_path, environ={}).service.future_tolerance_seconds == 86400
    document["service"] = {"future_tolerance_seconds": 600}
    assert parse_config(document, base_dir=tmp_path, environ={}).service.future_tolerance_seconds == 600
    for bad in (-1, 31 * 86400, "soon", float("nan")):
        document["service"] = {"future_tolerance_seconds": bad}
        assert list(errors_of(document, tmp_path)) == ["service.future_tolerance_seconds"]
