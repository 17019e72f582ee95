"""Value sets: which codes count as, say, epilepsy or a loop diuretic.

ICD-10 and ATC are hierarchical by prefix (F10.2 covers F10.20 and F102), so they match by
prefix with the dots removed; SNOMED CT, LOINC and RxNorm match exactly (no terminology
server here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cds_service.clinical.context import Code
from cds_service.terminology.substances import normalise_substance

# Systems by family; EHRs in France send ICD-10 under several URIs (WHO, ATIH CIM-10).
SYSTEM_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "icd10": (
        "http://hl7.org/fhir/sid/icd-10",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "http://hl7.org/fhir/sid/icd-10-fr",
        "urn:oid:2.16.840.1.113883.6.3",
        "urn:oid:1.2.250.1.213.2.26",
        "https://mos.esante.gouv.fr/NOS/TRE_R38-CIM10",
    ),
    "snomed": ("http://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96"),
    "atc": ("http://www.whocc.no/atc", "urn:oid:2.16.840.1.113883.6.73"),
    "loinc": ("http://loinc.org", "urn:oid:2.16.840.1.113883.6.1"),
    "rxnorm": ("http://www.nlm.nih.gov/research/umls/rxnorm", "urn:oid:2.16.840.1.113883.6.88"),
}
PREFIX_FAMILIES = frozenset({"icd10", "atc"})
_MEMO_LIMIT = 20_000  # distinct codes remembered per value set before the memo starts afresh
_FAMILY_OF = {system: family for family, systems in SYSTEM_FAMILIES.items() for system in systems}


def family_of(system: str) -> str | None:
    """The code-system family of a coding's system URI (ICD-10 under any French URI too)."""
    family = _FAMILY_OF.get(system.rstrip("/"))
    if family is None:
        lowered = system.lower()
        if "icd-10" in lowered or "icd10" in lowered or "cim-10" in lowered or "cim10" in lowered:
            return "icd10"
    return family


def _normalise(family: str, code: str) -> str:
    code = code.strip().upper()
    return code.replace(".", "") if family in PREFIX_FAMILIES else code


@dataclass(frozen=True)
class ValueSet:
    """A named set of codes per family; prefix match for ICD-10/ATC, exact for the others."""

    name: str
    codes: Mapping[str, frozenset[str]]
    substances: frozenset[str] = frozenset()  # normalised DCI names (salts stripped)
    _seen: dict[Code, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def from_mapping(cls, name: str, data: Mapping[str, Iterable[str]]) -> ValueSet:
        """Codes per family; a `substance` key lists DCI names (for drug classes)."""
        unknown = set(data) - set(SYSTEM_FAMILIES) - {"substance"}
        if unknown:
            raise ValueError(f"value set {name}: unknown code systems {sorted(unknown)}")
        return cls(
            name=name,
            codes={
                family: frozenset(_normalise(family, str(code)) for code in codes)
                for family, codes in data.items() if family != "substance"
            },
            substances=frozenset(normalise_substance(str(n)) for n in data.get("substance", ())),
        )

    def substance_match(self, substances: Iterable[str]) -> str | None:
        """The first of these normalised DCI names that the value set lists."""
        return next((name for name in substances if name in self.substances), None)

    def matches(self, code: Code) -> bool:
        """Memoised: the same codes are matched by several rules in every evaluation."""
        known = self._seen.get(code)
        if known is None:
            if len(self._seen) > _MEMO_LIMIT:
                self._seen.clear()
            known = self._seen[code] = self._match(code)
        return known

    def _match(self, code: Code) -> bool:
        family = family_of(code.system)
        if family is None or family not in self.codes:
            return False
        wanted = self.codes[family]
        value = _normalise(family, code.code)
        if family in PREFIX_FAMILIES:
            return any(value.startswith(prefix) for prefix in wanted)
        return value in wanted

    def first_match(self, codes: Iterable[Code]) -> Code | None:
        for code in codes:
            if self.matches(code):
                return code
        return None
