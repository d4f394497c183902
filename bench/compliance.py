"""The compliance report over a national-scale history: 500,000 obligation cycles over two years (synthetic,
written straight into a SQLite store), timing the whole tenant's report and one team's dashboard page.

    python bench/compliance.py --size 500000

Goals: under 10 s for the tenant's report, under 1 s for a team's page. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from connector.config import parse_config
from connector.reports.report import build_report
from connector.service import Service
from connector.web.app import create_app

TODAY = date(2026, 12, 1)
TEAM_SIZE = 15
CASES_PER_WORKER = 17


def config(folder: Path) -> dict[str, object]:
    return {
        "storage": {"database": str(folder / "bench.db")},
        "service": {"background": False, "session_secret": "bench-session-secret-0123"},
        "tenants": [
            {
                "id": "bench",
                "rule_pack": "lincolnshire",
                "viewer_token": "bench-viewer-token-0123",
                "mosaic": {
                    "base_url": "http://127.0.0.1:9/api",
                    "api_token": "bench-token",
                    "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
                    "step_types": {
                        k: 9100 + n
                        for n, k in enumerate(
                            (
                                "case_supervision",
                                "personal_supervision",
                                "group_supervision",
                                "supervision_agreement",
                                "practice_observation",
                                "supervision_record",
                            )
                        )
                    },
                },
            }
        ],
    }


def fill(service: Service, size: int, seed: int = 12) -> tuple[int, int]:
    """`size` cycles: closed ones over two years (with their sessions as recorded events), the rest open."""
    rng = random.Random(seed)
    workers = max(1, size // (CASES_PER_WORKER * 26))
    start = TODAY - timedelta(days=730)
    outcomes, open_rows, events, subjects = [], [], [], []
    seq = 0
    for n in range(size):
        worker = 10_000 + n % workers
        team = f"T{worker // TEAM_SIZE}"
        case = 1_000_000 + n % (workers * CASES_PER_WORKER)
        due = start + timedelta(days=rng.randrange(760))
        ref = f"bench:case_supervision:{case}:{worker}:{n}"
        rules = json.dumps([["LINC-CS-FLOOR", "5.1", "every four weeks"]])
        if due < TODAY - timedelta(days=20) or rng.random() < 0.3:
            late = 0 if rng.random() < 0.85 else rng.randrange(1, 30)
            held = due - timedelta(days=rng.randrange(5)) if late == 0 else due + timedelta(days=late)
            recorded = held + timedelta(days=rng.choice((0, 0, 1, 2, 3, 6)))
            outcome = "met" if rng.random() < 0.97 else "withdrawn"
            outcomes.append((ref, str(case), str(worker), team, due.isoformat(), rules, outcome,
                             held.isoformat() if outcome == "met" else None, recorded.isoformat(),
                             held.isoformat(), late))  # fmt: skip
            if outcome == "met":
                seq += 1
                event = {"type": "supervision.recorded", "event_id": f"e{seq}", "occurred_at": f"{recorded}T12:00:00+00:00",
                         "kind": "case", "worker_id": str(worker), "supervisor_id": "9", "team_id": team,
                         "case_ids_discussed": [str(case)], "held_on": held.isoformat(),
                         "recorded_on": recorded.isoformat(), "significant": False, "step_ref": None,
                         "actions": [{"owner_worker_id": str(worker), "due_date": (held + timedelta(days=14)).isoformat()}]
                         if rng.random() < 0.2 else []}  # fmt: skip
                events.append((seq, f"e{seq}", event["occurred_at"], json.dumps(event)))
                subjects += [(seq, f"team:{team}"), (seq, f"case:{case}"), (seq, f"worker:{worker}")]
        else:
            open_rows.append((ref, f"case:{case}", str(case), str(worker), str(case), str(worker), team,
                              due.isoformat(), rules))  # fmt: skip
    with service.db.transaction() as conn:
        conn.executemany(
            "INSERT INTO cycle_outcomes (tenant, platform, reference, kind, case_id, worker_id, assignee_id,"
            " supervisor_id, team_id, due_date, rules, counted_from_fact, counted_from_date, outcome, held_on,"
            " recorded_on, closed_on, days_late, recorded_at) VALUES ('bench', 'mosaic', ?, 'case_supervision',"
            " ?, ?, NULL, '9', ?, ?, ?, 'case supervision held', '2025-01-01', ?, ?, ?, ?, ?, 'x')",
            [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]) for r in outcomes],
        )
        conn.executemany(
            "INSERT INTO obligations (tenant, platform, reference, owner, kind, scope, holder, cycle, case_id,"
            " assignee_id, team_id, due_date, rules, counted_from_fact, counted_from_date, explanation, form,"
            " status, created_at, updated_at) VALUES ('bench', 'mosaic', ?, ?, 'case_supervision', ?, ?, 1, ?, ?,"
            " ?, ?, ?, 'case supervision held', '2026-10-01', 'Case supervision is due.', '[]', 'open', 'x', 'x')",
            open_rows,
        )
        conn.executemany(
            "INSERT INTO inbox (seq, tenant, platform, webhook_id, event_type, occurred_at, received_at, event,"
            " state) VALUES (?, 'bench', 'mosaic', ?, 'supervision.recorded', ?, 'x', ?, 'processed')",
            events,
        )
        conn.executemany(
            "INSERT INTO event_subjects (seq, tenant, platform, subject) VALUES (?, 'bench', 'mosaic', ?)",
            subjects,
        )
    return workers, len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=500_000, help="obligation cycles (default 500,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        service = Service(parse_config(config(Path(folder)), Path(folder), {}), today=lambda: TODAY)
        began = time.perf_counter()
        workers, sessions = fill(service, args.size)
        service.db.conn.execute("ANALYZE")
        print(f"{args.size:,} cycles, {workers:,} workers, {sessions:,} recorded sessions:"
              f" built in {time.perf_counter() - began:.1f} s")  # fmt: skip
        tenant = service.config.tenants["bench"]
        began = time.perf_counter()
        report = build_report(service.db, tenant, TODAY)
        body = report.as_json()
        print(f"tenant report (twelve months, {len(body['teams']):,} teams, {len(body['workers']):,} workers):"
              f" {time.perf_counter() - began:.2f} s")  # fmt: skip
        client = create_app(service).test_client()
        client.post("/dashboard/bench/login", data={"token": "bench-viewer-token-0123"})
        team = sorted(report.figures.teams)[len(report.figures.teams) // 2]
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            answer = client.get(f"/dashboard/bench/teams/{team}")
            timings.append(time.perf_counter() - began)
            assert answer.status_code == 200
        print(
            f"team {team}'s dashboard page: median {sorted(timings)[2]:.3f} s of 5 ({len(answer.data):,} bytes)"
        )
        service.close()


if __name__ == "__main__":
    main()
