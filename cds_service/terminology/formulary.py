"""The hospital formulary file (`CDS_FORMULARY`): codes the BDPM does not carry.

A CSV exported from the hospital's drug database, UTF-8 or Windows-1252, `,` or `;` separated,
with a header line naming the columns (any order, case-insensitive):

    system,code,display,substance,atc,strength,unit,form,scored

`system` is a URI or one of `ucd`, `cip`, `cis`, `local`; `substance` may list several DCI
joined by `+`; `strength` is per unit of presentation (or per mL when `unit` is `mg/ml`);
`scored` is yes/no (oui/non, true/false, 1/0).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from cds_service.terminology.bdpm import decode
from cds_service.terminology.entries import DrugEntry, Substance
from cds_service.terminology.substances import normalise_substance

COLUMNS = ("system", "code", "display", "substance", "atc", "strength", "unit", "form", "scored")
_UNIT_TO_MG = {"mg": 1.0, "g": 1000.0, "µg": 0.001, "μg": 0.001, "ug": 0.001, "mcg": 0.001}
_YES = frozenset({"yes", "oui", "true", "1", "y", "o"})


class FormularyError(ValueError):
    """A formulary file that cannot be read (missing columns, bad numbers)."""


def _strength(value: str, unit: str, line: int) -> tuple[float | None, bool]:
    if not value.strip():
        return None, False
    unit = unit.strip().lower()
    per_ml = unit.endswith("/ml")
    factor = _UNIT_TO_MG.get(unit.removesuffix("/ml").strip() or "mg")
    if factor is None:
        raise FormularyError(f"formulary line {line}: unknown unit {unit!r}")
    try:
        return float(value.replace(",", ".")) * factor, per_ml
    except ValueError:
        raise FormularyError(f"formulary line {line}: strength {value!r} is not a number") from None


def read_formulary(path: Path) -> list[tuple[str, str, DrugEntry]]:
    """The rows of the file as (system, code, entry)."""
    text = decode(path.read_bytes())
    dialect = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
    header = {name.strip().lower() for name in reader.fieldnames or ()}
    missing = [column for column in ("system", "code", "substance") if column not in header]
    if missing:
        raise FormularyError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})")
    found = []
    for number, raw in enumerate(reader, start=2):
        if None in raw:
            raise FormularyError(f"{path} line {number}: more fields than columns (quote a value with a comma)")
        row = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items()}
        if not row.get("code"):
            continue
        mg, per_ml = _strength(row.get("strength", ""), row.get("unit", ""), number)
        names = [name.strip() for name in row.get("substance", "").split("+") if name.strip()]
        substances = tuple(
            Substance(name, normalise_substance(name), mg if len(names) == 1 else None, per_ml,
                      row.get("strength") or None)
            for name in names
        )
        entry = DrugEntry(
            name=row.get("display") or row["code"], form=row.get("form", ""),
            substances=substances,
            atc=tuple(a.strip().upper() for a in row.get("atc", "").split("+") if a.strip()),
            scored=row.get("scored", "").lower() in _YES, source="formulary",
        )
        found.append((row["system"], row["code"], entry))
    return found
