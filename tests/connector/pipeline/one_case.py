"""The events most pipeline tests start from: worker 5521 (team 310, supervised by 5500) given child 100234 on
2 November, whose case supervision falls due on 30 November; and a Child Protection plan told late. The
`mosaic` and `connector` fixtures built on them are in conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.harness import Connector, event, make_config, start_connector

WORKER = event(
    "evt_w",
    "worker.updated",
    "2026-11-01T08:00:00Z",
    worker_id=5521,
    team_id=310,
    supervisor_id=5500,
    # Not case-holding and not frontline: the worker's own personal supervision (LINC-PS-NF, 84 days from when
    # the connector first heard of them) falls after these dates, so only the case's step is in play.
    job_role="SOCIAL_WORKER",
    case_holding=False,
    supervises_case_holders=False,
    frontline=False,
    asye=False,
    employment="permanent",
    start_date="2021-09-01",
)
ALLOCATED = event(
    "evt_a",
    "case.allocated",
    "2026-11-02T09:30:00Z",
    person_id=100234,
    worker_id=5521,
    team_id=310,
    relationship="ALLWKR",
    start_date="2026-11-02",
)
CP_PLAN = event(
    "evt_cp",
    "case.status_changed",
    "2026-11-04T10:00:00Z",
    person_id=100234,
    status="CP",
    start_date="2026-11-04",
)


def running_with(tmp_path: Path, base_url: str, *events: dict[str, Any]) -> Iterator[Connector]:
    """A connector on `base_url` that accepted the events (each answered 202) and processed and delivered them;
    closed after the test."""
    running = start_connector(make_config(tmp_path, base_url))
    for item in events:
        assert running.post(item).status_code == 202
    running.service.drain()
    yield running
    running.close()
