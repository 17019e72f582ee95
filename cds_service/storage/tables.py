"""Database tables: evaluation audit, cards issued, feedback, and JWT replay protection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Evaluation(Base):
    """One hook call: what was evaluated and what fired, with a pseudonymised patient."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hook_instance: Mapped[str] = mapped_column(String(128), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    hook: Mapped[str] = mapped_column(String(64))
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    patient_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    profile: Mapped[str] = mapped_column(String(32))
    rule_codes: Mapped[list[str]] = mapped_column(JSON)
    card_uuids: Mapped[list[str]] = mapped_column(JSON)
    status_code: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)


class IssuedCard(Base):
    """A card sent to the EHR, so that feedback can be tied back to its rules."""

    __tablename__ = "issued_cards"

    card_uuid: Mapped[str] = mapped_column(String(64), primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), primary_key=True
    )
    indicator: Mapped[str] = mapped_column(String(16))
    rule_codes: Mapped[list[str]] = mapped_column(JSON)
    # The uuids of the card's suggestions (NULL for cards issued before migration 0002).
    suggestion_uuids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Feedback(Base):
    """CDS Hooks feedback on one card: accepted (which suggestions) or overridden (why)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64))
    card_uuid: Mapped[str] = mapped_column(String(128), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON)
    override_reason_system: Mapped[str | None] = mapped_column(String(256), nullable=True)
    override_reason_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    override_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    rule_codes: Mapped[list[str]] = mapped_column(JSON)
    # Digest of (card, outcome, accepted suggestions, override reason): a resent feedback is one row.
    dedup_key: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ux_feedback_dedup_key", "dedup_key", unique=True),)


class SeenToken(Base):
    """A JWT `jti` already accepted, kept until the token expires (replay protection)."""

    __tablename__ = "seen_tokens"

    issuer: Mapped[str] = mapped_column(String(512), primary_key=True)
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_seen_tokens_expires_at", "expires_at"),)
