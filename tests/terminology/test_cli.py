"""`baclofen-cds terminology import-bdpm DIR` and `lookup CODE`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.terminology.bdpm_files import write_bdpm


def cli(tmp_path: Path, *args: str, formulary: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "CDS_TERMINOLOGY_DIR": str(tmp_path / "index")}
    if formulary is not None:
        env["CDS_FORMULARY"] = str(formulary)
    return subprocess.run([sys.executable, "-m", "cds_service", "terminology", *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_import_then_lookup_by_cip13_cip7_and_system(tmp_path: Path) -> None:
    source = write_bdpm(tmp_path / "bdpm")
    imported = cli(tmp_path, "import-bdpm", str(source))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["products"] == 5
    assert (tmp_path / "index" / "bdpm-index.json").is_file()
    found = cli(tmp_path, "lookup", "3400930186886")
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["n"] == "BACLOCUR 30 mg, comprimé pelliculé sécable"
    assert answer["kind"] == "cip" and answer["recognised_by"] == "shape"
    assert json.loads(cli(tmp_path, "lookup", "3018688").stdout)["n"].startswith("BACLOCUR 30")
    by_system = cli(tmp_path, "lookup", "https://smt.esante.gouv.fr/terminologie-bdpm|60000003")
    assert json.loads(by_system.stdout)["s"][0][1] == "furosemide"


def test_lookup_of_an_unknown_code_says_what_it_looks_like(tmp_path: Path) -> None:
    missing = cli(tmp_path, "lookup", "3400939999996")
    assert missing.returncode == 2
    assert "CIP code by its shape, not in the index" in missing.stderr


def test_import_of_an_incomplete_directory_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli(tmp_path, "import-bdpm", str(tmp_path / "empty"))
    assert result.returncode == 2 and "missing CIS_bdpm.txt" in result.stderr


def test_lookup_reads_the_formulary(tmp_path: Path) -> None:
    formulary = tmp_path / "f.csv"
    formulary.write_text("system,code,display,substance,atc,strength,unit,form,scored\n"
                         "ucd,3400890000017,ZOPICLONE 7.5 mg,zopiclone,N05CF01,7.5,mg,comprimé,oui\n",
                         encoding="utf-8")
    result = cli(tmp_path, "lookup", "3400890000017", formulary=formulary)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["source"] == "formulary"
