"""A connector with two tenants, each with its own viewer token and calendar secret, and a hand-built history."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

from flask.testing import FlaskClient
from tests.connector.reports.support import closed, open_obligation
from tests.support.harness import config_document

from connector.config import parse_config
from connector.service import Service
from connector.web.app import create_app

ADMIN = "admin-token-0123456789"
VIEWERS = {"lincolnshire": "lincs-viewer-0123456789", "bracknell": "brack-viewer-0123456789"}
CALENDAR = "calendar-secret-0123456789"
TODAY = date(2026, 6, 15)


def read_side(tmp_path: Path) -> tuple[Service, FlaskClient]:
    document = config_document(tmp_path, "http://127.0.0.1:9001/api")
    lincs = document["tenants"][0]
    lincs.update(viewer_token=VIEWERS["lincolnshire"], calendar_secret=CALENDAR)
    brack = copy.deepcopy(lincs)
    brack.update(id="bracknell", reference_prefix="bfc", viewer_token=VIEWERS["bracknell"])
    document["tenants"].append(brack)
    document["service"] = {"admin_token": ADMIN, "session_secret": "session-secret-0123456789"}
    service = Service(parse_config(document, tmp_path, {}), today=lambda: TODAY)
    closed(service.db, "a", "2026-03-10", "met", "2026-03-09", "2026-03-09", 0)
    closed(service.db, "b", "2026-04-07", "met", "2026-04-12", "2026-04-12", 5)
    open_obligation(service.db, "linc:case_supervision:100234:5521:3", "2026-06-02")
    return service, create_app(service).test_client()
