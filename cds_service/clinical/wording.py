"""Typography of card texts, as a French hospital (or an English one) writes them.

Profiles are written with plain spaces and apostrophes; the card builder passes every text a
clinician reads through `finish`, so that the rules hold for all of them at once:

- French: non-breaking space before `:` `;` `?` `!` and inside « », typographic apostrophe,
  decimal comma, dates 14/11/2026;
- English: decimal point, dates 14 Nov 2026;
- both: a number followed by « jour(s) » or "intake(s)" takes the right form (no "(s)").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Literal

Language = Literal["fr", "en"]

NBSP = "\u00a0"
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_PLURAL = re.compile(r"(?P<number>\d+(?:[.,]\d+)?)(?P<words>(?:[ \u00a0]+[^\s(]+\(s\))+)")
_WORD = re.compile(r"([^\s(]+)\(s\)")
_BEFORE_PUNCT = re.compile(r"(?<=[^\s\u00a0])[ \u00a0]?([:;?!])(?=[\s*_)»]|$)")
_OPEN_QUOTE = re.compile(r"«[ \u00a0]*")
_CLOSE_QUOTE = re.compile(r"[ \u00a0]*»")
_APOSTROPHE = re.compile(r"(?<=[A-Za-zÀ-ÿ])'(?=[A-Za-zÀ-ÿ])")
# a document's section number (« rubrique 4.4 » of an SmPC) is not a decimal
_DECIMAL_FR = re.compile(r"(?<![\w.])(?<!rubrique )(\d+)\.(\d+)(?![\d.])")
_DECIMAL_EN = re.compile(r"(?<![\w,])(\d+),(\d+)(?![\d,])")
_ISO_DATE = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
_RECORD = re.compile(r"\u27e6([^|\u27e7]*)\|([^\u27e7]*)\u27e7")
RECORD_LABEL = {"fr": "libellé du dossier : « {text} »", "en": "EHR label: \u201c{text}\u201d"}
_URL = re.compile(r"https?://\S+|www\.\S+")


def record_text(code: str | None, text: str | None) -> str:
    """Text from the EHR (a condition's display, written by whoever coded it, often in English)
    beside its code; `finish` labels it as the record's own words, quoted."""
    if not text:
        return code or ""
    clean = text.replace("|", "/").replace("\u27e7", "")
    return f"\u27e6{code or ''}|{clean}\u27e7"


def format_date(day: date, lang: Language) -> str:
    """A date as the reader writes it: 14/11/2026 in French, 14 Nov 2026 in English."""
    if lang == "fr":
        return day.strftime("%d/%m/%Y")
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def is_plural(count: float, lang: Language) -> bool:
    """French: plural from 2 (« 1,5 jour », « 0 jour »); English: plural unless exactly 1."""
    return count >= 2 if lang == "fr" else count != 1


def pluralise(text: str, lang: Language) -> str:
    """« 3 jour(s) » → « 3 jours », "1 intake(s)" → "1 intake", for every word after the number."""
    if "(s)" not in text:  # both patterns need it
        return text
    def replace(match: re.Match[str]) -> str:
        count = float(match.group("number").replace(",", "."))
        suffix = "s" if is_plural(count, lang) else ""
        return match.group("number") + _WORD.sub(lambda word: word.group(1) + suffix, match.group("words"))
    text = _PLURAL.sub(replace, text)
    return _WORD.sub(lambda word: word.group(1) + "s", text)  # no number: the plural reads for all


def _outside_urls(text: str, change: re.Pattern[str], replacement: str | Callable[[re.Match[str]], str]) -> str:
    """Apply a substitution to the text between URLs only (a URL keeps its `:` and `.`)."""
    if "http" not in text and "www." not in text:  # no URL can match: one pass over the whole text
        return change.sub(replacement, text)
    parts: list[str] = []
    last = 0
    for url in _URL.finditer(text):
        parts.append(change.sub(replacement, text[last:url.start()]))
        parts.append(url.group(0))
        last = url.end()
    parts.append(change.sub(replacement, text[last:]))
    return "".join(parts)


def french(text: str) -> str:
    """French typography: non-breaking spaces, typographic apostrophe, decimal comma. Each pass
    runs only when the text holds the character it changes (most card texts lack several)."""
    if any(mark in text for mark in ":;?!"):
        text = _outside_urls(text, _BEFORE_PUNCT, NBSP + r"\1")
    if "«" in text:
        text = _OPEN_QUOTE.sub("«" + NBSP, text)
    if "»" in text:
        text = _CLOSE_QUOTE.sub(NBSP + "»", text)
    if "'" in text:
        text = _APOSTROPHE.sub("\u2019", text)
    return _outside_urls(text, _DECIMAL_FR, r"\1,\2") if "." in text else text


def english(text: str) -> str:
    """English: decimal point (« 1,73 m² » → "1.73 m²")."""
    if "," not in text:
        return text
    return _outside_urls(text, _DECIMAL_EN, r"\1.\2")


def _dates(text: str, lang: Language) -> str:
    if "-" not in text:  # no ISO date
        return text
    def local(match: re.Match[str]) -> str:
        try:
            return format_date(date(int(match[1]), int(match[2]), int(match[3])), lang)
        except ValueError:
            return match[0]
    return _outside_urls(text, _ISO_DATE, local)


def _records(text: str, lang: Language, short: bool = False) -> str:
    """EHR texts quoted and labelled; the code, when there is one, comes first. Short (a
    summary): the code alone when there is one."""
    def label(match: re.Match[str]) -> str:
        if short and match[1]:
            return match[1]
        quoted = RECORD_LABEL[lang].format(text=match[2])
        return f"{match[1]}, {quoted}" if match[1] else quoted
    return _RECORD.sub(label, text)


def finish(text: str, lang: Language, *, short: bool = False) -> str:
    """A text ready for the reader: EHR texts labelled (`short`: by their code only, for a
    summary), plurals resolved, dates in the reader's form, then the language's typography.

    Memoised: a card repeats the profile's labels, headings and override reasons on every call,
    and the passes are pure functions of the text and the language. Bounded, since texts with a
    patient's values (doses, dates, record labels) rarely repeat; kept in process memory only."""
    return _finish(text, lang, short)


@lru_cache(maxsize=4096)
def _finish(text: str, lang: Language, short: bool) -> str:
    if "\u27e6" in text:
        text = _records(text, lang, short)
    text = _dates(pluralise(text, lang), lang)
    return french(text) if lang == "fr" else english(text)
