"""Is this order baclofen, is it intrathecal, and how much baclofen is in one tablet or mL?

Evidence is read from the most to the least reliable: ATC and RxNorm codes, then the product
table (`data/baclofen_products.yaml`, RxNorm and French CIP codes with form and strength),
then the French terminology loaded at start (BDPM index and hospital formulary: CIS, CIP,
UCD, local codes), then the text of the order as a last resort. `identify` does the same for
any co-medication: ATC codes and substances, the one lookup path of the interaction rules.
Pure functions, no I/O beyond reading the packaged table once (the terminology is loaded at
start-up).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import yaml

from cds_service.clinical.context import Code, MedicationFact
from cds_service.clinical.valuesets import SYSTEM_FAMILIES, ValueSet, family_of
from cds_service.terminology import active as active_terminology
from cds_service.terminology.entries import DrugEntry

if TYPE_CHECKING:
    from fhir.resources.R4B.dosage import Dosage
    from fhir.resources.R4B.medication import Medication

Form = Literal["tablet", "oral-liquid", "intrathecal"]
QuantityKind = Literal["mass", "count", "volume"]

SNOMED_INTRATHECAL_ROUTE = "72607000"
SNOMED_ORAL_ROUTE = "26643006"
EDQM_ORAL_USE = "20053000"
UCUM = "http://unitsofmeasure.org"
V3_ORDERABLE_DRUG_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"
# Units of presentation: SNOMED CT 732936001 Tablet, 732937005 Capsule; EDQM 15054000 Tablet.
_COUNT_CODES = frozenset({"732936001", "732937005", "15054000"})

_MASS_TO_MG: Mapping[str, Decimal] = {
    "mg": Decimal(1), "milligram": Decimal(1), "milligramme": Decimal(1),
    "g": Decimal(1000), "gram": Decimal(1000), "gramme": Decimal(1000),
    "ug": Decimal("0.001"), "mcg": Decimal("0.001"), "μg": Decimal("0.001"),
    "microgram": Decimal("0.001"), "microgramme": Decimal("0.001"),
}
_VOLUME_TO_ML: Mapping[str, Decimal] = {
    "ml": Decimal(1), "millilitre": Decimal(1), "milliliter": Decimal(1), "l": Decimal(1000),
}
_COUNT_WORDS = frozenset({
    "1", "tbl", "tablet", "tab", "comprime", "cp", "cpr", "capsule", "cap", "caps", "gelule",
    "unit", "unite", "comprime pellicule", "comprime secable", "comprime pellicule secable",
})


@dataclass(frozen=True)
class Product:
    """One row of the product table."""

    system: str
    code: str
    name: str
    form: Form
    strength_mg: float | None
    derived: bool = False
    scored: bool = False  # "sécable": may be given as half tablets


@dataclass(frozen=True)
class Strength:
    """Baclofen per unit: per tablet (`per="unit"`), per mL, or per an unknown unit (`None`).

    `None` is what an EHR-supplied strength gives (`MedicationFact.strength_mg`): it is used
    for tablets and for mL alike, since the Medication's own ratio already chose the unit.
    """

    mg: float
    per: Literal["unit", "mL"] | None


@dataclass(frozen=True)
class ProductTable:
    """The packaged product table, indexed by code: every coding of every medication in the
    record is looked up, most of them not baclofen."""

    atc: frozenset[str]
    rxnorm_ingredients: frozenset[str]
    text_names: tuple[str, ...]
    products: tuple[Product, ...]
    _by_code: dict[str, tuple[Product, ...]] = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        by_code: dict[str, list[Product]] = {}
        for product in self.products:
            by_code.setdefault(product.code, []).append(product)
        object.__setattr__(self, "_by_code", {code: tuple(rows) for code, rows in by_code.items()})

    def lookup(self, code: Code) -> Product | None:
        """The product a coding names: RxNorm by system, CIP13 by code, CIP7 by a CIP system."""
        value = code.code.strip()
        candidates = self._by_code.get(value)
        if candidates is None:
            return None
        family = family_of(code.system)
        for product in candidates:  # in table order, as a scan would meet them
            if product.system == "rxnorm" and family == "rxnorm":
                return product
            if product.system == "cip13":
                return product
            if product.system == "cip7" and "cip" in code.system.lower():
                return product
        return None


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower case without accents, so 'Baclofène' and 'BACLOFENE' compare equal (memoised:
    the same product names are folded by several rules in every evaluation)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def product_table() -> ProductTable:
    """The product table, read once from the package data."""
    path = resources.files("cds_service.clinical") / "data" / "baclofen_products.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ingredient = data["ingredient"]
    products = tuple(
        Product(
            system=str(row["system"]),
            code=str(row["code"]),
            name=str(row["name"]),
            form=row["form"],
            strength_mg=float(row["strength_mg"]) if row.get("strength_mg") is not None else None,
            derived=bool(row.get("derived", False)),
            scored=bool(row.get("scored", False)),
        )
        for row in data["products"]
    )
    return ProductTable(
        atc=frozenset(str(code).upper() for code in ingredient["atc"]),
        rxnorm_ingredients=frozenset(str(code) for code in ingredient["rxnorm"]),
        text_names=tuple(fold(str(name)) for name in data["text_names"]),
        products=products,
    )


def _texts(med: MedicationFact) -> Iterator[str]:
    if med.text:
        yield med.text
    for code in med.codes:
        if code.display:
            yield code.display


_BACLOFEN_DCI = frozenset({"baclofene", "baclofen"})


def _says_liquid(folded: str) -> bool:
    """Whether a folded product text names an oral solution or suspension (« buvable »)."""
    return "solution" in folded or "suspension" in folded or "buvable" in folded


def _terminology_product(entry: DrugEntry) -> Product | None:
    """A BDPM or formulary entry read as a baclofen product (None if it is not baclofen)."""
    substance = next((s for s in entry.substances if s.dci in _BACLOFEN_DCI), None)
    if substance is None:
        return None
    where = fold(" ".join((entry.form, entry.name, *entry.routes)))
    form: Form = "tablet"
    if "intrathec" in where or "injectable" in where or "perfusion" in where:
        form = "intrathecal"
    elif substance.per_ml or _says_liquid(where):
        form = "oral-liquid"
    return Product(system=entry.source, code="", name=entry.name, form=form,
                   strength_mg=substance.strength_mg, scored=entry.scored)


def _products(med: MedicationFact) -> Iterator[Product]:
    table = product_table()
    terminology = active_terminology()
    for code in med.codes:
        product = table.lookup(code)
        if product is not None:
            yield product
        elif family_of(code.system) is None and not terminology.empty:
            found = terminology.identify(code.system, code.code)
            converted = _terminology_product(found.entry) if found is not None else None
            if converted is not None:
                yield converted


def is_baclofen(med: MedicationFact) -> bool:
    """Whether the order is baclofen: ATC M03BX01, RxNorm 1292 or a product, a CIP, or text."""
    table = product_table()
    for code in med.codes:
        family = family_of(code.system)
        value = code.code.strip().upper()
        if family == "atc" and value in table.atc:
            return True
        if family == "rxnorm" and value in table.rxnorm_ingredients:
            return True
        if table.lookup(code) is not None:
            return True
    if any(True for _ in _products(med)):
        return True
    return any(name in fold(text) for text in _texts(med) for name in table.text_names)


class BaclofenMemo:
    """`is_baclofen` per distinct medication (codes and text) of one record: a long history
    repeats the same few drugs, and the check folds every text once per product name."""

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[Code, ...], str | None], bool] = {}

    def __call__(self, fact: MedicationFact) -> bool:
        key = (fact.codes, fact.text)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = is_baclofen(fact)
        return known


# --- routes -----------------------------------------------------------------------------


def _route_codes(med: MedicationFact) -> list[Code]:
    codes = list(med.route_codes)
    for dosage in med.dosages:
        route: Any = getattr(dosage, "route", None)
        if route is None:
            continue
        for coding in route.coding or []:
            if coding.code:
                codes.append(Code(coding.system or "", coding.code, coding.display))
        if route.text:
            codes.append(Code("", "", route.text))
    return codes


def _route_says(codes: Iterable[Code], snomed: str, words: tuple[str, ...]) -> bool:
    for code in codes:
        if code.code == snomed and family_of(code.system) in ("snomed", None):
            return True
        if code.display and any(word in fold(code.display) for word in words):
            return True
    return False


def is_oral_route(med: MedicationFact) -> bool:
    """Whether a route on the order says oral (SNOMED 26643006, EDQM 20053000, or text)."""
    codes = _route_codes(med)
    if any(code.code == EDQM_ORAL_USE for code in codes):
        return True
    return _route_says(codes, SNOMED_ORAL_ROUTE, ("oral", "per os", "buccal"))


def _dose_units(dosage: Dosage) -> Iterator[tuple[str | None, str | None, str | None]]:
    for dose_and_rate in getattr(dosage, "doseAndRate", None) or []:
        quantities = [dose_and_rate.doseQuantity]
        if dose_and_rate.doseRange is not None:
            quantities += [dose_and_rate.doseRange.low, dose_and_rate.doseRange.high]
        for quantity in quantities:
            if quantity is not None:
                yield quantity.unit, quantity.code, quantity.system


def is_intrathecal(med: MedicationFact) -> bool:
    """Whether the order is intrathecal baclofen (pump, µg/day): out of the RTU's scope.

    Evidence: an intrathecal route (SNOMED 72607000 or text), an intrathecal product code,
    an injectable or intrathecal product text, or a dose in µg on an order with no oral route.
    """
    if _route_says(_route_codes(med), SNOMED_INTRATHECAL_ROUTE, ("intrathec",)):
        return True
    if any(product.form == "intrathecal" for product in _products(med)):
        return True
    if any(
        word in fold(text)
        for text in _texts(med)
        for word in ("intrathec", "injectable", "injection")
    ):
        return True
    if is_oral_route(med):
        return False
    for dosage in med.dosages:
        for unit, code, system in _dose_units(dosage):
            kind = quantity_kind(unit, code, system)
            if kind is not None and kind[0] == "mass" and kind[1] < 1:
                return True
    return False


# --- units and strength -----------------------------------------------------------------


def _unit_word(text: str) -> str:
    word = fold(text).strip().replace("µ", "μ")
    word = re.sub(r"\(s\)$", "", word).strip()
    if word.startswith("{") and word.endswith("}"):
        word = word[1:-1].strip()
    return word


def _kind_of_word(word: str) -> tuple[QuantityKind, Decimal] | None:
    for candidate in (word, word.rstrip("s")):
        if candidate in _MASS_TO_MG:
            return "mass", _MASS_TO_MG[candidate]
        if candidate in _VOLUME_TO_ML:
            return "volume", _VOLUME_TO_ML[candidate]
        if candidate in _COUNT_WORDS:
            return "count", Decimal(1)
    return None


def quantity_kind(
    unit: str | None, code: str | None, system: str | None
) -> tuple[QuantityKind, Decimal] | None:
    """What a dose quantity counts and the factor to mg (mass), mL (volume) or units (count).

    Reads the coded unit first (UCUM `mg`, `g`, `ug`, `mcg`, `mL`, `{tbl}`, `1`; v3
    orderableDrugForm `TAB`/`CAP`; SNOMED/EDQM units of presentation), then the unit text
    ("comprimé(s)", "tablets", "cp", "µg"...). None when neither is understood.
    """
    if code:
        if code in _COUNT_CODES:
            return "count", Decimal(1)
        if system == V3_ORDERABLE_DRUG_FORM and ("TAB" in code.upper() or "CAP" in code.upper()):
            return "count", Decimal(1)
        if system in (None, "", UCUM) or code in ("mg", "g", "ug", "mcg", "mL", "{tbl}"):
            if code == "L":  # UCUM is case-sensitive; "l" is also litre
                return "volume", Decimal(1000)
            found = _kind_of_word(_unit_word(code))
            if found is not None:
                return found
    if unit:
        return _kind_of_word(_unit_word(unit))
    return None


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_STRENGTH_TEXT = re.compile(
    _NUMBER + r"\s*(mg|g|μg|ug|mcg|microgrammes?|micrograms?|milligrammes?|milligrams?)"
    r"(?![a-z])(?:\s*/\s*" + _NUMBER + r"?\s*(ml|millilitres?)(?![a-z]))?"
)


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def strength_in_text(text: str) -> Strength | None:
    """A strength written in text: '10 mg' per unit, '5 mg/5 mL' or '1 MG/ML' per mL."""
    match = _STRENGTH_TEXT.search(fold(text).replace("µ", "μ"))
    if match is None:
        return None
    amount, unit, per_amount, per_ml = match.groups()
    try:
        mg = _decimal(amount) * _MASS_TO_MG[_unit_word(unit).rstrip("s")]
        if per_ml is None:
            return Strength(float(mg), "unit") if mg > 0 else None
        volume = _decimal(per_amount) if per_amount else Decimal(1)
        if mg <= 0 or volume <= 0:
            return None
        return Strength(float(mg / volume), "mL")
    except (InvalidOperation, KeyError):
        return None


def is_oral_liquid(med: MedicationFact) -> bool:
    """Whether the ordered product is an oral solution or suspension (its doses are measured in
    mL, never counted in tablets)."""
    product = next(_products(med), None)
    if product is not None:
        return product.form == "oral-liquid"
    if any(_says_liquid(fold(text)) for text in _texts(med)):  # as `ordered_tablet` reads it
        return True
    found = product_strength(med)
    return found is not None and found.per == "mL"


def product_strength(med: MedicationFact) -> Strength | None:
    """The order's strength: `med.strength_mg`, else the product table, else its text."""
    if med.strength_mg is not None and med.strength_mg > 0:
        return Strength(float(med.strength_mg), None)
    for product in _products(med):
        if product.strength_mg is not None:
            return Strength(product.strength_mg, "mL" if product.form == "oral-liquid" else "unit")
    for text in _texts(med):
        found = strength_in_text(text)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Tablet:
    """The tablet an order names by code (product table, BDPM, formulary) or by its Medication:
    the unit every suggested intake must be a whole number of (half a tablet when scored)."""

    strength_mg: float
    scored: bool
    name: str

    @property
    def unit_mg(self) -> float:
        return self.strength_mg / 2 if self.scored else self.strength_mg


def ordered_tablet(med: MedicationFact) -> Tablet | None:
    """The coded tablet product of the order, or None (text-only, liquid, unknown strength:
    suggestions then use the profile's unit, half of a 10 mg tablet)."""
    for product in _products(med):
        if product.form == "tablet" and product.strength_mg:
            return Tablet(product.strength_mg, product.scored, product.name)
        if product.form != "tablet":
            return None
    if med.strength_mg is not None and med.strength_mg > 0:
        texts = [fold(text) for text in _texts(med)]
        if any(_says_liquid(text) for text in texts):
            return None
        return Tablet(float(med.strength_mg), any("secable" in text for text in texts),
                      next(iter(_texts(med)), f"{med.strength_mg:g} mg"))
    return _tablet_in_text(med)


#: the tablet the profiles' half-tablet unit assumes; a text naming it changes nothing
_STANDARD_TABLET_MG = 10.0


def _tablet_in_text(med: MedicationFact) -> Tablet | None:
    """A tablet strength only the order's text gives ("BACLOCUR 20 mg cp"): other than the
    standard 10 mg, it must set the split and the patient sheet (20 mg tablets counted as 10 mg
    ones would double each intake); halves only when the text says the tablet is scored."""
    for text in _texts(med):
        found = strength_in_text(text)
        if found is None:
            continue
        folded = fold(text)
        if found.per != "unit" or _says_liquid(folded):
            return None
        if abs(found.mg - _STANDARD_TABLET_MG) < 1e-9:
            return None
        return Tablet(found.mg, "secable" in folded or "scored" in folded, text)
    return None


def strength_mg(med: MedicationFact) -> float | None:
    """mg of baclofen per tablet, or per mL for an oral solution or suspension.

    For a liquid the value is a concentration (mg/mL): a `doseQuantity` in mL is multiplied
    by it, exactly as a dose in tablets is multiplied by the mg per tablet.
    """
    found = product_strength(med)
    return found.mg if found is not None else None


def _is_baclofen_concept(concept: Any) -> bool:
    table = product_table()
    for coding in getattr(concept, "coding", None) or []:
        code = Code(coding.system or "", coding.code or "", coding.display)
        family = family_of(code.system)
        if (family == "atc" and code.code.upper() in table.atc) or (
            family == "rxnorm" and code.code in table.rxnorm_ingredients
        ):
            return True
        if code.display and any(name in fold(code.display) for name in table.text_names):
            return True
    text = getattr(concept, "text", None)
    return isinstance(text, str) and any(name in fold(text) for name in table.text_names)


def _ratio_mg(ratio: Any) -> float | None:
    numerator = getattr(ratio, "numerator", None)
    if numerator is None or numerator.value is None:
        return None
    kind = quantity_kind(numerator.unit, numerator.code, numerator.system)
    if kind is None or kind[0] != "mass":
        return None
    mg = Decimal(numerator.value) * kind[1]
    denominator = getattr(ratio, "denominator", None)
    per = Decimal(1)
    if denominator is not None and denominator.value is not None:
        per = Decimal(denominator.value)
        per_kind = quantity_kind(denominator.unit, denominator.code, denominator.system)
        if per_kind is None or per_kind[0] == "mass":
            return None
        per *= per_kind[1]
    if mg <= 0 or per <= 0:
        return None
    return float(mg / per)


def strength_from_medication_resource(medication: Medication | Any) -> float | None:
    """mg per tablet (or per mL) from a Medication's baclofen ingredient strength.

    The strength is a Ratio: numerator in mg, g or µg; denominator 1 tablet (or other unit of
    presentation) or a volume in mL. With several ingredients, the baclofen one is used; a
    single ingredient is assumed to be the product's. None when it can't be read.
    """
    try:
        ingredients = [
            item for item in (getattr(medication, "ingredient", None) or [])
            if getattr(item, "strength", None) is not None
        ]
        chosen = [
            item for item in ingredients if _is_baclofen_concept(item.itemCodeableConcept)
            or (item.itemReference is not None and item.itemReference.display
                and "baclofen" in fold(item.itemReference.display))
        ]
        if not chosen and len(ingredients) == 1:
            chosen = ingredients
        for item in chosen:
            mg = _ratio_mg(item.strength)
            if mg is not None:
                return mg
    except (AttributeError, TypeError, ValueError, InvalidOperation):
        return None
    return None


# --- co-medications: what a drug is ----------------------------------------------------

ATC_SYSTEM = SYSTEM_FAMILIES["atc"][0]
_WORD = re.compile(r"[a-z][a-z-]+")


@dataclass(frozen=True)
class DrugIdentity:
    """What a medication is: ATC codes and normalised substance names from its codings, the
    French terminology (BDPM, formulary) and, last, known substance names in its text.

    `identified` is False when nothing says what the drug is: the interaction rules then
    report it (`comed-unidentified`) instead of staying silent."""

    atc: tuple[Code, ...] = ()
    substances: tuple[str, ...] = ()
    french_codes: tuple[tuple[str, str, bool], ...] = ()  # (kind, via, in the index) per coding

    @property
    def identified(self) -> bool:
        return bool(self.atc or self.substances)


def in_class(identity: DrugIdentity, value_set: ValueSet) -> bool:
    """Whether the drug is in the class: by ATC prefix or by substance (the one lookup path)."""
    return value_set.first_match(identity.atc) is not None or (
        value_set.substance_match(identity.substances) is not None)


def _text_substances(med: MedicationFact, vocabulary: frozenset[str]) -> list[str]:
    found = []
    for text in _texts(med):
        words = _WORD.findall(fold(text))
        for size in (1, 2, 3):
            for start in range(len(words) - size + 1):
                name = " ".join(words[start:start + size])
                if name in vocabulary:
                    found.append(name)
    return found


def identify(med: MedicationFact, vocabulary: frozenset[str] = frozenset()) -> DrugIdentity:
    """The identity of one medication; `vocabulary` is the substance names the profile's drug
    classes list (matched in the order text when no code says what the drug is)."""
    terminology = active_terminology()
    atc = [code for code in med.codes if family_of(code.system) == "atc"]
    substances: list[str] = []
    french: list[tuple[str, str, bool]] = []
    for code in med.codes:
        if family_of(code.system) is not None:
            continue
        found = terminology.identify(code.system, code.code)
        if found is not None:
            french.append((found.kind, found.via, True))
            atc.extend(Code(ATC_SYSTEM, value) for value in found.entry.atc)
            substances.extend(s.dci for s in found.entry.substances)
            continue
        read = terminology.recognised(code.system, code.code)
        if read is not None:
            french.append((read.kind, read.via, False))
    if not atc and not substances and vocabulary:
        substances = _text_substances(med, vocabulary)
    return DrugIdentity(atc=tuple(atc), substances=tuple(dict.fromkeys(substances)),
                        french_codes=tuple(french))
