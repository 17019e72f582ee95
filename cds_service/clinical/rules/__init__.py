"""The rule catalogue of the spec, one module per group; each rule is a plain function.

A rule reads an `Assessment` (one draft order, its patient, the profile) and returns the
findings it makes. `ORDER_RULES` lists them in card order; `evaluate` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding
from cds_service.clinical.rules import (
    contraindications,
    dose_thresholds,
    followup,
    interactions,
    precautions,
    renal,
    titration,
)

Rule = Callable[[Assessment], Sequence[Finding]]

ORDER_RULES: tuple[Rule, ...] = (
    *contraindications.RULES,
    *renal.RULES,
    *dose_thresholds.RULES,
    *titration.RULES,
    *precautions.RULES,
    *interactions.RULES,
    *followup.RULES,
)
