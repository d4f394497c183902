"""The body parser's limits: depth, integer length, no NaN or Infinity; each a BodyError, never a crash."""

from __future__ import annotations

import time

import pytest

from webhooks.json_body import MAX_DEPTH, BodyError, load_json, nesting_depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[[", "}}}"]', 1),  # brackets inside strings do not count
        (b'["\\"[[["]', 1),  # nor after an escaped quote
        (b"42", 0),
    ],
)
def test_nesting_depth_counts_brackets_outside_strings(body: bytes, depth: int) -> None:
    assert nesting_depth(body) == depth


def test_the_depth_scan_stays_fast_on_escaped_quotes() -> None:
    # With a closing quote required, each escaped quote would restart a scan to the end: quadratic.
    body = b'"' + b'\\"' * 32_000
    started = time.perf_counter()
    nesting_depth(body)
    assert time.perf_counter() - started < 0.5


def test_json_within_the_limits_is_read() -> None:
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert load_json(b'{"id": -9223372036854775807, "x": 1.5, "s": "[{"}') == {
        "id": -9223372036854775807,
        "x": 1.5,
        "s": "[{",
    }
    assert load_json(nested) is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "The body is nested too deeply."),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "The body is nested too deeply."),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "The body is nested too deeply."),
        (b'{"id": ' + b"9" * 5_000 + b"}", "The body holds a number too large."),
        (b'{"id": ' + b"9" * 21 + b"}", "The body holds a number too large."),
        (b'{"id": 1e999}', "The body holds a number too large."),
        (b'{"id": -1e999}', "The body holds a number too large."),
        (b'{"id": NaN}', "The body is not valid JSON."),
        (b'{"id": Infinity}', "The body is not valid JSON."),
        (b'{"id": -Infinity}', "The body is not valid JSON."),
        (b"\xff\xfe", "The body is not valid JSON."),
        (b"{not json", "The body is not valid JSON."),
    ],
)
def test_bodies_beyond_the_limits_are_a_body_error(body: bytes, message: str) -> None:
    with pytest.raises(BodyError) as caught:
        load_json(body)
    assert caught.value.message == message
    assert caught.value.detail
    assert "999" not in caught.value.detail
