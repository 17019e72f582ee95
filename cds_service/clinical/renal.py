"""Renal function before baclofen: "il faut impérativement vérifier la fonction rénale".

Baclofen is cleared unchanged by the kidney, so the RTU contraindicates it below an eGFR of
30 and asks for very slow titration below 60. The most recent usable result counts: a
reported eGFR or creatinine clearance, else an eGFR computed from serum creatinine with the
race-free CKD-EPI 2021 equation; chronic kidney disease on the problem list counts too, and
the worse of the two wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from cds_service.clinical.context import ConditionFact, ObservationFact, PatientContext
from cds_service.clinical.medication import fold
from cds_service.clinical.valuesets import family_of

Category = Literal["normal", "moderate", "severe", "unknown"]
Source = Literal["egfr", "clearance", "ckd-epi", "condition"]

EGFR_LOINC = frozenset({"98979-8", "62238-1", "33914-3", "48642-3", "48643-1", "69405-9"})
CLEARANCE_LOINC = frozenset({"35591-7", "2164-2"})
CREATININE_LOINC = frozenset({"2160-0", "38483-4", "14682-9", "77140-2"})
# The unit a creatinine LOINC code implies, for results sent without one.
_CREATININE_DEFAULT_UNIT = {
    "2160-0": "mg/dl", "38483-4": "mg/dl", "14682-9": "umol/l", "77140-2": "umol/l",
}
UMOL_L_PER_MG_DL = 88.4
# Outside this window a serum creatinine is not a patient's value but a unit error (µmol/L
# sent as mg/dL or the reverse); better "unknown" than a false eGFR of 0 or of 900.
PLAUSIBLE_CREATININE_MG_DL = (0.1, 40.0)
PLAUSIBLE_EGFR = (0.0, 300.0)

# SNOMED CT: CKD stage 4 431857002, stage 5 433146000, stage 5 on dialysis 714152005,
# end-stage renal disease 46177005, dependence on renal dialysis 105502003;
# CKD stage 3 433144002, stage 3A 700378005, stage 3B 700379002.
SEVERE_CONDITIONS = (
    "N18.4", "N18.5", "N18.6", "Z99.2",
    "431857002", "433146000", "714152005", "46177005", "105502003",
)
MODERATE_CONDITIONS = ("N18.3", "433144002", "700378005", "700379002")

_RANK: dict[Category, int] = {"unknown": -1, "normal": 0, "moderate": 1, "severe": 2}


@dataclass(frozen=True)
class RenalPolicy:
    """Thresholds and code sets; the rule profile sets them, these are the spec's defaults.

    Condition entries made only of digits are SNOMED CT concepts (exact match); the others
    are ICD-10 prefixes ("N18.3" covers N18.30, N18.31, N183...).
    """

    egfr_loinc: frozenset[str] = EGFR_LOINC
    clearance_loinc: frozenset[str] = CLEARANCE_LOINC
    creatinine_loinc: frozenset[str] = CREATININE_LOINC
    max_age_days: int = 90
    severe_below: float = 30.0
    moderate_below: float = 60.0
    severe_condition_prefixes: tuple[str, ...] = field(default=SEVERE_CONDITIONS)
    moderate_condition_prefixes: tuple[str, ...] = field(default=MODERATE_CONDITIONS)


@dataclass(frozen=True)
class RenalAssessment:
    """What the rules know of renal function.

    `category` is the worse of the laboratory and the problem-list evidence, and `source`
    says which decided it. `egfr`, `observed_on` and `observation_id` describe the laboratory
    result used, if any (even when a condition decided); `condition_code` the condition.
    """

    category: Category
    egfr: float | None = None
    source: Source | None = None
    observed_on: date | None = None
    observation_id: str | None = None
    condition_code: str | None = None


def ckd_epi_2021(creatinine_mg_dl: float, age_years: float, female: bool) -> float:
    """eGFR (mL/min/1.73 m²), race-free CKD-EPI 2021 creatinine equation (Inker, NEJM 2021).

    142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^-1.200 × 0.9938^age × 1.012 [female], with
    κ = 0.7 (F) / 0.9 (M) and α = -0.241 (F) / -0.302 (M) (kidney.org, CKD-EPI 2021).
    """
    if not (creatinine_mg_dl > 0 and math.isfinite(creatinine_mg_dl)):
        raise ValueError("creatinine must be a positive number of mg/dL")
    if not (age_years >= 0 and math.isfinite(age_years)):
        raise ValueError("age must be a non-negative number of years")
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = creatinine_mg_dl / kappa
    egfr = (
        142.0
        * math.pow(min(ratio, 1.0), alpha)
        * math.pow(max(ratio, 1.0), -1.200)
        * math.pow(0.9938, age_years)
    )
    return egfr * 1.012 if female else egfr


def _unit_key(unit: str) -> str:
    return fold(unit).replace("μ", "u").replace(" ", "").replace("[", "").replace("]", "")


def creatinine_mg_dl(obs: ObservationFact) -> float | None:
    """Serum creatinine in mg/dL from a UCUM (or plain) unit: mg/dL, µmol/L, mmol/L, mg/L.

    Without a unit the LOINC code's own unit is assumed (2160-0 mg/dL, 14682-9 µmol/L...).
    None when the value is missing, the unit unknown or the result implausible.
    """
    if obs.value is None or not math.isfinite(obs.value) or obs.value <= 0:
        return None
    unit = obs.unit
    if not unit:
        unit = next((_CREATININE_DEFAULT_UNIT[c.code] for c in obs.codes
                     if c.code in _CREATININE_DEFAULT_UNIT), None)
    if not unit:
        return None
    key = _unit_key(unit)
    if key in ("mg/dl", "mg/100ml", "mg%"):
        value = obs.value
    elif key in ("umol/l", "micromol/l", "µmol/l"):
        value = obs.value / UMOL_L_PER_MG_DL
    elif key == "mmol/l":
        value = obs.value * 1000 / UMOL_L_PER_MG_DL
    elif key == "mg/l":
        value = obs.value / 10
    else:
        return None
    low, high = PLAUSIBLE_CREATININE_MG_DL
    return value if low <= value <= high else None


@dataclass(frozen=True)
class _LabResult:
    day: date
    egfr: float
    source: Literal["egfr", "clearance", "ckd-epi"]
    observation_id: str | None

    @property
    def measured(self) -> bool:
        return self.source != "ckd-epi"


def _loinc_codes(obs: ObservationFact) -> set[str]:
    return {c.code for c in obs.codes if family_of(c.system) == "loinc" or not c.system}


def _rate(obs: ObservationFact) -> float | None:
    """A reported eGFR or clearance, per minute (mL/s results are converted)."""
    if obs.value is None or not math.isfinite(obs.value):
        return None
    value = obs.value * 60 if obs.unit and "/s" in _unit_key(obs.unit) else obs.value
    low, high = PLAUSIBLE_EGFR
    return value if low <= value <= high else None


def _computed(obs: ObservationFact, context: PatientContext) -> float | None:
    creatinine = creatinine_mg_dl(obs)
    age = context.age_years
    if creatinine is None or age is None or age < 0:
        return None
    if context.sex == "female":
        egfr = ckd_epi_2021(creatinine, age, female=True)
    elif context.sex == "male":
        egfr = ckd_epi_2021(creatinine, age, female=False)
    else:  # unknown or other sex: the lower estimate is the safe one
        egfr = min(ckd_epi_2021(creatinine, age, True), ckd_epi_2021(creatinine, age, False))
    # Reported to one decimal, and classified on what is reported, so a card never says
    # "eGFR 30.0" while calling it below 30.
    return round(egfr, 1)


def _lab_results(context: PatientContext, policy: RenalPolicy) -> Iterable[_LabResult]:
    oldest = context.today - timedelta(days=policy.max_age_days)
    for obs in context.observations:
        if obs.effective is None or not oldest <= obs.effective <= context.today:
            continue
        codes = _loinc_codes(obs)
        value: float | None = None
        source: Literal["egfr", "clearance", "ckd-epi"]
        if codes & policy.egfr_loinc:
            value, source = _rate(obs), "egfr"
        elif codes & policy.clearance_loinc:
            value, source = _rate(obs), "clearance"
        elif codes & policy.creatinine_loinc:
            value, source = _computed(obs, context), "ckd-epi"
        else:
            continue
        if value is not None:
            yield _LabResult(obs.effective, value, source, obs.id)


def _category(egfr: float, policy: RenalPolicy) -> Category:
    if egfr < policy.severe_below:
        return "severe"
    if egfr < policy.moderate_below:
        return "moderate"
    return "normal"


def _matches(code_system: str, code: str, entries: Iterable[str]) -> bool:
    family = family_of(code_system)
    value = code.strip().upper()
    for entry in entries:
        wanted = entry.strip().upper()
        if wanted.isdigit():
            if family == "snomed" and value == wanted:
                return True
        elif family == "icd10" and value.replace(".", "").startswith(wanted.replace(".", "")):
            return True
    return False


def _condition_evidence(
    conditions: Iterable[ConditionFact], policy: RenalPolicy
) -> tuple[Category, str] | None:
    found: tuple[Category, str] | None = None
    severe, moderate = policy.severe_condition_prefixes, policy.moderate_condition_prefixes
    for condition in conditions:
        if not condition.active:
            continue
        for code in condition.codes:
            if _matches(code.system, code.code, severe):
                return "severe", code.code
            if found is None and _matches(code.system, code.code, moderate):
                found = ("moderate", code.code)
    return found


def assess_renal(context: PatientContext, policy: RenalPolicy) -> RenalAssessment:
    """Renal category at `context.today` from recent labs and active conditions.

    Labs: the most recent result of the last `max_age_days` (none from after today); on the
    same day a reported eGFR or clearance beats one computed from creatinine, and the lowest
    value wins among equals. `unknown` only when there is neither a lab nor a condition.
    """
    results = sorted(
        _lab_results(context, policy),
        key=lambda r: (-r.day.toordinal(), not r.measured, r.egfr),
    )
    lab = results[0] if results else None
    lab_category: Category = _category(lab.egfr, policy) if lab is not None else "unknown"
    condition = _condition_evidence(context.conditions, policy)
    condition_category: Category = condition[0] if condition is not None else "unknown"
    if lab is None and condition is None:
        return RenalAssessment(category="unknown")
    by_condition = _RANK[condition_category] > _RANK[lab_category]
    return RenalAssessment(
        category=condition_category if by_condition else lab_category,
        egfr=lab.egfr if lab is not None else None,
        source="condition" if by_condition else (lab.source if lab is not None else None),
        observed_on=lab.day if lab is not None else None,
        observation_id=lab.observation_id if lab is not None else None,
        condition_code=condition[1] if condition is not None else None,
    )
