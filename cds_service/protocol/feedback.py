"""Feedback checked against the cards this service issued (CDS Hooks 2.0 feedback).

A feedback item must name a card the service issued: anything else is answered 404
`unknown-card`, so that a wrong or forged uuid is not counted as `rule="unknown"`. The issued
cards live in the audit (`issued_cards`), so the audit retention (`CDS_RETENTION_DAYS`) must
outlive the EHR's feedback window. An `accepted` outcome on a card with suggestions must say
which ones (`acceptedSuggestions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cds_service.protocol.errors import ApiError
from cds_service.storage.repository import FeedbackRecord, IssuedCardInfo


def check_against_issued(items: Sequence[FeedbackRecord], cards: Mapping[str, IssuedCardInfo]) -> None:
    """Raise the `ApiError` of the first item that does not fit its card; nothing is stored then."""
    for index, item in enumerate(items):
        card = cards.get(item.card_uuid)
        if card is None:
            raise ApiError(404, "unknown-card", f"this service issued no card with uuid {item.card_uuid!r}",
                           f"feedback.{index}.card")
        if item.outcome != "accepted" or not card.suggestion_uuids:
            continue
        if not item.accepted_suggestions:
            where = f"feedback.{index}.acceptedSuggestions"
            raise ApiError(400, "invalid-request",
                           f"{where}: required when a card with suggestions is accepted "
                           f"(card {item.card_uuid} had {len(card.suggestion_uuids)})", where)
