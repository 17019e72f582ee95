"""Query parameters of `GET /plan`, validated into a `PlanQuery`.

The page is opened from a card link, but anyone can edit the address: every parameter is
checked and a bad one becomes a `BadParameter` naming it (a 400), never a 500, and the date
range is capped so that one request cannot ask for years of rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

from cds_service.clinical.profile import LANGUAGES, PROFILE_NAMES, Language, Profile, load_profile

Renal = Literal["normal", "moderate", "severe", "unknown"]
RENAL_VALUES: tuple[Renal, ...] = get_args(Renal)
State = Literal["step", "hold", "hold-new", "threshold", "reduced", "max", "taper"]
STATES: tuple[State, ...] = get_args(State)
REASONS = ("renal-unknown", "data-unavailable", "dose-unknown", "review-specialist", "review-collegial",
           "reduced")
MAX_STEPS = 12
MAX_DAYS = 180
DEFAULT_DAYS = 28
MAX_DOSE_MG = 1000.0
MAX_INTAKES = 8
MIN_YEAR, MAX_YEAR = 1900, 2200
VIEWS = ("prescriber", "patient")
FORMS = ("scored", "unscored", "liquid")
MAX_STRENGTH_MG = 100.0
MAX_FIELD_CHARS = 160


class BadParameter(ValueError):
    """A query parameter the plan cannot use; `name` is the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class PlanQuery:
    """A plan as a card links to it: the schedule its suggestion would prescribe (`steps`, a
    dose of 0 being the stop) or the one dose to keep (`dose`), and why (`state`, `reason`)."""

    dose: float
    since: date
    until: date
    age: int | None
    renal: Renal
    profile: Profile
    lang: Language
    intakes: int
    steps: tuple[tuple[float, date], ...] = ()
    state: State = "hold"
    reason: str | None = None

    def query_string(self, **changes: str) -> dict[str, str]:
        """The parameters as they would be written in a link, with some changed."""
        values = {
            "dose": f"{self.dose:g}", "since": self.since.isoformat(), "until": self.until.isoformat(),
            "age": "" if self.age is None else str(self.age), "renal": self.renal,
            "profile": self.profile.id, "lang": self.lang, "intakes": str(self.intakes), "state": self.state,
        }
        if self.steps:
            values["steps"] = ",".join(f"{mg:g}@{day.isoformat()}" for mg, day in self.steps)
        if self.reason:
            values["reason"] = self.reason
        values.update(changes)
        return values


@dataclass(frozen=True)
class Handout:
    """What the patient view adds to a plan: the product the patient holds (`strength_mg` a
    tablet, `scored`: halves allowed) and who to call; empty fields print as blank lines."""

    strength_mg: float = 10.0
    scored: bool = True
    #: an oral solution: doses are printed in mg to measure, never counted in tablets
    liquid: bool = False
    prescriber: str = ""
    contact: str = ""

    def query_string(self) -> dict[str, str]:
        form = "liquid" if self.liquid else "scored" if self.scored else "unscored"
        values = {"view": "patient", "strength": f"{self.strength_mg:g}", "form": form}
        if self.prescriber:
            values["prescriber"] = self.prescriber
        if self.contact:
            values["contact"] = self.contact
        return values


def _get(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _number(params: Mapping[str, str], name: str) -> float | None:
    raw = _get(params, name)
    if raw is None:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise BadParameter(name, f"not a number: {raw[:40]!r}") from None
    if not math.isfinite(value):
        raise BadParameter(name, "not a finite number")
    return value


def _integer(params: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    raw = _get(params, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise BadParameter(name, f"not a whole number: {raw[:40]!r}")
    value = int(raw) if len(raw) <= 6 else high + 1
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low} and {high}")
    return value


def _date(params: Mapping[str, str], name: str) -> date | None:
    raw = _get(params, name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"not a date (YYYY-MM-DD): {raw[:40]!r}") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadParameter(name, f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = _get(params, name)
    if raw is None:
        return default
    if raw not in allowed:
        raise BadParameter(name, f"must be one of {', '.join(allowed)}")
    return raw


def _steps(params: Mapping[str, str]) -> tuple[tuple[float, date], ...]:
    """`30@2026-12-01,20@2026-12-04,0@2026-12-07`: doses from dates, in order, 0 the stop."""
    raw = _get(params, "steps")
    if raw is None:
        return ()
    items = raw.split(",")
    if len(items) > MAX_STEPS:
        raise BadParameter("steps", f"at most {MAX_STEPS} steps")
    steps: list[tuple[float, date]] = []
    for item in items:
        dose_text, _, day_text = item.partition("@")
        dose = _number({"steps": dose_text}, "steps")
        day = _date({"steps": day_text}, "steps")
        if dose is None or day is None or not 0 <= dose <= MAX_DOSE_MG:
            raise BadParameter("steps", f"each step is DOSE@YYYY-MM-DD: {item[:40]!r}")
        if steps and day <= steps[-1][1]:
            raise BadParameter("steps", "dates must increase")
        steps.append((dose, day))
    return tuple(steps)


def parse_query(params: Mapping[str, str], *, default_profile: str, default_lang: Language,
                today: date) -> PlanQuery:
    """Validate the query; `lang` is read first so that errors can be shown in it."""
    lang_raw = _choice(params, "lang", LANGUAGES, default_lang)
    lang: Language = "en" if lang_raw == "en" else "fr"
    steps = _steps(params)
    dose = _number(params, "dose")
    if dose is None and steps:
        dose = steps[0][0]
    if dose is None:
        raise BadParameter("dose", "required (mg/day)")
    if not 0 < dose <= MAX_DOSE_MG:
        raise BadParameter("dose", f"must be above 0 and at most {MAX_DOSE_MG:g} mg/day")
    since = _date(params, "since") or (steps[0][1] if steps else today)
    until = _date(params, "until") or max(
        since + timedelta(days=DEFAULT_DAYS), steps[-1][1] if steps else since)
    if until < since:
        raise BadParameter("until", "must not be before since")
    if (until - since).days > MAX_DAYS:
        raise BadParameter("until", f"the plan covers at most {MAX_DAYS} days")
    age = _integer(params, "age", 0, 130)
    renal_raw = _choice(params, "renal", RENAL_VALUES, "unknown")
    renal = next(value for value in RENAL_VALUES if value == renal_raw)
    profile = load_profile(_choice(params, "profile", PROFILE_NAMES, default_profile))
    intakes = _integer(params, "intakes", 1, MAX_INTAKES) or profile.titration.start_intakes
    state_raw = _choice(params, "state", STATES, "taper" if steps and steps[-1][0] == 0 else
                        ("step" if steps else "hold"))
    state = next(value for value in STATES if value == state_raw)
    reason_raw = _get(params, "reason")
    reason = _choice(params, "reason", REASONS, "") if reason_raw else None
    if steps and (steps[-1][1] - since).days > MAX_DAYS:
        raise BadParameter("steps", f"the plan covers at most {MAX_DAYS} days")
    return PlanQuery(dose=dose, since=since, until=until, age=age, renal=renal, profile=profile,
                     lang=lang, intakes=intakes, steps=steps, state=state, reason=reason)


def parse_view(params: Mapping[str, str]) -> str:
    """`view`: `prescriber` (default) or `patient` (the handout)."""
    return _choice(params, "view", VIEWS, "prescriber")


def _field(params: Mapping[str, str], name: str) -> str:
    raw = _get(params, name) or ""
    if len(raw) > MAX_FIELD_CHARS:
        raise BadParameter(name, f"at most {MAX_FIELD_CHARS} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in raw):
        raise BadParameter(name, "control characters are not allowed")
    return raw


def parse_handout(params: Mapping[str, str]) -> Handout:
    """The patient view's own parameters: `strength` (mg a tablet, default 10), `form`
    (`scored`, the default, `unscored`, or `liquid`: an oral solution, doses in mg), `prescriber`,
    `contact` (free text, escaped on output)."""
    strength = _number(params, "strength")
    if strength is None:
        strength = Handout.strength_mg
    if not 0 < strength <= MAX_STRENGTH_MG:
        raise BadParameter("strength", f"must be above 0 and at most {MAX_STRENGTH_MG:g} mg")
    form = _choice(params, "form", FORMS, "scored")
    return Handout(strength_mg=strength, scored=form == "scored", liquid=form == "liquid",
                   prescriber=_field(params, "prescriber"), contact=_field(params, "contact"))
