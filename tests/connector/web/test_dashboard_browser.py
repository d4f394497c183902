"""The dashboard as a person uses it, in a real headless Chromium (Debian's `chromium`, driven by Playwright):
log in with the token, see the team table and the chart, follow a link to a worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.connector.web.support_read_side import VIEWERS, read_side
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: apt-get install chromium (.ci/run does)"
)


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    service, client = read_side(tmp_path)
    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    service.close()


def test_log_in_see_the_team_table_and_chart_and_follow_a_link_to_a_worker(base_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{base_url}/dashboard/lincolnshire")
            assert "/login" in page.url
            page.fill("#token", VIEWERS["lincolnshire"])
            page.click("button[type=submit]")
            page.wait_for_url(f"{base_url}/dashboard/lincolnshire")
            row = page.locator("#teams tbody tr").first
            assert "team 310" in row.inner_text() and row.get_attribute("class") == "rag-red"
            assert page.locator("#trend svg").count() == 1
            assert page.locator("#trend svg").bounding_box()["height"] > 100  # type: ignore[index]
            assert "LINC-CS-GEN" in page.locator("#overdue").inner_text()
            page.click("#teams a")
            page.wait_for_url(f"{base_url}/dashboard/lincolnshire/teams/310")
            page.click("#teams a:has-text('worker 5521')")
            page.wait_for_url(f"{base_url}/dashboard/lincolnshire/workers/5521")
            assert "overdue" in page.locator("#obligations").inner_text()
            # Nothing is fetched from anywhere but the connector (no CDN).
            assert requested and all(url.startswith(base_url) for url in requested)
        finally:
            browser.close()
