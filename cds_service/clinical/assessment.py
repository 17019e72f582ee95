"""The facts about one draft baclofen order that every rule shares, computed once.

Daily doses, the current regimen and the renal category are derived here so that each rule
stays a few lines of comparison against the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from cds_service.clinical import dose as dose_logic
from cds_service.clinical import medication as medication_logic
from cds_service.clinical.context import ConditionFact, MedicationFact, PatientContext
from cds_service.clinical.profile import Profile
from cds_service.clinical.renal import RenalAssessment, assess_renal
from cds_service.clinical.wording import record_text

_CURRENT_STATUSES = {"active", "on-hold"}
_TAKEN_STATUSES = {"active", "on-hold", "completed", "stopped"}


@dataclass(frozen=True)
class CurrentRegimen:
    """The baclofen the patient takes now: daily dose and the day that dose began."""

    order: MedicationFact
    mg_per_day: float | None
    intakes_per_day: int | None
    started: date | None
    intake_mg: tuple[float, ...] = ()
    reduced_from: float | None = None  # the higher dose this one replaced, if it was a reduction


@dataclass(frozen=True)
class Assessment:
    context: PatientContext
    profile: Profile
    order: MedicationFact
    regimen: dose_logic.Regimen | None
    dose_error: str | None
    current: CurrentRegimen | None
    renal: RenalAssessment
    indication: str  # "rtu", "amm" or "missing"
    indication_evidence: str | None
    co_medications: tuple[MedicationFact, ...] = ()
    # interaction rule code -> names of the co-medications in its ATC class (computed per call)
    interaction_drugs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    co_identities: tuple[medication_logic.DrugIdentity, ...] = ()  # one per co-medication
    # What several rules derive from this (immutable) assessment, computed by the first that
    # asks (e.g. the fragile reasons, asked up to five times); empty again after `replace`.
    derived: dict[str, object] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def today(self) -> date:
        return self.context.today

    @property
    def age(self) -> int | None:
        return self.context.age_years

    @property
    def new_mg_per_day(self) -> float | None:
        """The highest daily dose of the draft (a schedule is judged by its peak)."""
        if self.regimen is None or not self.regimen.steps:
            return None
        return max(step.mg_per_day for step in self.regimen.steps)

    @property
    def is_renewal(self) -> bool:
        """Same single daily dose as the current regimen: a renewal, not a change."""
        if self.current is None or self.current.mg_per_day is None or self.regimen is None:
            return False
        doses = {round(step.mg_per_day, 2) for step in self.regimen.steps}
        return doses == {round(self.current.mg_per_day, 2)}

    @property
    def renal_slow(self) -> bool:
        return self.renal.category == "moderate"

    @property
    def max_mg_per_day(self) -> float:
        """The maximum that applies to this order: the AMM's for spasticity, else the profile's."""
        if self.indication == "amm":
            return min(self.profile.doses.amm_max_mg, self.profile.doses.max_mg_per_day)
        return self.profile.doses.max_mg_per_day


def _is_current(fact: MedicationFact, today: date, completed_within_days: int) -> bool:
    if fact.is_draft or fact.intent == "statement":
        return False
    if fact.authored_on is not None and fact.authored_on > today:
        return False
    if fact.status in _CURRENT_STATUSES:
        return fact.end is None or fact.end >= today - timedelta(days=completed_within_days)
    if fact.status == "completed":
        ended = fact.end or fact.authored_on
        return ended is not None and ended >= today - timedelta(days=completed_within_days)
    return False


def _start_of(fact: MedicationFact) -> date | None:
    for dosage in fact.dosages:
        timing = dosage.timing
        repeat = timing.repeat if timing is not None else None
        bounds = repeat.boundsPeriod if repeat is not None else None
        if bounds is not None and bounds.start is not None:
            start = bounds.start
            return start.date() if hasattr(start, "date") and callable(start.date) else start
    return fact.authored_on


def _baclofen_orders(context: PatientContext) -> list[MedicationFact]:
    """`is_baclofen` asked once per distinct drug: a long history repeats a dozen drugs over
    hundreds of orders."""
    baclofen = medication_logic.BaclofenMemo()
    return [
        fact for fact in context.medications
        if not fact.is_draft and fact.intent != "statement"
        and baclofen(fact) and not medication_logic.is_intrathecal(fact)
    ]


def _previous_dose(orders: list[MedicationFact], latest: MedicationFact, latest_start: date | None,
                   window_days: int) -> float | None:
    """The last daily dose of the baclofen order taken just before `latest` (it ended at most
    `window_days` before `latest` began), or None."""
    if latest_start is None:
        return None
    earlier = [
        fact for fact in orders
        if fact is not latest and fact.status in _TAKEN_STATUSES
        and (_start_of(fact) or date.max) < latest_start
        and (fact.end is None or fact.end >= latest_start - timedelta(days=window_days))
    ]
    if not earlier:
        return None
    previous = max(earlier, key=lambda fact: _start_of(fact) or date.min)
    try:
        return dose_logic.regimen_of(previous, start=_start_of(previous)).steps[-1].mg_per_day
    except dose_logic.DoseUnknown:
        return None


def current_regimen(context: PatientContext, profile: Profile) -> CurrentRegimen | None:
    """The most recent non-draft active baclofen order (or completed within the policy window),
    and the higher dose it replaced when it was a reduction (within the order or from the order
    before it)."""
    orders = _baclofen_orders(context)
    window = profile.policy.completed_within_days
    candidates = [fact for fact in orders if _is_current(fact, context.today, window)]
    if not candidates:
        return None
    latest = max(candidates, key=lambda fact: (_start_of(fact) or date.min, fact.status == "active"))
    started = _start_of(latest)
    try:
        regimen = dose_logic.regimen_of(latest, start=started)
    except dose_logic.DoseUnknown:
        return CurrentRegimen(order=latest, mg_per_day=None, intakes_per_day=None, started=started)
    index = len(regimen.steps) - 1
    for position, candidate in enumerate(regimen.steps):
        if candidate.start is not None and candidate.start <= context.today:
            index = position
    step = regimen.steps[index]
    before = (regimen.steps[index - 1].mg_per_day if index > 0
              else _previous_dose(orders, latest, started, window))
    return CurrentRegimen(
        order=latest,
        mg_per_day=step.mg_per_day,
        intakes_per_day=step.intakes_per_day,
        started=step.start or started,
        intake_mg=step.intake_mg,
        reduced_from=before if before is not None and before > step.mg_per_day else None,
    )


def _first_evidence(conditions: tuple[ConditionFact, ...], profile: Profile, name: str) -> str | None:
    value_set = profile.value_set(name)
    for condition in conditions:
        code = value_set.first_match(condition.codes)
        if code is not None:
            return record_text(code.code, code.display or condition.text)
    return None


def indication_of(order: MedicationFact, context: PatientContext, profile: Profile) -> tuple[str, str | None]:
    """RTU when the order or an active condition says alcohol dependence; AMM when the order's
    own reason is spasticity; otherwise missing (and the RTU rules still run)."""
    alcohol = profile.value_set("alcohol_dependence")
    spasticity = profile.value_set("spasticity")
    reasons = list(order.reason_codes) + [c for cond in order.reason_conditions for c in cond.codes]
    hit = alcohol.first_match(reasons)
    if hit is not None:
        return "rtu", hit.code
    spastic = spasticity.first_match(reasons)
    if spastic is not None:
        return "amm", record_text(spastic.code, spastic.display)
    evidence = _first_evidence(tuple(c for c in context.conditions if c.active), profile,
                               "alcohol_dependence")
    if evidence is not None:
        return "rtu", evidence
    return "missing", None


_CO_MEDICATION_STATUSES = {"active", "on-hold", "intended"}


@dataclass(frozen=True)
class PatientFacts:
    """What is the same for every draft of one call, computed once per call so that the work
    stays linear in the number of drafts."""

    current: CurrentRegimen | None
    renal: RenalAssessment
    co_medications: tuple[MedicationFact, ...]
    interaction_drugs: Mapping[str, tuple[str, ...]]
    co_identities: tuple[medication_logic.DrugIdentity, ...] = ()


def co_medications(context: PatientContext) -> tuple[MedicationFact, ...]:
    """Active non-baclofen medications (spec: "active co-medications"; a completed, stopped or
    cancelled one is not), and the other drafts of the same order set."""
    active = [fact for fact in context.medications if fact.status in _CO_MEDICATION_STATUSES]
    return tuple(fact for fact in (*active, *context.draft_orders) if not medication_logic.is_baclofen(fact))


def medication_name(fact: MedicationFact) -> str:
    """How a card names a medication: its text, else a display, else its first code."""
    return (fact.text or next((c.display for c in fact.codes if c.display), None)
            or (fact.codes[0].code if fact.codes else "?"))


def interaction_drugs(co_meds: tuple[MedicationFact, ...],
                      identities: tuple[medication_logic.DrugIdentity, ...],
                      profile: Profile) -> dict[str, tuple[str, ...]]:
    """For each interaction rule of the profile (`atc_value_set`), the distinct names of the
    co-medications in its class (by ATC code or substance), opioid substitution excepted.
    Computed once per call: every draft of the order set shares it, so the work is linear in
    drafts plus co-medications."""
    compatible = profile.value_set("opioid_substitution")
    eligible = [(fact, identity) for fact, identity in zip(co_meds, identities, strict=True)
                if not medication_logic.in_class(identity, compatible)]
    found: dict[str, tuple[str, ...]] = {}
    for code, rule in profile.rules.items():
        if rule.atc_value_set is None:
            continue
        value_set = profile.value_set(rule.atc_value_set)
        names = [medication_name(fact) for fact, identity in eligible
                 if medication_logic.in_class(identity, value_set)]
        found[code] = tuple(dict.fromkeys(names))
    return found


def patient_facts(context: PatientContext, profile: Profile) -> PatientFacts:
    others = co_medications(context)
    identities = tuple(medication_logic.identify(fact, profile.drug_vocabulary) for fact in others)
    return PatientFacts(
        current=current_regimen(context, profile),
        renal=assess_renal(context, profile.renal),
        co_medications=others,
        co_identities=identities,
        interaction_drugs=interaction_drugs(others, identities, profile),
    )


def assess(order: MedicationFact, context: PatientContext, profile: Profile,
           facts: PatientFacts | None = None) -> Assessment:
    """Everything the rules need about one draft order, computed once."""
    facts = facts or patient_facts(context, profile)
    regimen: dose_logic.Regimen | None = None
    error: str | None = None
    try:
        regimen = dose_logic.regimen_of(order, start=_start_of(order) or context.today)
    except dose_logic.DoseUnknown as exc:
        error = exc.reason
    indication, evidence = indication_of(order, context, profile)
    return Assessment(
        context=context,
        profile=profile,
        order=order,
        regimen=regimen,
        dose_error=error,
        current=facts.current,
        renal=facts.renal,
        indication=indication,
        indication_evidence=evidence,
        co_medications=facts.co_medications,
        interaction_drugs=facts.interaction_drugs,
        co_identities=facts.co_identities,
    )
