"""docs/events.md is the generator's output, so the reference cannot drift from the schemas."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from adapters.mosaic.events import EVENT_SCHEMAS
from adapters.mosaic.reference import events_reference
from connector.cli import main

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_the_committed_reference_is_the_generators_output() -> None:
    assert DOC.read_text(encoding="utf-8") == events_reference(), (
        "docs/events.md is out of date: run `connector events-reference > docs/events.md`"
    )


def test_every_event_type_field_and_choice_is_in_it() -> None:
    text = events_reference()
    for event_type, (schema, _) in EVENT_SCHEMAS.items():
        assert f"## `{event_type}`" in text
        for name in schema.fields:
            assert f"| `{name}` |" in text
    assert "| `relationship` | text | required | one of `ALLWKR`, `LEADPROF`, `INVWKR` |" in text
    assert "| `supervisor_id` | whole number | required, null allowed | 1 to 9223372036854775807 |" in text


def test_the_command_prints_it() -> None:
    result = CliRunner().invoke(main, ["events-reference"])
    assert result.exit_code == 0
    assert result.output == events_reference()
