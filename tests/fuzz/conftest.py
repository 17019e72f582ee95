"""Fuzzing fixtures: one in-process app per module, and the tally of generated requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.asgi import TOTALS, InProcessApp


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    app = InProcessApp(tmp_path_factory.mktemp("fuzz") / "cds.db")
    try:
        yield app
    finally:
        app.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TOTALS.requests:
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(TOTALS.by_status.items()))
        terminalreporter.write_line(f"fuzz: {TOTALS.requests} generated requests, in process ({statuses})")
