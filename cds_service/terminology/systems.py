"""Which French drug code a coding carries: CIS, CIP13, CIP7 or UCD, by system URI or by shape.

French EHRs send these codes under several URIs (ANS terminology server, OIDs, ANSM data
URIs, local ones). A known URI names the code system; an unknown URI still yields a CIP13
(`34009…`, 13 digits), a UCD13 (`34008…`, 13 digits) or a CIS (8 digits) by its shape, and
the caller says so in the audit (`via="shape"`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["cis", "cip", "ucd"]
Via = Literal["system", "shape"]

# Sources: ANS / Interop'Santé FR Core and FR Document Core value sets (smt.esante.gouv.fr),
# the Interop'Santé medication IG (data.esante.gouv.fr/ansm/medicament/UCD), ANS OIDs
# 1.2.250.1.213.2.3.1 (CIS) and 1.2.250.1.213.2.3.2 (CIP).
DEFAULT_SYSTEMS: Mapping[str, tuple[Kind, ...]] = {
    "https://smt.esante.gouv.fr/terminologie-bdpm": ("cis",),
    "urn:oid:1.2.250.1.213.2.3.1": ("cis",),
    "https://smt.esante.gouv.fr/terminologie-cip_ucd": ("cip", "ucd"),
    "urn:oid:1.2.250.1.213.2.3.2": ("cip",),
    "http://data.esante.gouv.fr/ansm/medicament/UCD": ("ucd",),
    "http://data.esante.gouv.fr/ansm/medicament/codeCIS": ("cis",),
    "http://data.esante.gouv.fr/ansm/medicament/codeCIP": ("cip",),
}

_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class DrugCode:
    """A coding read as a French drug code: its kind, normalised value and how it was known."""

    kind: Kind
    code: str
    via: Via


def parse_aliases(text: str | None) -> dict[str, tuple[Kind, ...]]:
    """`CDS_DRUG_CODE_SYSTEMS`: `URI=cis,URI=cip|ucd` (comma-separated; `|` joins kinds)."""
    aliases: dict[str, tuple[Kind, ...]] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        uri, _, kinds = item.strip().rpartition("=")
        parsed = tuple(k.strip().lower() for k in kinds.split("|") if k.strip())
        if not uri or not parsed or any(k not in ("cis", "cip", "ucd") for k in parsed):
            raise ValueError(f"CDS_DRUG_CODE_SYSTEMS: cannot read {item.strip()!r} (URI=cis|cip|ucd)")
        aliases[uri.rstrip("/")] = parsed  # type: ignore[assignment]
    return aliases


def shape_kind(code: str) -> Kind | None:
    """The kind a bare number's shape implies: 13 digits 34009… CIP13, 34008… UCD13, 8 digits CIS."""
    if not _DIGITS.match(code):
        return None
    if len(code) == 13 and code.startswith("34009"):
        return "cip"
    if len(code) == 13 and code.startswith("34008"):
        return "ucd"
    if len(code) == 8:
        return "cis"
    return None


class CodeSystems:
    """The accepted French drug code systems (defaults plus the configured aliases)."""

    def __init__(self, aliases: Mapping[str, Iterable[Kind]] | None = None) -> None:
        merged = {uri: tuple(kinds) for uri, kinds in DEFAULT_SYSTEMS.items()}
        merged.update({uri.rstrip("/"): tuple(kinds) for uri, kinds in (aliases or {}).items()})
        self.systems: Mapping[str, tuple[Kind, ...]] = merged

    def read(self, system: str, code: str) -> DrugCode | None:
        """The drug code a coding carries, or None (ATC, RxNorm, SNOMED… are not these)."""
        value = code.strip()
        kinds = self.systems.get(system.strip().rstrip("/"))
        if kinds is not None:
            shaped = shape_kind(value)
            if len(kinds) == 1:
                return DrugCode(kinds[0], value, "system")
            if shaped in kinds:
                return DrugCode(shaped, value, "system")
            # 7 digits under a CIP/UCD system: a CIP7 or UCD7; the lookup tries both.
            return DrugCode(kinds[0], value, "system") if _DIGITS.match(value) else None
        shaped = shape_kind(value)
        return DrugCode(shaped, value, "shape") if shaped is not None else None
