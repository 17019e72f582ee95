"""The evaluation audit under concurrency: one row per evaluation, committed before the answer.

Group commit shares transactions between concurrent requests; these tests check that it never
loses or duplicates a row, that one bad row cannot take its batch-mates down with it, and that
repeated card uuids (two draft orders without ids) cannot make the audit write fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cds_service.storage.group_commit import AuditWriter
from cds_service.storage.repository import CardRecord, EvaluationRecord
from cds_service.storage.tables import Evaluation, IssuedCard
from tests.builders import baclofen_order, hook_request


def record(name: str) -> EvaluationRecord:
    return EvaluationRecord(name, "baclofen-rtu", "order-sign", "p" * 64, "rtu-2014",
                            [CardRecord(f"{name}-card", "info", ["monitoring"])], 200, 1.0)


async def count(app: Any, table: Any) -> int:
    async with app.state.cds.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_concurrent_evaluations_each_get_one_row(client: httpx.AsyncClient, app: Any) -> None:
    requests = [hook_request() for _ in range(40)]
    responses = await asyncio.gather(*(client.post("/cds-services/baclofen-rtu", json=r) for r in requests))
    assert all(response.status_code == 200 for response in responses)
    async with app.state.cds.engine.connect() as connection:
        rows = (await connection.execute(select(Evaluation.hook_instance, Evaluation.card_uuids))).all()
    assert sorted(instance for instance, _ in rows) == sorted(r["hookInstance"] for r in requests)
    cards = sum(len(response.json()["cards"]) for response in responses)
    assert await count(app, IssuedCard) == cards == sum(len(uuids) for _, uuids in rows)


async def test_row_is_committed_before_the_answer(client: httpx.AsyncClient, app: Any) -> None:
    request = hook_request()
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200
    async with app.state.cds.engine.connect() as connection:
        found = await connection.execute(select(Evaluation.id).where(
            Evaluation.hook_instance == request["hookInstance"]))
        assert found.first() is not None


async def test_one_bad_row_does_not_lose_its_batch_mates() -> None:
    written: list[str] = []

    async def write(records: Sequence[EvaluationRecord]) -> None:
        await asyncio.sleep(0.01)  # long enough for the others to queue behind the first
        if any(r.hook_instance == "poison" for r in records):
            raise RuntimeError("constraint violated")
        written.extend(r.hook_instance for r in records)

    writer = AuditWriter(write)
    names = ["first", "a", "poison", "b", "c"]
    results = await asyncio.gather(*(writer.write(record(name)) for name in names), return_exceptions=True)
    assert [type(result).__name__ for result in results] == ["NoneType", "NoneType", "RuntimeError", "NoneType",
                                                              "NoneType"]
    assert sorted(written) == ["a", "b", "c", "first"]


async def test_a_cancelled_request_does_not_cancel_the_batch() -> None:
    written: list[str] = []
    release = asyncio.Event()

    async def write(records: Sequence[EvaluationRecord]) -> None:
        await release.wait()
        written.extend(r.hook_instance for r in records)

    writer = AuditWriter(write)
    first = asyncio.ensure_future(writer.write(record("first")))
    second = asyncio.ensure_future(writer.write(record("second")))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    await second
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.sleep(0.01)
    assert sorted(written) == ["first", "second"]


async def test_drafts_without_ids_get_distinct_card_uuids_and_an_audit_row(
    client: httpx.AsyncClient, app: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    drafts = [baclofen_order(10, 3), baclofen_order(10, 3, authored="2026-03-10")]
    for draft in drafts:
        draft.pop("id")
    drafts[1]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 20
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request(drafts))
    assert response.status_code == 200
    uuids = [card["uuid"] for card in response.json()["cards"]]
    assert len(uuids) == len(set(uuids))
    assert await count(app, Evaluation) == 1
    assert await count(app, IssuedCard) == len(uuids)
    assert "audit write failed" not in caplog.text
