"""The patient context: everything the clinical rules read, already extracted from FHIR.

The FHIR layer (`cds_service.fhir.context_builder`) builds it; the rules never see raw JSON,
never do I/O, and can be tested with plain constructors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fhir.resources.R4B.dosage import Dosage

Sex = Literal["female", "male", "other", "unknown"]


@dataclass(frozen=True)
class Code:
    """A coding reduced to what matching needs."""

    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True)
class ConditionFact:
    """A Condition (problem list or encounter diagnosis)."""

    id: str | None
    codes: tuple[Code, ...]
    text: str | None = None
    active: bool = True
    onset: date | None = None
    refuted: bool = False  # verification refuted or entered-in-error: never evidence


@dataclass(frozen=True)
class ObservationFact:
    """An Observation: a numeric value with its UCUM unit, or a coded value."""

    id: str | None
    codes: tuple[Code, ...]
    effective: date | None
    value: float | None = None
    unit: str | None = None
    value_codes: tuple[Code, ...] = ()
    value_text: str | None = None
    value_boolean: bool | None = None


@dataclass(frozen=True)
class AllergyFact:
    """An AllergyIntolerance that is not refuted or resolved."""

    id: str | None
    codes: tuple[Code, ...]
    text: str | None = None


@dataclass(frozen=True)
class MedicationFact:
    """A MedicationRequest (or statement) with its medication resolved to codes.

    `codes` holds the medication concept's codings plus those of a referenced or contained
    Medication and its ingredients, so that matching a product or an ingredient is one lookup.
    """

    id: str | None
    status: str
    intent: str | None
    codes: tuple[Code, ...]
    text: str | None
    authored_on: date | None
    is_draft: bool
    dosages: tuple[Dosage, ...] = ()
    route_codes: tuple[Code, ...] = ()
    strength_mg: float | None = None
    reason_codes: tuple[Code, ...] = ()
    reason_conditions: tuple[ConditionFact, ...] = ()
    end: date | None = None
    raw: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PatientContext:
    """One patient at one evaluation date, as the rules see them."""

    today: date
    patient_id: str | None
    birth_date: date | None
    sex: Sex
    weight_kg: float | None = None
    conditions: tuple[ConditionFact, ...] = ()
    medications: tuple[MedicationFact, ...] = ()
    draft_orders: tuple[MedicationFact, ...] = ()
    observations: tuple[ObservationFact, ...] = ()
    allergies: tuple[AllergyFact, ...] = ()
    unavailable: frozenset[str] = field(default_factory=frozenset)

    @property
    def age_years(self) -> int | None:
        """Age in completed years at the evaluation date."""
        if self.birth_date is None:
            return None
        born = self.birth_date
        before_birthday = (self.today.month, self.today.day) < (born.month, born.day)
        return self.today.year - born.year - int(before_birthday)
