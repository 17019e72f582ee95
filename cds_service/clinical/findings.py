"""What a rule concludes: a coded finding, its text parameters, and what it proposes to do.

Findings carry no wording and no FHIR: the card builder turns them into texts (from the
profile, in the user's language) and proposals into FHIR actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from cds_service.clinical.profile import Indicator


@dataclass(frozen=True)
class PlannedStep:
    """A constant daily dose split into intakes, from `start` (inclusive) to `end` (exclusive)."""

    intake_mg: tuple[float, ...]
    start: date | None = None
    end: date | None = None

    @property
    def mg_per_day(self) -> float:
        return round(sum(self.intake_mg), 2)


@dataclass(frozen=True)
class UpdateDose:
    """Replace the draft's dosage with these steps: a corrected draft, the draft capped at the
    maximum, the next titration step, or a progressive reduction (taper)."""

    steps: tuple[PlannedStep, ...]
    purpose: Literal["correct", "cap", "titrate", "taper"] = "correct"
    # The ordered tablet cannot give these doses (a 30 mg tablet and 35 mg): the order is to be
    # switched to 10 mg scored tablets; `tablet` names the ordered product for the card.
    switch_to_10mg: bool = False
    tablet: str | None = None


@dataclass(frozen=True)
class Referral:
    """Create a referral ServiceRequest for a specialist opinion or a collegial decision."""

    kind: Literal["specialist", "collegial"]
    mg_per_day: float
    threshold: float


@dataclass(frozen=True)
class OrderCreatinine:
    """Create a ServiceRequest for a serum creatinine."""


@dataclass(frozen=True)
class CancelDraft:
    """Delete the draft order (contraindication)."""


Proposal = UpdateDose | Referral | OrderCreatinine | CancelDraft


@dataclass(frozen=True)
class Label:
    """A text parameter that is a profile label, in the reader's language; it may use the
    finding's plain parameters (`{dose}`), not other labels."""

    key: str


@dataclass(frozen=True)
class Labels:
    """Several labels joined with commas."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class ProfileName:
    """The name of the profile that produced the finding, in the reader's language."""


@dataclass(frozen=True)
class DoseReason:
    """Why the dose could not be computed, as `dose.DoseUnknown` said it in English; the card
    shows it in the reader's language (`dose_messages`)."""

    english: str


Param = str | int | float | bool | date | Label | Labels | ProfileName | DoseReason


@dataclass(frozen=True)
class Finding:
    code: str
    indicator: Indicator
    params: Mapping[str, Param] = field(default_factory=dict)
    proposals: tuple[Proposal, ...] = ()
    variant: str | None = None  # another wording of the rule for this situation (profile `variants`)
