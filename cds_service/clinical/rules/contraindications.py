"""Contraindications (critical): epilepsy, hypersensitivity, gluten intolerance, pregnancy,
breastfeeding. Seed: « les contre-indications sont peu nombreuses… »."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.context import ObservationFact
from cds_service.clinical.findings import Finding
from cds_service.clinical.rules.common import condition_evidence, describe, finding
from cds_service.clinical.wording import record_text

_ALLERGY_WORDS = ("allerg", "hypersensib", "hypersensitiv", "intoleran")


def _plain(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _contraindicated(a: Assessment, code: str, evidence: str | None) -> list[Finding]:
    """The finding only: what to propose (a taper, or cancelling a new patient's draft) is the
    suggestion policy's decision, made with every other finding in view."""
    if evidence is None:
        return []
    return [finding(a, code, evidence=evidence)]


def _conditions(a: Assessment, code: str) -> str | None:
    spec = a.profile.rules[code]
    return condition_evidence(a, spec.value_set or "", history=spec.history) if spec.value_set else None


def epilepsy(a: Assessment) -> Sequence[Finding]:
    return _contraindicated(a, "ci-epilepsy", _conditions(a, "ci-epilepsy"))


def hypersensitivity(a: Assessment) -> Sequence[Finding]:
    substance = a.profile.value_set("baclofen_substance")
    for allergy in a.context.allergies:
        code = substance.first_match(allergy.codes)
        if code is not None:
            return _contraindicated(a, "ci-hypersensitivity", describe(code, allergy.text))
        texts = [allergy.text, *(c.display for c in allergy.codes)]
        if any("baclof" in _plain(text) for text in texts):
            return _contraindicated(a, "ci-hypersensitivity", record_text(None, allergy.text) or
                                    describe(allergy.codes[0], None))
    for condition in a.context.conditions:
        if not condition.active:
            continue
        if substance.first_match(condition.codes) is not None or _names_baclofen_allergy(condition.text):
            coded = describe(condition.codes[0], None) if condition.codes else "?"
            return _contraindicated(a, "ci-hypersensitivity", record_text(None, condition.text) or coded)
    return []


def _names_baclofen_allergy(text: str | None) -> bool:
    """A problem-list entry such as « Allergie au baclofène » or "baclofen hypersensitivity"."""
    plain = _plain(text)
    return "baclof" in plain and any(word in plain for word in _ALLERGY_WORDS)


def gluten(a: Assessment) -> Sequence[Finding]:
    evidence = _conditions(a, "ci-gluten")
    if evidence is None:
        value_set = a.profile.value_set("gluten")
        for allergy in a.context.allergies:
            code = value_set.first_match(allergy.codes)
            texts = [allergy.text, *(c.display for c in allergy.codes)]
            if code is not None or any("gluten" in _plain(text) for text in texts):
                evidence = describe(code, allergy.text) if code else (record_text(None, allergy.text) or "gluten")
                break
    return _contraindicated(a, "ci-gluten", evidence)


def _latest(a: Assessment, value_set_name: str, max_age_days: int | None = None) -> ObservationFact | None:
    """The most recent matching observation up to today (and not older than `max_age_days`)."""
    value_set = a.profile.value_set(value_set_name)
    oldest = a.today - timedelta(days=max_age_days) if max_age_days is not None else date.min
    matching = [
        obs for obs in a.context.observations
        if value_set.first_match(obs.codes) is not None
        and (obs.effective is None or oldest <= obs.effective <= a.today)
    ]
    if not matching:
        return None
    return max(matching, key=lambda obs: obs.effective or a.today)


def _positive(a: Assessment, obs: ObservationFact, values_name: str) -> bool:
    if obs.value_boolean is not None:
        return obs.value_boolean
    return a.profile.value_set(values_name).first_match(obs.value_codes) is not None


def _observation_evidence(a: Assessment, kind: str, max_age_days: int | None = None) -> str | None:
    obs = _latest(a, f"{kind}_observation", max_age_days)
    if obs is None or not _positive(a, obs, f"{kind}_positive_values"):
        return None
    value = next(iter(obs.value_codes), None)
    shown = describe(value) if value is not None else "+"
    when = obs.effective.isoformat() if obs.effective else ""  # the card shows it as a local date
    return f"{obs.codes[0].code} = {shown}, {when}" if when else f"{obs.codes[0].code} = {shown}"


def pregnancy(a: Assessment) -> Sequence[Finding]:
    max_age = a.profile.policy.pregnancy_observation_max_age_days
    evidence = _conditions(a, "ci-pregnancy") or _observation_evidence(a, "pregnancy", max_age)
    return _contraindicated(a, "ci-pregnancy", evidence)


def breastfeeding(a: Assessment) -> Sequence[Finding]:
    evidence = _conditions(a, "ci-breastfeeding") or _observation_evidence(a, "breastfeeding")
    return _contraindicated(a, "ci-breastfeeding", evidence)


RULES = (epilepsy, hypersensitivity, gluten, pregnancy, breastfeeding)
