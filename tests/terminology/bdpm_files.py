"""Small BDPM files in the official layout (no header, tab-separated), written by the tests."""

from __future__ import annotations

from pathlib import Path

CIS = [
    ["60000001", "LIORESAL 10 mg, comprimé sécable", "comprimé sécable", "orale", "Autorisation active",
     "Procédure nationale", "Commercialisée", "03/02/1975", "", "", " NOVARTIS PHARMA", "Non"],
    ["60000002", "BACLOCUR 30 mg, comprimé pelliculé sécable", "comprimé pelliculé sécable", "orale",
     "Autorisation active", "Procédure nationale", "Commercialisée", "23/10/2018", "", "", " ETHYPHARM", "Oui"],
    ["60000003", "LASILIX 40 mg, comprimé sécable", "comprimé sécable", "orale", "Autorisation active",
     "Procédure nationale", "Commercialisée", "01/01/1970", "", "", " SANOFI", "Non"],
    ["60000004", "TRAMADOL EXEMPLE 50 mg, gélule", "gélule", "orale", "Autorisation active",
     "Procédure nationale", "Commercialisée", "01/01/2000", "", "", " EXEMPLE", "Non"],
    ["60000005", "MODOPAR 125 (100 mg/25 mg), gélule", "gélule", "orale", "Autorisation active",
     "Procédure nationale", "Commercialisée", "01/01/1975", "", "", " ROCHE", "Non"],
]
CIP = [
    ["60000001", "3171618", "plaquette(s) PVC aluminium de 50 comprimé(s)", "Présentation active",
     "Déclaration de commercialisation", "01/01/1990", "3400931716181", "oui", "65%", "3,50", "4,52", "1,02", ""],
    ["60000002", "3018688", "plaquette(s) de 30 comprimé(s)", "Présentation active",
     "Déclaration de commercialisation", "01/01/2019", "3400930186886", "oui", "15%", "", "", "", ""],
    ["60000003", "3117041", "plaquette(s) de 30 comprimé(s)", "Présentation active",
     "Déclaration de commercialisation", "01/01/1990", "3400931170410", "oui", "65%", "", "", "", ""],
    ["60000004", "3400001", "plaquette(s) de 30 gélule(s)", "Présentation active",
     "Déclaration de commercialisation", "01/01/2000", "3400934000017", "oui", "65%", "", "", "", ""],
]
COMPO = [
    ["60000001", "comprimé", "01234", "BACLOFÈNE", "10 mg", "un comprimé", "SA", "1"],
    ["60000002", "comprimé", "01234", "BACLOFÈNE", "30 mg", "un comprimé", "SA", "1"],
    ["60000003", "comprimé", "02345", "FUROSÉMIDE", "40 mg", "un comprimé", "SA", "1"],
    ["60000004", "gélule", "86571", "CHLORHYDRATE DE TRAMADOL", "50 mg", "une gélule", "SA", "1"],
    ["60000004", "gélule", "86572", "TRAMADOL", "43,9 mg", "une gélule", "FT", "1"],
    ["60000005", "gélule", "03456", "LÉVODOPA", "100 mg", "une gélule", "SA", "1"],
    ["60000005", "gélule", "03457", "CHLORHYDRATE DE BENSÉRAZIDE", "28,5 mg", "une gélule", "SA", "2"],
    ["60000005", "gélule", "03458", "BENSÉRAZIDE", "25 mg", "une gélule", "FT", "2"],
]


def write_bdpm(directory: Path, encoding: str = "cp1252", newline: str = "\r\n", bom: bool = False,
               trailing_tab: bool = True) -> Path:
    """The three files, in `encoding`, with `newline` line ends and (like the real files) a
    stray trailing tab on the composition lines."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in (("CIS_bdpm.txt", CIS), ("CIS_CIP_bdpm.txt", CIP), ("CIS_COMPO_bdpm.txt", COMPO)):
        lines = ["\t".join(row) + ("\t" if trailing_tab and name == "CIS_COMPO_bdpm.txt" else "")
                 for row in table]
        data = (newline.join(lines) + newline).encode(encoding)
        (directory / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return directory
