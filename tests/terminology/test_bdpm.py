"""The BDPM importer on files in the official layout, in both published encodings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.terminology import load
from cds_service.terminology.bdpm import BdpmError, build_index, import_bdpm, strength_mg
from cds_service.terminology.substances import normalise_substance
from tests.terminology.bdpm_files import write_bdpm


@pytest.mark.parametrize(("encoding", "newline", "bom"), [
    ("cp1252", "\r\n", False), ("utf-8", "\n", False), ("utf-8", "\r\n", True), ("latin-1", "\n", False),
])
def test_import_reads_accents_in_either_encoding(tmp_path: Path, encoding: str, newline: str, bom: bool) -> None:
    source = write_bdpm(tmp_path / "bdpm", encoding=encoding, newline=newline, bom=bom)
    counts = import_bdpm(source, tmp_path / "out")
    assert counts == {"products": 5, "cip13": 4, "cip7": 4}
    terminology = load(tmp_path / "out", None)
    lasilix = terminology.identify("", "3400931170410")
    assert lasilix is not None and lasilix.kind == "cip" and lasilix.via == "shape"
    assert lasilix.entry.substances[0].name == "FUROSÉMIDE"
    assert lasilix.entry.substances[0].dci == "furosemide"
    assert lasilix.entry.routes == ("orale",)
    assert lasilix.entry.scored


def test_therapeutic_fraction_gives_the_base_and_its_strength(tmp_path: Path) -> None:
    index = build_index(write_bdpm(tmp_path))
    tramadol = index["products"]["60000004"]["s"]
    assert [(s[1], s[2]) for s in tramadol] == [("tramadol", 43.9)]
    modopar = sorted((s[1], s[2]) for s in index["products"]["60000005"]["s"])
    assert modopar == [("benserazide", 25.0), ("levodopa", 100.0)]


def test_cis_cip7_and_cip13_name_the_same_product(tmp_path: Path) -> None:
    import_bdpm(write_bdpm(tmp_path / "in"), tmp_path / "out")
    terminology = load(tmp_path / "out", None)
    by_cis = terminology.identify("https://smt.esante.gouv.fr/terminologie-bdpm", "60000002")
    by_cip7 = terminology.identify("urn:oid:1.2.250.1.213.2.3.2", "3018688")
    by_cip13 = terminology.identify("https://smt.esante.gouv.fr/terminologie-cip_ucd", "3400930186886")
    assert by_cis and by_cip7 and by_cip13
    assert by_cis.entry == by_cip7.entry == by_cip13.entry
    assert by_cis.entry.name == "BACLOCUR 30 mg, comprimé pelliculé sécable"
    assert by_cis.entry.substances[0].strength_mg == 30.0 and by_cis.via == "system"


def test_index_is_compact_json_written_atomically(tmp_path: Path) -> None:
    import_bdpm(write_bdpm(tmp_path / "in"), tmp_path / "out")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["bdpm-index.json"]
    text = (tmp_path / "out" / "bdpm-index.json").read_text(encoding="utf-8")
    assert "\n" not in text and "BACLOFÈNE" in text
    assert json.loads(text)["format"] == 1


def test_missing_file_and_short_line_are_reported(tmp_path: Path) -> None:
    source = write_bdpm(tmp_path)
    (source / "CIS_COMPO_bdpm.txt").unlink()
    with pytest.raises(BdpmError, match=r"CIS_COMPO_bdpm\.txt"):
        build_index(source)
    write_bdpm(tmp_path)
    (source / "CIS_bdpm.txt").write_bytes(b"60000001\tONLY NAME\r\n")
    with pytest.raises(BdpmError, match="line 1"):
        build_index(source)


@pytest.mark.parametrize(("dosage", "reference", "expected"), [
    ("10 mg", "un comprimé", (10.0, False)), ("43,9 mg", "une gélule", (43.9, False)),
    ("500 microgrammes", "un comprimé", (0.5, False)), ("5 mg", "5 ml de solution", (1.0, True)),
    ("1 g", "un sachet", (1000.0, False)), ("100 UI", "un comprimé", (None, False)),
])
def test_strength(dosage: str, reference: str, expected: tuple[float | None, bool]) -> None:
    assert strength_mg(dosage, reference) == expected


@pytest.mark.parametrize(("name", "dci"), [
    ("CHLORHYDRATE DE TRAMADOL", "tramadol"), ("Tramadol (chlorhydrate de)", "tramadol"),
    ("LÉVODOPA", "levodopa"), ("maléate d'énalapril", "enalapril"), ("Zopiclone", "zopiclone"),
    ("BESILATE D'AMLODIPINE", "amlodipine"),
])
def test_substance_names_are_normalised(name: str, dci: str) -> None:
    assert normalise_substance(name) == dci
