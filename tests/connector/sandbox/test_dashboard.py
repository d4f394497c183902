"""`connector sandbox` ends with the dashboard's address, and with --serve keeps it up: team 310's overdue case
supervision is red on it with its reason, and the trend chart shows November, the month it was missed."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from connector.sandbox.run import run_sandbox
from connector.sandbox.samples import SANDBOX_VIEWER


def test_the_served_dashboard_shows_the_overdue_case_supervision_in_red(tmp_path: Path) -> None:
    lines: list[str] = []
    seen: dict[str, str] = {}

    def look() -> None:
        [address] = re.findall(r"Compliance dashboard for team 310: (\S+)", "\n".join(lines))
        with requests.Session() as browser:
            login = address.replace("/teams/310", "/login")
            answer = browser.post(login, data={"token": SANDBOX_VIEWER}, timeout=10)
            assert answer.status_code == 200
            seen["tenant"] = " ".join(browser.get(address.split("/teams/")[0], timeout=10).text.split())
            seen["team"] = " ".join(browser.get(address, timeout=10).text.split())

    run_sandbox(tmp_path, 0, lines.append, serve=True, wait=look)
    tenant, team = seen["tenant"], seen["team"]
    row = re.search(r'<tr class="rag-(\w+)"> <td><a href="/dashboard/lincolnshire/teams/310">', tenant)
    assert row is not None and row.group(1) in {"red", "amber"}
    overdue = team.split("Overdue now")[1].split("</table>")[0]
    assert '<tr class="rag-red"><td>case_supervision</td><td>100299' in overdue.replace("> <", "><")
    assert (
        "rule LINC-CS-ALLOC (policy 5.1.1, 5.1.6)" in overdue
        and "counted from allocation on 2026-10-05" in overdue
    )
    assert "<svg" in team and "2026-11" in team.split("<svg")[1]
    assert "Serving the connector, its dashboard and both simulators until Ctrl-C." in lines
