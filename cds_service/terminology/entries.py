"""What the service knows about one medicinal product, whatever code named it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["bdpm", "formulary"]


@dataclass(frozen=True)
class Substance:
    """One active substance: its name as written, the normalised DCI, and its strength."""

    name: str
    dci: str
    strength_mg: float | None = None  # per unit of presentation, or per mL (see `per_ml`)
    per_ml: bool = False
    strength_text: str | None = None


@dataclass(frozen=True)
class DrugEntry:
    """A product (BDPM CIS, or a formulary row): name, form, routes, substances, ATC."""

    name: str
    form: str
    routes: tuple[str, ...] = ()
    substances: tuple[Substance, ...] = ()
    atc: tuple[str, ...] = ()
    scored: bool = False  # "sécable": may be given as half tablets
    source: Source = "bdpm"

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.name, "f": self.form, "r": list(self.routes), "atc": list(self.atc),
            "sc": self.scored,
            "s": [[s.name, s.dci, s.strength_mg, s.per_ml, s.strength_text] for s in self.substances],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: Source = "bdpm") -> DrugEntry:
        return cls(
            name=data["n"], form=data["f"], routes=tuple(data.get("r", ())),
            atc=tuple(data.get("atc", ())), scored=bool(data.get("sc", False)),
            substances=tuple(Substance(s[0], s[1], s[2], bool(s[3]), s[4]) for s in data.get("s", ())),
            source=source,
        )
