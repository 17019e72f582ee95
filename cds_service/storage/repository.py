"""Reads and writes of the service, each in its own transaction, committed before returning.

Feedback is committed before the endpoint answers 200, so an acknowledged feedback survives a
crash right after (see tests/storage/test_durability.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cds_service.storage.tables import Evaluation, Feedback, IssuedCard, SeenToken


@dataclass(frozen=True)
class CardRecord:
    uuid: str
    indicator: str
    rule_codes: list[str]


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


def now() -> datetime:
    return datetime.now(UTC)


class Repository:
    """The service's storage operations over one session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def ping(self) -> None:
        async with self._sessions() as session:
            await session.execute(text("SELECT 1"))

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
        async with self._sessions() as session, session.begin():
            connection = await session.connection()
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
                      "rule_codes": card.rule_codes}
                     for evaluation_id, record in zip(ids, records, strict=True) for card in record.cards]
            if cards:
                await connection.execute(insert(IssuedCard), cards)

    async def rules_of_cards(self, card_uuids: list[str]) -> dict[str, list[str]]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(IssuedCard.card_uuid, IssuedCard.rule_codes).where(
                    IssuedCard.card_uuid.in_(card_uuids)
                )
            )
            return {uuid: list(codes) for uuid, codes in rows.all()}

    async def record_feedback(self, items: list[FeedbackRecord]) -> list[list[str]]:
        """Store every item in one transaction; returns the rule codes of each item's card."""
        rules = await self.rules_of_cards([item.card_uuid for item in items])
        received = now()
        async with self._sessions() as session, session.begin():
            for item in items:
                session.add(Feedback(
                    service_id=item.service_id,
                    card_uuid=item.card_uuid,
                    outcome=item.outcome,
                    accepted_suggestions=item.accepted_suggestions,
                    override_reason_system=item.override_reason_system,
                    override_reason_code=item.override_reason_code,
                    override_comment=item.override_comment,
                    outcome_timestamp=item.outcome_timestamp,
                    received_at=received,
                    rule_codes=rules.get(item.card_uuid, []),
                ))
        return [rules.get(item.card_uuid, []) for item in items]

    async def count_feedback(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count(Feedback.id))) or 0)

    async def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """True the first time a (issuer, jti) is seen; False for a replay (any process)."""
        try:
            async with self._sessions() as session, session.begin():
                session.add(SeenToken(issuer=issuer, jti=jti, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    async def purge(self, retention_days: int) -> dict[str, int]:
        """Delete audit and feedback rows older than the retention, and expired token ids."""
        cutoff = now() - timedelta(days=retention_days)
        async with self._sessions() as session, session.begin():
            evaluations = await session.execute(
                delete(Evaluation).where(Evaluation.evaluated_at < cutoff)
            )
            await session.execute(
                delete(IssuedCard).where(~IssuedCard.evaluation_id.in_(select(Evaluation.id)))
            )
            feedback = await session.execute(delete(Feedback).where(Feedback.received_at < cutoff))
            tokens = await session.execute(delete(SeenToken).where(SeenToken.expires_at < now()))
        return {
            "evaluations": int(getattr(evaluations, "rowcount", 0) or 0),
            "feedback": int(getattr(feedback, "rowcount", 0) or 0),
            "seen_tokens": int(getattr(tokens, "rowcount", 0) or 0),
        }
