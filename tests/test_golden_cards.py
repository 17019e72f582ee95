"""Golden card texts (issue 12): every fixture's cards, in French and English, under every
profile: summaries under 140 characters, dates and typography of the reader's language, and
no English sentence in a French card (a word-list check)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from cds_service.clinical.profile import PROFILE_NAMES, Language
from tests.card_census import all_cards

ENGLISH_WORDS = frozenset({
    "the", "and", "is", "of", "with", "which", "should", "must", "could", "would", "this", "that",
    "from", "are", "be", "has", "have", "been", "tablets", "tablet", "unknown", "only", "there",
    "than", "when", "not", "no", "or", "into", "per", "day", "days",
})
_URL = re.compile(r"https?://\S+|www\.\S+")
_EHR_QUOTE = re.compile(r"(libellé du dossier|EHR label)\s*:?\s*(«[^»]*»|\u201c[^\u201d]*\u201d)")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_FR_DATE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
_EN_MONTH = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b")
_NO_ELISION = re.compile(r"\b(que|de|le|la|ne|se|ce|jusque|lorsque) (une?|[aàeéiou][a-zé]*)\b", re.IGNORECASE)
_CACHE: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}


def cards(profile: str, lang: Language) -> dict[str, list[dict[str, Any]]]:
    if (profile, lang) not in _CACHE:
        _CACHE[(profile, lang)] = asyncio.run(all_cards(profile, lang))
    return _CACHE[(profile, lang)]


def texts(card: dict[str, Any]) -> list[str]:
    """Everything a clinician reads on a card, minus URLs."""
    found = [card["summary"], card["detail"], card["source"]["label"]]
    found += [s["label"] for s in card.get("suggestions", [])]
    found += [r["display"] for r in card.get("overrideReasons", [])]
    found += [link["label"] for link in card.get("links", [])]
    return [_URL.sub("", text) for text in found]


def english_words(text: str) -> set[str]:
    """English words outside the EHR's own quoted labels and the profile footer's codes."""
    text = _EHR_QUOTE.sub("", text)
    text = re.sub(r"_[^_\n]*·[^_\n]*_", "", text)  # footer: profile name · rule codes
    words = set(re.findall(r"[A-Za-zÀ-ÿ]+", text.lower()))
    return words & ENGLISH_WORDS


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_summaries_are_under_140_characters(profile: str, lang: Language) -> None:
    for name, found in cards(profile, lang).items():
        for card in found:
            assert len(card["summary"]) < 140, (name, card["summary"])


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_french_typography_and_dates(profile: str) -> None:
    for name, found in cards(profile, "fr").items():
        for card in found:
            for text in texts(card):
                assert not _ISO_DATE.search(text), (name, text)
                assert not _EN_MONTH.search(text), (name, text)
                assert not re.search(r" [:;?!]", text), (name, text)  # a plain space before : ; ? !
                assert not re.search(r"[:;?!](?=[A-Za-zÀ-ÿ])", text) or "://" in text, (name, text)
                assert "« " not in text and " »" not in text, (name, text)
                assert not re.search(r"[A-Za-zÀ-ÿ]'[A-Za-zÀ-ÿ]", _EHR_QUOTE.sub("", text)), (name, text)
                assert "(s)" not in text, (name, text)
                assert "mg/jour" not in _strip_quotes(text), (name, text)
                assert not _NO_ELISION.search(_strip_quotes(text)), (name, text)  # « tant qu'une », not « que une »


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_english_typography_and_dates(profile: str) -> None:
    for name, found in cards(profile, "en").items():
        for card in found:
            for text in texts(card):
                assert not _ISO_DATE.search(text), (name, text)
                assert not _FR_DATE.search(text), (name, text)
                assert "(s)" not in text, (name, text)
                assert not re.search(r"(?<![\w.,])\d+,\d+(?![\d,])", text), (name, text)  # decimal point
                assert "mg/j " not in text and "mg/j)" not in text, (name, text)
                assert not re.search(r"[ \u00a0\u202f][:;?!]", text), (name, text)  # "3 interactions: …"
                assert not re.search(r"(?<![\d.,])\b1 (?:more |other )?[a-z]+s\b", text), (name, text)  # "+1 more"


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_summaries_details_and_buttons_open_in_sentence_case(profile: str, lang: Language) -> None:
    for name, found in cards(profile, lang).items():
        for card in found:
            for text in (card["summary"], card["detail"], *(s["label"] for s in card.get("suggestions", []))):
                first = text.lstrip("*_> «\u00a0\u202f\"")[:1]
                assert not (first.isalpha() and first.islower()), (name, text)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_no_english_sentence_in_a_french_card(profile: str) -> None:
    for name, found in cards(profile, "fr").items():
        for card in found:
            for text in texts(card):
                assert not english_words(text), (name, english_words(text), text)


def test_the_word_list_catches_english() -> None:
    assert english_words("Dose inconnue (The dose is in tablets but the strength is unknown.)")
    assert not english_words("Allaitement (Z39.1, libellé du dossier\u00a0: «\u00a0Care and examination\u00a0»)")


def _strip_quotes(text: str) -> str:
    """Quoted sources keep their own wording (« 300 mg/jour »)."""
    return re.sub(r"«[^»]*»", "", text)
