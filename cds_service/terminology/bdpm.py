"""Importer of the public French drug database (BDPM, ANSM, Licence Ouverte).

Reads the monthly download files (no header line, one record a line, tab-separated):

* `CIS_bdpm.txt`: CIS, name, pharmaceutical form, routes (`;`-separated), AMM status, AMM
  procedure, marketing state, AMM date, BDM status, EU number, holder(s), reinforced watch.
* `CIS_CIP_bdpm.txt`: CIS, CIP7, presentation label, status, marketing state, date, CIP13,
  hospital approval, reimbursement rate, prices…, reimbursement text.
* `CIS_COMPO_bdpm.txt`: CIS, pharmaceutical element, substance code, substance name, strength,
  strength reference ("un comprimé"), nature (SA active substance / FT therapeutic fraction),
  SA/FT link number.
* `CIS_MITM.txt` (optional): CIS, ATC code, label, link.

The files have been published in Windows-1252 and in UTF-8; either is accepted, with or without
BOM, CRLF or LF, and stray trailing tabs. The result is a compact JSON index that the service
loads at start-up (`bdpm-index.json`); nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cds_service.terminology.entries import DrugEntry, Substance
from cds_service.terminology.substances import normalise_substance

INDEX_NAME = "bdpm-index.json"
FILES = ("CIS_bdpm.txt", "CIS_CIP_bdpm.txt", "CIS_COMPO_bdpm.txt")
OPTIONAL_ATC_FILE = "CIS_MITM.txt"
_TO_MG = {"mg": Decimal(1), "g": Decimal(1000), "microgrammes": Decimal("0.001"),
          "microgramme": Decimal("0.001"), "µg": Decimal("0.001"), "μg": Decimal("0.001"),
          "ug": Decimal("0.001"), "milligrammes": Decimal(1), "milligramme": Decimal(1),
          "grammes": Decimal(1000), "gramme": Decimal(1000)}
_STRENGTH = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-zµμ]+)", re.IGNORECASE)
_PER_ML = re.compile(r"^\s*(?:(\d+(?:[.,]\d+)?)\s*)?ml\b", re.IGNORECASE)


class BdpmError(ValueError):
    """A BDPM directory that is missing a file or has unreadable lines."""


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, else Windows-1252."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def rows(path: Path, min_fields: int) -> Iterator[list[str]]:
    """The records of one file: split on tabs, trailing empty fields and blank lines dropped."""
    for number, line in enumerate(decode(path.read_bytes()).splitlines(), start=1):
        fields = [value.strip() for value in line.split("\t")]
        while fields and fields[-1] == "":
            fields.pop()
        if not fields:
            continue
        if len(fields) < min_fields:
            raise BdpmError(f"{path.name} line {number}: {len(fields)} fields, expected {min_fields}")
        yield fields


def strength_mg(dosage: str, reference: str) -> tuple[float | None, bool]:
    """mg per unit ("10 mg" / "un comprimé") or per mL ("5 mg" / "5 ml de solution")."""
    match = _STRENGTH.match(dosage)
    if match is None:
        return None, False
    factor = _TO_MG.get(match.group(2).lower())
    if factor is None:
        return None, False
    try:
        mg = Decimal(match.group(1).replace(",", ".")) * factor
        per_ml = _PER_ML.match(reference)
        if per_ml is not None:
            volume = Decimal(per_ml.group(1).replace(",", ".")) if per_ml.group(1) else Decimal(1)
            return (float(mg / volume), True) if volume > 0 else (None, False)
    except InvalidOperation:
        return None, False
    return float(mg), False


@dataclass
class _Product:
    name: str
    form: str
    routes: tuple[str, ...]
    active: dict[str, list[str]] = field(default_factory=dict)  # link number -> SA row
    fraction: dict[str, list[str]] = field(default_factory=dict)  # link number -> FT row
    atc: list[str] = field(default_factory=list)

    def entry(self) -> DrugEntry:
        substances = []
        for link, row in {**self.active, **self.fraction}.items():
            # The therapeutic fraction (FT) names the base that the strength counts.
            chosen = self.fraction.get(link, row)
            mg, per_ml = strength_mg(chosen[4] if len(chosen) > 4 else "", chosen[5] if len(chosen) > 5 else "")
            substances.append(Substance(
                name=chosen[3], dci=normalise_substance(chosen[3]), strength_mg=mg, per_ml=per_ml,
                strength_text=chosen[4] if len(chosen) > 4 else None,
            ))
        unique = list({(s.dci, s.strength_mg): s for s in substances}.values())
        return DrugEntry(
            name=self.name, form=self.form, routes=self.routes, substances=tuple(unique),
            atc=tuple(dict.fromkeys(self.atc)), scored="secable" in _plain(self.form + " " + self.name),
        )


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def build_index(directory: Path) -> dict[str, Any]:
    """Read the BDPM files of `directory` into the index (see `TerminologyIndex` for its use)."""
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise BdpmError(f"{directory}: missing {', '.join(missing)}")
    products: dict[str, _Product] = {}
    for fields in rows(directory / "CIS_bdpm.txt", 3):
        routes = tuple(r.strip() for r in fields[3].split(";") if r.strip()) if len(fields) > 3 else ()
        products[fields[0]] = _Product(name=fields[1], form=fields[2], routes=routes)
    for fields in rows(directory / "CIS_COMPO_bdpm.txt", 4):
        product = products.get(fields[0])
        if product is None:
            continue
        nature = fields[6].upper() if len(fields) > 6 else "SA"
        link = fields[7] if len(fields) > 7 else str(len(product.active) + len(product.fraction))
        (product.fraction if nature == "FT" else product.active)[link] = fields
    atc_file = directory / OPTIONAL_ATC_FILE
    if atc_file.is_file():
        for fields in rows(atc_file, 2):
            if fields[0] in products:
                products[fields[0]].atc.append(fields[1].upper())
    cip13: dict[str, str] = {}
    cip7: dict[str, str] = {}
    for fields in rows(directory / "CIS_CIP_bdpm.txt", 2):
        if fields[0] not in products:
            continue
        if fields[1]:
            cip7[fields[1]] = fields[0]
        if len(fields) > 6 and fields[6]:
            cip13[fields[6]] = fields[0]
    return {
        "format": 1,
        "products": {cis: product.entry().to_json() for cis, product in products.items()},
        "cip13": cip13,
        "cip7": cip7,
    }


def import_bdpm(directory: Path, target: Path) -> dict[str, int]:
    """Build the index from `directory` and write it atomically to `target/bdpm-index.json`."""
    index = build_index(directory)
    target.mkdir(parents=True, exist_ok=True)
    temporary = target / (INDEX_NAME + ".tmp")
    temporary.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    temporary.replace(target / INDEX_NAME)
    return {"products": len(index["products"]), "cip13": len(index["cip13"]), "cip7": len(index["cip7"])}
