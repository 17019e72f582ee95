"""The hospital formulary file and the French drug code systems (URI, alias, shape)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.terminology import load, load_configured
from cds_service.terminology.formulary import FormularyError, read_formulary
from cds_service.terminology.systems import CodeSystems, parse_aliases, shape_kind

FORMULARY = (
    "system,code,display,substance,atc,strength,unit,form,scored\n"
    'ucd,3400890000017,"ZOPICLONE 7,5 mg cp",zopiclone,N05CF01,7.5,mg,comprimé sécable,oui\n'
    "https://hopital.example/livret,PH-1,Tramadol gél,chlorhydrate de tramadol,,50,mg,gélule,non\n"
    "ucd,3400890000024,BACLOCUR 30 mg,baclofène,M03BX01,30,mg,comprimé pelliculé sécable,oui\n"
)


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "formulary.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_formulary_rows_are_read_in_either_encoding(tmp_path: Path, encoding: str) -> None:
    rows = read_formulary(write(tmp_path, FORMULARY, encoding))
    assert [(system, code) for system, code, _ in rows] == [
        ("ucd", "3400890000017"), ("https://hopital.example/livret", "PH-1"), ("ucd", "3400890000024")]
    zopiclone = rows[0][2]
    assert zopiclone.name == "ZOPICLONE 7,5 mg cp" and zopiclone.atc == ("N05CF01",) and zopiclone.scored
    assert rows[1][2].substances[0].dci == "tramadol" and not rows[1][2].scored
    assert rows[2][2].substances[0].name == "baclofène" and rows[2][2].substances[0].strength_mg == 30.0


def test_semicolon_separated_export_is_read(tmp_path: Path) -> None:
    text = FORMULARY.replace('"ZOPICLONE 7,5 mg cp"', "ZOPICLONE 7,5 mg cp").replace(",", ";").replace("7;5", "7,5")
    rows = read_formulary(write(tmp_path, text))
    assert len(rows) == 3 and rows[0][2].substances[0].strength_mg == 7.5
    assert rows[0][2].name == "ZOPICLONE 7,5 mg cp"


def test_formulary_without_a_required_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormularyError, match="substance"):
        read_formulary(write(tmp_path, "system,code,display\nucd,3400890000017,X\n"))
    with pytest.raises(FormularyError, match="line 2"):
        read_formulary(write(tmp_path, "system,code,substance,strength,unit\nucd,1,x,ten,mg\n"))
    with pytest.raises(FormularyError, match="line 2: more fields"):
        read_formulary(write(tmp_path, "system,code,display,substance\nucd,1,A 7,5 mg,x\n"))


def test_ucd_is_found_under_any_ucd_system_and_by_shape(tmp_path: Path) -> None:
    terminology = load(None, write(tmp_path, FORMULARY))
    for system in ("http://data.esante.gouv.fr/ansm/medicament/UCD",
                   "https://smt.esante.gouv.fr/terminologie-cip_ucd", "https://unknown.example/codes"):
        found = terminology.identify(system, "3400890000017")
        assert found is not None and found.kind == "ucd", system
        assert found.entry.substances[0].dci == "zopiclone"
    assert terminology.identify("https://unknown.example/codes", "3400890000017").via == "shape"  # type: ignore[union-attr]
    local = terminology.identify("https://hopital.example/livret", "PH-1")
    assert local is not None and local.kind == "local"
    assert terminology.identify("https://other.example/livret", "PH-1") is None


@pytest.mark.parametrize(("code", "kind"), [
    ("3400931716181", "cip"), ("3400890000017", "ucd"), ("60234100", "cis"), ("3171618", None),
    ("340093171618", None), ("M03BX01", None), ("1234567890123", None),
])
def test_shapes(code: str, kind: str | None) -> None:
    assert shape_kind(code) == kind


def test_known_systems_and_configured_aliases() -> None:
    systems = CodeSystems(parse_aliases("https://dpi.example/cis=cis,https://dpi.example/produit=cip|ucd"))
    assert systems.read("urn:oid:1.2.250.1.213.2.3.1", "60234100").kind == "cis"  # type: ignore[union-attr]
    assert systems.read("https://smt.esante.gouv.fr/terminologie-bdpm/", "60234100").via == "system"  # type: ignore[union-attr]
    assert systems.read("https://dpi.example/cis", "123").kind == "cis"  # type: ignore[union-attr]
    assert systems.read("https://dpi.example/produit", "3400890000017").kind == "ucd"  # type: ignore[union-attr]
    assert systems.read("http://www.whocc.no/atc", "M03BX01") is None
    with pytest.raises(ValueError, match="CDS_DRUG_CODE_SYSTEMS"):
        parse_aliases("https://dpi.example/x=rxnorm")


def test_configured_terminology_needs_an_existing_formulary(tmp_path: Path) -> None:
    assert load_configured(str(tmp_path / "none"), None, None).empty
    with pytest.raises(FileNotFoundError, match="CDS_FORMULARY"):
        load_configured(None, str(tmp_path / "missing.csv"), None)
