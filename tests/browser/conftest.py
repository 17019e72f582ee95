"""A real service on 127.0.0.1 and a real headless Chromium driven by Playwright.

Chromium is Debian's (`/usr/bin/chromium`, installed by `.ci/run`), never a Playwright
download. Without it the browser tests skip, unless `CDS_TEST_REQUIRE_BROWSER=1` (CI), where a
missing browser is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cds_service.app import create_app
from cds_service.settings import Settings
from cds_service.storage.database import migrate
from tests.fhir_server import free_port, running

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CDS_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CDS_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@dataclass(frozen=True)
class Service:
    base: str
    database: Path

    def feedback_rows(self) -> list[dict[str, Any]]:
        """Feedback rows as stored (read with sqlite3: the service committed them before its 200)."""
        with sqlite3.connect(self.database) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [dict(row) for row in rows]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("CDS_TEST_ARTIFACTS", "test-artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    database = tmp_path_factory.mktemp("browser") / "cds.db"
    url = f"sqlite+aiosqlite:///{database}"
    # In a thread: Playwright's sync API keeps an event loop running on this one, and the
    # Alembic environment calls asyncio.run().
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrate, url).result()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(auth="off", database_url=url, public_url=base, fhir_timeout_seconds=1.0)
    with running(create_app(settings), port) as served:
        yield Service(served, database)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh French-speaking tab; any console error (a CSP violation, a script error, a 404
    asset) fails the test that caused it."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, errors
