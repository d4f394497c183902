"""Taking back a reminder: gone when unread; left as it is when read or already gone; retried when Mosaic is down."""

from __future__ import annotations

import pytest
from tests.adapters.mosaic.support import MAX_ATTEMPTS, Harness

from adapters.base import RetryableError

PATH = "/api/current-work/notifications/770001"


@pytest.mark.parametrize("status", [204, 404, 409])
def test_withdrawal_is_done_whether_deleted_gone_or_read(mosaic: Harness, status: int) -> None:
    mosaic.server.expect_request(PATH, method="DELETE").respond_with_data("", status=status)
    mosaic.writer().withdraw_reminder("770001")
    assert mosaic.calls("DELETE") == [f"DELETE {PATH}"]
    assert mosaic.sleeps == []


def test_withdrawal_is_retried_while_mosaic_is_down_then_given_up(mosaic: Harness) -> None:
    mosaic.server.expect_request(PATH, method="DELETE").respond_with_json({"message": "down"}, status=503)
    with pytest.raises(RetryableError):
        mosaic.writer().withdraw_reminder("770001")
    assert len(mosaic.calls("DELETE")) == MAX_ATTEMPTS
    assert len(mosaic.sleeps) == MAX_ATTEMPTS - 1
