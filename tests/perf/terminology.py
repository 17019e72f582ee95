"""`make bench` (terminology step): what the BDPM index costs at start-up and per evaluation.

Writes a synthetic BDPM of the real download's size (about 16,000 products, 21,000
presentations, 30,000 composition lines, official layout, Windows-1252), imports it, then
measures (1) loading the index at start-up, (2) the identification of a patient's five
co-medications coded only by CIP13 (the only work the index adds to an evaluation), with and
without the index loaded, and the whole evaluation for scale. Targets (issue 13): < 1 s and
< 0.1 ms.

    python -m tests.perf.terminology [--products N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from cds_service import terminology
from cds_service.clinical.context import PatientContext
from cds_service.clinical.engine import evaluate
from cds_service.clinical.medication import identify
from cds_service.clinical.profile import load_profile
from cds_service.fhir.context_builder import build_context
from cds_service.terminology.bdpm import import_bdpm
from tests.builders import PATIENT_ID, coded_order, patient, searchset
from tests.clinical.rtu_helpers import order_of, taking

SUBSTANCES = ["FUROSÉMIDE", "CHLORHYDRATE DE TRAMADOL", "BÉSILATE D'AMLODIPINE", "ZOPICLONE",
              "LÉVODOPA", "OMÉPRAZOLE", "PARACÉTAMOL", "BACLOFÈNE"]


def write_synthetic_bdpm(directory: Path, products: int) -> None:
    cis_lines, cip_lines, compo_lines = [], [], []
    for n in range(products):
        cis = f"6{n:07d}"
        substance = SUBSTANCES[n % len(SUBSTANCES)]
        cis_lines.append("\t".join([cis, f"PRODUIT {n} {substance.split()[-1]} 10 mg, comprimé sécable",
                                    "comprimé sécable", "orale", "Autorisation active", "Procédure nationale",
                                    "Commercialisée", "01/01/2000", "", "", " LABORATOIRE", "Non"]))
        for p in range(1 + n % 2 + (n % 7 == 0)):
            cip7 = f"{(3000000 + n * 3 + p):07d}"
            cip_lines.append("\t".join([cis, cip7, "plaquette(s) de 30 comprimé(s)", "Présentation active",
                                        "Déclaration de commercialisation", "01/01/2000", f"34009{cip7}0",
                                        "oui", "65%", "3,50", "4,52", "1,02", ""]))
        compo_lines.append("\t".join([cis, "comprimé", "01234", substance, "10 mg", "un comprimé", "SA", "1"]) + "\t")
        if n % 2:
            compo_lines.append("\t".join([cis, "comprimé", "01235", substance.split()[-1], "8 mg", "un comprimé",
                                          "FT", "1"]) + "\t")
    for name, lines in (("CIS_bdpm.txt", cis_lines), ("CIS_CIP_bdpm.txt", cip_lines),
                        ("CIS_COMPO_bdpm.txt", compo_lines)):
        (directory / name).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def _context(codes: list[str]) -> PatientContext:
    meds = [taking(30, days=5), *(coded_order("https://smt.esante.gouv.fr/terminologie-cip_ucd", code,
                                              oid=f"co-{i}") for i, code in enumerate(codes))]
    return build_context(patient_id=PATIENT_ID, draft_orders={"resourceType": "Bundle", "type": "collection",
                                                              "entry": [{"resource": order_of(40)}]},
                         data={"patient": patient(), "medications": searchset(meds), "conditions": None,
                               "observations": None, "allergies": None},
                         unavailable=(), today=date(2026, 3, 18))


def per_evaluation_ms(context: PatientContext, rounds: int) -> float:
    profile = load_profile("rtu-2014")
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        evaluate(context, profile, "order-sign", None)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def lookup_ms(context: PatientContext, rounds: int) -> float:
    """The co-medication identification of one evaluation (the only place the index is read)."""
    vocabulary = load_profile("rtu-2014").drug_vocabulary
    facts = context.medications
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for fact in facts:
            identify(fact, vocabulary)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=16_000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "bdpm", Path(tmp) / "index"
        source.mkdir()
        write_synthetic_bdpm(source, args.products)
        started = time.perf_counter()
        counts = import_bdpm(source, target)
        import_s = time.perf_counter() - started
        size_kb = (target / "bdpm-index.json").stat().st_size / 1024
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            loaded = terminology.load(target, None)
            loads.append(time.perf_counter() - started)
        codes = ["3400930000000", "3400930000030", "3400930000060", "3400930000090", "3400930000120"]
        context = _context(codes)
        terminology.install(terminology.Terminology())
        without, lookup_without = per_evaluation_ms(context, args.rounds), lookup_ms(context, args.rounds)
        terminology.install(loaded)
        with_index, lookup_with = per_evaluation_ms(context, args.rounds), lookup_ms(context, args.rounds)
        terminology.install(terminology.Terminology())
    print(f"BDPM import: {counts} in {import_s:.2f} s, index {size_kb:.0f} kB")
    print(f"index load at start-up: median {statistics.median(loads) * 1000:.0f} ms (target < 1000 ms)")
    print(f"identification of the 5 co-medications coded by CIP13: {lookup_without:.4f} ms without the "
          f"index, {lookup_with:.4f} ms with it: overhead {lookup_with - lookup_without:+.4f} ms "
          "(target < 0.1 ms)")
    print(f"whole evaluation (rules and cards included; with the index the drugs are identified and "
          f"interaction rules fire): {without:.3f} ms without, {with_index:.3f} ms with")


if __name__ == "__main__":
    main()
