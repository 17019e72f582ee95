"""Reads and writes of the service, each in its own transaction, committed before returning.

Feedback is committed before the endpoint answers 200, so an acknowledged feedback survives a
crash right after (see tests/storage/test_durability.py). The same feedback sent again (an EHR
retrying after a lost answer) is stored once: a unique digest and `ON CONFLICT DO NOTHING`, on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from cds_service.storage.tables import Evaluation, Feedback, IssuedCard, SeenToken


@dataclass(frozen=True)
class CardRecord:
    uuid: str
    indicator: str
    rule_codes: list[str]
    suggestion_uuids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IssuedCardInfo:
    """What feedback is checked against: the card's rules and its suggestions (None: a card
    issued before suggestions were recorded)."""

    rule_codes: list[str]
    suggestion_uuids: list[str] | None


@dataclass(frozen=True)
class SeenTokenRecord:
    """A JWT id accepted from `issuer`, to remember until `expires_at` (replay protection)."""

    issuer: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class EvaluationRecord:
    hook_instance: str
    service_id: str
    hook: str
    patient_pseudonym: str
    profile: str
    cards: list[CardRecord]
    status_code: int
    duration_ms: float


@dataclass(frozen=True)
class FeedbackRecord:
    service_id: str
    card_uuid: str
    outcome: str
    accepted_suggestions: list[str]
    override_reason_system: str | None
    override_reason_code: str | None
    override_comment: str | None
    outcome_timestamp: datetime

    def dedup_key(self) -> str:
        """What makes two feedbacks the same decision: card, outcome, suggestions, reason (not
        the timestamp: a resent feedback is the same decision)."""
        key = [self.service_id, self.card_uuid, self.outcome, sorted(self.accepted_suggestions),
               self.override_reason_system, self.override_reason_code, self.override_comment]
        return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class StoredFeedback:
    """One item's fate: the rules of its card, and whether an identical row already existed."""

    rule_codes: list[str]
    repeated: bool


def now() -> datetime:
    return datetime.now(UTC)


class Repository:
    """The service's storage operations over one engine: SQLAlchemy Core statements on a
    connection, no ORM session (a session's unit of work cost ~130 µs more a transaction, and
    every call writes at least one: the token id, the audit row)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def record_evaluation(self, record: EvaluationRecord) -> None:
        await self.record_evaluations([record])

    async def record_evaluations(self, records: Sequence[EvaluationRecord]) -> None:
        """Evaluation rows and their issued cards, several records in one transaction (SQLAlchemy
        Core: a third cheaper than ORM units of work on the hot path)."""
        stamp = now()
        rows = [{
            "hook_instance": record.hook_instance,
            "service_id": record.service_id,
            "hook": record.hook,
            "evaluated_at": stamp,
            "patient_pseudonym": record.patient_pseudonym,
            "profile": record.profile,
            "rule_codes": sorted({code for card in record.cards for code in card.rule_codes}),
            "card_uuids": [card.uuid for card in record.cards],
            "status_code": record.status_code,
            "duration_ms": record.duration_ms,
        } for record in records]
        async with self._engine.begin() as connection:
            if len(rows) > 1 and connection.dialect.insert_executemany_returning_sort_by_parameter_order:
                inserted = await connection.execute(
                    insert(Evaluation).returning(Evaluation.id, sort_by_parameter_order=True), rows)
                ids = list(inserted.scalars())
            else:
                ids = []
                for row in rows:
                    key = (await connection.execute(insert(Evaluation), row)).inserted_primary_key
                    if key is None:  # the driver did not report the new row's id
                        raise RuntimeError("evaluation insert returned no primary key")
                    ids.append(key[0])
            cards = [{"card_uuid": card.uuid, "evaluation_id": evaluation_id, "indicator": card.indicator,
                      "rule_codes": card.rule_codes, "suggestion_uuids": card.suggestion_uuids}
                     for evaluation_id, record in zip(ids, records, strict=True) for card in record.cards]
            if cards:
                await connection.execute(insert(IssuedCard), cards)

    async def issued_cards(self, card_uuids: list[str]) -> dict[str, IssuedCardInfo]:
        """The issued cards among `card_uuids` (a card re-issued for the same hookInstance has
        one row per evaluation, all alike)."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(IssuedCard.card_uuid, IssuedCard.rule_codes, IssuedCard.suggestion_uuids).where(
                    IssuedCard.card_uuid.in_(set(card_uuids))
                )
            )
            return {uuid: IssuedCardInfo(list(codes), None if suggestions is None else list(suggestions))
                    for uuid, codes, suggestions in rows.all()}

    async def rules_of_cards(self, card_uuids: list[str]) -> dict[str, list[str]]:
        return {uuid: card.rule_codes for uuid, card in (await self.issued_cards(card_uuids)).items()}

    async def record_feedback(
        self, items: list[FeedbackRecord], cards: Mapping[str, IssuedCardInfo] | None = None
    ) -> list[StoredFeedback]:
        """Store every item in one transaction, an identical one only once (it is then
        `repeated`); `cards` are the issued cards when the caller has already read them."""
        if cards is None:
            cards = await self.issued_cards([item.card_uuid for item in items])
        received = now()
        results = []
        async with self._engine.begin() as connection:
            statement = _insert_once(connection.dialect.name, Feedback, ("dedup_key",))
            for item in items:
                rules = cards[item.card_uuid].rule_codes if item.card_uuid in cards else []
                inserted = await connection.execute(statement, {
                    "service_id": item.service_id,
                    "card_uuid": item.card_uuid,
                    "outcome": item.outcome,
                    "accepted_suggestions": item.accepted_suggestions,
                    "override_reason_system": item.override_reason_system,
                    "override_reason_code": item.override_reason_code,
                    "override_comment": item.override_comment,
                    "outcome_timestamp": item.outcome_timestamp,
                    "received_at": received,
                    "rule_codes": rules,
                    "dedup_key": item.dedup_key(),
                })
                results.append(StoredFeedback(rules, repeated=getattr(inserted, "rowcount", 1) == 0))
        return results

    async def count_feedback(self) -> int:
        async with self._engine.connect() as connection:
            return int(await connection.scalar(select(func.count(Feedback.id))) or 0)

    async def remember_jtis(self, tokens: Sequence[SeenTokenRecord]) -> list[bool]:
        """For each token, True if this call is the first to see its (issuer, jti), in any
        process: one INSERT … ON CONFLICT DO NOTHING RETURNING, so the database decides; a
        token repeated within `tokens` is first only at its first place."""
        first_at: dict[tuple[str, str], int] = {}
        for index, token in enumerate(tokens):
            first_at.setdefault((token.issuer, token.jti), index)
        rows = [{"issuer": issuer, "jti": jti, "expires_at": tokens[index].expires_at}
                for (issuer, jti), index in first_at.items()]
        async with self._engine.begin() as connection:
            statement = _insert_returning_new_tokens(connection.dialect.name)
            inserted = {(issuer, jti) for issuer, jti in await connection.execute(statement, rows)}
        return [first_at[(token.issuer, token.jti)] == index and (token.issuer, token.jti) in inserted
                for index, token in enumerate(tokens)]

    async def purge(self, retention_days: int) -> dict[str, int]:
        """Delete audit and feedback rows older than the retention, and expired token ids."""
        cutoff = now() - timedelta(days=retention_days)
        async with self._engine.begin() as connection:
            evaluations = await connection.execute(
                delete(Evaluation).where(Evaluation.evaluated_at < cutoff)
            )
            await connection.execute(
                delete(IssuedCard).where(~IssuedCard.evaluation_id.in_(select(Evaluation.id)))
            )
            feedback = await connection.execute(delete(Feedback).where(Feedback.received_at < cutoff))
            tokens = await connection.execute(delete(SeenToken).where(SeenToken.expires_at < now()))
        return {
            "evaluations": int(getattr(evaluations, "rowcount", 0) or 0),
            "feedback": int(getattr(feedback, "rowcount", 0) or 0),
            "seen_tokens": int(getattr(tokens, "rowcount", 0) or 0),
        }


@functools.lru_cache(maxsize=4)
def _insert_returning_new_tokens(dialect: str) -> Any:
    """The replay store's insert: the rows go as parameters, so it is compiled once."""
    return _insert_once(dialect, SeenToken, ("issuer", "jti")).returning(SeenToken.issuer, SeenToken.jti)


@functools.lru_cache(maxsize=16)  # one statement object per table: its cache key is computed once
def _insert_once(dialect: str, table: Any, key: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING, in the dialect's own words."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=key)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=key)
    raise NotImplementedError(f"storage supports SQLite and PostgreSQL, not {dialect}")
