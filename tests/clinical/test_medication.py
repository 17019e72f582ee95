"""Baclofen detection, intrathecal detection, strength, and the product table itself."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.medication import Medication
from hypothesis import given
from hypothesis import strategies as st

from cds_service.clinical.context import Code, MedicationFact
from cds_service.clinical.medication import (
    Strength,
    fold,
    is_baclofen,
    is_intrathecal,
    is_oral_route,
    product_strength,
    product_table,
    quantity_kind,
    strength_from_medication_resource,
    strength_in_text,
    strength_mg,
)

ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"


def med(
    *codes: Code,
    text: str | None = None,
    routes: tuple[Code, ...] = (),
    dosages: tuple[dict[str, Any], ...] = (),
    strength: float | None = None,
) -> MedicationFact:
    return MedicationFact(
        id="m1", status="active", intent="order", codes=codes, text=text,
        authored_on=date(2024, 3, 1), is_draft=False,
        dosages=tuple(Dosage.model_validate(d) for d in dosages), route_codes=routes,
        strength_mg=strength,
    )


# --- is_baclofen --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        Code(ATC, "M03BX01"),
        Code("urn:oid:2.16.840.1.113883.6.73", "M03BX01"),
        Code(RXNORM, "1292"),
        Code(RXNORM, "197391"),  # 10 mg tablet
        Code(RXNORM, "2667941"),  # 2 mg/mL oral solution
        Code(RXNORM, "1666613"),  # intrathecal: still baclofen (then out of scope)
        Code("http://data.esante.gouv.fr/ansm/medicament/CIP13", "3400931716181"),  # Liorésal
        Code("urn:oid:1.2.250.1.213.2.3.2", "3400936743199"),  # CIP13 under any system
        Code("http://example.org/fr/cip7", "3016366"),  # Baclocur 40 mg CIP7
    ],
)
def test_baclofen_by_code(code: Code) -> None:
    assert is_baclofen(med(code, text="x"))


@pytest.mark.parametrize(
    "text",
    ["Baclofène 10 mg, comprimé", "BACLOFENE ZENTIVA", "baclofen 20 MG Oral Tablet",
     "LIORÉSAL 10 mg", "Baclocur 40 mg", "baclofene"],
)
def test_baclofen_by_text_as_a_last_resort(text: str) -> None:
    assert is_baclofen(med(text=text))
    assert is_baclofen(med(Code("http://local", "123", text)))


@pytest.mark.parametrize(
    "fact",
    [
        med(Code(ATC, "N02BE01"), text="Paracétamol 500 mg"),
        med(Code(RXNORM, "161"), text="acetaminophen"),
        med(Code(ATC, "M03BX02"), text="tizanidine"),  # same ATC group, another drug
        med(Code(RXNORM, "3016366"), text="x"),  # a CIP7 number under RxNorm is not a CIP
        med(Code("http://local", "3016366"), text="x"),  # nor under a system without "cip"
        med(Code("http://local", "1292"), text="x"),  # RxNorm code under another system
        med(text=None),
    ],
)
def test_not_baclofen(fact: MedicationFact) -> None:
    assert not is_baclofen(fact)


# --- routes and intrathecal ---------------------------------------------------------------


def _dose(value: Any, code: str, route: str | None = None) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": value, "code": code, "system": UCUM}}],
    }
    if route:
        dosage["route"] = {"coding": [{"system": SNOMED, "code": route}]}
    return dosage


@pytest.mark.parametrize(
    "fact",
    [
        med(text="baclofen", routes=(Code(SNOMED, "72607000", "Intrathecal route"),)),
        med(text="baclofen", routes=(Code("", "", "Voie intrathécale"),)),
        med(text="baclofen", dosages=(_dose(1, "mg", route="72607000"),)),
        med(text="baclofen", dosages=({"route": {"text": "intrathécale"}},)),
        med(Code(RXNORM, "1047437"), text="Gablofen"),
        med(text="Baclofène 0,05 mg/ml, solution injectable"),
        med(text="Lioresal Intrathecal"),
        med(text="baclofen", dosages=(_dose(300, "ug"),)),
        med(text="baclofen", dosages=(_dose(300, "mcg"),)),
    ],
)
def test_intrathecal(fact: MedicationFact) -> None:
    assert is_intrathecal(fact)


@pytest.mark.parametrize(
    "fact",
    [
        med(Code(RXNORM, "197391"), text="baclofen 10 MG Oral Tablet"),
        med(text="Baclofène 10 mg", dosages=(_dose(10, "mg"),)),
        med(text="baclofen", dosages=(_dose(5000, "ug", route="26643006"),)),
        med(text="baclofen", routes=(Code(SNOMED, "26643006", "Oral route"),),
            dosages=(_dose(5000, "ug"),)),
        med(text="baclofen", routes=(Code("http://standardterms.edqm.eu", "20053000"),),
            dosages=(_dose(5000, "ug"),)),
    ],
)
def test_not_intrathecal(fact: MedicationFact) -> None:
    assert not is_intrathecal(fact)


def test_oral_route_by_text() -> None:
    assert is_oral_route(med(routes=(Code("", "", "Voie orale"),)))
    assert not is_oral_route(med())


# --- strength -----------------------------------------------------------------------------


def test_strength_of_the_order_wins() -> None:
    assert strength_mg(med(Code(RXNORM, "197392"), text="baclofen 5 mg", strength=10.0)) == 10.0
    assert product_strength(med(strength=10.0)) == Strength(10.0, None)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (Code(RXNORM, "430902"), Strength(5.0, "unit")),
        (Code(RXNORM, "197391"), Strength(10.0, "unit")),
        (Code(RXNORM, "2679605"), Strength(15.0, "unit")),
        (Code(RXNORM, "197392"), Strength(20.0, "unit")),
        (Code(RXNORM, "250976"), Strength(1.0, "mL")),
        (Code(RXNORM, "2667941"), Strength(2.0, "mL")),
        (Code(RXNORM, "2593376"), Strength(5.0, "mL")),
        (Code("any", "3400930186886"), Strength(30.0, "unit")),  # Baclocur 30 mg
        (Code("any", "3400930163665"), Strength(40.0, "unit")),  # Baclocur 40 mg
    ],
)
def test_strength_from_the_product_table(code: Code, expected: Strength) -> None:
    # The table wins over a text that says something else.
    assert product_strength(med(code, text="baclofen 99 mg")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Baclofène 10 mg, comprimé", Strength(10.0, "unit")),
        ("baclofen 20 MG Oral Tablet", Strength(20.0, "unit")),
        ("BACLOFENE 10mg cp", Strength(10.0, "unit")),
        ("baclofen 5 MG/ML Oral Suspension", Strength(5.0, "mL")),
        ("baclofen 10 mg/5 mL oral solution", Strength(2.0, "mL")),
        ("Baclofène 5 mg / 5 ml, solution buvable", Strength(1.0, "mL")),
        ("Baclofène 0,05 mg/ml, solution injectable", Strength(0.05, "mL")),
        ("baclofen 50 µg/mL", Strength(0.05, "mL")),
        ("baclofen 2 g", Strength(2000.0, "unit")),
        ("Baclofène 10 mg, 30 comprimés, 30 mg/jour", Strength(10.0, "unit")),
        ("baclofen 5 gelules", None),
        ("baclofen", None),
    ],
)
def test_strength_in_text(text: str, expected: Strength | None) -> None:
    assert strength_in_text(text) == expected


def test_strength_from_a_code_display() -> None:
    fact = med(Code("http://local", "x", "Baclofène 15 mg cp"), text="baclofen")
    assert strength_mg(fact) == 15.0


def test_no_strength() -> None:
    assert strength_mg(med(text="baclofen")) is None
    assert strength_mg(med(text="baclofen", strength=0.0)) is None


# --- strength from a Medication resource --------------------------------------------------


def medication(*ingredients: dict[str, Any]) -> Medication:
    return Medication.model_validate({"resourceType": "Medication",
                                      "ingredient": list(ingredients)})


def ingredient(numerator: dict[str, Any], denominator: dict[str, Any] | None = None,
               item: dict[str, Any] | None = None) -> dict[str, Any]:
    ratio: dict[str, Any] = {"numerator": numerator}
    if denominator is not None:
        ratio["denominator"] = denominator
    return {"itemCodeableConcept": item or {"coding": [{"system": ATC, "code": "M03BX01"}]},
            "strength": ratio}


TABLET = {"value": 1, "system": SNOMED, "code": "732936001", "unit": "Tablet"}


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        ({"value": 10, "system": UCUM, "code": "mg"}, TABLET, 10.0),
        ({"value": 10, "system": UCUM, "code": "mg"}, {"value": 1, "code": "{tbl}"}, 10.0),
        ({"value": "0.01", "system": UCUM, "code": "g"}, {"value": 1, "unit": "comprimé"}, 10.0),
        ({"value": 10000, "system": UCUM, "code": "ug"}, TABLET, 10.0),
        ({"value": 10, "system": UCUM, "code": "mg"}, {"value": 5, "code": "mL"}, 2.0),
        ({"value": 1, "system": UCUM, "code": "mg"}, {"value": 1, "unit": "ml"}, 1.0),
        ({"value": 2, "system": UCUM, "code": "g"}, {"value": 1, "code": "L"}, 2.0),
        ({"value": 10, "system": UCUM, "code": "mg"}, None, 10.0),
        ({"value": 10, "system": UCUM, "code": "mL"}, TABLET, None),
        ({"value": 10, "system": UCUM, "code": "mg"}, {"value": 1, "code": "mg"}, None),
        ({"value": 10, "system": UCUM, "code": "mg"}, {"value": 0, "code": "mL"}, None),
        ({"value": 10, "unit": "puff"}, TABLET, None),
    ],
)
def test_strength_ratio(numerator: dict[str, Any], denominator: dict[str, Any] | None,
                        expected: float | None) -> None:
    found = strength_from_medication_resource(medication(ingredient(numerator, denominator)))
    assert found == (pytest.approx(expected) if expected is not None else None)


def test_strength_picks_the_baclofen_ingredient() -> None:
    other = ingredient({"value": 500, "code": "mg", "system": UCUM}, TABLET,
                       item={"coding": [{"system": ATC, "code": "N02BE01"}]})
    baclofen = ingredient({"value": 20, "code": "mg", "system": UCUM}, TABLET,
                          item={"text": "Baclofène"})
    assert strength_from_medication_resource(medication(other, baclofen)) == 20.0
    assert strength_from_medication_resource(medication(other)) == 500.0  # single ingredient
    by_reference = ingredient({"value": 5, "code": "mg", "system": UCUM}, TABLET)
    by_reference["itemReference"] = {"display": "baclofen"}
    del by_reference["itemCodeableConcept"]
    assert strength_from_medication_resource(medication(other, by_reference)) == 5.0


def test_strength_of_nothing() -> None:
    assert strength_from_medication_resource(Medication.model_validate(
        {"resourceType": "Medication"})) is None
    assert strength_from_medication_resource(object()) is None
    assert strength_from_medication_resource(None) is None


# --- units --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "code", "system", "expected"),
    [
        (None, "mg", UCUM, ("mass", Decimal(1))),
        (None, "g", UCUM, ("mass", Decimal(1000))),
        (None, "ug", UCUM, ("mass", Decimal("0.001"))),
        ("mcg", None, None, ("mass", Decimal("0.001"))),
        ("µg", None, None, ("mass", Decimal("0.001"))),
        (None, "mL", UCUM, ("volume", Decimal(1))),
        (None, "L", UCUM, ("volume", Decimal(1000))),
        (None, "{tbl}", UCUM, ("count", Decimal(1))),
        (None, "1", UCUM, ("count", Decimal(1))),
        (None, "TAB", "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
         ("count", Decimal(1))),
        (None, "732936001", SNOMED, ("count", Decimal(1))),
        ("Comprimé(s)", None, None, ("count", Decimal(1))),
        ("gélules", None, None, ("count", Decimal(1))),
        ("mg", "258684004", SNOMED, ("mass", Decimal(1))),  # unknown code, readable text
        ("puff", None, None, None),
        (None, "kg", UCUM, None),
        (None, None, None, None),
    ],
)
def test_quantity_kind(unit: str | None, code: str | None, system: str | None,
                       expected: tuple[str, Decimal] | None) -> None:
    assert quantity_kind(unit, code, system) == expected


@given(st.text(max_size=30))
def test_fold_is_idempotent_and_accent_free(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert fold("BaclofÈne") == "baclofene"


# --- the product table --------------------------------------------------------------------


def _ean13_check(digits: str) -> int:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10


def test_product_table_is_consistent() -> None:
    table = product_table()
    keys = [(p.system, p.code) for p in table.products]
    assert len(keys) == len(set(keys))
    assert table.atc == frozenset({"M03BX01"})
    assert table.rxnorm_ingredients == frozenset({"1292"})
    by_name: dict[str, dict[str, str]] = {}
    for product in table.products:
        assert product.form in ("tablet", "oral-liquid", "intrathecal")
        if product.form != "intrathecal":
            assert product.strength_mg is not None and product.strength_mg > 0
        if product.system == "cip13":
            assert len(product.code) == 13 and product.code.startswith("34009")
            assert int(product.code[-1]) == _ean13_check(product.code)
        if product.system == "cip7":
            assert len(product.code) == 7
        by_name.setdefault(product.name, {})[product.system] = product.code
    for codes in by_name.values():
        if "cip13" in codes and "cip7" in codes:  # CIP13 = 34009 + CIP7 + check digit
            assert codes["cip13"][5:12] == codes["cip7"]


def test_the_oral_form_is_read_alike_for_the_tablet_and_the_solution() -> None:
    """One reading of the product for both questions: an order whose Medication gives a strength
    and whose text says « solution buvable » is no tablet, and is an oral solution (the patient
    sheet then prints mg, never 10 mg tablets)."""
    from cds_service.clinical.medication import is_oral_liquid, ordered_tablet

    solution = med(Code(ATC, "M03BX01"), text="Baclofène 1 mg/mL, solution buvable", strength=1.0)
    assert ordered_tablet(solution) is None
    assert is_oral_liquid(solution)
    tablet = med(Code(ATC, "M03BX01"), text="Baclocur 20 mg, comprimé sécable", strength=20.0)
    assert ordered_tablet(tablet) is not None and not is_oral_liquid(tablet)
