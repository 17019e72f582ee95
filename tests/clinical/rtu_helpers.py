"""Run the RTU engine on FHIR JSON the way the service does: builders → context → rules → cards.

Every clinical test builds its patient from `tests.builders` resources and goes through
`cds_service.fhir.context_builder.build_context`, the real path from prefetch to rules.
The evaluation date is the draft's `authoredOn` (TODAY).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cds_service.clinical.cards import CardRequest, build_cards
from cds_service.clinical.engine import Hook, OrderEvaluation, evaluate
from cds_service.clinical.findings import Finding, UpdateDose
from cds_service.clinical.profile import Language, load_profile
from cds_service.fhir.context_builder import build_context
from tests.builders import (
    ATC,
    ICD10,
    PATIENT_ID,
    SNOMED,
    baclofen_order,
    dosage,
    egfr,
    patient,
    searchset,
)

TODAY = date(2026, 3, 10)
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
__all__ = [
    "ATC", "ICD10", "RXNORM", "SNOMED", "TODAY", "Run", "ago", "born_aged", "catalogue", "current", "draft",
    "in_days", "intakes_of", "lines", "order_of", "run", "step_lines", "taking", "update_of",
]


def ago(days: int) -> str:
    """The ISO date `days` before the evaluation date."""
    return (TODAY - timedelta(days=days)).isoformat()


def in_days(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def born_aged(age: int, *, birthday_today: bool = False) -> str:
    """A birth date giving `age` completed years at TODAY; the birthday is tomorrow unless
    `birthday_today` (so 65 means « 65, not yet 66 »)."""
    if birthday_today:
        return date(TODAY.year - age, TODAY.month, TODAY.day).isoformat()
    tomorrow = TODAY + timedelta(days=1)
    return date(tomorrow.year - age - 1, tomorrow.month, tomorrow.day).isoformat()


_WHEN = {1: ("MORN",), 2: ("MORN", "EVE"), 3: ("MORN", "NOON", "EVE"), 4: ("MORN", "NOON", "EVE", "HS")}


def intakes_of(mg_per_day: int, per_day: int = 3) -> list[int]:
    """How a prescriber splits a daily dose: half tablets (5 mg) when possible, evening heavier."""
    unit = 5 if mg_per_day % 5 == 0 and mg_per_day >= 5 * per_day else 1
    share, extra = divmod(mg_per_day // unit, per_day)
    return [unit * (share + (1 if index >= per_day - extra else 0)) for index in range(per_day)]


def lines(mg_per_day: int, per_day: int = 3, **repeat: Any) -> list[dict[str, Any]]:
    """Dosage lines for a daily dose: one line when the intakes are equal, else one per moment."""
    doses = intakes_of(mg_per_day, per_day)
    if len(set(doses)) == 1:
        return [dosage(doses[0], per_day, **repeat)]
    found = []
    for moment, mg in zip(_WHEN[per_day], doses, strict=True):
        line = dosage(mg, 1)
        line["timing"] = {"repeat": {"when": [moment], **repeat}}
        found.append(line)
    return found


def order_of(mg_per_day: int, per_day: int = 3, **kwargs: Any) -> dict[str, Any]:
    """A draft of `mg_per_day` in `per_day` intakes (whole mg)."""
    return draft(dosages=lines(mg_per_day, per_day), **kwargs)


def taking(mg_per_day: int, *, days: int, per_day: int = 3, **kwargs: Any) -> dict[str, Any]:
    """The current regimen: `mg_per_day`, begun `days` ago."""
    return current(0, per_day, days=days, dosages=lines(mg_per_day, per_day), **kwargs)


def draft(mg_per_intake: float = 5, per_day: int = 3, **kwargs: Any) -> dict[str, Any]:
    """The baclofen draft being signed, authored TODAY, reason F10.2 unless said otherwise."""
    kwargs.setdefault("authored", TODAY.isoformat())
    return baclofen_order(mg_per_intake, per_day, **kwargs)


def current(mg_per_intake: float, per_day: int = 3, *, days: int = 5, oid: str = "current-1",
            status: str = "active", dosages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An active baclofen order authored `days` ago (the dose began then)."""
    return baclofen_order(mg_per_intake, per_day, oid=oid, status=status, authored=ago(days), dosages=dosages)


def step_lines(mg_per_day: int, start: str, end: str | None = None, *, sequence: int | None = None,
               per_day: int = 3) -> list[dict[str, Any]]:
    """The dosage lines of one step of a schedule, bounded by a period (end inclusive)."""
    bounds = {"start": start, **({"end": end} if end else {})}
    found = lines(mg_per_day, per_day, boundsPeriod=bounds)
    if sequence is not None:
        for line in found:
            line["sequence"] = sequence
    return found


@dataclass(frozen=True)
class Run:
    """The evaluations of one hook call, with lookups for assertions."""

    evaluations: list[OrderEvaluation]

    @property
    def findings(self) -> list[Finding]:
        return [f for evaluation in self.evaluations for f in evaluation.findings]

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def get(self, code: str) -> Finding:
        matches = [f for f in self.findings if f.code == code]
        assert len(matches) == 1, f"{code}: {len(matches)} findings in {self.codes}"
        return matches[0]

    def indicator(self, code: str) -> str:
        return self.get(code).indicator

    def update(self, code: str) -> UpdateDose:
        """The one UpdateDose proposal of a finding."""
        updates = [p for p in self.get(code).proposals if isinstance(p, UpdateDose)]
        assert len(updates) == 1, f"{code}: {updates}"
        return updates[0]

    def cards(self, lang: Language = "fr", hook_instance: str = HOOK_INSTANCE) -> list[dict[str, Any]]:
        request = CardRequest(hook_instance=hook_instance, patient_id=PATIENT_ID, user_id="Practitioner/prac-1",
                              encounter_id="enc-1", lang=lang, base_url="http://testserver")
        return build_cards(self.evaluations, request)


def run(
    drafts: Sequence[dict[str, Any]] | None = None,
    *,
    birth_date: str = "1980-05-12",
    gender: str = "male",
    conditions: Iterable[dict[str, Any]] = (),
    medications: Iterable[dict[str, Any]] = (),
    observations: Iterable[dict[str, Any]] | None = None,
    allergies: Iterable[dict[str, Any]] = (),
    unavailable: Iterable[str] = (),
    profile: str = "rtu-2014",
    hook: Hook = "order-sign",
    selections: list[str] | None = None,
) -> Run:
    """Evaluate the drafts for a patient; by default a man aged 45 with a normal eGFR of 9 days."""
    missing = set(unavailable)
    data: dict[str, Any] = {
        "patient": patient(birth_date=birth_date, gender=gender),
        "conditions": searchset(list(conditions)),
        "medications": searchset(list(medications)),
        "observations": searchset(list(observations) if observations is not None else [egfr(90, ago(9))]),
        "allergies": searchset(list(allergies)),
    }
    for key in missing:
        data.pop(key, None)
    entries = [{"resource": resource} for resource in (drafts if drafts is not None else [draft()])]
    context = build_context(
        patient_id=PATIENT_ID,
        draft_orders={"resourceType": "Bundle", "type": "collection", "entry": entries},
        data=data,
        unavailable=missing,
        today=TODAY,
    )
    return Run(evaluate(context, load_profile(profile), hook, selections))


def update_of(card: dict[str, Any]) -> dict[str, Any]:
    """The resource of the first update action of a card."""
    for suggestion in card.get("suggestions", []):
        for action in suggestion["actions"]:
            if action["type"] == "update":
                return dict(action["resource"])
    raise AssertionError(f"no update action in {card['summary']}")


def catalogue(profile: str = "rtu-2014") -> dict[str, Run]:
    """Realistic patients that, together, make every rule of the profile fire."""
    from tests.builders import allergy, coded_order, condition, lab, other_order

    everything = [condition(code) for code in (
        "G40.9", "K90.0", "Z33", "Z39.1", "F20.0", "F05.0", "F32.1", "I63.9", "J44.9", "F10.31", "R33.0", "K70.3")]
    co_medications = [other_order(atc, name, oid=f"co-{atc}") for atc, name in (
        ("C03CA01", "Furosémide 40 mg"), ("C09AA05", "Ramipril 5 mg"), ("N06AA09", "Amitriptyline 25 mg"),
        ("N05BA04", "Oxazépam 10 mg"), ("N04BA02", "Modopar 125"))]
    return {
        "over-max": run([order_of(310)], medications=[taking(300, days=12)], profile=profile),
        "specialist": run([order_of(120)], medications=[taking(110, days=4)], profile=profile),
        "collegial-age": run([order_of(125)], medications=[taking(115, days=6)], birth_date=born_aged(70),
                             profile=profile),
        "renewal": run([order_of(140)], medications=[taking(140, days=50)], profile=profile),
        "start": run([order_of(30)], observations=[], profile=profile),
        "step-interval": run([order_of(60)], medications=[taking(40, days=1)], profile=profile),
        "intakes": run([order_of(40, 1)], medications=[taking(30, days=5)], profile=profile),
        "hold": run([order_of(115)], medications=[taking(110, days=5)], profile=profile),
        "severe": run([order_of(30)], medications=[taking(30, days=20)], observations=[egfr(25, ago(12))],
                      profile=profile),
        "moderate": run([order_of(45)], medications=[taking(40, days=8)],
                        observations=[lab("14682-9", 150, "umol/L", ago(14))], profile=profile),
        "everything": run([order_of(30, reason=None)], conditions=everything, allergies=[allergy("M03BX01")],
                          medications=[taking(30, days=3), *co_medications], birth_date=born_aged(72),
                          gender="female", unavailable={"observations"}, profile=profile),
        "amm": run([order_of(60, reason="G35")], medications=[taking(45, days=3)], profile=profile),
        "unidentified": run([order_of(40)], medications=[
            taking(30, days=5), coded_order("https://smt.esante.gouv.fr/terminologie-cip_ucd", "3400939999996")],
            profile=profile),
        "unknown": run([draft(dosages=[{"text": "1/2 à 1 comprimé si envie de boire", "asNeededBoolean": True}])],
                       medications=[taking(30, days=10)], profile=profile),
    }
