"""Storage on SQLite and, when a server is configured, on a real PostgreSQL: the same migrations,
the same behaviour (feedback, audit, replay protection across engines, retention purge)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update

from cds_service.storage.database import DatabaseNotReady, check_ready, create_engine, migrate
from cds_service.storage.group_commit import SeenTokens
from cds_service.storage.repository import CardRecord, EvaluationRecord, FeedbackRecord, Repository, SeenTokenRecord
from cds_service.storage.tables import Evaluation, Feedback
from tests.databases import migrated_database, postgres_or_skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield migrated_database(request.param, tmp_path)


@pytest.fixture
async def repository(backend_url: str) -> AsyncIterator[Repository]:
    engine = create_engine(backend_url)
    yield Repository(engine)
    await engine.dispose()


def _evaluation(card_uuid: str) -> EvaluationRecord:
    return EvaluationRecord(
        hook_instance=str(uuid.uuid4()), service_id="baclofen-rtu", hook="order-sign",
        patient_pseudonym="a" * 64, profile="rtu-2014",
        cards=[CardRecord(card_uuid, "warning", ["dose-specialist"])], status_code=200, duration_ms=3.2,
    )


def _feedback(card_uuid: str, outcome: str = "accepted") -> FeedbackRecord:
    return FeedbackRecord(
        service_id="baclofen-rtu", card_uuid=card_uuid, outcome=outcome, accepted_suggestions=["s1"],
        override_reason_system=None, override_reason_code=None, override_comment=None,
        outcome_timestamp=datetime(2026, 3, 10, 10, tzinfo=UTC),
    )


async def test_migrated_database_is_ready(backend_url: str) -> None:
    engine = create_engine(backend_url)
    await check_ready(engine, backend_url)
    await engine.dispose()


async def test_unmigrated_database_is_not_ready(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    with pytest.raises(DatabaseNotReady, match="run `baclofen-cds migrate`"):
        await check_ready(engine, url)
    await engine.dispose()


async def test_feedback_is_tied_to_the_rules_of_its_card(repository: Repository) -> None:
    card = str(uuid.uuid4())
    await repository.record_evaluation(_evaluation(card))
    stored = await repository.record_feedback([_feedback(card), _feedback("unknown-card", "overridden")])
    assert [item.rule_codes for item in stored] == [["dose-specialist"], []]
    assert [item.repeated for item in stored] == [False, False]
    assert await repository.count_feedback() == 2


async def test_replayed_jti_is_refused_across_engines(backend_url: str) -> None:
    """Two engines stand for two service processes sharing one database."""
    first, second = create_engine(backend_url), create_engine(backend_url)
    expires = datetime.now(UTC) + timedelta(minutes=5)
    try:
        a, b = (SeenTokens(Repository(engine).remember_jtis) for engine in (first, second))
        assert await a.remember_jti("https://ehr.example", "jti-1", expires) is True
        assert await b.remember_jti("https://ehr.example", "jti-1", expires) is False
        assert await b.remember_jti("https://other.example", "jti-1", expires) is True
        results = await asyncio.gather(*(a.remember_jti("https://ehr.example", "jti-2", expires) if i % 2 else
                                         b.remember_jti("https://ehr.example", "jti-2", expires) for i in range(8)))
        assert results.count(True) == 1
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_batch_of_token_ids_is_first_seen_once_each(backend_url: str, repository: Repository) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=5)
    assert await repository.remember_jtis([SeenTokenRecord("https://ehr.example", "seen", expires)]) == [True]
    batch = [SeenTokenRecord("https://ehr.example", jti, expires)
             for jti in ("new-1", "seen", "new-2", "new-1", "new-2", "new-3")]
    assert await repository.remember_jtis(batch) == [True, False, True, False, False, True]
    assert await repository.remember_jtis(batch[:1]) == [False]


async def test_shared_transactions_let_one_replay_through_at_most(backend_url: str) -> None:
    """Two processes, each with its group-commit writer, receive the same token ids at once."""
    first, second = create_engine(backend_url), create_engine(backend_url)
    expires = datetime.now(UTC) + timedelta(minutes=5)
    try:
        writers = [SeenTokens(Repository(engine).remember_jtis) for engine in (first, second)]
        calls = [writers[i % 2].remember_jti("https://ehr.example", f"jti-{i % 10}", expires) for i in range(60)]
        results = await asyncio.gather(*calls)
        for jti in range(10):
            assert [results[i] for i in range(60) if i % 10 == jti].count(True) == 1
    finally:
        await first.dispose()
        await second.dispose()


async def test_purge_deletes_only_rows_older_than_retention(backend_url: str, repository: Repository) -> None:
    old_card, new_card = str(uuid.uuid4()), str(uuid.uuid4())
    await repository.record_evaluation(_evaluation(old_card))
    await repository.record_evaluation(_evaluation(new_card))
    await repository.record_feedback([_feedback(old_card), _feedback(new_card)])
    await repository.remember_jtis([SeenTokenRecord("iss", "expired", datetime.now(UTC) - timedelta(minutes=1))])
    engine = create_engine(backend_url)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    async with engine.begin() as conn:
        await conn.execute(update(Evaluation).where(Evaluation.card_uuids.is_not(None))
                           .where(Evaluation.id == 1).values(evaluated_at=long_ago))
        await conn.execute(update(Feedback).where(Feedback.card_uuid == old_card).values(received_at=long_ago))
    await engine.dispose()
    counts = await repository.purge(365)
    assert counts == {"evaluations": 1, "feedback": 1, "seen_tokens": 1}
    assert await repository.count_feedback() == 1
    assert await repository.rules_of_cards([old_card, new_card]) == {new_card: ["dose-specialist"]}


async def test_the_app_end_to_end_on_each_backend(backend_url: str) -> None:
    """Hook call (audit row) and feedback through the real app on this backend."""
    import httpx

    from cds_service.app import create_app
    from cds_service.settings import Settings
    from tests.builders import hook_request

    app = create_app(Settings(auth="off", database_url=backend_url))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert (await client.get("/readyz")).json()["status"] == "ready"
        cards = (await client.post("/cds-services/baclofen-rtu", json=hook_request())).json()["cards"]
        feedback = {"feedback": [{"card": cards[0]["uuid"], "outcome": "accepted",
                                  "acceptedSuggestions": [{"id": s["uuid"]} for s in cards[0].get("suggestions", [])],
                                  "outcomeTimestamp": "2026-03-10T10:00:00+01:00"}]}
        assert (await client.post("/cds-services/baclofen-rtu/feedback", json=feedback)).status_code == 200
        repository: Repository = app.state.cds.repository
        assert await repository.count_feedback() == 1
        assert await repository.rules_of_cards([cards[0]["uuid"]]) == {
            cards[0]["uuid"]: cards[0]["extension"]["baclofen-rtu-rules"]
        }


def test_server_engine_pool_is_bounded_by_the_settings() -> None:
    """Each worker's PostgreSQL pool is what the connection budget (docs, deploy/k8s) counts on."""
    engine = create_engine("postgresql+asyncpg://cds@127.0.0.1:9/cds", pool_size=3, max_overflow=2)
    pool = engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow) == (3, 2)  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_the_app_pool_follows_the_db_pool_settings() -> None:
    from cds_service.app import create_app
    from cds_service.settings import Settings

    url = postgres_or_skip()
    await asyncio.to_thread(migrate, url)
    app = create_app(Settings(auth="off", database_url=url, db_pool_size=2, db_max_overflow=1))
    async with app.router.lifespan_context(app):
        pool = app.state.cds.engine.sync_engine.pool
        assert (pool.size(), pool._max_overflow) == (2, 1)


async def test_database_errors_never_carry_the_statement_parameters(tmp_path: Path) -> None:
    """A driver error's text reaches tracebacks and logs: it must not carry client data."""
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(text("SELECT * FROM no_such_table WHERE x = :secret"),
                                         {"secret": "patient-identifier-123"})
        assert "patient-identifier-123" not in str(caught.value)
    finally:
        await engine.dispose()


async def test_identical_feedback_is_stored_once_and_a_contradiction_is_a_new_row(backend_url: str) -> None:
    """Two engines stand for two processes: an EHR retry may land on another instance."""
    card = str(uuid.uuid4())
    first, second = create_engine(backend_url), create_engine(backend_url)
    try:
        a, b = Repository(first), Repository(second)
        await a.record_evaluation(_evaluation(card))
        stored = await a.record_feedback([_feedback(card), _feedback(card)])
        assert [item.repeated for item in stored] == [False, True]
        later = FeedbackRecord(**{**_feedback(card).__dict__,
                                  "outcome_timestamp": datetime(2026, 3, 11, tzinfo=UTC)})
        assert [item.repeated for item in await b.record_feedback([later])] == [True]
        results = await asyncio.gather(*(repo.record_feedback([_feedback(card, "overridden")])
                                         for repo in (a, b, a, b)))
        assert sorted(result[0].repeated for result in results) == [False, True, True, True]
        other_suggestion = FeedbackRecord(**{**_feedback(card).__dict__, "accepted_suggestions": ["s2"]})
        assert [item.repeated for item in await b.record_feedback([other_suggestion])] == [False]
        assert await a.count_feedback() == 3
    finally:
        await first.dispose()
        await second.dispose()


async def test_issued_cards_keep_their_suggestion_uuids(repository: Repository) -> None:
    card, plain = str(uuid.uuid4()), str(uuid.uuid4())
    record = _evaluation(card)
    record = EvaluationRecord(**{**record.__dict__, "cards": [
        CardRecord(card, "warning", ["plan-next-dose"], ["sug-1", "sug-2"]),
        CardRecord(plain, "info", ["monitoring"])]})
    await repository.record_evaluation(record)
    issued = await repository.issued_cards([card, plain, "never-issued"])
    assert issued[card].suggestion_uuids == ["sug-1", "sug-2"]
    assert issued[card].rule_codes == ["plan-next-dose"]
    assert issued[plain].suggestion_uuids == []
    assert "never-issued" not in issued
