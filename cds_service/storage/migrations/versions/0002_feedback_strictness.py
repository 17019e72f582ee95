"""Feedback strictness: the suggestion uuids of each issued card, and one row per distinct feedback.

`issued_cards.suggestion_uuids` lets an `accepted` feedback be checked against the suggestions the
card carried. `feedback.dedup_key` (a digest of card, outcome, accepted suggestions and override
reason) is unique, so an EHR that resends the same feedback stores it once; rows written before
this revision keep a NULL key (NULLs never conflict).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("issued_cards", sa.Column("suggestion_uuids", sa.JSON(), nullable=True))
    op.add_column("feedback", sa.Column("dedup_key", sa.String(64), nullable=True))
    op.create_index("ux_feedback_dedup_key", "feedback", ["dedup_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_feedback_dedup_key", "feedback")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("dedup_key")
    with op.batch_alter_table("issued_cards") as batch:
        batch.drop_column("suggestion_uuids")
