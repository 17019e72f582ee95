"""French medicine identification: BDPM index, hospital formulary, French drug code systems.

The terminology is loaded once at start-up (`serve`, `check`) and installed process-wide;
the clinical rules read it through `active()` (dictionary lookups only, no I/O).
"""

from __future__ import annotations

from pathlib import Path

from cds_service.terminology.index import Identified, Terminology, load
from cds_service.terminology.systems import parse_aliases

__all__ = ["Identified", "Terminology", "active", "install", "load", "load_configured"]

_ACTIVE = Terminology()


def active() -> Terminology:
    """The installed terminology (empty until `install`: codes then match by ATC/RxNorm only)."""
    return _ACTIVE


def install(terminology: Terminology) -> Terminology:
    """Make `terminology` the one the rules use; returns the previous one (tests restore it)."""
    global _ACTIVE
    previous, _ACTIVE = _ACTIVE, terminology
    return previous


def load_configured(terminology_dir: str | None, formulary: str | None,
                    code_systems: str | None) -> Terminology:
    """The terminology the settings name (`CDS_TERMINOLOGY_DIR`, `CDS_FORMULARY`,
    `CDS_DRUG_CODE_SYSTEMS`); a missing index directory is not an error, a missing formulary is."""
    formulary_path = Path(formulary) if formulary else None
    if formulary_path is not None and not formulary_path.is_file():
        raise FileNotFoundError(f"CDS_FORMULARY: {formulary} is not a file")
    return load(Path(terminology_dir) if terminology_dir else None, formulary_path,
                parse_aliases(code_systems))
