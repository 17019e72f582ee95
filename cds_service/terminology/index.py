"""The loaded terminology: BDPM index plus formulary, looked up by coding.

Loaded once at start-up (`load`); evaluation only does dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from cds_service.terminology.bdpm import INDEX_NAME
from cds_service.terminology.entries import DrugEntry
from cds_service.terminology.formulary import read_formulary
from cds_service.terminology.systems import CodeSystems, DrugCode, Kind, Via

_KIND_WORDS: Mapping[str, Kind] = {"cis": "cis", "cip": "cip", "cip13": "cip", "cip7": "cip",
                                  "ucd": "ucd", "ucd13": "ucd", "ucd7": "ucd"}


@dataclass(frozen=True)
class Identified:
    """A coding resolved to a product, with how the code system was recognised (for the audit)."""

    entry: DrugEntry
    kind: str  # cis, cip, ucd, or "local" for a formulary code under its own system
    via: Via


@dataclass
class Terminology:
    """BDPM products by CIS, CIP13 and CIP7; formulary rows by (system, code) and (kind, code)."""

    systems: CodeSystems = field(default_factory=CodeSystems)
    products: dict[str, Any] = field(default_factory=dict)  # CIS -> index JSON, read on first use
    cip13: dict[str, str] = field(default_factory=dict)
    cip7: dict[str, str] = field(default_factory=dict)
    formulary_by_system: dict[tuple[str, str], DrugEntry] = field(default_factory=dict)
    formulary_by_kind: dict[tuple[Kind, str], DrugEntry] = field(default_factory=dict)
    _entries: dict[str, DrugEntry] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return not self.products and not self.formulary_by_system

    def add_bdpm(self, index: Mapping[str, Any]) -> None:
        # Kept as parsed JSON: building 16,000 entries at start-up would cost more than the few
        # a patient's orders ever name (start-up must stay well under a second).
        self.products.update(index["products"])
        self._entries.clear()
        self.cip13.update(index.get("cip13", {}))
        self.cip7.update(index.get("cip7", {}))

    def add_formulary(self, rows: Iterable[tuple[str, str, DrugEntry]]) -> None:
        for system, code, entry in rows:
            kind = _KIND_WORDS.get(system.lower())
            if kind is None:
                read = self.systems.read(system, code)
                kind = read.kind if read is not None and read.via == "system" else None
            if kind is not None:
                self.formulary_by_kind[(kind, code)] = entry
            self.formulary_by_system[(system.rstrip("/"), code)] = entry

    def product(self, cis: str) -> DrugEntry | None:
        """The BDPM product of a CIS code (built from the index on first use, then kept)."""
        entry = self._entries.get(cis)
        if entry is None:
            data = self.products.get(cis)
            if data is None:
                return None
            entry = self._entries[cis] = DrugEntry.from_json(data)
        return entry

    def _bdpm(self, drug: DrugCode) -> DrugEntry | None:
        if drug.kind == "cis":
            return self.product(drug.code)
        if drug.kind == "cip":
            cis = self.cip13.get(drug.code) if len(drug.code) == 13 else self.cip7.get(drug.code)
            return self.product(cis) if cis is not None else None
        return None

    def identify(self, system: str, code: str) -> Identified | None:
        """The product a coding names, or None when neither the BDPM nor the formulary knows it."""
        value = code.strip()
        local = self.formulary_by_system.get((system.strip().rstrip("/"), value))
        drug = self.systems.read(system, value)
        if drug is None:
            return Identified(local, "local", "system") if local is not None else None
        found = self._bdpm(drug)
        if found is None:
            found = local or self.formulary_by_kind.get((drug.kind, drug.code))
        if found is None and drug.kind == "cip" and len(drug.code) == 7:
            found = self.formulary_by_kind.get(("ucd", drug.code))  # CIP/UCD system, 7 digits
        return Identified(found, drug.kind, drug.via) if found is not None else None

    def recognised(self, system: str, code: str) -> DrugCode | None:
        """The French drug code a coding carries, known or not (for "unidentified" reports)."""
        return self.systems.read(system, code)


def load(directory: Path | None, formulary: Path | None,
         aliases: Mapping[str, Iterable[Kind]] | None = None) -> Terminology:
    """The terminology from `directory/bdpm-index.json` (when present) and the formulary file."""
    terminology = Terminology(systems=CodeSystems(aliases))
    if directory is not None and (directory / INDEX_NAME).is_file():
        terminology.add_bdpm(orjson.loads((directory / INDEX_NAME).read_bytes()))
    if formulary is not None:
        terminology.add_formulary(read_formulary(formulary))
    return terminology
