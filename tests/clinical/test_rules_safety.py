"""Precautions (warning; hepatic info) and interactions (warning, by ATC class of the active
co-medications; opioid substitution compatible): spec "Precautions" and "Interactions"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import ATC, PATIENT_ID, SNOMED, condition, other_order
from tests.clinical.rtu_helpers import ago, order_of, run, taking

PRECAUTIONS = {"pr-psychosis", "pr-confusion", "pr-depression", "pr-cerebrovascular", "pr-respiratory",
               "pr-withdrawal-seizures", "pr-urinary", "pr-hepatic"}
INTERACTIONS = {"ix-diuretic", "ix-antihypertensive", "ix-tricyclic", "ix-cns-depressant", "ix-levodopa"}


def safety(**kwargs: Any) -> set[str]:
    meds = [taking(30, days=5), *kwargs.pop("medications", [])]
    return set(run([order_of(40)], medications=meds, **kwargs).codes) & (PRECAUTIONS | INTERACTIONS)


@pytest.mark.parametrize(
    ("code", "system", "expected"),
    [
        ("F20.0", "icd10", "pr-psychosis"), ("F25", "icd10", "pr-psychosis"), ("F29", "icd10", "pr-psychosis"),
        ("69322001", "snomed", "pr-psychosis"),
        ("F05.0", "icd10", "pr-confusion"), ("R41.0", "icd10", "pr-confusion"), ("2776000", "snomed", "pr-confusion"),
        ("F32.1", "icd10", "pr-depression"), ("F33", "icd10", "pr-depression"), ("35489007", "snomed", "pr-depression"),
        ("I63.9", "icd10", "pr-cerebrovascular"), ("I69.3", "icd10", "pr-cerebrovascular"),
        ("G45.9", "icd10", "pr-cerebrovascular"), ("62914000", "snomed", "pr-cerebrovascular"),
        ("J96.1", "icd10", "pr-respiratory"), ("J44.9", "icd10", "pr-respiratory"),
        ("409622000", "snomed", "pr-respiratory"),
        ("F10.31", "icd10", "pr-withdrawal-seizures"), ("F10.41", "icd10", "pr-withdrawal-seizures"),
        ("R33", "icd10", "pr-urinary"), ("N31.9", "icd10", "pr-urinary"),
        ("K70.3", "icd10", "pr-hepatic"), ("K74.6", "icd10", "pr-hepatic"),
    ],
)
def test_precautions(code: str, system: str, expected: str) -> None:
    uri = SNOMED if system == "snomed" else "http://hl7.org/fhir/sid/icd-10"
    result = run([order_of(40)], medications=[taking(30, days=5)], conditions=[condition(code, uri)])
    assert set(result.codes) & PRECAUTIONS == {expected}
    assert result.indicator(expected) == ("info" if expected == "pr-hepatic" else "warning")
    assert code in str(result.get(expected).params["evidence"])


@pytest.mark.parametrize("status", ["inactive", "resolved"])
def test_inactive_precautions_are_silent(status: str) -> None:
    conditions = [condition(code, status=status) for code in ("F20.0", "F05", "F32", "I63", "J44", "R33", "K70.3")]
    assert safety(conditions=conditions) == set()


@pytest.mark.parametrize("status", ["inactive", "resolved"])
def test_withdrawal_seizures_are_a_history_rule(status: str) -> None:
    """« Patients ayant eu des crises convulsives »: a resolved episode still counts."""
    assert safety(conditions=[condition("F10.31", status=status)]) == {"pr-withdrawal-seizures"}


def test_unrelated_conditions_are_silent() -> None:
    conditions = [condition(code) for code in ("F10.2", "I10", "E11.9", "F41.1", "F17.2", "G40.9")]
    assert safety(conditions=conditions) & PRECAUTIONS == set()


@pytest.mark.parametrize(
    ("atc", "expected"),
    [
        ("C03CA01", {"ix-diuretic"}),                               # furosemide
        ("C03AA03", {"ix-diuretic"}),                               # hydrochlorothiazide
        ("C09BA05", {"ix-diuretic", "ix-antihypertensive"}),        # ramipril + HCTZ
        ("C09DA01", {"ix-diuretic", "ix-antihypertensive"}),        # losartan + HCTZ
        ("C02AC01", {"ix-antihypertensive"}),                       # clonidine
        ("C07AB07", {"ix-antihypertensive"}),                       # bisoprolol
        ("C08CA01", {"ix-antihypertensive"}),                       # amlodipine
        ("C09AA05", {"ix-antihypertensive"}),                       # ramipril
        ("N06AA09", {"ix-tricyclic"}),                              # amitriptyline
        ("N05AH03", {"ix-cns-depressant"}),                         # olanzapine
        ("N05BA04", {"ix-cns-depressant"}),                         # oxazepam
        ("N05CF02", {"ix-cns-depressant"}),                         # zolpidem
        ("N02AX02", {"ix-cns-depressant"}),                         # tramadol
        ("N03AA02", {"ix-cns-depressant"}),                         # phenobarbital
        ("N04BA02", {"ix-levodopa"}),                               # levodopa + benserazide
        ("N07BC02", set()),                                         # methadone
        ("N07BC01", set()),                                         # buprenorphine
        ("N07BC51", set()),                                         # buprenorphine + naloxone
        ("N06AB10", set()),                                         # escitalopram
        ("N07BB03", set()),                                         # acamprosate
        ("N07BB05", set()),                                         # nalmefene
        ("N03AX14", set()),                                         # levetiracetam
        ("J05AP55", set()),                                         # sofosbuvir + velpatasvir
    ],
)
def test_interactions_by_atc_class(atc: str, expected: set[str]) -> None:
    assert safety(medications=[other_order(atc, atc)]) == expected


def test_interaction_names_the_drugs_once() -> None:
    meds = [other_order("N05BA04", "Oxazépam", oid="a"), other_order("N05CF02", "Zolpidem", oid="b"),
            other_order("N05BA04", "Oxazépam", oid="c")]
    result = run([order_of(40)], medications=[taking(30, days=5), *meds])
    found = result.get("ix-cns-depressant")
    assert found.indicator == "warning"
    assert found.params["drug"] == "Oxazépam, Zolpidem"


@pytest.mark.parametrize(("status", "fires"), [("active", True), ("on-hold", True), ("stopped", False),
                                               ("cancelled", False), ("entered-in-error", False),
                                               ("completed", False)])
def test_only_active_co_medications_count(status: str, fires: bool) -> None:
    assert (safety(medications=[other_order("C03CA01", "Furosémide", status=status)]) == {"ix-diuretic"}) is fires


def statement(atc: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{atc}",
        "status": status,
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}], "text": atc},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "dateAsserted": ago(10),
    }


def test_active_medication_statements_count() -> None:
    assert safety(medications=[statement("N06AA09", "active")]) == {"ix-tricyclic"}
    assert safety(medications=[statement("N06AA09", "stopped")]) == set()


def test_other_drafts_of_the_same_order_count() -> None:
    result = run([order_of(40), other_order("C03CA01", "Furosémide", oid="draft-2", status="draft")],
                 medications=[taking(30, days=5)])
    assert set(result.codes) & INTERACTIONS == {"ix-diuretic"}


def test_baclofen_is_not_its_own_interaction() -> None:
    assert safety() == set()


def test_precautions_and_interactions_share_one_card() -> None:
    result = run([order_of(40)], medications=[taking(30, days=5), other_order("C03CA01", "Furosémide")],
                 conditions=[condition("J44.9"), condition("K70.3")])
    safety_cards = [c for c in result.cards() if c["source"]["topic"]["code"] in PRECAUTIONS | INTERACTIONS]
    assert len(safety_cards) == 1
    (card,) = safety_cards
    assert card["indicator"] == "warning"
    assert card["source"]["topic"]["code"] == "pr-respiratory"
    assert card["extension"]["baclofen-rtu-rules"] == ["pr-respiratory", "ix-diuretic", "pr-hepatic"]


def test_hepatic_alone_is_an_info_card() -> None:
    result = run([order_of(40)], medications=[taking(30, days=5)], conditions=[condition("K70.3")])
    (card,) = [c for c in result.cards() if "pr-hepatic" in c["extension"]["baclofen-rtu-rules"]]
    assert card["indicator"] == "info"
    assert "overrideReasons" not in card


# --- French codes, substances and unidentified co-medications (issue 13) --------------------

CIP_UCD = "https://smt.esante.gouv.fr/terminologie-cip_ucd"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def text_only(text: str, oid: str = "t-1") -> dict[str, Any]:
    order = other_order("X", text, oid=oid)
    order["medicationCodeableConcept"] = {"text": text}
    return order


@pytest.fixture
def french_terminology() -> Any:
    from cds_service import terminology
    from cds_service.terminology.entries import DrugEntry, Substance

    loaded = terminology.Terminology()
    loaded.add_formulary([
        ("ucd", "3400890000017", DrugEntry("ZOPICLONE 7,5 mg", "comprimé", substances=(
            Substance("zopiclone", "zopiclone", 7.5),), source="formulary")),
        ("ucd", "3400890000031", DrugEntry("LASILIX 40 mg", "comprimé", atc=("C03CA01",), source="formulary")),
    ])
    previous = terminology.install(loaded)
    yield loaded
    terminology.install(previous)


def test_a_french_code_is_classified_by_substance_or_atc(french_terminology: Any) -> None:
    from tests.builders import coded_order

    assert safety(medications=[coded_order(CIP_UCD, "3400890000017")]) == {"ix-cns-depressant"}
    assert safety(medications=[coded_order("https://dpi.example/x", "3400890000031")]) == {"ix-diuretic"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Zopiclone 7,5 mg cp", {"ix-cns-depressant"}), ("Furosémide 40 mg", {"ix-diuretic"}),
    ("Lévodopa/bensérazide 100/25", {"ix-levodopa"}), ("Méthadone 40 mg", set()),
    ("Ramipril 5 mg + hydrochlorothiazide", {"ix-antihypertensive", "ix-diuretic"}),
])
def test_substance_names_in_text_classify_an_uncoded_order(text: str, expected: set[str]) -> None:
    assert safety(medications=[text_only(text)]) == expected


def test_co_medications_nothing_identifies_are_reported_not_silent() -> None:
    from tests.builders import coded_order

    meds = [coded_order(CIP_UCD, "3400939999996", oid="u1"),
            coded_order(RXNORM, "198211", "omeprazole 20 MG Delayed Release Oral Capsule", oid="u2"),
            text_only("Oméprazole 20 mg", oid="u3"), other_order("A02BC01", "Oméprazole", oid="ok")]
    result = run([order_of(40)], medications=[taking(30, days=5), *meds])
    found = result.get("comed-unidentified")
    assert found.indicator == "warning" and found.variant is None
    assert found.params["count"] == 3
    assert found.params["all"] == "3400939999996, omeprazole 20 MG Delayed Release Oral Capsule, Oméprazole 20 mg"
    one = run([order_of(40)], medications=[taking(30, days=5), meds[0]]).get("comed-unidentified")
    assert one.variant == "one" and one.params["count"] == 1
    assert "comed-unidentified" not in run([order_of(40)], medications=[taking(30, days=5), meds[3]]).codes
