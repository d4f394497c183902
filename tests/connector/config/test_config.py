"""Config validation, field by field, and the CLI's one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.support.harness import SECRET, config_document

from connector.cli import main
from connector.config import ConfigError, load_config_file, parse_config
from connector.store.url import DatabaseUrl


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
    assert [(r.offset_days, r.to) for r in config.ladder("lincolnshire", "case_supervision")] == [
        (-7, "assignee"),
        (0, "assignee"),
        (0, "supervisor"),
        (7, "supervisor_of_supervisor"),
    ]


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


CHILDVIEW = {
    "base_url": "http://127.0.0.1:9002/api",
    "api_key": "dev-key",
    "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
}


def test_a_tenant_may_have_childview_beside_mosaic_without_step_types(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["childview"] = dict(CHILDVIEW)
    tenant = parse_config(document, base_dir=tmp_path, environ={}).tenants["lincolnshire"]
    assert set(tenant.platforms) == {"mosaic", "childview"}
    assert tenant.platforms["childview"].prompt_type("case_supervision") == "MANAGEMENT_OVERSIGHT_DUE"


def test_a_tenant_may_have_childview_alone(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["childview"] = dict(CHILDVIEW)
    del document["tenants"][0]["mosaic"]
    assert set(parse_config(document, base_dir=tmp_path, environ={}).tenants["lincolnshire"].platforms) == {
        "childview"
    }


def test_childview_settings_errors_carry_the_tenant_path(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["tenants"][0]["childview"] = {"base_url": "http://childview.example/api", "step_types": {}}
    errors = errors_of(document, tmp_path)
    assert {
        "tenants[0].childview.base_url",
        "tenants[0].childview.api_key",
        "tenants[0].childview.webhook_secrets",
        "tenants[0].childview.step_types",
    } <= set(errors)


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


def test_check_config_accepts_a_postgresql_url_and_refuses_an_unknown_scheme(tmp_path: Path) -> None:
    from tests.support.harness import config_toml

    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    path = tmp_path / "c.toml"
    document["storage"] = {
        "database": "postgresql://connector@db.council:5432/connector",
        "password_env": "PGPW",
    }
    path.write_text(config_toml(document))
    good = CliRunner(env={"PGPW": "s3cret"}).invoke(main, ["check-config", "--config", str(path)])
    assert good.exit_code == 0, good.output
    document["storage"] = {"database": "mysql://root@db/connector"}
    path.write_text(config_toml(document))
    bad = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert bad.exit_code == 2
    assert "storage.database: Unknown database scheme 'mysql'" in bad.output


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


def test_server_limits_have_defaults_and_are_validated(tmp_path: Path) -> None:
    config = parse_config(
        config_document(tmp_path, "http://127.0.0.1:9001/api"), base_dir=tmp_path, environ={}
    )
    assert (config.service.connection_limit, config.service.channel_timeout_seconds) == (500, 30)
    # Threads waiting for a shared commit: 16 senders fit in one fsync; a backlog goes 200 events a commit.
    assert (config.service.threads, config.service.batch_size) == (16, 200)
    # `connector serve` runs the background work in a child process unless told otherwise.
    assert config.service.worker_process is True
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["service"] = {"worker_process": False}
    assert parse_config(document, base_dir=tmp_path, environ={}).service.worker_process is False
    document["service"] = {
        "connection_limit": 0,
        "channel_timeout_seconds": "soon",
        "batch_size": 0,
        "worker_process": "yes please",
    }
    errors = errors_of(document, tmp_path)
    assert "service.worker_process" in errors
    assert "service.connection_limit" in errors
    assert "service.channel_timeout_seconds" in errors
    assert "service.batch_size" in errors


def test_one_pass_reports_every_part_with_one_wording_for_unknown_keys(tmp_path: Path) -> None:
    document = config_document(tmp_path, "https://mosaic.council.example/api")
    document["surprise"] = 1
    document["service"] = {"threads": 0, "tread": 2}
    document["tenants"][0]["id"] = "Not A Slug"
    document["tenants"][0]["mosaic"]["base_url"] = "ftp://mosaic"
    document["tenants"][0]["mosaic"]["colour"] = "blue"
    document["tenants"][0]["rule_pack"] = "no-such-pack"
    errors = errors_of(document, tmp_path)
    assert errors["surprise"] == ["Unknown key."]
    assert errors["service.tread"] == ["Unknown key."]
    assert errors["tenants[0].mosaic.colour"] == ["Unknown key."]
    assert "service.threads" in errors
    assert "tenants[0].id" in errors
    # These sit beside a schema error and are still checked.
    assert "tenants[0].mosaic.base_url" in errors
    assert "no-such-pack" in " ".join(errors["tenants[0].rule_pack"])


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("sqlite:///x.db", "sqlite"), ("mysql://root@db/connector", "mysql"), ("file://var/c.db", "file")],
)
def test_a_database_url_of_an_unknown_scheme_is_refused(tmp_path: Path, url: str, scheme: str) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["storage"]["database"] = url
    assert errors_of(document, tmp_path) == {
        "storage.database": [
            f"Unknown database scheme {scheme!r}: give a SQLite file path or a postgresql:// URL."
        ]
    }


def test_a_postgresql_url_is_taken_with_its_password_from_the_environment(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["storage"] = {
        "database": "postgresql://connector@db.council:5432/connector",
        "password_env": "PGPW",
    }
    config = parse_config(document, base_dir=tmp_path, environ={"PGPW": "s3cret"})
    assert config.database == DatabaseUrl("postgresql://connector@db.council:5432/connector", "s3cret")
    assert "s3cret" not in f"{config.database} {config.database!r}"


@pytest.mark.parametrize(
    ("storage", "field", "message"),
    [
        (
            {"database": "postgresql://connector:pw@db/connector"},
            "storage.database",
            "Give the password as storage.password_env (or storage.password), not in the URL.",
        ),
        (
            {"database": "postgresql://connector@db"},
            "storage.database",
            "Give the server and the database: postgresql://user@host:5432/database.",
        ),
        (
            {"database": "var/c.db", "password_env": "PGPW"},
            "storage.password_env",
            "Only for a postgresql:// database; a SQLite file has no password.",
        ),
        (
            {"database": "postgresql://connector@db/connector", "password_env": "UNSET"},
            "storage.password_env",
            "Environment variable UNSET is not set.",
        ),
    ],
)
def test_a_bad_postgresql_storage_names_the_field(
    tmp_path: Path, storage: dict[str, str], field: str, message: str
) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["storage"] = storage
    assert errors_of(document, tmp_path) == {field: [message]}


def test_an_admin_token_from_the_environment_must_be_long_enough(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["service"] = {"admin_token_env": "ADMIN"}
    errors = errors_of(document, tmp_path, environ={"ADMIN": "x"})
    assert errors == {"service.admin_token_env": ["The value of ADMIN must be at least 16 characters."]}
    config = parse_config(document, base_dir=tmp_path, environ={"ADMIN": "a" * 16})
    assert config.service.admin_token == "a" * 16


def test_future_tolerance_defaults_to_a_day_and_is_validated(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    assert parse_config(document, base_dir=tmp_path, environ={}).service.future_tolerance_seconds == 86400
    document["service"] = {"future_tolerance_seconds": 600}
    assert parse_config(document, base_dir=tmp_path, environ={}).service.future_tolerance_seconds == 600
    for bad in (-1, 31 * 86400, "soon", float("nan")):
        document["service"] = {"future_tolerance_seconds": bad}
        assert list(errors_of(document, tmp_path)) == ["service.future_tolerance_seconds"]


@pytest.mark.parametrize("platform", ["mosaic", "childview"])
def test_a_secret_the_webhook_edge_cannot_use_is_named_by_its_index_and_not_echoed(
    tmp_path: Path, platform: str
) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    bad = [SECRET, "whsec_Hunter2!!", "sk_live_123"]
    if platform == "mosaic":
        document["tenants"][0]["mosaic"]["webhook_secrets"] = bad
    else:
        document["tenants"][0]["childview"] = {
            "base_url": "http://127.0.0.1:9002/api",
            "api_key": "childview-key",
            "webhook_secrets": bad,
        }
    errors = errors_of(document, tmp_path)
    assert set(errors) == {
        f"tenants[0].{platform}.webhook_secrets[1]",
        f"tenants[0].{platform}.webhook_secrets[2]",
    }
    assert "Hunter2" not in repr(errors) and "sk_live_123" not in repr(errors)


def test_a_bad_secret_from_the_environment_is_named_by_its_index(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    mosaic = document["tenants"][0]["mosaic"]
    del mosaic["webhook_secrets"]
    mosaic["webhook_secrets_env"] = "HOOKS"
    errors = errors_of(document, tmp_path, environ={"HOOKS": f"{SECRET} whsec_!!"})
    assert list(errors) == ["tenants[0].mosaic.webhook_secrets_env[1]"]


def test_a_tenant_sets_its_ladder_and_one_per_kind(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["reminders"] = {"days_before": 3, "escalate": False}
    document["tenants"][0]["reminders"] = {
        "ladder": [{"offset_days": -14, "to": "assignee"}, {"offset_days": 1, "to": "supervisor"}],
        "kinds": {"agenda": {"ladder": [{"offset_days": 0, "to": "assignee"}]}},
    }
    config = parse_config(document, base_dir=tmp_path, environ={})
    assert [(r.offset_days, r.to) for r in config.ladder("lincolnshire", "case_supervision")] == [
        (-14, "assignee"),
        (1, "supervisor"),
    ]
    assert [(r.offset_days, r.to) for r in config.ladder("lincolnshire", "agenda")] == [(0, "assignee")]
    # The global [reminders] keys still shape the default ladder of a tenant that sets none.
    assert [(r.offset_days, r.to) for r in config.reminders.ladder] == [
        (-3, "assignee"),
        (0, "assignee"),
        (0, "supervisor"),
    ]


def test_every_ladder_key_is_checked_by_its_path(tmp_path: Path) -> None:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    document["reminders"] = {"days_before": 7, "ladder": [{"offset_days": -7, "to": "assignee"}]}
    document["tenants"][0]["reminders"] = {
        "ladder": [{"offset_days": -7, "to": "manager"}, {"offset_days": "soon", "to": "assignee"}],
        "kinds": {
            "case_supervisions": {"ladder": []},
            "agenda": {
                "ladder": [{"offset_days": 0, "to": "assignee"}, {"offset_days": 0, "to": "assignee"}]
            },
            "dip_sample": {"ladder": [{"offset_days": 400, "to": "assignee", "when": "x"}]},
        },
        "colour": "red",
    }
    errors = errors_of(document, tmp_path)
    assert errors["reminders.ladder"] == ["Give either ladder or days_before/escalate, not both."]
    assert errors["tenants[0].reminders.ladder[0].to"] == [
        "Must be one of: assignee, supervisor, supervisor_of_supervisor."
    ]
    assert errors["tenants[0].reminders.ladder[1].offset_days"] == ["Not a valid integer."]
    assert errors["tenants[0].reminders.kinds.case_supervisions"] == ["Unknown key."]
    assert errors["tenants[0].reminders.kinds.agenda.ladder[1]"] == ["The same offset and recipient twice."]
    assert errors["tenants[0].reminders.kinds.dip_sample.ladder[0].offset_days"] == [
        "Must be greater than or equal to -90 and less than or equal to 90."
    ]
    assert errors["tenants[0].reminders.kinds.dip_sample.ladder[0].when"] == ["Unknown key."]
    assert errors["tenants[0].reminders.colour"] == ["Unknown key."]


def test_compact_after_days_defaults_to_400_and_is_validated(tmp_path: Path) -> None:
    config = parse_config(
        config_document(tmp_path, "http://127.0.0.1:9001/api"), base_dir=tmp_path, environ={}
    )
    assert config.tenants["lincolnshire"].compact_after_days == 400
    for bad in (29, "a year", 1.5, 36_501):
        document = config_document(tmp_path, "http://127.0.0.1:9001/api")
        document["tenants"][0]["compact_after_days"] = bad
        assert "tenants[0].compact_after_days" in errors_of(document, tmp_path)


def test_retention_days_defaults_to_400_and_is_validated(tmp_path: Path) -> None:
    config = parse_config(
        config_document(tmp_path, "http://127.0.0.1:9001/api"), base_dir=tmp_path, environ={}
    )
    assert config.tenants["lincolnshire"].retention_days == 400
    for bad in (7, "a year", 1.5):
        document = config_document(tmp_path, "http://127.0.0.1:9001/api")
        document["tenants"][0]["retention_days"] = bad
        assert "tenants[0].retention_days" in errors_of(document, tmp_path)
