#!/usr/bin/env python3
"""Build the clinical test scenarios of baclofen-cds (CDS Hooks 2.0 requests + expectations).

Each scenario becomes ``scenarios/<name>/request.json`` (the exact CDS Hooks request an EHR would
POST, full prefetch inside) and ``scenarios/<name>/expected.yaml`` (what the service must answer:
rule codes that must / must not appear, empty-cards and critical flags, HTTP status).
``README.md`` (with the scenario list) is regenerated too.

Plain Python: standard library + PyYAML (used only to check that every expected.yaml reads back).
Idempotent: all ids, UUIDs and dates are derived from the scenario name and its evaluation date,
so running it twice gives byte-identical files. The committed JSON/YAML is what the tests read;
this script is only the way it was written. Validate with ``validate_scenarios.py``.

Usage::

    python fhir_fixtures/build_scenarios.py            # (re)write every scenario + README.md
    python fhir_fixtures/build_scenarios.py --check    # exit 1 if the files on disk differ

Clinical source of truth: ``spec/rtu-rules.md`` (ANSM 2014 RTU). Conventions used here:

* evaluation date ("today") = the draft's ``authoredOn``; ages in completed years;
* current regimen = most recent non-draft ``active`` baclofen MedicationRequest (or ``completed``
  within 7 days); it began at ``dosageInstruction[0].timing.repeat.boundsPeriod.start`` if present,
  else at its ``authoredOn``;
* renal function: eGFR Observation, else CKD-EPI 2021 from serum creatinine; > 90 days = stale.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE / "scenarios"

# --------------------------------------------------------------------------------------------
# Terminology
# --------------------------------------------------------------------------------------------
FHIR_BASE = "https://ehr.example-hospital.fr/fhir"
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR (French national health identifier)
IPP_SYSTEM = "https://ehr.example-hospital.fr/fhir/sid/ipp"  # local patient number
ATC = "http://www.whocc.no/atc"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
ORDERABLE_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CAT = "http://terminology.hl7.org/CodeSystem/condition-category"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
MR_CAT = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"

ROUTE_ORAL = {"coding": [{"system": SCT, "code": "26643006", "display": "Oral route"}], "text": "voie orale"}
ROUTE_INTRATHECAL = {
    "coding": [{"system": SCT, "code": "72607000", "display": "Intrathecal route"}],
    "text": "voie intrathécale",
}

# Conditions: key -> (ICD-10 code, ICD-10 display, SNOMED code, SNOMED display, French text)
COND: dict[str, tuple[str | None, str | None, str | None, str | None, str]] = {
    "alcohol_dep": (
        "F10.2",
        "Mental and behavioural disorders due to use of alcohol: dependence syndrome",
        "66590003",
        "Alcohol dependence",
        "Dépendance à l'alcool",
    ),
    "alcohol_dep_abstinent": (
        "F10.20",
        "Mental and behavioural disorders due to use of alcohol: dependence syndrome, currently abstinent",
        "66590003",
        "Alcohol dependence",
        "Dépendance à l'alcool, actuellement abstinent après sevrage",
    ),
    "alcoholism_sct": (None, None, "7200002", "Alcoholism", "Alcoolisme"),
    "ms": ("G35", "Multiple sclerosis", "24700007", "Multiple sclerosis", "Sclérose en plaques"),
    "epilepsy": ("G40.9", "Epilepsy, unspecified", "84757009", "Epilepsy", "Épilepsie"),
    "coeliac": ("K90.0", "Coeliac disease", "396331005", "Celiac disease", "Maladie cœliaque"),
    "pregnancy": ("Z33", "Pregnant state, incidental", "77386006", "Pregnant", "Grossesse en cours"),
    "pregnancy_sct": (None, None, "77386006", "Pregnant", "Grossesse en cours (12 SA)"),
    "breastfeeding": ("Z39.1", "Care and examination of lactating mother", None, None, "Allaitement maternel en cours"),
    "schizophrenia": ("F20.0", "Paranoid schizophrenia", "58214004", "Schizophrenia", "Schizophrénie paranoïde"),
    "delirium": (
        "F05.0",
        "Delirium not superimposed on dementia, so described",
        "2776000",
        "Delirium",
        "État confusionnel",
    ),
    "depression": (
        "F32.1",
        "Moderate depressive episode",
        "35489007",
        "Depressive disorder",
        "Épisode dépressif moyen",
    ),
    "stroke_sequelae": (
        "I69.3",
        "Sequelae of cerebral infarction",
        None,
        None,
        "Séquelles d'infarctus cérébral (AVC ischémique 2023)",
    ),
    "copd": (
        "J44.9",
        "Chronic obstructive pulmonary disease, unspecified",
        "13645005",
        "Chronic obstructive lung disease",
        "BPCO",
    ),
    "resp_failure": (
        "J96.1",
        "Chronic respiratory failure",
        "409622000",
        "Respiratory failure",
        "Insuffisance respiratoire chronique",
    ),
    "withdrawal_seizures": (
        "F10.31",
        "Mental and behavioural disorders due to use of alcohol: withdrawal state with convulsions",
        None,
        None,
        "Crise convulsive généralisée de sevrage alcoolique",
    ),
    "urinary_retention": ("R33", "Retention of urine", "267064002", "Retention of urine", "Rétention urinaire"),
    "cirrhosis": ("K70.3", "Alcoholic cirrhosis of liver", "420054005", "Alcoholic cirrhosis", "Cirrhose alcoolique"),
    "hcv": ("B18.2", "Chronic viral hepatitis C", None, None, "Hépatite C chronique"),
    "hypertension": (
        "I10",
        "Essential (primary) hypertension",
        "59621000",
        "Essential hypertension",
        "Hypertension artérielle",
    ),
    "ckd3": (
        "N18.3",
        "Chronic kidney disease, stage 3",
        "433144002",
        "Chronic kidney disease stage 3",
        "Maladie rénale chronique stade 3",
    ),
    "ckd4": (
        "N18.4",
        "Chronic kidney disease, stage 4",
        "431857002",
        "Chronic kidney disease stage 4",
        "Maladie rénale chronique stade 4",
    ),
    "ckd5": (
        "N18.5",
        "Chronic kidney disease, stage 5",
        "433146000",
        "Chronic kidney disease stage 5",
        "Maladie rénale chronique stade 5",
    ),
    "dialysis": ("Z99.2", "Dependence on renal dialysis", None, None, "Hémodialyse chronique"),
    "parkinson": ("G20", "Parkinson disease", "49049000", "Parkinson's disease", "Maladie de Parkinson"),
    "diabetes2": (
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        "44054006",
        "Diabetes mellitus type 2",
        "Diabète de type 2",
    ),
    "anxiety": (
        "F41.1",
        "Generalized anxiety disorder",
        "21897009",
        "Generalized anxiety disorder",
        "Trouble anxieux généralisé",
    ),
    "opioid_dep": (
        "F11.2",
        "Mental and behavioural disorders due to use of opioids: dependence syndrome",
        "75544000",
        "Opioid dependence",
        "Dépendance aux opiacés (traitement de substitution)",
    ),
    "chronic_pain": ("M54.5", "Low back pain", "279039007", "Low back pain", "Lombalgie chronique"),
    "edema": ("R60.0", "Localized oedema", None, None, "Œdèmes des membres inférieurs"),
    "insomnia": ("G47.0", "Disorders of initiating and maintaining sleep", "193462001", "Insomnia", "Insomnie"),
    "tobacco": (
        "F17.2",
        "Mental and behavioural disorders due to use of tobacco: dependence syndrome",
        "89765005",
        "Tobacco dependence syndrome",
        "Tabagisme actif",
    ),
}

# Co-medications: key -> (ATC code, ATC display, French text, French dosage text)
DRUG: dict[str, tuple[str, str, str, str]] = {
    "furosemide": ("C03CA01", "furosemide", "Furosémide 40 mg comprimé", "1 comprimé le matin"),
    "ramipril": ("C09AA05", "ramipril", "Ramipril 5 mg gélule", "1 gélule le matin"),
    "ramipril_hctz": (
        "C09BA05",
        "ramipril and diuretics",
        "Ramipril/Hydrochlorothiazide 5 mg/25 mg comprimé",
        "1 comprimé le matin",
    ),
    "amlodipine": ("C08CA01", "amlodipine", "Amlodipine 5 mg gélule", "1 gélule le soir"),
    "bisoprolol": ("C07AB07", "bisoprolol", "Bisoprolol 2,5 mg comprimé", "1 comprimé le matin"),
    "amitriptyline": ("N06AA09", "amitriptyline", "Amitriptyline (Laroxyl) 25 mg comprimé", "1 comprimé au coucher"),
    "oxazepam": ("N05BA04", "oxazepam", "Oxazépam (Séresta) 10 mg comprimé", "1 comprimé matin et soir si anxiété"),
    "diazepam": ("N05BA01", "diazepam", "Diazépam 10 mg comprimé", "1 comprimé le soir"),
    "zolpidem": ("N05CF02", "zolpidem", "Zolpidem 10 mg comprimé sécable", "1/2 comprimé au coucher"),
    "tramadol": ("N02AX02", "tramadol", "Tramadol 50 mg gélule", "1 gélule 3 fois par jour"),
    "levodopa": (
        "N04BA02",
        "levodopa and decarboxylase inhibitor",
        "Lévodopa/Bensérazide (Modopar) 100 mg/25 mg gélule",
        "1 gélule 3 fois par jour",
    ),
    "methadone": ("N07BC02", "methadone", "Méthadone 40 mg gélule", "60 mg le matin"),
    "buprenorphine": (
        "N07BC01",
        "buprenorphine",
        "Buprénorphine 8 mg comprimé sublingual",
        "1 comprimé sublingual le matin",
    ),
    "thiamine": ("A11DA01", "thiamine (vit B1)", "Thiamine (vitamine B1) 250 mg comprimé", "1 comprimé le matin"),
    "acamprosate": (
        "N07BB03",
        "acamprosate",
        "Acamprosate (Aotal) 333 mg comprimé gastro-résistant",
        "2 comprimés 3 fois par jour",
    ),
    "escitalopram": ("N06AB10", "escitalopram", "Escitalopram 10 mg comprimé", "1 comprimé le matin"),
    "tiotropium": ("R03BB04", "tiotropium bromide", "Tiotropium 18 µg gélule pour inhalation", "1 inhalation le matin"),
    "atorvastatin": ("C10AA05", "atorvastatin", "Atorvastatine 20 mg comprimé", "1 comprimé le soir"),
    "aspirin": ("B01AC06", "acetylsalicylic acid", "Acide acétylsalicylique 75 mg sachet", "1 sachet le midi"),
    "olanzapine": ("N05AH03", "olanzapine", "Olanzapine 10 mg comprimé", "1 comprimé le soir"),
    "levetiracetam": ("N03AX14", "levetiracetam", "Lévétiracétam 500 mg comprimé", "1 comprimé matin et soir"),
    "metformin": ("A10BA02", "metformin", "Metformine 1000 mg comprimé", "1 comprimé matin et soir"),
    "paracetamol": ("N02BE01", "paracetamol", "Paracétamol 1 g comprimé", "1 comprimé jusqu'à 3 fois par jour"),
    "sofosbuvir_velpatasvir": (
        "J05AP55",
        "sofosbuvir and velpatasvir",
        "Sofosbuvir/Velpatasvir (Epclusa) 400 mg/100 mg comprimé",
        "1 comprimé par jour pendant 12 semaines",
    ),
    "tamsulosin": ("G04CA02", "tamsulosin", "Tamsulosine LP 0,4 mg gélule", "1 gélule le soir"),
    "interferon_beta": (
        "L03AB07",
        "interferon beta-1a",
        "Interféron bêta-1a 44 µg solution injectable",
        "1 injection 3 fois par semaine",
    ),
    "nicotine": ("N07BA01", "nicotine", "Nicotine 21 mg/24 h dispositif transdermique", "1 patch par jour"),
    "levothyroxine": ("H03AA01", "levothyroxine sodium", "Lévothyroxine 75 µg comprimé", "1 comprimé le matin à jeun"),
}

# Baclofen product variants for the `medication[x]` of baclofen orders.
#   strength (mg per tablet) is None when nothing in the *coded* data gives it.
BACLOFEN_ATC = {"system": ATC, "code": "M03BX01", "display": "baclofen"}
BACLOFEN_RX10 = {"system": RXNORM, "code": "197381", "display": "baclofen 10 MG Oral Tablet"}
BACLOFEN_RX20 = {"system": RXNORM, "code": "197382", "display": "baclofen 20 MG Oral Tablet"}
BACLOFEN_RX_IN = {"system": RXNORM, "code": "1292", "display": "baclofen"}
BACLOFEN_SCT_SUBST = {"system": SCT, "code": "387342009", "display": "Baclofen (substance)"}
MED_VARIANTS: dict[str, float | None] = {
    "atc10": None,  # ATC only, text "Baclofène 10 mg comprimé sécable" (use mg doses with it)
    "atc": None,  # ATC only, text "Baclofène" (no strength anywhere)
    "rx10": 10.0,  # RxNorm 197381 + ATC
    "rx20": 20.0,  # RxNorm 197382 + ATC
    "rx10only": 10.0,  # RxNorm 197381 alone
    "contained10": 10.0,  # contained Medication (#med1) with ingredient strength 10 mg / tablet
    "contained20": 20.0,  # contained Medication (#med1), Baclocur-like 20 mg tablet
    "text": None,  # text only: "Baclofène 10 mg comprimé" (use mg doses with it)
}

# French drug codes (issue 13). Systems as French FHIR profiles send them; the products are in
# the fixture BDPM subset (terminology/bdpm, official layout) or the fixture formulary. The
# baclofen CIP codes are the real ones of the product table; the other CIS / CIP / UCD codes
# are illustrative (right shape, not checked against the live BDPM).
SYS_CIS = "https://smt.esante.gouv.fr/terminologie-bdpm"
SYS_CIS_OID = "urn:oid:1.2.250.1.213.2.3.1"
SYS_CIP_UCD = "https://smt.esante.gouv.fr/terminologie-cip_ucd"
SYS_CIP_OID = "urn:oid:1.2.250.1.213.2.3.2"
SYS_UCD = "http://data.esante.gouv.fr/ansm/medicament/UCD"
SYS_LOCAL_CIP = "https://ehr.example-hospital.fr/fhir/sid/cip"  # unknown to the service: read by shape
SYS_LIVRET = "https://ehr.example-hospital.fr/fhir/sid/livret-pharmacie"  # local formulary codes
FR_TERMINOLOGY = {"bdpm": "terminology/bdpm", "formulary": "terminology/formulary.csv"}
# key -> (system, code, display, French dosage text); no ATC, no RxNorm, no free text.
FR_DRUG: dict[str, tuple[str, str, str, str]] = {
    "lasilix": (SYS_CIP_UCD, "3400931170410", "LASILIX 40 mg, comprimé sécable", "1 comprimé le matin"),
    "amlor": (SYS_CIS, "69000002", "AMLOR 5 mg, gélule", "1 gélule le soir"),
    "laroxyl": (SYS_LOCAL_CIP, "3400930000201", "LAROXYL 25 mg, comprimé pelliculé", "1 comprimé au coucher"),
    "zopiclone_ucd": (SYS_UCD, "3400890000017", "ZOPICLONE 7,5 mg cp", "1 comprimé au coucher"),
    "modopar": (SYS_CIS_OID, "69000005", "MODOPAR 125 (100 mg/25 mg), gélule", "1 gélule 3 fois par jour"),
    "methadone": (SYS_CIP_OID, "3400930000409", "METHADONE AP-HP 40 mg, gélule", "60 mg le matin"),
    "mopral": (SYS_CIP_UCD, "3400930000508", "MOPRAL 20 mg, gélule gastro-résistante", "1 gélule le matin"),
    "tramadol_livret": (SYS_LIVRET, "PH-0427", "Tramadol 50 mg gél (livret)", "1 gélule 3 fois par jour"),
    "unknown_cip": (SYS_CIP_UCD, "3400939999996", "", "1 comprimé le matin"),
    "unknown_local": (SYS_LIVRET, "PH-9999", "Spécialité hors livret", "1 sachet le soir"),
}
# Baclofen orders coded only by a French code: variant -> (system, code, display)
FR_BACLOFEN: dict[str, tuple[str, str, str]] = {
    "fr-lioresal-cip13": (SYS_CIP_UCD, "3400931716181", "LIORESAL 10 mg, comprimé sécable"),
    "fr-generic-cis": (SYS_CIS, "69000015", "BACLOFENE EXEMPLE 10 mg, comprimé sécable"),
    "fr-baclocur10-cis": (SYS_CIS, "69000011", "BACLOCUR 10 mg, comprimé pelliculé sécable"),
    "fr-baclocur20-cip13": (SYS_CIP_OID, "3400930163597", "BACLOCUR 20 mg, comprimé pelliculé sécable"),
    "fr-baclocur30-cip13": (SYS_CIP_UCD, "3400930186886", "BACLOCUR 30 mg, comprimé pelliculé sécable"),
    "fr-baclocur40-cip7": (SYS_CIP_OID, "3016366", "BACLOCUR 40 mg, comprimé pelliculé sécable"),
    "fr-baclocur30-ucd": (SYS_UCD, "3400890000024", "BACLOCUR 30 mg cp pell séc (UCD)"),
}

PRACTITIONERS = {
    "addicto": "pra-lambert-addictologie",
    "gp": "pra-moreau-medecine-generale",
    "hepato": "pra-nguyen-hepatogastro",
    "psy": "pra-da-silva-psychiatrie",
    "neuro": "pra-girard-neurologie",
    "csapa": "pra-benali-csapa",
}

# Rule catalogue (spec/rtu-rules.md) — every expected code must be one of these.
RULE_CODES = [
    "dose-over-max",
    "dose-collegial",
    "dose-specialist",
    "titration-start",
    "titration-step",
    "titration-interval",
    "titration-intakes",
    "plan-next-dose",
    "renal-severe",
    "renal-moderate",
    "renal-unknown",
    "ci-epilepsy",
    "ci-hypersensitivity",
    "ci-gluten",
    "ci-pregnancy",
    "ci-breastfeeding",
    "pr-psychosis",
    "pr-confusion",
    "pr-depression",
    "pr-cerebrovascular",
    "pr-respiratory",
    "pr-withdrawal-seizures",
    "pr-urinary",
    "pr-hepatic",
    "ix-diuretic",
    "ix-antihypertensive",
    "ix-tricyclic",
    "ix-cns-depressant",
    "ix-levodopa",
    "comed-unidentified",
    "rtu-register",
    "monitoring",
    "indication-missing",
    "indication-amm",
    "dose-unknown",
    "data-unavailable",
]
CRITICAL_CODES = {
    "dose-over-max",
    "renal-severe",
    "ci-epilepsy",
    "ci-hypersensitivity",
    "ci-gluten",
    "ci-pregnancy",
    "ci-breastfeeding",
}
# Always expected on an in-scope RTU order (alcohol dependence, or no indication) — rtu-2014.
FRAME = ["rtu-register", "monitoring", "plan-next-dose"]
CONTRAINDICATIONS = {"renal-severe", "ci-epilepsy", "ci-hypersensitivity", "ci-gluten", "ci-pregnancy",
                     "ci-breastfeeding"}
SELECT_SILENT = ["rtu-register", "monitoring"]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------
def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def paris_offset(d: date) -> str:
    """UTC offset of Europe/Paris on day d (summer time between the last Sundays of Mar/Oct)."""
    return "+02:00" if _last_sunday(d.year, 3) <= d < _last_sunday(d.year, 10) else "+01:00"


def stable_hex(*parts: str, n: int = 8) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:n]


def stable_uuid4(name: str) -> str:
    """A version-4 (random-format) UUID, deterministic per scenario so builds are idempotent."""
    rnd = random.Random(hashlib.sha256(("hookInstance|" + name).encode()).digest())  # noqa: S311
    return str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def nir(sex_digit: int, birth: date, dept: str, commune: int, order: int) -> str:
    """A syntactically valid (fictitious) 15-digit NIR with its control key."""
    body = f"{sex_digit}{birth.year % 100:02d}{birth.month:02d}{dept}{commune:03d}{order:03d}"
    key = 97 - int(body) % 97
    return f"{body}{key:02d}"


CITIES = {  # city -> (department, postal code)
    "Lyon": ("69", "69003"),
    "Paris": ("75", "75012"),
    "Marseille": ("13", "13005"),
    "Lille": ("59", "59000"),
    "Bordeaux": ("33", "33000"),
    "Nantes": ("44", "44000"),
    "Toulouse": ("31", "31000"),
    "Strasbourg": ("67", "67000"),
    "Rennes": ("35", "35000"),
    "Montpellier": ("34", "34000"),
    "Grenoble": ("38", "38000"),
    "Nice": ("06", "06000"),
    "Rouen": ("76", "76000"),
    "Dijon": ("21", "21000"),
    "Tours": ("37", "37000"),
    "Brest": ("29", "29200"),
    "Amiens": ("80", "80000"),
    "Nancy": ("54", "54000"),
    "Clermont-Ferrand": ("63", "63000"),
    "Limoges": ("87", "87000"),
    "Reims": ("51", "51100"),
    "Caen": ("14", "14000"),
    "Metz": ("57", "57000"),
    "Angers": ("49", "49000"),
    "Poitiers": ("86", "86000"),
    "Besançon": ("25", "25000"),
    "Perpignan": ("66", "66000"),
}


def ckd_epi_2021(scr_mg_dl: float, age: int, sex: str) -> float:
    """CKD-EPI 2021 (race-free) eGFR in mL/min/1.73 m2."""
    female = sex == "female"
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = scr_mg_dl / kappa
    egfr = 142 * min(ratio, 1) ** alpha * max(ratio, 1) ** -1.200 * 0.9938**age
    return egfr * (1.012 if female else 1.0)


def qty(value: float, unit: str, code: str, system: str = UCUM) -> dict[str, Any]:
    v: float | int = int(value) if float(value).is_integer() else value
    return {"value": v, "unit": unit, "system": system, "code": code}


def fmt_mg(x: float) -> str:
    return (str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")) + " mg"


# --------------------------------------------------------------------------------------------
# Dosage lines
# --------------------------------------------------------------------------------------------
WHEN_FR = {"MORN": "matin", "NOON": "midi", "AFT": "après-midi", "EVE": "soir", "NIGHT": "nuit", "HS": "coucher"}
CODE_INTAKES = {"QD": 1, "BID": 2, "TID": 3, "QID": 4}
CODE_FR = {"QD": "1 fois par jour", "BID": "2 fois par jour", "TID": "3 fois par jour", "QID": "4 fois par jour"}


@dataclass
class L:
    """One dosage line. Exactly one of mg / tabs / g / ug (or none: dose not stated).

    per: int n (repeat.frequency n per 1 d) | "QD"/"BID"/"TID"/"QID" (timing.code) |
         list of `when` codes | list of "HH:MM:SS" (timeOfDay) | None (no timing).
    seq: Dosage.sequence; bounds: (start_offset_days, end_offset_days|None) relative to the
    evaluation date for timing.repeat.boundsPeriod; duration: boundsDuration in days.
    """

    mg: float | None = None
    per: Any = "TID"
    tabs: float | None = None
    g: float | None = None
    ug: float | None = None
    seq: int | None = None
    bounds: tuple[int, int | None] | None = None
    duration: int | None = None
    text: str | None = None
    prn: bool = False
    route: dict[str, Any] | None = None

    def intakes(self) -> int | None:
        if isinstance(self.per, int):
            return self.per
        if isinstance(self.per, str):
            return CODE_INTAKES[self.per]
        if isinstance(self.per, list):
            return len(self.per)
        return None

    def mg_per_intake(self, strength: float | None) -> float | None:
        if self.mg is not None:
            return self.mg
        if self.g is not None:
            return self.g * 1000
        if self.ug is not None:
            return self.ug / 1000
        if self.tabs is not None and strength is not None:
            return self.tabs * strength
        return None

    def _per_text(self) -> str:
        if isinstance(self.per, int):
            return f"{self.per} fois par jour"
        if isinstance(self.per, str):
            return CODE_FR[self.per]
        if isinstance(self.per, list) and self.per and ":" in self.per[0]:
            return "à " + ", ".join(t[:5].replace(":", "h") for t in self.per)
        if isinstance(self.per, list):
            return "le " + ", ".join(WHEN_FR[w] for w in self.per)
        return ""

    def fhir(self, today: date) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.seq is not None:
            d["sequence"] = self.seq
        if self.tabs is not None:
            amount = (
                "1/2 comprimé" if self.tabs == 0.5 else f"{self.tabs:g} comprimé" + ("s" if self.tabs >= 2 else "")
            ).replace(".", ",")
        elif self.g is not None:
            amount = f"{self.g:g} g".replace(".", ",")
        elif self.ug is not None:
            amount = f"{self.ug:g} µg"
        elif self.mg is not None:
            amount = fmt_mg(self.mg)
        else:
            amount = ""
        d["text"] = self.text or f"{amount} {self._per_text()}".strip()
        timing: dict[str, Any] = {}
        repeat: dict[str, Any] = {}
        if self.bounds is not None:
            start, end = self.bounds
            period = {"start": (today + timedelta(days=start)).isoformat()}
            if end is not None:
                period["end"] = (today + timedelta(days=end)).isoformat()
            repeat["boundsPeriod"] = period
        if self.duration is not None:
            repeat["boundsDuration"] = qty(self.duration, "jours", "d")
        if isinstance(self.per, int):
            repeat.update({"frequency": self.per, "period": 1, "periodUnit": "d"})
        elif isinstance(self.per, list) and self.per and ":" in self.per[0]:
            repeat["timeOfDay"] = list(self.per)
        elif isinstance(self.per, list):
            repeat["when"] = list(self.per)
        if repeat:
            timing["repeat"] = repeat
        if isinstance(self.per, str):
            timing["code"] = {"coding": [{"system": GTS, "code": self.per}], "text": CODE_FR[self.per]}
        if timing:
            d["timing"] = timing
        if self.prn:
            d["asNeededBoolean"] = True
        d["route"] = self.route or ROUTE_ORAL
        q = None
        if self.mg is not None:
            q = qty(self.mg, "mg", "mg")
        elif self.g is not None:
            q = qty(self.g, "g", "g")
        elif self.ug is not None:
            q = qty(self.ug, "µg", "ug")
        elif self.tabs is not None:
            q = qty(self.tabs, "comprimé", "TAB", ORDERABLE_FORM)
        if q is not None:
            d["doseAndRate"] = [
                {
                    "type": {"coding": [{"system": DOSE_RATE_TYPE, "code": "ordered", "display": "Ordered"}]},
                    "doseQuantity": q,
                }
            ]
        return d


def tid(mg: float, **kw: Any) -> list[L]:
    """Equal doses three times a day, as one line."""
    return [L(mg, "TID", **kw)]


def split3(m: float, n: float, e: float, seq: int | None = 1, **kw: Any) -> list[L]:
    """Morning / noon / evening doses as three lines of the same sequence (summed)."""
    return [L(m, ["MORN"], seq=seq, **kw), L(n, ["NOON"], seq=seq, **kw), L(e, ["EVE"], seq=seq, **kw)]


def daily_mg(lines: list[L], strength: float | None) -> float | None:
    total = 0.0
    for ln in lines:
        mpi, n = ln.mg_per_intake(strength), ln.intakes()
        if mpi is None or n is None:
            return None
        total += mpi * n
    return total


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------
@dataclass
class Patient:
    family: str
    given: str
    birth: str
    gender: str
    city: str = "Lyon"
    ins: bool = True


@dataclass
class Scn:
    name: str
    title: str
    description: str
    when: str  # evaluation date-time, local Paris time "YYYY-MM-DDTHH:MM"
    patient: Patient
    hook: str = "order-sign"
    prescriber: str = "addicto"
    must: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    no_cards: bool = False
    critical: bool = False
    status: int = 200
    # prefetch content (None -> JSON null; "OO" -> OperationOutcome)
    conditions: Any = field(default_factory=list)
    meds: Any = field(default_factory=list)
    observations: Any = field(default_factory=list)
    allergies: Any = field(default_factory=list)
    statements: Any = field(default_factory=list)  # MedicationStatements (co-medications only)
    patient_prefetch_failed: bool = False
    drafts: list[dict[str, Any]] = field(default_factory=list)
    selections: list[str] | None = None
    # what the suggestions must respect (issue 11): max_mg (no suggested step above it), taper
    # (a decreasing schedule is offered), delete (a delete action is / is not offered), dose
    # (False: no dose suggestion at all)
    suggest: dict[str, Any] | None = None
    # French terminology the service must have loaded (paths relative to fhir_fixtures/):
    # {"bdpm": "terminology/bdpm", "formulary": "terminology/formulary.csv"}
    terminology: dict[str, str] | None = None
    _n: int = 0

    # -- identities ---------------------------------------------------------------------------
    @property
    def pid(self) -> str:
        return "pat-" + stable_hex("patient", self.name)

    @property
    def eid(self) -> str:
        return "enc-" + stable_hex("encounter", self.name)

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.when)

    @property
    def today(self) -> date:
        return self.now.date()

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{stable_hex(self.name, prefix, str(self._n), n=6)}"

    def day(self, offset: int) -> str:
        return (self.today + timedelta(days=offset)).isoformat()

    def dtm(self, offset: int, hhmm: str = "09:00") -> str:
        d = self.today + timedelta(days=offset)
        return f"{d.isoformat()}T{hhmm}:00{paris_offset(d)}"

    @property
    def authored(self) -> str:
        return f"{self.now.strftime('%Y-%m-%dT%H:%M')}:00{paris_offset(self.today)}"

    def ref(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.pid}"}

    def age(self) -> int:
        b = date.fromisoformat(self.patient.birth)
        t = self.today
        return t.year - b.year - int((t.month, t.day) < (b.month, b.day))

    # -- resources ------------------------------------------------------------------------------
    def cond(
        self,
        key: str,
        onset: int = -365,
        status: str = "active",
        category: str = "problem-list-item",
        cid: str | None = None,
        verification: str = "confirmed",
    ) -> str:
        icd, icd_disp, sct, sct_disp, text = COND[key]
        coding = []
        if icd:
            coding.append({"system": ICD10, "code": icd, "display": icd_disp})
        if sct:
            coding.append({"system": SCT, "code": sct, "display": sct_disp})
        cid = cid or self._id("cond")
        res = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": {"coding": [{"system": COND_CLINICAL, "code": status}]},
            "verificationStatus": {"coding": [{"system": COND_VER, "code": verification}]},
            "category": [{"coding": [{"system": COND_CAT, "code": category}]}],
            "code": {"coding": coding, "text": text},
            "subject": self.ref(),
            "onsetDateTime": self.day(onset),
            "recordedDate": self.dtm(onset, "11:20"),
        }
        if status == "resolved":
            res["abatementDateTime"] = self.day(onset + 30)
        self.conditions.append(res)
        return cid

    def _obs(
        self, loinc: str, display: str, text: str, offset: int, value: dict[str, Any], category: str = "laboratory"
    ) -> dict[str, Any]:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self._id("obs"),
            "status": "final",
            "category": [{"coding": [{"system": OBS_CAT, "code": category}]}],
            "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": text},
            "subject": self.ref(),
            "effectiveDateTime": self.dtm(offset, "08:10"),
            "issued": self.dtm(offset, "14:45"),
        }
        res.update(value)
        self.observations.append(res)
        return res

    def egfr(self, value: float, offset: int, loinc: str = "62238-1") -> None:
        disp = {
            "62238-1": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in "
            "Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
            "98979-8": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in "
            "Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
        }[loinc]
        self._obs(
            loinc,
            disp,
            "DFG estimé (CKD-EPI)",
            offset,
            {"valueQuantity": qty(value, "mL/min/1,73 m²", "mL/min/{1.73_m2}")},
        )

    def creat_umol(self, value: float, offset: int) -> None:
        self._obs(
            "14682-9",
            "Creatinine [Moles/volume] in Serum or Plasma",
            "Créatininémie",
            offset,
            {"valueQuantity": qty(value, "µmol/L", "umol/L")},
        )

    def creat_mgdl(self, value: float, offset: int) -> None:
        self._obs(
            "2160-0",
            "Creatinine [Mass/volume] in Serum or Plasma",
            "Créatininémie",
            offset,
            {"valueQuantity": qty(value, "mg/dL", "mg/dL")},
        )

    def weight(self, kg: float, offset: int) -> None:
        self._obs(
            "29463-7", "Body weight", "Poids", offset, {"valueQuantity": qty(kg, "kg", "kg")}, category="vital-signs"
        )

    def pregnancy_obs(self, pregnant: bool, offset: int) -> None:
        val = (
            {"system": SCT, "code": "77386006", "display": "Pregnant"}
            if pregnant
            else {"system": SCT, "code": "60001007", "display": "Not pregnant"}
        )
        self._obs(
            "82810-3",
            "Pregnancy status",
            "Statut de grossesse",
            offset,
            {"valueCodeableConcept": {"coding": [val], "text": "Enceinte" if pregnant else "Non enceinte"}},
            category="social-history",
        )

    def allergy(self, what: str, offset: int = -2000) -> None:
        if what == "baclofen":
            code = {"coding": [BACLOFEN_RX_IN, BACLOFEN_SCT_SUBST, BACLOFEN_ATC], "text": "Baclofène"}
            reaction = ("271807003", "Eruption of skin", "Éruption cutanée prurigineuse")
            crit = "high"
        elif what == "penicillin":
            code = {"coding": [{"system": SCT, "code": "764146007", "display": "Penicillin"}], "text": "Pénicillines"}
            reaction = ("247472004", "Weal", "Urticaire")
            crit = "low"
        else:
            raise ValueError(what)
        self.allergies.append(
            {
                "resourceType": "AllergyIntolerance",
                "id": self._id("alg"),
                "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
                "verificationStatus": {"coding": [{"system": ALLERGY_VER, "code": "confirmed"}]},
                "type": "allergy",
                "category": ["medication"],
                "criticality": crit,
                "code": code,
                "patient": self.ref(),
                "recordedDate": self.dtm(offset, "10:00"),
                "reaction": [
                    {
                        "manifestation": [
                            {
                                "coding": [{"system": SCT, "code": reaction[0], "display": reaction[1]}],
                                "text": reaction[2],
                            }
                        ],
                        "severity": "moderate",
                    }
                ],
            }
        )

    def comed(self, key: str, status: str = "active", offset: int = -120, prescriber: str = "gp") -> None:
        atc, disp, text, dtext = DRUG[key]
        res = {
            "resourceType": "MedicationRequest",
            "id": self._id("mr"),
            "status": status,
            "intent": "order",
            "category": [{"coding": [{"system": MR_CAT, "code": "community"}]}],
            "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc, "display": disp}], "text": text},
            "subject": self.ref(),
            "authoredOn": self.dtm(offset, "10:40"),
            "requester": {"reference": f"Practitioner/{PRACTITIONERS[prescriber]}"},
            "dosageInstruction": [{"text": dtext, "route": ROUTE_ORAL}],
        }
        self.meds.append(res)

    def comed_fr(self, key: str, status: str = "active", offset: int = -120) -> None:
        """A co-medication coded only by a French code (CIS, CIP13, UCD or a local code)."""
        system, code, display, dtext = FR_DRUG[key]
        res = {
            "resourceType": "MedicationRequest",
            "id": self._id("mr"),
            "status": status,
            "intent": "order",
            "category": [{"coding": [{"system": MR_CAT, "code": "community"}]}],
            "medicationCodeableConcept": {"coding": [{"system": system, "code": code,
                                                      **({"display": display} if display else {})}]},
            "subject": self.ref(),
            "authoredOn": self.dtm(offset, "10:40"),
            "requester": {"reference": f"Practitioner/{PRACTITIONERS['gp']}"},
            "dosageInstruction": [{"text": dtext, "route": ROUTE_ORAL}],
        }
        self.meds.append(res)

    def _baclofen_med(self, variant: str, res: dict[str, Any]) -> None:
        if variant in FR_BACLOFEN:
            system, code, display = FR_BACLOFEN[variant]
            res["medicationCodeableConcept"] = {"coding": [{"system": system, "code": code, "display": display}]}
            return
        if variant == "atc10":
            res["medicationCodeableConcept"] = {"coding": [BACLOFEN_ATC], "text": "Baclofène 10 mg comprimé sécable"}
        elif variant == "atc":
            res["medicationCodeableConcept"] = {"coding": [BACLOFEN_ATC], "text": "Baclofène"}
        elif variant == "rx10":
            res["medicationCodeableConcept"] = {
                "coding": [BACLOFEN_RX10, BACLOFEN_ATC],
                "text": "Baclofène 10 mg comprimé sécable",
            }
        elif variant == "rx20":
            res["medicationCodeableConcept"] = {
                "coding": [BACLOFEN_RX20, BACLOFEN_ATC],
                "text": "Baclofène 20 mg comprimé",
            }
        elif variant == "rx10only":
            res["medicationCodeableConcept"] = {"coding": [BACLOFEN_RX10], "text": "Liorésal 10 mg comprimé sécable"}
        elif variant == "text":
            res["medicationCodeableConcept"] = {"text": "Baclofène 10 mg comprimé"}
        elif variant in ("contained10", "contained20"):
            mg = 10 if variant == "contained10" else 20
            res["contained"] = [
                {
                    "resourceType": "Medication",
                    "id": "med1",
                    "code": {
                        "coding": [BACLOFEN_ATC],
                        "text": f"Baclofène {mg} mg, comprimé" + (" sécable" if mg == 10 else ""),
                    },
                    "form": {
                        "coding": [{"system": ORDERABLE_FORM, "code": "TAB", "display": "Tablet"}],
                        "text": "comprimé",
                    },
                    "ingredient": [
                        {
                            "itemCodeableConcept": {
                                "coding": [BACLOFEN_RX_IN, BACLOFEN_SCT_SUBST],
                                "text": "baclofène",
                            },
                            "isActive": True,
                            "strength": {
                                "numerator": qty(mg, "mg", "mg"),
                                "denominator": qty(1, "comprimé", "TAB", ORDERABLE_FORM),
                            },
                        }
                    ],
                }
            ]
            res["medicationReference"] = {"reference": "#med1", "display": f"Baclofène {mg} mg"}
        elif variant == "ref10":  # a separate Medication resource, brought by `_include`
            med = self.medication("baclofen10", self.meds)
            res["medicationReference"] = {"reference": f"Medication/{med['id']}", "display": "Baclofène 10 mg"}
        else:
            raise ValueError(variant)

    def medication(self, key: str, into: list[dict[str, Any]]) -> dict[str, Any]:
        """A Medication resource (once per product and list), as a search's `_include` brings it."""
        if key == "baclofen10":
            code = {"coding": [BACLOFEN_ATC], "text": "Baclofène 10 mg, comprimé sécable"}
            ingredient = [{"itemCodeableConcept": {"coding": [BACLOFEN_RX_IN, BACLOFEN_SCT_SUBST], "text": "baclofène"},
                           "isActive": True,
                           "strength": {"numerator": qty(10, "mg", "mg"),
                                        "denominator": qty(1, "comprimé", "TAB", ORDERABLE_FORM)}}]
        else:
            atc, disp, text, _ = DRUG[key]
            code = {"coding": [{"system": ATC, "code": atc, "display": disp}], "text": text}
            ingredient = []
        mid = "med-" + stable_hex(self.name, "medication", key, n=8)
        for existing in into:
            if existing["resourceType"] == "Medication" and existing["id"] == mid:
                return existing
        res: dict[str, Any] = {"resourceType": "Medication", "id": mid, "code": code}
        if ingredient:
            res["form"] = {"coding": [{"system": ORDERABLE_FORM, "code": "TAB", "display": "Tablet"}],
                           "text": "comprimé"}
            res["ingredient"] = ingredient
        into.append(res)
        return res

    def statement(self, key: str, status: str = "active", offset: int = -30, by_reference: bool = False,
                  dosage: str | None = None) -> None:
        """A MedicationStatement (what the patient reports taking), coded by ATC or pointing to a
        Medication resource."""
        res: dict[str, Any] = {"resourceType": "MedicationStatement", "id": self._id("ms"), "status": status}
        if by_reference:
            med = self.medication(key, self.statements)
            res["medicationReference"] = {"reference": f"Medication/{med['id']}", "display": med["code"]["text"]}
        elif key == "baclofen10":
            res["medicationCodeableConcept"] = {"coding": [BACLOFEN_ATC], "text": "Baclofène 10 mg comprimé sécable"}
        else:
            atc, disp, text, _ = DRUG[key]
            res["medicationCodeableConcept"] = {"coding": [{"system": ATC, "code": atc, "display": disp}],
                                                "text": text}
        res["subject"] = self.ref()
        res["effectiveDateTime"] = self.dtm(offset, "09:30")
        res["dateAsserted"] = self.dtm(-1, "10:00")
        res["informationSource"] = self.ref()
        res["dosage"] = [{"text": dosage or DRUG.get(key, ("", "", "", "selon prescription"))[3]}]
        self.statements.append(res)

    def baclofen(
        self,
        lines: list[L],
        *,
        status: str,
        offset: int,
        med: str = "atc10",
        reason: str | None = "icd",
        reason_ref: str | None = None,
        draft: bool = False,
        prescriber: str | None = None,
        supply_days: int = 14,
    ) -> dict[str, Any]:
        """A baclofen MedicationRequest; `offset` = authoredOn relative to the evaluation date."""
        authored_day = self.today + timedelta(days=offset)
        res: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": self._id("mr-draft" if draft else "mr"),
            "status": status,
            "intent": "order",
            "category": [{"coding": [{"system": MR_CAT, "code": "outpatient"}]}],
        }
        self._baclofen_med(med, res)
        res["subject"] = self.ref()
        if draft:
            res["encounter"] = {"reference": f"Encounter/{self.eid}"}
            res["authoredOn"] = self.authored
        else:
            res["authoredOn"] = self.dtm(offset, "11:05")
        res["requester"] = {"reference": f"Practitioner/{PRACTITIONERS[prescriber or self.prescriber]}"}
        if reason_ref:
            res["reasonReference"] = [{"reference": f"Condition/{reason_ref}"}]
        elif reason == "icd":
            res["reasonCode"] = [
                {
                    "coding": [{"system": ICD10, "code": "F10.2", "display": COND["alcohol_dep"][1]}],
                    "text": "Alcoolo-dépendance (RTU baclofène)",
                }
            ]
        elif reason == "sct":
            res["reasonCode"] = [
                {
                    "coding": [{"system": SCT, "code": "66590003", "display": "Alcohol dependence"}],
                    "text": "Dépendance à l'alcool",
                }
            ]
        elif reason == "ms":
            res["reasonCode"] = [
                {
                    "coding": [
                        {"system": ICD10, "code": "G35", "display": "Multiple sclerosis"},
                        {"system": SCT, "code": "24700007", "display": "Multiple sclerosis"},
                    ],
                    "text": "Spasticité — sclérose en plaques",
                }
            ]
        elif reason is not None:
            raise ValueError(reason)
        res["dosageInstruction"] = [ln.fhir(self.today) for ln in lines]
        res["dispenseRequest"] = {
            "validityPeriod": {
                "start": authored_day.isoformat(),
                "end": (authored_day + timedelta(days=90)).isoformat(),
            },
            "expectedSupplyDuration": qty(supply_days, "jours", "d"),
        }
        if draft:
            self.drafts.append(res)
        else:
            self.meds.append(res)
        return res

    def draft(self, lines: list[L], **kw: Any) -> dict[str, Any]:
        return self.baclofen(lines, status="draft", offset=0, draft=True, **kw)

    def current(
        self,
        lines: list[L],
        offset: int,
        start: int | None = None,
        end: int | None = None,
        status: str = "active",
        **kw: Any,
    ) -> dict[str, Any]:
        """A non-draft baclofen order authored `offset` days ago. If `start` is given, every
        line gets timing.repeat.boundsPeriod.start (and end) at that offset."""
        if start is not None:
            for ln in lines:
                ln.bounds = (start, end)
        kw.setdefault("reason", "icd")
        return self.baclofen(lines, status=status, offset=offset, **kw)

    def history(self, mg_tid: float, start: int, end: int, status: str = "completed", med: str = "atc10") -> None:
        """An old, finished baclofen order (3 equal intakes), bounded by start/end offsets."""
        self.current(tid(mg_tid), offset=start, start=start, end=end, status=status, med=med)

    def custom_draft(self, res: dict[str, Any]) -> None:
        self.drafts.append(res)

    def baseline(
        self,
        egfr: float | None = 92,
        egfr_days: int = -21,
        cond: str = "alcohol_dep",
        weight: float | None = 74,
        thiamine: bool = True,
    ) -> None:
        """The usual background: alcohol dependence on the problem list, a recent normal eGFR,
        thiamine, a body weight."""
        if cond:
            self.cond(cond, onset=-800)
        if egfr is not None:
            self.egfr(egfr, egfr_days)
        if weight is not None:
            self.weight(weight, -10)
        if thiamine:
            self.comed("thiamine", offset=-200)

    # -- output ---------------------------------------------------------------------------------
    def _bundle(self, rtype: str, items: Any, query: str) -> Any:
        if items is None:
            return None
        if items == "OO":
            return {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": "timeout",
                        "diagnostics": f"Prefetch of {rtype}?{query} timed out after 1500 ms",
                    }
                ],
            }
        b: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": "bundle-" + stable_hex(self.name, rtype, n=10),
            "type": "searchset",
            "total": len(items),
            "link": [{"relation": "self", "url": f"{FHIR_BASE}/{rtype}?{query}"}],
        }
        if items:  # a Medication is what `_include` brings along: not a match, not counted
            b["total"] = sum(1 for r in items if r["resourceType"] != "Medication")
            b["entry"] = [
                {"fullUrl": f"{FHIR_BASE}/{r['resourceType']}/{r['id']}", "resource": r,
                 "search": {"mode": "include" if r["resourceType"] == "Medication" else "match"}}
                for r in items
            ]
        return b

    def patient_resource(self) -> dict[str, Any]:
        p = self.patient
        b = date.fromisoformat(p.birth)
        dept, postal = CITIES[p.city]
        ident = []
        if p.ins:
            sex_digit = 2 if p.gender == "female" else 1
            ident.append(
                {
                    "use": "official",
                    "system": INS_SYSTEM,
                    "value": nir(
                        sex_digit,
                        b,
                        dept,
                        100 + int(stable_hex(self.name, n=2), 16),
                        int(stable_hex(self.name, "o", n=3), 16) % 999 + 1,
                    ),
                }
            )
        ident.append({"use": "usual", "system": IPP_SYSTEM, "value": str(int(stable_hex(self.name, "ipp", n=7), 16))})
        return {
            "resourceType": "Patient",
            "id": self.pid,
            "identifier": ident,
            "active": True,
            "name": [{"use": "official", "family": p.family, "given": [p.given]}],
            "gender": p.gender,
            "birthDate": p.birth,
            "address": [{"use": "home", "city": p.city, "postalCode": postal, "country": "FR"}],
        }

    def request(self) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "userId": f"Practitioner/{PRACTITIONERS[self.prescriber]}",
            "patientId": self.pid,
            "encounterId": self.eid,
        }
        if self.hook == "order-select":
            ctx["selections"] = self.selections or [f"MedicationRequest/{self.drafts[0]['id']}"]
        ctx["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in self.drafts],
        }
        q = f"patient={self.pid}"
        prefetch = {
            "patient": (
                {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "exception",
                            "diagnostics": "Patient read failed: upstream MPI unavailable",
                        }
                    ],
                }
                if self.patient_prefetch_failed
                else self.patient_resource()
            ),
            "conditions": self._bundle("Condition", self.conditions, q),
            "medications": self._bundle("MedicationRequest", self.meds, q),
            "observations": self._bundle(
                "Observation",
                self.observations,
                q + "&code=http://loinc.org|14682-9,2160-0,62238-1,98979-8,82810-3,29463-7",
            ),
            "allergies": self._bundle("AllergyIntolerance", self.allergies, q),
            "medicationStatements": self._bundle(
                "MedicationStatement", self.statements, q + "&status=active,intended,on-hold"
            ),
        }
        return {
            "hook": self.hook,
            "hookInstance": stable_uuid4(self.name),
            "fhirServer": FHIR_BASE,
            "context": ctx,
            "prefetch": prefetch,
        }

    def expected_yaml(self) -> str:
        def flow(xs: list[str]) -> str:
            return "[" + ", ".join(xs) + "]"

        service = "baclofen-rtu-select" if self.hook == "order-select" else "baclofen-rtu"
        lines = [
            f"title: {json.dumps(self.title, ensure_ascii=False)}",
            f"description: {json.dumps(' '.join(self.description.split()), ensure_ascii=False)}",
            f"service: {service}",
            f"status: {self.status}",
            f"must: {flow(self.must)}",
            f"must_not: {flow(self.must_not)}",
            f"no_cards: {'true' if self.no_cards else 'false'}",
            f"critical: {'true' if self.critical else 'false'}",
        ]
        if self.suggest is not None:
            lines.append(f"suggest: {json.dumps(self.suggest, sort_keys=True)}")
        if self.terminology is not None:
            lines.append(f"terminology: {json.dumps(self.terminology, sort_keys=True)}")
        return "\n".join(lines) + "\n"

    def sanity(self) -> None:
        unknown = [c for c in self.must + self.must_not if c not in RULE_CODES]
        assert not unknown, (self.name, unknown)
        both = set(self.must) & set(self.must_not)
        assert not both, (self.name, both)
        assert len(set(self.must)) == len(self.must), (self.name, "dup must")
        assert len(set(self.must_not)) == len(self.must_not), (self.name, "dup must_not")
        crit_must = CRITICAL_CODES & set(self.must)
        assert bool(crit_must) == self.critical, (self.name, "critical flag vs must", crit_must)
        if self.no_cards:
            assert not self.must, self.name
        assert self.today.year == 2026, self.name


SCENARIOS: list[Scn] = []


def add(s: Scn) -> Scn:
    SCENARIOS.append(s)
    return s


# --------------------------------------------------------------------------------------------
# Expectation helper
# --------------------------------------------------------------------------------------------
def expect(
    s: Scn,
    must: list[str],
    must_not: list[str],
    *,
    frame: bool = True,
    indication: bool = True,
    dose_known: bool = True,
    full_prefetch: bool = True,
    plan: bool | None = None,
    stable: bool = False,
) -> None:
    """Fill must / must_not / critical.

    stable:        a same-dose renewal held a review interval with nothing above info: no
                   register nor monitoring card (issue 12: only when they change something).

    frame:         the order is an in-scope RTU order -> rtu-register, monitoring, plan-next-dose.
    plan:          plan-next-dose expected (spec "Suggestion safety": during titration only, so
                   not on a stable renewal, and not beside a contraindication); None = from
                   `must` (absent when a contraindication is expected).
    indication:    an alcohol-dependence indication is documented -> indication-missing and
                   indication-amm must stay silent.
    dose_known:    the daily dose is computable -> dose-unknown must stay silent.
    full_prefetch: every prefetch key is a Bundle or null -> data-unavailable must stay silent.
    """
    s.must = list(must) + ([c for c in FRAME if c not in must] if frame else [])
    if stable:
        s.must = [c for c in s.must if c not in ("rtu-register", "monitoring")]
        must_not = [*must_not, "rtu-register", "monitoring"]
    if plan is None:
        plan = not (CONTRAINDICATIONS & set(must))
    if not plan:
        s.must = [c for c in s.must if c != "plan-next-dose"]
        must_not = [*must_not, "plan-next-dose"] if "plan-next-dose" not in must_not else must_not
    extra = []
    if indication:
        extra += ["indication-missing", "indication-amm"]
    if dose_known:
        extra += ["dose-unknown"]
    if full_prefetch:
        extra += ["data-unavailable"]
    s.must_not = list(must_not) + [c for c in extra if c not in must_not and c not in s.must]
    s.critical = bool(CRITICAL_CODES & set(s.must))


def other_draft(s: Scn, key: str, dose: L, reason: tuple[str, str, str, str] | None) -> dict:
    """A draft MedicationRequest for a non-baclofen drug (ATC-coded)."""
    atc, disp, text, _ = DRUG[key]
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": s._id("mr-draft"),
        "status": "draft",
        "intent": "order",
        "category": [{"coding": [{"system": MR_CAT, "code": "outpatient"}]}],
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc, "display": disp}], "text": text},
        "subject": s.ref(),
        "encounter": {"reference": f"Encounter/{s.eid}"},
        "authoredOn": s.authored,
        "requester": {"reference": f"Practitioner/{PRACTITIONERS[s.prescriber]}"},
    }
    if reason:
        system, code, display, rtext = reason
        res["reasonCode"] = [{"coding": [{"system": system, "code": code, "display": display}], "text": rtext}]
    res["dosageInstruction"] = [dose.fhir(s.today)]
    res["dispenseRequest"] = {"expectedSupplyDuration": qty(30, "jours", "d")}
    s.drafts.append(res)
    return res


NO_DOSE = ["dose-specialist", "dose-collegial", "dose-over-max"]


# ============================================================================================
# 1. Dose thresholds — spec "Dose thresholds": specialist >= 120, collegial > 180 or
#    (> 120 and age > 65), over-max > 300. Titration kept clean (+10 mg, >= 3 days, 3 intakes).
# ============================================================================================
s = add(
    Scn(
        "dose-115mg-age40-below-thresholds",
        "115 mg/day at 40: below every dose threshold",
        """Alcohol-dependent man aged 40 on 105 mg/day for 6 days, titrated to 115 mg/day
            (40-35-40 mg as three dosage lines of the same sequence). 115 mg is below the 120 mg
            specialist threshold, so no dose card; the +10 mg step after 6 days respects the
            titration protocol. Only the RTU frame cards (register, monitoring, next dose).""",
        "2026-01-12T10:20",
        Patient("Martin", "Julien", "1985-06-03", "male", "Lyon"),
    )
)
s.baseline(egfr=94)
s.current(split3(30, 35, 30, seq=None), offset=-24, start=-24, end=-6, status="stopped")
s.current(tid(35), offset=-6)
s.draft(split3(40, 35, 40))
expect(s, [], [*NO_DOSE, "titration-step", "titration-interval", "titration-start", "titration-intakes"])

s = add(
    Scn(
        "dose-120mg-age40-specialist",
        "120 mg/day at 40: specialist opinion required (threshold reached)",
        """Man aged 40 going from 110 to 120 mg/day (40 mg three times a day, TID code) after
            4 days. The seed says "à partir de la dose de 120 mg/j" an experienced physician's
            opinion is required: dose-specialist fires at >= 120 mg. Not collegial (120 is not
            > 180 and the patient is not over 65); titration step and interval are correct.""",
        "2026-01-19T09:40",
        Patient("Bernard", "Thomas", "1985-09-14", "male", "Paris"),
    )
)
s.baseline(egfr=101)
s.current(split3(35, 35, 40), offset=-5, start=-4, med="rx10")
s.draft(tid(40), med="rx10", reason="sct")
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-125mg-age40-specialist",
        "125 mg/day at 40: specialist opinion, not collegial",
        """Man aged 40 going from 115 to 125 mg/day (40-40-45 mg) after 7 days. 125 mg is
            >= 120 so dose-specialist fires; it is neither > 180 mg nor > 120 mg after 65, so
            dose-collegial stays silent. Titration is compliant (+10 mg, 7 days).""",
        "2026-01-26T14:05",
        Patient("Petit", "Nicolas", "1985-11-30", "male", "Marseille"),
    )
)
s.baseline(egfr=88)
s.current(split3(35, 40, 40), offset=-7)
s.draft(split3(40, 40, 45))
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-180mg-tablets-specialist-not-collegial",
        "180 mg/day in 20 mg tablets: specialist, not yet collegial",
        """Man aged 47 going from 170 to 180 mg/day, written as 3 tablets of baclofen 20 mg
            (RxNorm 197382) morning, noon and evening: 3 x 20 mg x 3 = 180 mg. Collegial decision
            is required only ABOVE 180 mg/day (seed: "supérieure à 180 mg/jour"), so 180 mg gives
            dose-specialist, not dose-collegial.""",
        "2026-02-02T11:00",
        Patient("Robert", "Sébastien", "1978-04-22", "male", "Lille"),
    )
)
s.baseline(egfr=97)
s.current(split3(55, 55, 60), offset=-9, med="rx20")
s.draft([L(tabs=3, per=["MORN", "NOON", "EVE"])], med="rx20")
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-190mg-collegial",
        "190 mg/day at 49: collegial decision (CSAPA) required",
        """Man aged 49 going from 180 to 190 mg/day (60-60-70 mg) after 10 days. Above
            180 mg/day the seed requires a collegial decision in a CSAPA or specialised addiction
            service: dose-collegial fires and replaces dose-specialist (spec: specialist only
            "and not collegial"). The dose is below the 300 mg maximum.""",
        "2026-02-09T10:30",
        Patient("Richard", "Laurent", "1976-08-05", "male", "Bordeaux"),
        prescriber="csapa",
    )
)
s.baseline(egfr=90)
s.current(tid(60), offset=-10, med="rx20")
s.draft(split3(60, 60, 70), med="rx20")
expect(
    s,
    ["dose-collegial"],
    ["dose-specialist", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-300mg-collegial-at-maximum",
        "300 mg/day (5 x 20 mg TID): at the maximum, collegial but not over max",
        """Man aged 54 going from 290 to 300 mg/day, written as 5 tablets of 20 mg three
            times a day (tablets x RxNorm strength). 300 mg is the maximum authorised dose, not
            above it: dose-over-max stays silent; the dose is > 180 mg so dose-collegial fires
            (not dose-specialist).""",
        "2026-02-16T16:10",
        Patient("Durand", "Philippe", "1971-03-19", "male", "Nantes"),
        prescriber="csapa",
    )
)
s.baseline(egfr=86, weight=88)
s.current(split3(100, 90, 100), offset=-8, med="rx20")
s.draft([L(tabs=5, per="TID")], med="rx20")
expect(
    s,
    ["dose-collegial"],
    ["dose-over-max", "dose-specialist", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-310mg-over-max",
        "310 mg/day: above the 300 mg/day RTU maximum (critical)",
        """Man aged 51 on 300 mg/day for 12 days, draft 310 mg/day (100-100-110 mg). The
            RTU maximum is 300 mg/day: dose-over-max is critical and suggests updating the draft
            to the highest allowed dose. dose-specialist must not fire (the dose is far above
            the collegial threshold); 12 days since the last change, so no
            titration-interval.""",
        "2026-02-23T09:15",
        Patient("Dubois", "Frédéric", "1974-10-11", "male", "Toulouse"),
        prescriber="csapa",
    )
)
s.baseline(egfr=92, weight=91)
s.current(tid(100), offset=-12, med="rx10")
s.draft(split3(100, 100, 110), med="rx10")
# Left out on purpose: dose-collegial (310 > 180: the spec does not say whether it is still
# reported once dose-over-max fires) and titration-step (+10 mg is a normal step, but the
# allowed target may be capped at the 300 mg maximum).
expect(s, ["dose-over-max"], ["dose-specialist", "titration-interval", "titration-start"])

s = add(
    Scn(
        "dose-125mg-age66-collegial",
        "125 mg/day at 66: collegial decision (over 65 and above 120 mg)",
        """Man aged 66 (completed years) going from 115 to 125 mg/day after 6 days. The seed
            requires a collegial decision for any dose above 120 mg/day in a patient over 65:
            dose-collegial fires instead of dose-specialist.""",
        "2026-03-02T10:00",
        Patient("Moreau", "Gérard", "1959-10-20", "male", "Strasbourg"),
    )
)
s.baseline(egfr=78)
s.current(split3(35, 40, 40), offset=-6)
s.draft(split3(40, 40, 45))
expect(
    s,
    ["dose-collegial"],
    ["dose-specialist", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-125mg-age65-specialist",
        "125 mg/day at 65: specialist only (not yet over 65)",
        """Man aged 65 in completed years (66th birthday in July) going from 115 to
            125 mg/day. "Over 65" means age > 65, so the collegial rule for > 120 mg does not
            apply yet: dose-specialist fires, dose-collegial does not.""",
        "2026-03-09T10:45",
        Patient("Laurent", "Jacques", "1960-07-15", "male", "Rennes"),
    )
)
s.baseline(egfr=81)
s.current(split3(35, 40, 40), offset=-5)
s.draft(split3(40, 40, 45))
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-120mg-age66-specialist-not-collegial",
        "120 mg/day at 66: specialist, not collegial (120 is not above 120)",
        """Man aged 66 going from 110 to 120 mg/day. The collegial rule needs a dose
            strictly above 120 mg/day after 65; exactly 120 mg gives dose-specialist
            (threshold >= 120) and no dose-collegial.""",
        "2026-03-16T11:30",
        Patient("Simon", "Alain", "1959-12-01", "male", "Montpellier"),
    )
)
s.baseline(egfr=74)
s.current(split3(35, 35, 40), offset=-4)
s.draft(tid(40))
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)

s = add(
    Scn(
        "dose-renewal-140mg-unchanged-specialist-info",
        "Renewal at an unchanged 140 mg/day: specialist rule as information",
        """Man aged 46 stable on 140 mg/day for 50 days (older 130 mg order stopped); the
            draft renews exactly 140 mg/day. The spec says a renewal at an unchanged dose
            already above a threshold gives the same code as info: dose-specialist is present
            (info). No increase, so no titration step / interval / start card.""",
        "2026-04-07T10:10",
        Patient("Michel", "Christophe", "1980-02-25", "male", "Grenoble"),
    )
)
s.baseline(egfr=99)
s.current(split3(40, 45, 45), offset=-95, start=-95, end=-50, status="stopped")
s.current(split3(45, 45, 50), offset=-50, start=-50)
s.draft(split3(45, 45, 50), supply_days=28)
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
    plan=False,
    stable=True,
)

s = add(
    Scn(
        "dose-schedule-crossing-120mg-specialist",
        "Two-step schedule 110 then 120 mg/day: the second step needs a specialist",
        """Man aged 42 on 100 mg/day for 6 days. The draft is a schedule (sequence 1 with
            boundsPeriod days 0-2: 110 mg; sequence 2 from day 3: 120 mg). Each step is checked:
            the 120 mg step reaches the specialist threshold (dose-specialist); both steps are
            +10 mg at least 3 days apart, so no titration-step / titration-interval.""",
        "2026-04-14T09:50",
        Patient("Garcia", "Antoine", "1983-05-09", "male", "Nice"),
    )
)
s.baseline(egfr=95)
s.current(split3(30, 35, 35), offset=-6)
s.draft([*split3(35, 35, 40, seq=1, bounds=(0, 2)), L(40, "TID", seq=2, bounds=(3, None))])
expect(
    s,
    ["dose-specialist"],
    ["dose-collegial", "dose-over-max", "titration-step", "titration-interval", "titration-start"],
)


# ============================================================================================
# 2. Titration — spec "Titration": start 15 mg/day in 3 intakes; below 30 mg/day up to
#    min(current + 15, 30) after >= 2 days; from 30 mg/day +10 mg after >= 3 days; >= 3 intakes.
# ============================================================================================
s = add(
    Scn(
        "titration-start-15mg-new-patient",
        "New patient started at 15 mg/day (half a tablet three times a day)",
        """Woman aged 36, no baclofen before. The draft uses a contained Medication (10 mg
            tablet) and 0.5 tablet morning, noon and evening = 15 mg/day: exactly the
            recommended start, so titration-start stays silent. A negative pregnancy status is
            on file (no ci-pregnancy).""",
        "2026-04-20T15:20",
        Patient("Roux", "Émilie", "1990-01-28", "female", "Nantes"),
        prescriber="gp",
    )
)
s.baseline(egfr=108, weight=61)
s.pregnancy_obs(False, -3)
s.draft([L(tabs=0.5, per=["MORN", "NOON", "EVE"])], med="contained10")
expect(
    s,
    [],
    ["titration-start", "titration-step", "titration-interval", "titration-intakes", "dose-specialist", "ci-pregnancy"],
)

s = add(
    Scn(
        "titration-start-30mg-no-current",
        "New start at 30 mg/day: too high for a first dose",
        """Man aged 43 with a baclofen course stopped 200 days ago (not a current regimen).
            The draft starts directly at 10 mg three times a day = 30 mg/day; the protocol starts
            at 15 mg/day (5-5-5): titration-start fires and suggests 15 mg/day. There is no
            current dose, so no titration-interval.""",
        "2026-04-27T10:00",
        Patient("Fournier", "David", "1982-12-12", "male", "Toulouse"),
        prescriber="gp",
    )
)
s.baseline(egfr=96)
s.current(tid(20), offset=-260, start=-260, end=-200, status="stopped", med="rx10")
s.draft(tid(10), med="rx10")
# titration-step left out: with no current dose the spec only names titration-start.
expect(s, ["titration-start"], ["titration-interval", "dose-specialist"])

s = add(
    Scn(
        "titration-start-40mg-previous-course-completed",
        "Restart at 40 mg/day three weeks after a completed course",
        """Woman aged 46 whose previous 30 mg/day order was completed 21 days ago (more than
            the 7-day window): she has no current regimen. The draft restarts at 40 mg/day
            (15-10-15 mg): titration-start fires (new dose > 15 mg/day without current
            baclofen).""",
        "2026-05-04T11:15",
        Patient("Girard", "Sophie", "1979-07-07", "female", "Dijon"),
        prescriber="hepato",
    )
)
s.baseline(egfr=89, weight=58)
s.current(tid(10), offset=-50, start=-50, end=-21, status="completed")
s.draft(split3(15, 10, 15))
expect(s, ["titration-start"], ["titration-interval", "dose-specialist"])

s = add(
    Scn(
        "titration-current-from-order-completed-yesterday",
        "Current dose taken from an order completed yesterday (within 7 days)",
        """Man aged 51: a 30 mg/day bridging order authored 5 days ago was completed
            yesterday; by the 7-day policy it is still the current regimen (begun 5 days ago).
            The draft goes to 40 mg/day: a +10 mg step after 5 days, compliant. No
            titration-start (there is a current dose), no step or interval card.""",
        "2026-05-11T10:30",
        Patient("Bonnet", "Marc", "1975-03-03", "male", "Tours"),
    )
)
s.baseline(egfr=93)
s.current(tid(5), offset=-9, start=-9, end=-5, status="stopped")
s.current(tid(10), offset=-5, start=-5, end=-1, status="completed")
s.draft(split3(10, 15, 15))
expect(s, [], ["titration-start", "titration-step", "titration-interval"])

s = add(
    Scn(
        "titration-step-15-to-30-ok",
        "15 to 30 mg/day after 3 days: the protocol's first step",
        """Woman aged 38 on half a 10 mg tablet three times a day (15 mg/day) for 3 days; the
            draft gives one tablet three times a day (30 mg/day). Below 30 mg/day the allowed
            target is min(current + 15, 30) = 30 after at least 2 days: no titration card.""",
        "2026-05-18T09:20",
        Patient("Lambert", "Julie", "1987-10-19", "female", "Brest"),
        prescriber="gp",
    )
)
s.baseline(egfr=111, weight=64)
s.current([L(tabs=0.5, per="TID")], offset=-3, med="rx10")
s.draft([L(tabs=1, per="TID")], med="rx10")
expect(s, [], ["titration-step", "titration-interval", "titration-start", "titration-intakes"])

s = add(
    Scn(
        "titration-step-15-to-35-too-big",
        "15 to 35 mg/day: step too big below 30 mg/day",
        """Man aged 42 on 15 mg/day for 3 days; the draft jumps to 35 mg/day (10-10-15 mg).
            Below 30 mg/day the allowed dose is min(15 + 15, 30) = 30 mg: titration-step fires
            and suggests 30 mg/day. The EHR also returns the draft itself in the medications
            prefetch (status draft), which must not be taken as the current regimen.""",
        "2026-05-26T10:40",
        Patient("Fontaine", "Olivier", "1984-02-14", "male", "Amiens"),
    )
)
s.baseline(egfr=98)
s.current(tid(5), offset=-3)
s.meds.append(copy.deepcopy(s.draft(split3(10, 10, 15))))
expect(s, ["titration-step"], ["titration-interval", "titration-start"])

s = add(
    Scn(
        "titration-step-40-to-50-ok",
        "40 to 50 mg/day after 4 days; a stale older active order is ignored",
        """Man aged 39 on 40 mg/day for 4 days (most recent active order). An older 20 mg/day
            order from 3 months ago was never closed in the EHR and is still 'active': the most
            recent active order is the current one. +10 mg after 4 days is compliant: no
            titration card.""",
        "2026-06-02T11:00",
        Patient("Rousseau", "Mathieu", "1986-09-09", "male", "Nancy"),
    )
)
s.baseline(egfr=102)
s.current(split3(5, 5, 10), offset=-95)
s.current(split3(10, 15, 15), offset=-4, start=-4)
s.draft(split3(15, 15, 20))
expect(s, [], ["titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "titration-step-40-to-60-too-big",
        "40 to 60 mg/day: +20 mg exceeds the +10 mg step",
        """Man aged 45 on 40 mg/day for 4 days; the draft gives one 20 mg tablet three times a
            day (60 mg/day). From 30 mg/day the protocol allows +10 mg/day every 3 days:
            titration-step fires and suggests 50 mg/day. The interval itself is respected.""",
        "2026-06-09T10:05",
        Patient("Vincent", "Guillaume", "1981-01-21", "male", "Rouen"),
    )
)
s.baseline(egfr=91)
s.current(split3(10, 15, 15), offset=-4)
s.draft([L(tabs=1, per="TID")], med="rx20")
expect(s, ["titration-step"], ["titration-interval", "titration-start"])

s = add(
    Scn(
        "titration-interval-30mg-2-days-too-soon",
        "30 to 40 mg/day only 2 days after 30 mg began: too soon",
        """Man aged 35. The current 30 mg/day order was authored 4 days ago but its
            boundsPeriod starts 2 days ago, so the current dose began 2 days ago. From 30 mg/day
            the next increase needs at least 3 days: titration-interval fires (keep 30 mg until
            the suggested date). The +10 mg step size is fine.""",
        "2026-06-16T09:30",
        Patient("Muller", "Kevin", "1991-05-30", "male", "Metz"),
    )
)
s.baseline(egfr=118)
s.current(tid(10), offset=-4, start=-2)
s.draft(split3(10, 15, 15))
expect(s, ["titration-interval"], ["titration-step", "titration-start"])

s = add(
    Scn(
        "titration-interval-30mg-3-days-ok",
        "30 to 40 mg/day after 3 days, in 4 intakes at fixed times",
        """Woman aged 37 on 30 mg/day since an order authored 3 days ago (no boundsPeriod,
            so it began at authoredOn). The draft gives 10 mg at 08:00, 12:00, 16:00 and 20:00
            (timeOfDay) = 40 mg/day: +10 mg after 3 days is allowed and 4 intakes are fine (seed:
            some patients need 4 intakes). No titration card.""",
        "2026-06-23T14:00",
        Patient("Lefebvre", "Camille", "1988-08-18", "female", "Angers"),
    )
)
s.baseline(egfr=104, weight=67)
s.current(tid(10), offset=-3)
s.draft([L(10, ["08:00:00", "12:00:00", "16:00:00", "20:00:00"])])
expect(s, [], ["titration-interval", "titration-step", "titration-start", "titration-intakes"])

s = add(
    Scn(
        "titration-interval-15mg-1-day-too-soon",
        "15 to 30 mg/day the day after starting: too soon",
        """Man aged 32 who started 15 mg/day yesterday; the draft already goes to 30 mg/day.
            Below 30 mg/day steps must be at least 2 days apart: titration-interval fires. The
            target (30 mg) is within min(15 + 15, 30), so no titration-step.""",
        "2026-06-30T10:50",
        Patient("Leroy", "Anthony", "1993-11-02", "male", "Caen"),
        prescriber="gp",
    )
)
s.baseline(egfr=121)
s.current(tid(5), offset=-1)
s.draft(tid(10))
expect(s, ["titration-interval"], ["titration-step", "titration-start"])

s = add(
    Scn(
        "titration-intakes-twice-daily",
        "40 mg/day in two intakes (BID): fewer than 3 intakes a day",
        """Man aged 49 on 30 mg/day (TID) for 5 days; the draft gives 20 mg twice a day (timing
            code BID). Baclofen's half-life is 3-4 h and the protocol uses 3 intakes a day:
            titration-intakes fires. Dose step and interval are fine.""",
        "2026-07-07T09:10",
        Patient("Faure", "Stéphane", "1977-06-25", "male", "Limoges"),
        prescriber="gp",
    )
)
s.baseline(egfr=87)
s.current(tid(10), offset=-5)
s.draft([L(20, "BID")])
expect(s, ["titration-intakes"], ["titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "titration-intakes-four-daily-ok",
        "60 mg/day in four intakes (15 mg x 4): accepted",
        """Woman aged 53 on 50 mg/day for 4 days; the draft gives 15 mg four times a day
            (timing.repeat frequency 4 per 1 d) = 60 mg/day. Four intakes are explicitly fine
            (seed: some patients need 4 intakes instead of 3) and +10 mg after 4 days is allowed:
            no titration card.""",
        "2026-07-14T10:35",
        Patient("André", "Nathalie", "1972-12-05", "female", "Reims"),
    )
)
s.baseline(egfr=84, weight=70)
s.current(split3(15, 15, 20), offset=-4)
s.draft([L(15, 4)])
expect(s, [], ["titration-intakes", "titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "titration-intakes-once-daily-start",
        "15 mg/day as a single bedtime intake",
        """Man aged 37, no baclofen before; the draft gives 15 mg once at bedtime (when HS).
            The dose is the recommended start (no titration-start) but the protocol splits it
            into 3 intakes: titration-intakes fires.""",
        "2026-07-21T18:30",
        Patient("Mercier", "Yannick", "1989-03-16", "male", "Poitiers"),
        prescriber="gp",
    )
)
s.baseline(egfr=112)
s.draft([L(15, ["HS"])])
expect(s, ["titration-intakes"], ["titration-start", "titration-step", "titration-interval"])


# ============================================================================================
# 3. Schedules held by one draft — checked step by step.
# ============================================================================================
s = add(
    Scn(
        "schedule-sequence-15-30-40-compliant",
        "Three-step titration schedule by sequence: 15, 30, 40 mg/day",
        """Woman aged 42, new to baclofen. The draft holds the protocol as a schedule:
            sequence 1 = 5 mg TID for 3 days, sequence 2 = 10 mg TID for 3 days, sequence 3 =
            10-10-20 mg (three lines of the same sequence, summed: 40 mg). Every step is
            compliant (start 15 mg, then 15 -> 30 after 3 days, 30 -> 40 after 3 days): no
            titration card.""",
        "2026-08-03T10:00",
        Patient("Blanc", "Aurélie", "1984-04-04", "female", "Besançon"),
        prescriber="gp",
    )
)
s.baseline(egfr=100, weight=59)
s.draft([L(5, "TID", seq=1, duration=3), L(10, "TID", seq=2, duration=3), *split3(10, 10, 20, seq=3)], supply_days=28)
expect(s, [], ["titration-start", "titration-step", "titration-interval", "titration-intakes", "dose-specialist"])

s = add(
    Scn(
        "schedule-boundsperiod-step-too-big",
        "Schedule by boundsPeriod 40 then 60 mg/day: second step too big",
        """Man aged 45 on 30 mg/day for 10 days. The draft (no sequence numbers) has two
            steps by timing.repeat.boundsPeriod: 40 mg/day on days 0-2 (three lines), then
            20 mg TID = 60 mg/day from day 3. The first step is +10 mg (fine); the second is
            +20 mg, above the +10 mg step: titration-step fires. Steps are 3 days apart.""",
        "2026-08-10T11:20",
        Patient("Guérin", "Damien", "1980-10-10", "male", "Perpignan"),
    )
)
s.baseline(egfr=95)
s.current(tid(10), offset=-10)
s.draft([*split3(10, 15, 15, seq=None, bounds=(0, 2)), L(20, "TID", bounds=(3, None))])
expect(s, ["titration-step"], ["titration-interval", "titration-start"])


# ============================================================================================
# 4. Renal function — spec "Renal function": < 30 severe (critical), 30-59 moderate (slower
#    schedule: +5 mg/day at least 7 days apart), no usable result -> renal-unknown.
# ============================================================================================
RENAL_OTHER = {
    "severe": ["renal-moderate", "renal-unknown"],
    "moderate": ["renal-severe", "renal-unknown"],
    "unknown": ["renal-severe", "renal-moderate"],
    "normal": ["renal-severe", "renal-moderate", "renal-unknown"],
}
RENEWAL_QUIET = ["titration-step", "titration-interval", "titration-start"]

s = add(
    Scn(
        "renal-egfr-29-severe",
        "eGFR 29: severe renal insufficiency, baclofen contraindicated",
        """Man aged 64 renewing 30 mg/day; his latest eGFR (LOINC 62238-1, 12 days old) is
            29 mL/min/1.73 m2. eGFR < 30 is severe renal insufficiency, a contraindication
            (seed: "contre-indiqué en cas d'insuffisance rénale sévère"): renal-severe is
            critical and suggests cancelling the draft.""",
        "2026-08-17T09:45",
        Patient("Boyer", "Patrick", "1962-02-02", "male", "Clermont-Ferrand"),
    )
)
s.baseline(egfr=29, egfr_days=-12)
s.current(tid(10), offset=-30)
s.draft(tid(10))
expect(s, ["renal-severe"], RENAL_OTHER["severe"] + RENEWAL_QUIET)

s = add(
    Scn(
        "renal-egfr-30-moderate",
        "eGFR 30: moderate (not severe) renal insufficiency",
        """Man aged 68 renewing 30 mg/day with an eGFR of exactly 30 mL/min/1.73 m2 (15 days
            old). 30 <= eGFR < 60 is moderate: renal-moderate (very slow titration, close
            monitoring), not renal-severe. The renewal has no increase, so no titration card.""",
        "2026-08-24T10:15",
        Patient("Chevalier", "Henri", "1958-05-05", "male", "Limoges"),
    )
)
s.baseline(egfr=30, egfr_days=-15)
s.current(tid(10), offset=-20)
s.draft(tid(10))
expect(s, ["renal-moderate"], RENAL_OTHER["moderate"] + RENEWAL_QUIET, plan=False)

s = add(
    Scn(
        "renal-egfr-59-moderate-slow-step-ok",
        "eGFR 59: moderate; +5 mg after 8 days fits the slower schedule",
        """Woman aged 59 with eGFR 59 (moderate) on 40 mg/day for 8 days; the draft goes to
            45 mg/day (15 mg TID). The slower renal schedule (+5 mg/day at least 7 days apart,
            policy) is respected: renal-moderate only, no titration-step or
            titration-interval.""",
        "2026-08-31T11:40",
        Patient("François", "Isabelle", "1966-09-29", "female", "Reims"),
    )
)
s.baseline(egfr=59, egfr_days=-20, weight=66)
s.current(split3(10, 15, 15), offset=-8)
s.draft(tid(15))
expect(s, ["renal-moderate"], RENAL_OTHER["moderate"] + ["titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "renal-egfr-60-normal",
        "eGFR 60: no renal card, normal titration applies",
        """Man aged 65 with eGFR 60 mL/min/1.73 m2 (LOINC 98979-8, CKD-EPI 2021) on 40 mg/day
            for 4 days; the draft goes to 50 mg/day. 60 is not < 60, so no renal card and the
            normal schedule applies: +10 mg after >= 3 days is fine (it would be a
            titration-step / titration-interval under the moderate-renal schedule).""",
        "2026-09-07T09:00",
        Patient("Legrand", "Daniel", "1961-01-13", "male", "Metz"),
    )
)
s.baseline(egfr=None)
s.egfr(60, -10, loinc="98979-8")
s.current(split3(10, 15, 15), offset=-4)
s.draft(split3(15, 15, 20))
expect(s, [], RENAL_OTHER["normal"] + ["titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "renal-moderate-plus10-step",
        "Moderate renal insufficiency (eGFR 45): +10 mg is too big a step",
        """Woman aged 63 with eGFR 45 on 40 mg/day for 10 days; the draft goes to 50 mg/day.
            Normally allowed, but with moderate renal insufficiency the seed asks for a very slow
            titration (policy: +5 mg/day at least 7 days apart): titration-step fires and
            renal-moderate too. 10 days >= 7, so no titration-interval.""",
        "2026-09-14T10:20",
        Patient("Gauthier", "Christine", "1963-06-06", "female", "Nancy"),
        prescriber="hepato",
    )
)
s.baseline(egfr=45, egfr_days=-30, weight=63)
s.current(split3(10, 15, 15), offset=-10)
s.draft(split3(15, 15, 20))
expect(s, ["renal-moderate", "titration-step"], RENAL_OTHER["moderate"] + ["titration-interval", "titration-start"])

s = add(
    Scn(
        "renal-moderate-plus5-after-4-days",
        "Moderate renal insufficiency (eGFR 41): +5 mg after 4 days is too soon",
        """Man aged 65 with eGFR 41 on 40 mg/day since 4 days (boundsPeriod start); the draft
            adds 5 mg (15 mg TID = 45 mg/day). The step size fits the slower renal schedule, but
            steps must be at least 7 days apart: titration-interval and renal-moderate fire, not
            titration-step.""",
        "2026-09-21T14:30",
        Patient("Perrin", "Michel", "1960-11-11", "male", "Dijon"),
    )
)
s.baseline(egfr=41, egfr_days=-25)
s.current(split3(10, 15, 15), offset=-4, start=-4)
s.draft(tid(15))
expect(s, ["renal-moderate", "titration-interval"], RENAL_OTHER["moderate"] + ["titration-step", "titration-start"])

_e = ckd_epi_2021(150 / 88.4, 58, "male")
s = add(
    Scn(
        "renal-creatinine-umol-moderate",
        "Creatinine 150 µmol/L only (man, 58): CKD-EPI 2021 ~46, moderate",
        f"""No eGFR on file, only a serum creatinine of 150 µmol/L (LOINC 14682-9, 14 days
            old). CKD-EPI 2021 for a 58-year-old man gives about {_e:.0f} mL/min/1.73 m2:
            moderate renal insufficiency (renal-moderate). The draft adds 5 mg after 10 days
            (30 -> 35 mg/day), compliant with the slower schedule.""",
        "2026-09-28T09:35",
        Patient("Morin", "Pascal", "1968-01-20", "male", "Angers"),
    )
)
s.baseline(egfr=None)
s.creat_umol(150, -14)
s.current(tid(10), offset=-10)
s.draft(split3(10, 10, 15))
expect(s, ["renal-moderate"], RENAL_OTHER["moderate"] + ["titration-step", "titration-interval", "titration-start"])

_e = ckd_epi_2021(0.8, 35, "female")
s = add(
    Scn(
        "renal-creatinine-mgdl-normal",
        "Creatinine 0.8 mg/dL only (woman, 35): CKD-EPI 2021 ~98, normal",
        f"""Only a serum creatinine in mg/dL (LOINC 2160-0): 0.8 mg/dL, 20 days old. CKD-EPI
            2021 for a 35-year-old woman gives about {_e:.0f} mL/min/1.73 m2: normal, no renal
            card (the creatinine is a usable result, so no renal-unknown). 40 -> 50 mg/day after
            3 days is compliant.""",
        "2026-10-05T10:00",
        Patient("Clément", "Laura", "1991-02-27", "female", "Caen"),
    )
)
s.baseline(egfr=None, weight=57)
s.creat_mgdl(0.8, -20)
s.pregnancy_obs(False, -20)
s.current(split3(10, 15, 15), offset=-3)
s.draft(split3(15, 15, 20))
expect(s, [], RENAL_OTHER["normal"] + ["titration-step", "titration-interval", "ci-pregnancy"])

_e = ckd_epi_2021(2.9, 71, "male")
s = add(
    Scn(
        "renal-creatinine-mgdl-severe",
        "Creatinine 2.9 mg/dL (man, 71): CKD-EPI 2021 ~23, severe",
        f"""Man aged 71 renewing 30 mg/day; only a serum creatinine of 2.9 mg/dL (LOINC 2160-0,
            9 days old). CKD-EPI 2021 gives about {_e:.0f} mL/min/1.73 m2 (< 30): severe renal
            insufficiency, a contraindication — renal-severe (critical).""",
        "2026-10-12T11:10",
        Patient("Lucas", "Roger", "1955-08-08", "male", "Rouen"),
        prescriber="gp",
    )
)
s.baseline(egfr=None)
s.creat_mgdl(2.9, -9)
s.current(tid(10), offset=-40)
s.draft(tid(10))
expect(s, ["renal-severe"], RENAL_OTHER["severe"] + RENEWAL_QUIET)

s = add(
    Scn(
        "renal-lab-91-days-old-unknown",
        "Only renal result is 91 days old: renal function unknown",
        """Woman aged 56 renewing 30 mg/day; her only eGFR (45) is 91 days old. Results older
            than 90 days do not count (policy), so there is no usable result: renal-unknown
            (suggests a serum creatinine ServiceRequest). The stale value must not produce
            renal-moderate.""",
        "2026-10-19T09:25",
        Patient("Dupont", "Céline", "1970-03-30", "female", "Bordeaux"),
        prescriber="gp",
    )
)
s.baseline(egfr=45, egfr_days=-91, weight=69)
s.current(tid(10), offset=-20)
s.draft(tid(10))
expect(s, ["renal-unknown"], RENAL_OTHER["unknown"] + RENEWAL_QUIET)

s = add(
    Scn(
        "renal-lab-89-days-old-moderate",
        "Renal result 89 days old still counts: moderate",
        """Man aged 62 renewing 30 mg/day; his eGFR of 45 is 89 days old, within the 90-day
            window: it counts, giving renal-moderate and no renal-unknown.""",
        "2026-10-26T10:05",
        Patient("Lemaire", "Bruno", "1964-07-19", "male", "Amiens"),
        prescriber="gp",
    )
)
s.baseline(egfr=45, egfr_days=-89)
s.current(tid(10), offset=-20)
s.draft(tid(10))
expect(s, ["renal-moderate"], RENAL_OTHER["moderate"] + RENEWAL_QUIET, plan=False)

s = add(
    Scn(
        "renal-ckd-stage4-condition-severe",
        "CKD stage 4 on the problem list, no lab (observations null): severe",
        """Man aged 69 renewing 30 mg/day. The EHR found no observation (prefetch
            'observations' is null) but the problem list holds chronic kidney disease stage 4
            (ICD-10 N18.4), which the spec counts as severe: renal-severe (critical). A null key
            means 'no data', not a failure, so no data-unavailable. (renal-unknown is left
            unspecified: the spec does not say whether a condition suppresses it.)""",
        "2026-11-02T09:50",
        Patient("Marchand", "Yves", "1957-04-14", "male", "Poitiers"),
        prescriber="gp",
    )
)
s.baseline(egfr=None, weight=None)
s.cond("ckd4", onset=-500)
s.observations = None
s.current(tid(10), offset=-30)
s.draft(tid(10))
expect(s, ["renal-severe"], ["renal-moderate", *RENEWAL_QUIET])

s = add(
    Scn(
        "renal-ckd-stage3-condition-moderate",
        "CKD stage 3 on the problem list, no renal lab: moderate",
        """Woman aged 65 renewing 30 mg/day; no creatinine or eGFR on file (only a weight),
            but the problem list holds N18.3 (CKD stage 3), counted as moderate by the spec:
            renal-moderate, not renal-severe. (renal-unknown left unspecified, as above.)""",
        "2026-11-09T10:40",
        Patient("Duval", "Sylvie", "1961-10-01", "female", "Tours"),
        prescriber="gp",
    )
)
s.baseline(egfr=None, weight=72)
s.cond("ckd3", onset=-700)
s.current(tid(10), offset=-25)
s.draft(tid(10))
expect(s, ["renal-moderate"], ["renal-severe", *RENEWAL_QUIET], plan=False)

s = add(
    Scn(
        "renal-dialysis-severe",
        "Haemodialysis patient (N18.5, Z99.2, eGFR 8): severe",
        """Man aged 71 on chronic haemodialysis (N18.5 and Z99.2) with an eGFR of 8; the
            draft would start baclofen at 15 mg/day. Severe renal insufficiency is a
            contraindication: renal-severe (critical). The dose itself is the recommended start
            (no titration-start).""",
        "2026-11-16T14:15",
        Patient("Denis", "Raymond", "1954-12-24", "male", "Lille"),
        prescriber="gp",
    )
)
s.baseline(egfr=8, egfr_days=-5)
s.cond("ckd5", onset=-1500)
s.cond("dialysis", onset=-900)
s.draft(tid(5))
expect(s, ["renal-severe"], RENAL_OTHER["severe"] + ["titration-start"])

_m, _f = ckd_epi_2021(110 / 88.4, 50, "male"), ckd_epi_2021(110 / 88.4, 50, "female")
s = add(
    Scn(
        "renal-unknown-sex-lower-estimate",
        "Creatinine with unknown sex: the lower CKD-EPI estimate is used",
        f"""Patient aged 50 whose administrative gender is 'unknown' (no INS yet); only a serum
            creatinine of 110 µmol/L. CKD-EPI 2021 gives about {_m:.0f} (male) or {_f:.0f}
            (female) mL/min/1.73 m2; the spec takes the lower of the two for unknown sex, so
            renal-moderate fires. The creatinine is usable, so no renal-unknown.""",
        "2026-11-23T10:30",
        Patient("Leclerc", "Dominique", "1976-05-17", "unknown", "Paris", ins=False),
    )
)
s.baseline(egfr=None)
s.creat_umol(110, -12)
s.current(tid(10), offset=-20)
s.draft(tid(10))
expect(s, ["renal-moderate"], RENAL_OTHER["moderate"] + RENEWAL_QUIET, plan=False)

s = add(
    Scn(
        "renal-no-result-unknown",
        "No renal result at all: renal function unknown",
        """Man aged 43 starting baclofen at 15 mg/day; the observations prefetch holds only a
            body weight, no creatinine or eGFR. The seed insists renal function must be checked
            before any prescription: renal-unknown fires (suggesting a serum creatinine).""",
        "2026-11-30T09:15",
        Patient("Gaillard", "Rémi", "1983-08-28", "male", "Marseille"),
        prescriber="gp",
    )
)
s.baseline(egfr=None, weight=81)
s.draft(tid(5))
expect(s, ["renal-unknown"], RENAL_OTHER["unknown"] + ["titration-start"])


# ============================================================================================
# 5. Contraindications (critical) — seed: hypersensitivity, gluten intolerance, pregnancy,
#    breastfeeding; epilepsy is a contraindication in the RTU.
# ============================================================================================
s = add(
    Scn(
        "ci-epilepsy",
        "Epilepsy (G40.9) on levetiracetam: contraindicated in the RTU",
        """Man aged 44 with epilepsy (ICD-10 G40.9, SNOMED 84757009) treated by levetiracetam;
            the draft starts baclofen at 15 mg/day. Epilepsy is a contraindication in the RTU:
            ci-epilepsy (critical). Levetiracetam (ATC N03AX14) is not in the CNS-depressant
            classes (N03AA barbiturates are), and epilepsy is not the withdrawal-seizure
            precaution.""",
        "2026-01-07T10:10",
        Patient("Barbier", "Ludovic", "1981-04-30", "male", "Grenoble"),
    )
)
s.baseline(egfr=97)
s.cond("epilepsy", onset=-5000)
s.comed("levetiracetam", offset=-300, prescriber="neuro")
s.draft(tid(5))
expect(s, ["ci-epilepsy"], ["pr-withdrawal-seizures", "ix-cns-depressant", "titration-start"])

s = add(
    Scn(
        "ci-hypersensitivity-baclofen-allergy",
        "Documented baclofen allergy: hypersensitivity contraindication",
        """Woman aged 56 with an active, confirmed AllergyIntolerance to baclofen (skin
            eruption during a course 6 years ago) and an unrelated penicillin allergy. The draft
            restarts 15 mg/day: ci-hypersensitivity (critical, seed: "hypersensibilité à cette
            molécule").""",
        "2026-01-14T11:25",
        Patient("Arnaud", "Valérie", "1969-09-09", "female", "Nice"),
        prescriber="gp",
    )
)
s.baseline(egfr=88, weight=71)
s.allergy("baclofen", offset=-2150)
s.allergy("penicillin", offset=-6000)
s.current(tid(5), offset=-2170, start=-2170, end=-2152, status="stopped")
s.draft(tid(5))
expect(s, ["ci-hypersensitivity"], ["titration-start"])

s = add(
    Scn(
        "ci-gluten-coeliac-disease",
        "Coeliac disease (K90.0): gluten intolerance contraindication",
        """Man aged 38 with coeliac disease (ICD-10 K90.0, SNOMED 396331005); the draft
            starts 15 mg/day. The seed lists gluten intolerance among the contraindications
            (wheat starch excipient): ci-gluten (critical).""",
        "2026-01-21T09:55",
        Patient("Martinez", "Aurélien", "1987-07-27", "male", "Toulouse"),
        prescriber="gp",
    )
)
s.baseline(egfr=115)
s.cond("coeliac", onset=-3000)
s.draft(tid(5))
expect(s, ["ci-gluten"], ["titration-start"])

s = add(
    Scn(
        "ci-pregnancy-condition",
        "Pregnancy on the problem list: contraindicated",
        """Woman aged 30, pregnant (Condition ICD-10 Z33 / SNOMED 77386006, onset 9 weeks
            ago), alcohol-dependent; the draft starts 15 mg/day. Pregnancy is a contraindication
            for lack of data: ci-pregnancy (critical). Not breastfeeding.""",
        "2026-02-04T10:35",
        Patient("Roche", "Amandine", "1995-03-12", "female", "Lyon"),
        prescriber="gp",
    )
)
s.baseline(egfr=120, weight=63)
s.cond("pregnancy", onset=-63, category="encounter-diagnosis")
s.draft(tid(5))
expect(s, ["ci-pregnancy"], ["ci-breastfeeding", "titration-start"])

s = add(
    Scn(
        "ci-pregnancy-observation",
        "Pregnancy status Observation (LOINC 82810-3 = pregnant): contraindicated",
        """Woman aged 32 on 30 mg/day for 4 days; a pregnancy status Observation (LOINC
            82810-3, value SNOMED 77386006 Pregnant) was recorded 2 days ago, with no pregnancy
            Condition. The draft increases to 40 mg/day: ci-pregnancy (critical). The dose step
            itself is compliant.""",
        "2026-02-11T15:05",
        Patient("Renard", "Laetitia", "1993-06-21", "female", "Rennes"),
        prescriber="gp",
    )
)
s.baseline(egfr=117, weight=60)
s.pregnancy_obs(True, -2)
s.current(tid(10), offset=-4)
s.draft(split3(10, 15, 15))
expect(s, ["ci-pregnancy"], ["ci-breastfeeding", "titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "ci-breastfeeding",
        "Breastfeeding mother (Z39.1): contraindicated",
        """Woman aged 34, delivered 3 months ago and breastfeeding (ICD-10 Z39.1); a recent
            pregnancy status Observation says not pregnant. The draft starts 15 mg/day:
            ci-breastfeeding (critical), not ci-pregnancy.""",
        "2026-02-18T10:25",
        Patient("Schmitt", "Pauline", "1991-12-08", "female", "Strasbourg"),
        prescriber="gp",
    )
)
s.baseline(egfr=109, weight=66)
s.cond("breastfeeding", onset=-90, category="encounter-diagnosis")
s.pregnancy_obs(False, -1)
s.draft(tid(5))
expect(s, ["ci-breastfeeding"], ["ci-pregnancy", "titration-start"])


# ============================================================================================
# 6. Precautions (warning; pr-hepatic is info) — seed: "doit être utilisé prudemment en cas
#    de trouble psychotique, d'état confusionnel ou dépressif, d'affection vasculaire cérébrale
#    ou d'insuffisance respiratoire", withdrawal seizures, sphincter hypertonia, liver.
#    Dose in all: 30 -> 40 mg/day after >= 3 days (compliant) unless stated.
# ============================================================================================
def pr_case(s: Scn, start_offset: int = -5) -> None:
    s.current(tid(10), offset=start_offset)
    s.draft(split3(10, 15, 15))


s = add(
    Scn(
        "pr-psychosis-schizophrenia",
        "Schizophrenia on olanzapine: psychosis precaution and CNS depressant",
        """Man aged 41 with paranoid schizophrenia (F20.0) stabilised on olanzapine
            (ATC N05AH03); baclofen 30 -> 40 mg/day. pr-psychosis fires (ask a psychiatrist's
            opinion) and olanzapine, an N05A antipsychotic, is a CNS depressant:
            ix-cns-depressant.""",
        "2026-03-04T10:00",
        Patient("Colin", "Jérôme", "1985-01-09", "male", "Lille"),
        prescriber="psy",
    )
)
s.baseline(egfr=99)
s.cond("schizophrenia", onset=-4000)
s.comed("olanzapine", offset=-400, prescriber="psy")
pr_case(s)
expect(
    s, ["pr-psychosis", "ix-cns-depressant"], ["pr-depression", "pr-confusion", "titration-step", "titration-interval"]
)

s = add(
    Scn(
        "pr-confusion-delirium",
        "Recent confusional state (F05.0): confusion precaution",
        """Man aged 63 who had a confusional state (delirium, F05.0 / SNOMED 2776000) during
            a withdrawal two weeks ago, still active on the problem list; baclofen 30 -> 40
            mg/day. pr-confusion fires.""",
        "2026-03-11T09:40",
        Patient("Vidal", "Robert", "1962-05-25", "male", "Montpellier"),
    )
)
s.baseline(egfr=76)
s.cond("delirium", onset=-14, category="encounter-diagnosis")
pr_case(s)
expect(s, ["pr-confusion"], ["pr-psychosis", "pr-depression", "titration-step", "titration-interval"])

s = add(
    Scn(
        "pr-depression-escitalopram",
        "Depressive episode on escitalopram: depression precaution, no interaction",
        """Woman aged 46 with a moderate depressive episode (F32.1) on escitalopram (ATC
            N06AB10, an SSRI); baclofen 30 -> 40 mg/day. pr-depression fires; an SSRI is neither
            a tricyclic (N06AA) nor in the CNS-depressant classes, so no interaction card.""",
        "2026-03-18T10:55",
        Patient("Caron", "Sandrine", "1979-11-15", "female", "Rouen"),
    )
)
s.baseline(egfr=94, weight=68)
s.cond("depression", onset=-200)
s.comed("escitalopram", offset=-180)
pr_case(s)
expect(
    s, ["pr-depression"], ["ix-tricyclic", "ix-cns-depressant", "pr-psychosis", "titration-step", "titration-interval"]
)

s = add(
    Scn(
        "pr-cerebrovascular-stroke-sequelae",
        "Sequelae of ischaemic stroke (I69.3): cerebrovascular precaution",
        """Man aged 67 with sequelae of a cerebral infarction (I69.3) on aspirin and
            atorvastatin; baclofen 40 -> 50 mg/day (below 120 mg, so his age does not matter for
            dose thresholds). pr-cerebrovascular fires; no antihypertensive or other interacting
            drug.""",
        "2026-03-25T11:35",
        Patient("Picard", "Alain", "1959-02-17", "male", "Brest"),
    )
)
s.baseline(egfr=71)
s.cond("stroke_sequelae", onset=-900)
s.comed("aspirin", offset=-880)
s.comed("atorvastatin", offset=-880)
s.current(split3(10, 15, 15), offset=-4)
s.draft(split3(15, 15, 20))
expect(
    s,
    ["pr-cerebrovascular"],
    ["ix-antihypertensive", "ix-diuretic", "dose-specialist", "dose-collegial", "titration-step", "titration-interval"],
)

s = add(
    Scn(
        "pr-respiratory-copd",
        "COPD (J44.9) on tiotropium: respiratory precaution",
        """Man aged 65 with COPD (J44.9) on inhaled tiotropium; baclofen 30 -> 40 mg/day.
            pr-respiratory fires (risk of respiratory depression); tiotropium does not
            interact.""",
        "2026-04-01T10:20",
        Patient("Roussel", "Jean-Marc", "1960-06-30", "male", "Rennes"),
    )
)
s.baseline(egfr=80)
s.cond("copd", onset=-2500)
s.cond("tobacco", onset=-9000)
s.comed("tiotropium", offset=-700)
pr_case(s)
expect(s, ["pr-respiratory"], ["titration-step", "titration-interval"])

s = add(
    Scn(
        "pr-withdrawal-seizures-history",
        "History of alcohol-withdrawal seizures (F10.31): caution, not epilepsy",
        """Man aged 48 who had generalised withdrawal seizures a year ago (ICD-10 F10.31) but
            no epilepsy; baclofen 30 -> 40 mg/day. pr-withdrawal-seizures fires (seed: risks not
            clear, caution); ci-epilepsy must not (F10.31 is not G40/G41).""",
        "2026-04-08T09:05",
        Patient("Hubert", "Cédric", "1978-03-03", "male", "Besançon"),
    )
)
s.baseline(egfr=92)
s.cond("withdrawal_seizures", onset=-400, category="encounter-diagnosis")
pr_case(s)
expect(s, ["pr-withdrawal-seizures"], ["ci-epilepsy", "titration-step", "titration-interval"])

s = add(
    Scn(
        "pr-urinary-retention",
        "Urinary retention (R33): sphincter precaution",
        """Man aged 67 with urinary retention episodes (R33) on tamsulosin; baclofen 30 -> 40
            mg/day. The seed warns about acute urinary retention with pre-existing sphincter
            hypertonia: pr-urinary fires.""",
        "2026-04-15T10:45",
        Patient("Giraud", "Bernard", "1958-09-12", "male", "Nantes"),
    )
)
s.baseline(egfr=73)
s.cond("urinary_retention", onset=-300)
s.comed("tamsulosin", offset=-290)
pr_case(s)
expect(s, ["pr-urinary"], ["titration-step", "titration-interval"])

s = add(
    Scn(
        "pr-hepatic-cirrhosis-hcv-antivirals",
        "Alcoholic cirrhosis with HCV on direct antivirals: hepatic info only",
        """Man aged 59 with alcoholic cirrhosis (K70.3) and chronic hepatitis C treated by
            sofosbuvir/velpatasvir, followed by a hepatologist; baclofen 30 -> 40 mg/day.
            pr-hepatic is information only (theoretical caution, reassuring cirrhosis studies),
            so no critical card; the seed states no interaction with the new HCV antivirals.""",
        "2026-04-22T11:50",
        Patient("Leroux", "Thierry", "1967-01-05", "male", "Marseille"),
        prescriber="hepato",
    )
)
s.baseline(egfr=86)
s.cond("cirrhosis", onset=-600)
s.cond("hcv", onset=-1200)
s.comed("sofosbuvir_velpatasvir", offset=-30, prescriber="hepato")
pr_case(s)
expect(
    s,
    ["pr-hepatic"],
    [
        "ix-diuretic",
        "ix-antihypertensive",
        "ix-tricyclic",
        "ix-cns-depressant",
        "ix-levodopa",
        "titration-step",
        "titration-interval",
    ],
)


# ============================================================================================
# 7. Interactions (warning) — by ATC class of ACTIVE co-medications; opioid substitution is
#    compatible (no card).
# ============================================================================================
ALL_IX = ["ix-diuretic", "ix-antihypertensive", "ix-tricyclic", "ix-cns-depressant", "ix-levodopa"]


def without(xs: list[str], *drop: str) -> list[str]:
    return [x for x in xs if x not in drop]


s = add(
    Scn(
        "ix-diuretic-furosemide",
        "Furosemide (C03CA01): diuretic interaction; stopped ramipril ignored",
        """Woman aged 69 on furosemide for leg oedema; ramipril was stopped last year (status
            stopped). Diuretics can cause functional renal failure and baclofen overdose:
            ix-diuretic fires. The stopped ramipril is not an active co-medication, so no
            ix-antihypertensive.""",
        "2026-04-29T10:10",
        Patient("Brun", "Monique", "1956-07-07", "female", "Bordeaux"),
        prescriber="gp",
    )
)
s.baseline(egfr=66, weight=77)
s.cond("edema", onset=-200)
s.comed("furosemide", offset=-190)
s.comed("ramipril", status="stopped", offset=-600)
pr_case(s)
expect(s, ["ix-diuretic"], [*without(ALL_IX, "ix-diuretic"), "titration-step", "titration-interval"])

s = add(
    Scn(
        "ix-antihypertensive-three-classes",
        "Ramipril + amlodipine + bisoprolol: antihypertensive interaction",
        """Man aged 65 with hypertension on ramipril (C09AA05), amlodipine (C08CA01) and
            bisoprolol (C07AB07); baclofen 30 -> 40 mg/day. Risk of hypotension:
            ix-antihypertensive fires (one grouped warning). No diuretic.""",
        "2026-05-06T09:30",
        Patient("Blanchard", "René", "1961-03-23", "male", "Lyon"),
        prescriber="gp",
    )
)
s.baseline(egfr=72)
s.cond("hypertension", onset=-3000)
s.comed("ramipril", offset=-1500)
s.comed("amlodipine", offset=-900)
s.comed("bisoprolol", offset=-400)
pr_case(s)
expect(s, ["ix-antihypertensive"], [*without(ALL_IX, "ix-antihypertensive"), "titration-step", "titration-interval"])

s = add(
    Scn(
        "ix-diuretic-combination-c09ba",
        "Ramipril/hydrochlorothiazide (C09BA05): diuretic and antihypertensive",
        """Woman aged 61 on a fixed ramipril + hydrochlorothiazide combination (ATC
            C09BA05). The spec counts C09BA combinations as diuretics and all C09 as
            antihypertensives: ix-diuretic and ix-antihypertensive both fire.""",
        "2026-05-13T10:50",
        Patient("Meyer", "Patricia", "1964-08-16", "female", "Metz"),
        prescriber="gp",
    )
)
s.baseline(egfr=79, weight=74)
s.cond("hypertension", onset=-2000)
s.comed("ramipril_hctz", offset=-700)
pr_case(s)
expect(
    s,
    ["ix-diuretic", "ix-antihypertensive"],
    [*without(ALL_IX, "ix-diuretic", "ix-antihypertensive"), "titration-step", "titration-interval"],
)

s = add(
    Scn(
        "ix-tricyclic-amitriptyline",
        "Amitriptyline (N06AA09): tricyclic interaction",
        """Woman aged 52 with chronic low back pain on amitriptyline at bedtime; baclofen
            30 -> 40 mg/day. Tricyclics increase muscle hypotonia: ix-tricyclic fires.
            Amitriptyline (N06AA) is not in the CNS-depressant ATC classes of the spec.""",
        "2026-05-20T11:05",
        Patient("Dumas", "Frédérique", "1974-04-09", "female", "Limoges"),
        prescriber="gp",
    )
)
s.baseline(egfr=90, weight=62)
s.cond("chronic_pain", onset=-1500)
s.comed("amitriptyline", offset=-300)
pr_case(s)
expect(s, ["ix-tricyclic"], [*without(ALL_IX, "ix-tricyclic"), "titration-step", "titration-interval"])

s = add(
    Scn(
        "ix-cns-depressants-oxazepam-zolpidem-tramadol",
        "Oxazepam, zolpidem and tramadol: CNS depressant interaction",
        """Man aged 43 on oxazepam (N05BA04), zolpidem (N05CF02) and tramadol (N02AX02) for
            anxiety, insomnia and back pain; baclofen 30 -> 40 mg/day. Increased sedation:
            ix-cns-depressant fires (one grouped interaction card).""",
        "2026-05-27T10:15",
        Patient("Lemoine", "Xavier", "1982-10-26", "male", "Paris"),
    )
)
s.baseline(egfr=101)
s.cond("anxiety", onset=-700)
s.cond("insomnia", onset=-500)
s.cond("chronic_pain", onset=-400)
s.comed("oxazepam", offset=-90)
s.comed("zolpidem", offset=-60)
s.comed("tramadol", offset=-30)
pr_case(s)
expect(s, ["ix-cns-depressant"], [*without(ALL_IX, "ix-cns-depressant"), "titration-step", "titration-interval"])

s = add(
    Scn(
        "ix-levodopa-parkinson",
        "Levodopa/benserazide (N04BA02): L-Dopa interaction",
        """Man aged 68 with Parkinson's disease on levodopa/benserazide; baclofen 30 -> 40
            mg/day. The seed asks for particular monitoring with L-Dopa derivatives:
            ix-levodopa fires.""",
        "2026-06-03T09:45",
        Patient("Gérard", "Maurice", "1957-11-19", "male", "Tours"),
    )
)
s.baseline(egfr=70)
s.cond("parkinson", onset=-1800)
s.comed("levodopa", offset=-1000, prescriber="neuro")
pr_case(s)
expect(s, ["ix-levodopa"], [*without(ALL_IX, "ix-levodopa"), "titration-step", "titration-interval"])

s = add(
    Scn(
        "ix-none-methadone-substitution",
        "Methadone substitution (N07BC02): compatible, no interaction card",
        """Man aged 43 with opioid dependence on methadone and alcohol dependence; baclofen
            30 -> 40 mg/day. The seed states baclofen can be used with opioid substitution
            (methadone, high-dose buprenorphine): no interaction card at all (methadone is
            N07BC, not an N02A opioid analgesic).""",
        "2026-06-10T10:30",
        Patient("Roger", "Karim", "1983-01-31", "male", "Marseille"),
        prescriber="csapa",
    )
)
s.baseline(egfr=96)
s.cond("opioid_dep", onset=-3000)
s.comed("methadone", offset=-60, prescriber="csapa")
pr_case(s)
expect(s, [], [*ALL_IX, "titration-step", "titration-interval"])

s = add(
    Scn(
        "ix-none-buprenorphine-substitution",
        "Buprenorphine substitution (N07BC01): compatible, no interaction card",
        """Woman aged 35 on high-dose buprenorphine (Subutex-like, N07BC01) and a nicotine
            patch; baclofen 30 -> 40 mg/day. Opioid substitution is explicitly compatible: no
            interaction card.""",
        "2026-06-17T11:00",
        Patient("Aubert", "Samia", "1990-09-03", "female", "Lille"),
        prescriber="csapa",
    )
)
s.baseline(egfr=113, weight=55)
s.cond("opioid_dep", onset=-2000)
s.cond("tobacco", onset=-6000)
s.comed("buprenorphine", offset=-45, prescriber="csapa")
s.comed("nicotine", offset=-45, prescriber="csapa")
s.pregnancy_obs(False, -6)
pr_case(s)
expect(s, [], [*ALL_IX, "ci-pregnancy", "titration-step", "titration-interval"])


# ============================================================================================
# 8. Indication and scope
# ============================================================================================
s = add(
    Scn(
        "indication-missing-rtu-still-runs",
        "No documented indication: flagged, RTU rules still run",
        """Man aged 47: the draft (30 mg/day, first prescription) has no reasonCode and the
            problem list holds only tobacco dependence — no alcohol dependence, no spasticity.
            indication-missing fires and, as the spec says, the RTU rules still run:
            titration-start (30 > 15 mg/day without current baclofen) and the RTU frame
            cards.""",
        "2026-06-24T10:40",
        Patient("Noël", "Franck", "1979-05-14", "male", "Caen"),
        prescriber="gp",
    )
)
s.baseline(egfr=94, cond="tobacco")
s.draft(tid(10), reason=None)
expect(s, ["indication-missing", "titration-start"], ["indication-amm", "titration-interval"], indication=False)

s = add(
    Scn(
        "indication-condition-only-snomed-alcoholism",
        "Indication from an active Condition only (SNOMED 7200002 Alcoholism)",
        """Woman aged 58: the draft has no reasonCode, but her problem list has an active
            Condition coded SNOMED CT 7200002 (Alcoholism), one of the spec's alcohol-dependence
            codes. The indication is documented: no indication-missing, RTU rules apply
            (30 -> 40 mg/day, compliant).""",
        "2026-07-01T09:20",
        Patient("Meunier", "Hélène", "1968-02-11", "female", "Poitiers"),
        prescriber="gp",
    )
)
s.baseline(egfr=83, cond="alcoholism_sct", weight=65)
s.current(tid(10), offset=-6, reason=None)
s.draft(split3(10, 15, 15), reason=None)
expect(s, [], ["titration-step", "titration-interval"])

s = add(
    Scn(
        "indication-reasonreference-f10-20",
        "Indication by reasonReference to an F10.20 Condition",
        """Man aged 52, abstinent after a withdrawal (ICD-10 F10.20, 'currently abstinent',
            which is under F10.2*). The draft points to that Condition with reasonReference
            (maintenance of abstinence, RTU indication 1). Indication documented; 30 -> 40
            mg/day is compliant.""",
        "2026-07-08T10:05",
        Patient("Dufour", "Lionel", "1973-12-22", "male", "Nancy"),
    )
)
s.baseline(egfr=98, cond="")
cid = s.cond("alcohol_dep_abstinent", onset=-45)
s.current(tid(10), offset=-7, reason=None, reason_ref=cid)
s.draft(split3(10, 15, 15), reason=None, reason_ref=cid)
expect(s, [], ["titration-step", "titration-interval"])

s = add(
    Scn(
        "indication-amm-spasticity-multiple-sclerosis",
        "Spasticity in multiple sclerosis (G35): AMM dosing, RTU rules not applied",
        """Woman aged 48 with multiple sclerosis; the neurologist's draft (reason G35) raises
            baclofen from 45 to 60 mg/day after 3 days. The AMM applies (30-75 mg/day):
            indication-amm fires and the RTU rules are not applied — no RTU register, no
            dose threshold or titration card (a +15 mg step would be a titration-step under
            the RTU).""",
        "2026-07-15T14:20",
        Patient("Fabre", "Corinne", "1977-08-30", "female", "Clermont-Ferrand"),
        prescriber="neuro",
    )
)
s.baseline(egfr=106, cond="ms", thiamine=False, weight=58)
s.comed("interferon_beta", offset=-900, prescriber="neuro")
s.current(tid(15), offset=-3, reason="ms", prescriber="neuro")
s.draft(tid(20), reason="ms")
# monitoring and the renal codes are left unspecified for the AMM path.
expect(
    s,
    ["indication-amm"],
    [
        "rtu-register",
        "plan-next-dose",
        "indication-missing",
        "dose-specialist",
        "dose-collegial",
        "dose-over-max",
        "titration-start",
        "titration-step",
        "titration-interval",
    ],
    frame=False,
    indication=False,
)

s = add(
    Scn(
        "scope-intrathecal-baclofen-pump",
        "Intrathecal baclofen by pump (µg/day): out of scope, no card",
        """Man aged 56 with severe MS spasticity; the draft refills an implanted pump with
            intrathecal baclofen 300 µg/day (route SNOMED 72607000). Intrathecal baclofen is out
            of the RTU's scope: the answer is an empty cards list.""",
        "2026-07-22T10:00",
        Patient("Carpentier", "Éric", "1970-04-18", "male", "Grenoble"),
        prescriber="neuro",
    )
)
s.baseline(egfr=97, cond="ms", thiamine=False)
d = s.draft(
    [
        L(
            ug=300,
            per=1,
            route=ROUTE_INTRATHECAL,
            text="300 µg/24 h en perfusion intrathécale continue (pompe implantée)",
        )
    ],
    med="atc",
    reason="ms",
)
d["medicationCodeableConcept"]["text"] = "Baclofène 0,5 mg/mL solution injectable pour voie intrathécale (Liorésal)"
s.no_cards = True
s.must, s.must_not = [], ["rtu-register", "plan-next-dose", "indication-amm", "dose-unknown"]

s = add(
    Scn(
        "scope-non-baclofen-paracetamol",
        "Paracetamol order for a patient on baclofen: no card",
        """Man aged 55, alcohol-dependent and on baclofen 40 mg/day; the draft is paracetamol
            1 g three times a day for back pain. The draft is not baclofen, so the service
            answers with an empty cards list even though the patient takes baclofen.""",
        "2026-07-29T09:30",
        Patient("Perrot", "Gilles", "1971-06-06", "male", "Dijon"),
        prescriber="gp",
    )
)
s.baseline(egfr=90)
s.cond("chronic_pain", onset=-100)
s.current(split3(10, 15, 15), offset=-20)
other_draft(s, "paracetamol", L(g=1, per="TID"), (ICD10, "M54.5", "Low back pain", "Lombalgie"))
s.no_cards = True
s.must, s.must_not = [], ["rtu-register", "plan-next-dose", "monitoring"]

s = add(
    Scn(
        "scope-non-baclofen-acamprosate",
        "Acamprosate for alcohol dependence: not baclofen, no card",
        """Woman aged 60 with alcohol dependence; the draft is acamprosate (N07BB03), another
            drug of the same indication. Only baclofen orders are checked: empty cards list.""",
        "2026-08-05T10:25",
        Patient("Hamon", "Jacqueline", "1966-01-26", "female", "Rennes"),
        prescriber="gp",
    )
)
s.baseline(egfr=77, weight=70)
other_draft(
    s,
    "acamprosate",
    L(666, "TID", text="2 comprimés 3 fois par jour"),
    (ICD10, "F10.2", COND["alcohol_dep"][1], "Maintien de l'abstinence"),
)
s.no_cards = True
s.must, s.must_not = [], ["rtu-register", "plan-next-dose", "monitoring"]

s = add(
    Scn(
        "scope-text-only-baclofene",
        "Draft identified by its text only ('Baclofène 10 mg comprimé')",
        """Man aged 37: the EHR sends the draft medication as text only, without any coding
            ("Baclofène 10 mg comprimé"), doses in mg. The spec accepts the text
            "baclofen/baclofène" as a last resort: the order is in scope (30 -> 40 mg/day after
            6 days, compliant).""",
        "2026-08-12T11:15",
        Patient("Rolland", "Fabien", "1988-11-08", "male", "Angers"),
    )
)
s.baseline(egfr=109)
s.current(tid(10), offset=-6)
s.draft(split3(15, 10, 15), med="text")
expect(s, [], ["titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "scope-rxnorm-product-only",
        "Orders coded with RxNorm 197381 only, dose in tablets",
        """Woman aged 43: both the current order and the draft carry only RxNorm 197381
            (baclofen 10 MG Oral Tablet), no ATC. Current: 1 tablet TID (30 mg) for 5 days;
            draft: 1 tablet four times a day = 40 mg/day (tablets x product strength). Compliant
            step, 4 intakes: no titration card.""",
        "2026-08-19T09:40",
        Patient("Prévost", "Stéphanie", "1983-05-03", "female", "Reims"),
    )
)
s.baseline(egfr=99, weight=60)
s.current([L(tabs=1, per="TID")], offset=-5, med="rx10only")
s.draft([L(tabs=1, per=4)], med="rx10only")
expect(s, [], ["titration-step", "titration-interval", "titration-start", "titration-intakes"])


# ============================================================================================
# 9. Dose units and undeterminable doses
# ============================================================================================
s = add(
    Scn(
        "units-dose-in-grams",
        "Dose written in grams (0.02 g TID = 60 mg/day)",
        """Man aged 47 on 50 mg/day for 3 days; the draft writes the dose as 0.02 g three
            times a day (UCUM g), i.e. 60 mg/day: a compliant +10 mg step. No dose threshold,
            no titration card — a unit error (reading 0.02 as mg, or g as mg) would show.""",
        "2026-08-26T10:30",
        Patient("Lebrun", "Arnaud", "1979-02-09", "male", "Toulouse"),
    )
)
s.baseline(egfr=93)
s.current(split3(15, 15, 20), offset=-3)
s.draft([L(g=0.02, per="TID")])
expect(s, [], [*NO_DOSE, "titration-step", "titration-interval", "titration-start"])

s = add(
    Scn(
        "dose-unknown-as-needed-text",
        "'As needed' text without a dose: daily dose unknown",
        """Woman aged 41 on 30 mg/day; the draft says only "1/2 à 1 comprimé si envie de
            boire" with asNeededBoolean and no doseQuantity or timing. The daily dose can't be
            computed: dose-unknown (warning, never an error); no dose-threshold or titration
            comparison is possible.""",
        "2026-09-02T11:45",
        Patient("Renaud", "Vanessa", "1985-07-23", "female", "Bordeaux"),
        prescriber="gp",
    )
)
s.baseline(egfr=102, weight=64)
s.current(tid(10), offset=-6)
s.draft([L(None, per=None, prn=True, text="1/2 à 1 comprimé si envie irrépressible de boire (craving)")])
expect(s, ["dose-unknown"], [*NO_DOSE, "titration-step", "titration-interval", "titration-start"], dose_known=False)

s = add(
    Scn(
        "dose-unknown-tablets-without-strength",
        "Dose in tablets for a product without strength: dose unknown",
        """Man aged 50 on 30 mg/day; the draft is coded with ATC M03BX01 only (text
            "Baclofène", no RxNorm product, no Medication), dose 1 tablet three times a day.
            Tablets can only be converted with a strength from the Medication or the product
            code: dose-unknown.""",
        "2026-09-09T10:10",
        Patient("Poirier", "Loïc", "1975-10-15", "male", "Nice"),
        prescriber="gp",
    )
)
s.baseline(egfr=88)
s.current(tid(10), offset=-4)
s.draft([L(tabs=1, per="TID")], med="atc")
expect(s, ["dose-unknown"], [*NO_DOSE, "titration-step", "titration-interval", "titration-start"], dose_known=False)


# ============================================================================================
# 10. order-select (service baclofen-rtu-select): the same engine while the order is composed.
# ============================================================================================
s = add(
    Scn(
        "select-new-patient-15mg",
        "order-select: new patient, 15 mg/day start",
        """order-select while a GP composes a first baclofen order for a woman aged 32: half
            a 10 mg tablet (contained Medication) three times a day. Correct start: no titration
            card, RTU frame cards only; not pregnant.""",
        "2026-09-16T09:25",
        Patient("Jacob", "Marine", "1994-04-27", "female", "Lyon"),
        hook="order-select",
        prescriber="gp",
    )
)
s.baseline(egfr=116, weight=56)
s.pregnancy_obs(False, -4)
s.draft([L(tabs=0.5, per="TID")], med="contained10")
expect(s, [], ["titration-start", "titration-step", "titration-interval", "titration-intakes", "ci-pregnancy"])

s = add(
    Scn(
        "select-step-too-big-40-to-70",
        "order-select: 40 to 70 mg/day is too big a step",
        """order-select for a man aged 39 on 40 mg/day for 5 days; the order being composed
            says 70 mg/day (20-25-25 mg). +30 mg exceeds the +10 mg/day step from 30 mg/day:
            titration-step (suggesting 50 mg/day) as early dosing guidance.""",
        "2026-09-23T10:55",
        Patient("Collet", "Romain", "1986-12-03", "male", "Paris"),
        hook="order-select",
    )
)
s.baseline(egfr=97)
s.current(split3(10, 15, 15), offset=-5)
s.draft(split3(20, 25, 25))
expect(s, ["titration-step"], ["titration-interval", "titration-start"])

s = add(
    Scn(
        "select-elderly-150mg-collegial",
        "order-select: 150 mg/day at 71 needs a collegial decision",
        """order-select for a man aged 71 on 140 mg/day for 6 days; the order being composed
            gives 50 mg three times a day (150 mg/day). Above 120 mg/day after 65: dose-collegial,
            not dose-specialist. The +10 mg step is compliant.""",
        "2026-09-30T11:20",
        Patient("Huet", "Claude", "1955-03-08", "male", "Montpellier"),
        hook="order-select",
        prescriber="csapa",
    )
)
s.baseline(egfr=68)
s.current(split3(45, 45, 50), offset=-6)
s.draft(tid(50))
expect(s, ["dose-collegial"], ["dose-specialist", "dose-over-max", "titration-step", "titration-interval"])

s = add(
    Scn(
        "select-two-drafts-baclofen-selected-bid",
        "order-select with two draft orders: baclofen selected, twice daily",
        """order-select for a woman aged 46 whose order basket holds paracetamol and the
            baclofen order being composed (selections = the baclofen order). Baclofen 20 mg
            twice daily (40 mg/day, from 30 mg/day for 4 days): titration-intakes (fewer than 3
            intakes). The paracetamol draft gives no card.""",
        "2026-10-07T10:35",
        Patient("Baron", "Mélanie", "1980-06-29", "female", "Strasbourg"),
        hook="order-select",
        prescriber="gp",
    )
)
s.baseline(egfr=95, weight=69)
s.current(tid(10), offset=-4)
other_draft(s, "paracetamol", L(g=1, per="TID"), (ICD10, "M54.5", "Low back pain", "Lombalgie"))
bac = s.draft([L(20, "BID")])
s.selections = [f"MedicationRequest/{bac['id']}"]
expect(s, ["titration-intakes"], ["titration-step", "titration-interval", "titration-start"])


# ============================================================================================
# 11. Prefetch edge cases (service contract: null = no data; OperationOutcome = failed fetch)
# ============================================================================================
s = add(
    Scn(
        "prefetch-null-conditions-and-allergies",
        "Prefetch conditions and allergies are null (no data): no data-unavailable",
        """Man aged 44: the EHR found no Condition and no AllergyIntolerance, so both prefetch
            values are null (contract: null means no data, not a failure). The indication comes
            from the draft's reasonCode (F10.2); 30 -> 40 mg/day is compliant. No
            data-unavailable, no missing indication, no contraindication.""",
        "2026-10-14T09:50",
        Patient("Lacroix", "Vincent", "1982-08-12", "male", "Lille"),
    )
)
s.baseline(egfr=100, cond="")
s.conditions = None
s.allergies = None
s.current(tid(10), offset=-5)
s.draft(split3(10, 15, 15))
expect(s, [], ["ci-hypersensitivity", "ci-epilepsy", "titration-step", "titration-interval"])

s = add(
    Scn(
        "prefetch-null-observations-renal-unknown",
        "Prefetch observations is null: renal function unknown (not data-unavailable)",
        """Woman aged 53: the EHR found no Observation at all (prefetch 'observations' is
            null). There is no renal result, so renal-unknown fires; the prefetch did not fail,
            so no data-unavailable.""",
        "2026-10-21T10:15",
        Patient("Gilbert", "Agnès", "1973-05-19", "female", "Nantes"),
        prescriber="gp",
    )
)
s.baseline(egfr=None, weight=None)
s.observations = None
s.current(tid(10), offset=-5)
s.draft(split3(10, 15, 15))
expect(s, ["renal-unknown"], ["renal-moderate", "renal-severe", "titration-step", "titration-interval"])

s = add(
    Scn(
        "prefetch-observations-failed-data-unavailable",
        "Observations prefetch failed (OperationOutcome), no FHIR access: data-unavailable",
        """Man aged 36: the EHR's observations prefetch failed and holds an OperationOutcome;
            there is no fhirAuthorization, so the service cannot fetch it. The other rules still
            run (30 -> 40 mg/day, RTU frame) and a data-unavailable warning names the
            observations and the renal check that did not run. (renal-unknown is left
            unspecified: the contract lets the data-unavailable card name it.)""",
        "2026-10-28T11:05",
        Patient("Rivière", "Hugo", "1990-03-07", "male", "Toulouse"),
    )
)
s.baseline(egfr=None, weight=None)
s.observations = "OO"
s.current(tid(10), offset=-5)
s.draft(split3(10, 15, 15))
expect(
    s,
    ["data-unavailable"],
    ["renal-moderate", "renal-severe", "titration-step", "titration-interval"],
    full_prefetch=False,
)

s = add(
    Scn(
        "prefetch-patient-failed-412",
        "Patient prefetch failed and cannot be fetched: HTTP 412",
        """The patient prefetch holds an OperationOutcome (EHR failure) and the request has
            no fhirAuthorization, so the Patient cannot be obtained either way. The service
            contract (and CDS Hooks 2.0) requires HTTP 412 Precondition Failed; no cards are
            evaluated.""",
        "2026-11-04T09:35",
        Patient("Moulin", "Francis", "1969-09-21", "male", "Brest"),
    )
)
s.baseline(egfr=90)
s.patient_prefetch_failed = True
s.current(tid(10), offset=-5)
s.draft(split3(10, 15, 15))
s.status = 412
s.must, s.must_not = [], []


# ============================================================================================
# 12. Everything at once
# ============================================================================================
s = add(
    Scn(
        "mixed-elderly-everything",
        "Elderly patient with moderate CKD, comorbidities and co-medications",
        """Man aged 73, eGFR 44, COPD, depression, hypertension and alcoholic cirrhosis, on
            furosemide, ramipril, oxazepam, escitalopram and tiotropium; baclofen 110 mg/day for
            5 days, draft 130 mg/day. Expected: dose-collegial (> 120 mg after 65, not
            specialist), renal-moderate with the slower schedule (+20 mg is a titration-step and
            5 days < 7 a titration-interval), ix-diuretic, ix-antihypertensive,
            ix-cns-depressant, pr-respiratory, pr-depression, pr-hepatic and the RTU frame.""",
        "2026-11-12T10:45",
        Patient("Lebon", "Bernard", "1953-09-12", "male", "Perpignan"),
        prescriber="csapa",
    )
)
s.baseline(egfr=44, egfr_days=-20, weight=69)
s.creat_umol(round(0.9 * 88.4 * ((44 / (142 * 0.9938**73)) ** (-1 / 1.2)), 0), -20)
for k, onset in [("copd", -3000), ("depression", -400), ("hypertension", -5000), ("cirrhosis", -1000)]:
    s.cond(k, onset=onset)
for k in ["furosemide", "ramipril", "oxazepam", "escitalopram", "tiotropium"]:
    s.comed(k, offset=-150)
s.current(split3(30, 35, 35), offset=-40, start=-40, end=-5, status="stopped")
s.current(split3(35, 35, 40), offset=-5)
s.draft(split3(40, 40, 50))
expect(
    s,
    [
        "dose-collegial",
        "renal-moderate",
        "titration-step",
        "titration-interval",
        "ix-diuretic",
        "ix-antihypertensive",
        "ix-cns-depressant",
        "pr-respiratory",
        "pr-depression",
        "pr-hepatic",
    ],
    [
        "dose-specialist",
        "dose-over-max",
        "renal-severe",
        "renal-unknown",
        "titration-start",
        "ix-tricyclic",
        "ix-levodopa",
        "pr-psychosis",
        "ci-epilepsy",
    ],
)


# ============================================================================================
# 12. Suggestion safety (spec "Suggestion safety", 2026-12; issue 11): fire / no-fire pairs.
#     Besides the rule codes, `suggest` states what every one-click dose must respect.
# ============================================================================================
s = add(
    Scn(
        "safety-taper-renal-severe-on-90mg",
        "Severe renal insufficiency on 90 mg/day: a progressive reduction, never a bare delete",
        """Man aged 58 on 90 mg/day for 40 days whose eGFR fell to 25; the draft renews 90 mg/day.
            renal-severe (critical). Stopping 90 mg/day at once risks a withdrawal syndrome: the
            card offers a taper (60, 30 mg/day, then stop), no delete, no plan card.""",
        "2026-10-05T09:30",
        Patient("Girard", "Alain", "1968-02-14", "male", "Lyon"),
    )
)
s.baseline(egfr=25, egfr_days=-4)
s.current(tid(30), offset=-40)
s.draft(tid(30))
expect(s, ["renal-severe"], ["renal-moderate", "renal-unknown"])
s.suggest = {"max_mg": 90, "taper": True, "delete": False}

s = add(
    Scn(
        "safety-delete-renal-severe-on-30mg",
        "Severe renal insufficiency on 30 mg/day: cancelling the draft is allowed",
        """Pair of the taper scenario: the patient takes only 30 mg/day (the taper's floor), so
            cancelling the draft is offered alone.""",
        "2026-10-05T09:45",
        Patient("Girard", "Paul", "1966-05-20", "male", "Lyon"),
    )
)
s.baseline(egfr=26, egfr_days=-4)
s.current(tid(10), offset=-40)
s.draft(tid(10))
expect(s, ["renal-severe"], ["renal-moderate", "renal-unknown"])
s.suggest = {"max_mg": 30, "taper": False, "delete": True}

s = add(
    Scn(
        "safety-epilepsy-resolved-history-on-60mg",
        "A resolved epilepsy is an antécédent: contraindication, and a taper from 60 mg/day",
        """Woman aged 44 on 60 mg/day for 3 weeks; her problem list holds epilepsy marked resolved
            (an antécédent). ci-epilepsy fires (history counts) and the draft's increase to 70 mg/day
            is not offered: a taper from 60 mg/day instead.""",
        "2026-10-06T11:00",
        Patient("Perrin", "Laure", "1982-03-11", "female", "Nantes"),
    )
)
s.baseline(egfr=98)
s.cond("epilepsy", onset=-3000, status="resolved")
s.current(tid(20), offset=-21)
s.draft(split3(20, 25, 25))
expect(s, ["ci-epilepsy"], [])
s.suggest = {"max_mg": 60, "taper": True, "delete": False}

s = add(
    Scn(
        "safety-epilepsy-refuted-is-silent",
        "An epilepsy diagnosis refuted by the neurologist never counts",
        """Pair of the resolved-epilepsy scenario: the same record, but the condition's
            verification status is refuted. No contraindication; the +10 mg/day step is fine.""",
        "2026-10-06T11:15",
        Patient("Perrin", "Anne", "1981-07-02", "female", "Nantes"),
    )
)
s.baseline(egfr=98)
s.cond("epilepsy", onset=-3000, status="resolved", verification="refuted")
s.current(tid(20), offset=-21)
s.draft(split3(20, 25, 25))
expect(s, [], ["ci-epilepsy", "titration-step", "titration-interval"])

s = add(
    Scn(
        "safety-withdrawal-seizures-resolved-history",
        "Withdrawal seizures recorded as resolved still call for caution",
        """Man aged 50 with a withdrawal seizure recorded as resolved two years ago (the usual way
            to record an antécédent): pr-withdrawal-seizures fires.""",
        "2026-10-07T10:00",
        Patient("Lemoine", "Eric", "1976-01-09", "male", "Rennes"),
    )
)
s.baseline(egfr=90)
s.cond("withdrawal_seizures", onset=-730, status="resolved")
s.current(tid(10), offset=-5)
s.draft(tid(10))
expect(s, ["pr-withdrawal-seizures"], [])

s = add(
    Scn(
        "safety-withdrawal-seizures-entered-in-error-silent",
        "A withdrawal seizure entered in error never counts",
        """Pair of the previous scenario: the condition was entered in error.""",
        "2026-10-07T10:15",
        Patient("Lemoine", "Marc", "1975-11-30", "male", "Rennes"),
    )
)
s.baseline(egfr=90)
s.cond("withdrawal_seizures", onset=-730, status="resolved", verification="entered-in-error")
s.current(tid(10), offset=-5)
s.draft(tid(10))
expect(s, [], ["pr-withdrawal-seizures"])

s = add(
    Scn(
        "safety-renal-unknown-new-patient-no-dose",
        "Renal function unknown, new patient: no dose at all, the creatinine order instead",
        """Man aged 39, no baclofen yet, no creatinine or eGFR on file; the draft starts at 30 mg/day.
            « Il faut impérativement vérifier la fonction rénale avant toute prescription »: no
            starting dose is offered, only the creatinine order; the plan card says do not start.""",
        "2026-10-08T15:00",
        Patient("Robin", "Hugo", "1987-04-04", "male", "Lille"),
    )
)
s.baseline(egfr=None)
s.draft(tid(10))
expect(s, ["renal-unknown", "titration-start"], [])
s.suggest = {"dose": False, "delete": False}

s = add(
    Scn(
        "safety-renal-known-new-patient-start-offered",
        "Renal function known, new patient: the 15 mg/day start is offered",
        """Pair of the previous scenario with an eGFR of 95 ten days ago: titration-start offers
            15 mg/day (5-5-5), and the plan the next step after the review.""",
        "2026-10-08T15:15",
        Patient("Robin", "Théo", "1988-09-19", "male", "Lille"),
    )
)
s.baseline(egfr=95, egfr_days=-10)
s.draft(tid(10))
expect(s, ["titration-start"], ["renal-unknown"])
s.suggest = {"max_mg": 30, "delete": False}

s = add(
    Scn(
        "safety-collegial-pending-age70-no-increase",
        "Aged 70, 115 to 125 mg/day: no suggested step above 115 before the collegial decision",
        """Man aged 70 on 115 mg/day for 6 days; the draft asks 125 mg/day, which needs a collegial
            decision (over 65 and above 120 mg/day). The referral is offered; no suggested dose
            exceeds 115 mg/day, and the plan card holds.""",
        "2026-10-09T10:30",
        Patient("Bertin", "Jacques", "1956-02-03", "male", "Dijon"),
    )
)
s.baseline(egfr=75)
s.current(split3(35, 40, 40), offset=-6)
s.draft(split3(40, 40, 45))
expect(s, ["dose-collegial"], ["dose-specialist", "titration-step", "titration-interval"])
s.suggest = {"max_mg": 115}

s = add(
    Scn(
        "safety-specialist-held-renewal-120-age70-capped",
        "Aged 70, renewing 120 mg/day during titration: the next step stays at 120",
        """Pair of the previous scenario: the patient already takes 120 mg/day (the specialist's
            opinion is held: dose-specialist as info); the next step would need a collegial
            decision, so the plan card keeps 120 mg/day and no suggestion goes above it.""",
        "2026-10-09T10:45",
        Patient("Bertin", "Louis", "1955-12-01", "male", "Dijon"),
    )
)
s.baseline(egfr=75)
s.current(tid(40), offset=-5)
s.draft(tid(40))
expect(s, ["dose-specialist"], ["dose-collegial", "titration-step", "titration-interval"])
s.suggest = {"max_mg": 120}

s = add(
    Scn(
        "safety-stable-renewal-no-next-dose",
        "A stable renewal (60 mg/day for 30 days) gets no increase",
        """Woman aged 52 stable on 60 mg/day for 30 days; the draft renews it. The aim is the minimal
            effective dose: no plan card, no suggested increase.""",
        "2026-10-12T09:00",
        Patient("Moreau", "Claire", "1974-06-21", "female", "Bordeaux"),
    )
)
s.baseline(egfr=88)
s.current(tid(20), offset=-30)
s.draft(tid(20))
expect(s, [], RENEWAL_QUIET, plan=False, stable=True)
s.suggest = {"max_mg": 60}

s = add(
    Scn(
        "safety-renewal-during-titration-next-dose",
        "A renewal 4 days into 60 mg/day: the next step, conditional, after the review",
        """Pair of the stable renewal: 60 mg/day began 4 days ago. The plan card offers 70 mg/day
            after the review, if craving persists and tolerance is good.""",
        "2026-10-12T09:15",
        Patient("Moreau", "Julie", "1975-01-17", "female", "Bordeaux"),
    )
)
s.baseline(egfr=88)
s.current(tid(20), offset=-4)
s.draft(tid(20))
expect(s, [], RENEWAL_QUIET)
s.suggest = {"max_mg": 70}

s = add(
    Scn(
        "safety-reduction-60-to-50-holds",
        "After a reduction for side effects (60 to 50 mg/day 3 days ago): keep 50, no step back to 60",
        """Man aged 47: 60 mg/day caused drowsiness, the prescriber lowered it to 50 mg/day 3 days
            ago and now renews 50. « Redescendre au palier inférieur … avant de reprendre plus
            lentement »: the plan card keeps 50 mg/day; nothing above 50 is suggested.""",
        "2026-10-13T16:00",
        Patient("Henry", "Olivier", "1979-08-08", "male", "Toulouse"),
    )
)
s.baseline(egfr=91)
s.current(tid(20), offset=-20, start=-20, end=-3, status="stopped")
s.current(split3(15, 15, 20), offset=-3)
s.draft(split3(15, 15, 20))
expect(s, [], RENEWAL_QUIET)
s.suggest = {"max_mg": 50}

s = add(
    Scn(
        "safety-reduction-then-slow-re-escalation",
        "16 days after a reduction to 50, a step to 55: the next one is +5, not +10",
        """Pair of the previous scenario: the reduction was 16 days ago (more than a review interval)
            and the prescriber now goes to 55 mg/day. Re-escalation is allowed, more slowly: the
            plan's next step is 60 mg/day (+5), never 65.""",
        "2026-10-13T16:15",
        Patient("Henry", "Luc", "1978-10-10", "male", "Toulouse"),
    )
)
s.baseline(egfr=91)
s.current(tid(20), offset=-40, start=-40, end=-16, status="stopped")
s.current(split3(15, 15, 20), offset=-16)
s.draft(split3(20, 15, 20))
expect(s, [], ["titration-step", "titration-interval", "titration-start"])
s.suggest = {"max_mg": 60}

s = add(
    Scn(
        "safety-spasticity-egfr20-still-checked",
        "Spasticity order with an eGFR of 20: renal contraindication still applies",
        """Woman aged 61 with multiple sclerosis on 60 mg/day for 2 months (reason G35) whose eGFR is
            now 20. The AMM applies, yet renal-severe still fires and a taper is offered; no RTU
            card (register, thresholds, titration).""",
        "2026-10-14T11:30",
        Patient("Fabre", "Odile", "1965-04-12", "female", "Clermont-Ferrand"),
        prescriber="neuro",
    )
)
s.baseline(egfr=20, cond="ms", thiamine=False, weight=61)
s.current(tid(20), offset=-60, reason="ms", prescriber="neuro")
s.draft(tid(20), reason="ms")
expect(s, ["indication-amm", "renal-severe"],
       ["rtu-register", "monitoring", "plan-next-dose", "dose-specialist", "titration-step"], frame=False,
       indication=False)
s.must_not = [c for c in s.must_not if c != "indication-amm"]
s.suggest = {"max_mg": 60, "taper": True, "delete": False}

s = add(
    Scn(
        "safety-over-max-renewal-320-to-300",
        "Renewing 320 mg/day (above the maximum): brought to 300, progressively",
        """Man aged 45 on 320 mg/day for a month (collegial decision taken), renewed as is. Above the
            300 mg/day maximum: dose-over-max, and the suggestion brings the dose to 300 mg/day
            (a reduction of less than a third: one step).""",
        "2026-10-15T10:00",
        Patient("Lambert", "Yves", "1981-05-05", "male", "Marseille"),
    )
)
s.baseline(egfr=99)
s.current(split3(105, 105, 110), offset=-30)
s.draft(split3(105, 105, 110))
expect(s, ["dose-over-max", "dose-collegial"], ["titration-step"], plan=False)
s.suggest = {"max_mg": 300, "delete": False}

s = add(
    Scn(
        "safety-history-unreadable-epilepsy-no-delete",
        "Epilepsy, medication history unreadable: neither a dose nor a delete",
        """Woman aged 36 with epilepsy; the medications prefetch failed, so whether she already takes
            baclofen is unknown. Cancelling the draft could stop an ongoing treatment abruptly:
            no delete and no dose are offered; the card says to stop progressively if treated.""",
        "2026-10-16T14:00",
        Patient("Colin", "Sarah", "1990-02-28", "female", "Grenoble"),
    )
)
s.baseline(egfr=105)
s.cond("epilepsy", onset=-4000)
s.meds = "OO"
s.draft(tid(10))
expect(s, ["ci-epilepsy", "data-unavailable"], [], full_prefetch=False)
s.suggest = {"dose": False, "delete": False}


# ============================================================================================
# 13. What a real FHIR server holds (issue 13): a long history, a Medication by reference,
#     MedicationStatements. The fetch-mode golden run loads these into an independent server.
# ============================================================================================
s = add(
    Scn(
        "fetch-history-450-orders",
        "450 medication orders on record: the whole history is read",
        """Man aged 58 with years of hospital stays: 450 MedicationRequests on record, most of them
            completed daily thiamine orders. The current baclofen order is 30 mg/day for 5 days,
            the draft is 40 mg/day (a compliant step), and furosemide is active: ix-diuretic
            fires. A FHIR server paging at 20 would need 23 pages (over the 20-page cap); the
            templates ask for 200 a page. Nothing is missing, so no data-unavailable.""",
        "2026-09-08T10:30",
        Patient("Marchand", "Thierry", "1968-02-17", "male", "Lyon"),
    )
)
s.baseline(egfr=88)
s.comed("furosemide", offset=-60)
s.history(10, start=-400, end=-300)
s.current(tid(10), offset=-5)
s.draft(split3(10, 15, 15))
for i in range(450 - len(s.meds)):
    s.comed("thiamine", status="completed", offset=-20 - 3 * i)
expect(s, ["ix-diuretic"], ["titration-start", "titration-step", "titration-interval",
                            "ix-antihypertensive", "ix-cns-depressant"])

s = add(
    Scn(
        "fetch-medication-by-reference",
        "Current baclofen order pointing to a separate Medication resource",
        """Woman aged 47 on 40 mg/day (10 mg four times a day) for 6 days, prescribed through a
            MedicationRequest whose medicationReference points to a separate Medication resource
            (baclofen 10 mg tablet), as many EHRs record it. The draft is 60 mg/day: +20 mg is a
            titration-step from the current 40 mg/day, not a first start.""",
        "2026-09-15T11:00",
        Patient("Perrin", "Nathalie", "1979-06-03", "female", "Bordeaux"),
    )
)
s.baseline(egfr=95)
s.current([L(10, 4)], offset=-6, med="ref10")
s.draft(split3(20, 20, 20))
expect(s, ["titration-step"], ["titration-start", "titration-interval"])

s = add(
    Scn(
        "fetch-statements-comedications",
        "Co-medications recorded as MedicationStatements",
        """Man aged 61 on baclofen 30 mg/day for 5 days, draft 40 mg/day. His other treatments
            are recorded as MedicationStatements (reported at admission): furosemide (coded),
            amitriptyline (through a Medication resource) and levodopa about to begin
            (intended). ix-diuretic, ix-tricyclic and ix-levodopa fire; nothing else interacts.""",
        "2026-09-22T09:45",
        Patient("Guerin", "Alain", "1965-01-29", "male", "Nantes"),
    )
)
s.baseline(egfr=90)
s.statement("furosemide", offset=-300)
s.statement("amitriptyline", offset=-500, by_reference=True)
s.statement("levodopa", status="intended", offset=0)
s.current(tid(10), offset=-5)
s.draft(split3(10, 15, 15))
expect(s, ["ix-diuretic", "ix-tricyclic", "ix-levodopa"],
       ["ix-antihypertensive", "ix-cns-depressant", "titration-start", "titration-step", "titration-interval"])

s = add(
    Scn(
        "fetch-baclofen-statement-only",
        "Baclofen known only from a MedicationStatement: not a current regimen",
        """Woman aged 39 who reports taking baclofen 30 mg/day bought on another prescription; it
            is recorded only as a MedicationStatement, with no prescription in this EHR. A
            statement is a co-medication record, not a verified regimen (no prescriber, dosage or
            start the titration rules can compare), so the draft at 30 mg/day is a first start:
            titration-start fires and suggests 15 mg/day.""",
        "2026-09-29T15:20",
        Patient("Roux", "Claire", "1987-04-11", "female", "Lille"),
    )
)
s.baseline(egfr=101)
s.statement("baclofen10", offset=-40, dosage="1 comprimé 3 fois par jour")
s.draft(tid(10))
expect(s, ["titration-start"], ["titration-interval", "dose-specialist"])


# ============================================================================================
# Output
# ============================================================================================
# ============================================================================================
# French drug codes (issue 13): co-medications and baclofen orders coded only by CIS / CIP / UCD
# ============================================================================================
# The fixture BDPM subset, in the official layout (no header, tab-separated, UTF-8, a
# stray trailing tab on composition lines; LF line ends), and the fixture hospital formulary.
FR_BDPM_CIS = [
    ("69000001", "LASILIX 40 mg, comprimé sécable", "comprimé sécable"),
    ("69000002", "AMLOR 5 mg, gélule", "gélule"),
    ("69000003", "LAROXYL 25 mg, comprimé pelliculé", "comprimé pelliculé"),
    ("69000005", "MODOPAR 125 (100 mg/25 mg), gélule", "gélule"),
    ("69000006", "METHADONE AP-HP 40 mg, gélule", "gélule"),
    ("69000007", "MOPRAL 20 mg, gélule gastro-résistante", "gélule gastro-résistante"),
    ("69000010", "LIORESAL 10 mg, comprimé sécable", "comprimé sécable"),
    ("69000011", "BACLOCUR 10 mg, comprimé pelliculé sécable", "comprimé pelliculé sécable"),
    ("69000012", "BACLOCUR 20 mg, comprimé pelliculé sécable", "comprimé pelliculé sécable"),
    ("69000013", "BACLOCUR 30 mg, comprimé pelliculé sécable", "comprimé pelliculé sécable"),
    ("69000014", "BACLOCUR 40 mg, comprimé pelliculé sécable", "comprimé pelliculé sécable"),
    ("69000015", "BACLOFENE EXEMPLE 10 mg, comprimé sécable", "comprimé sécable"),
]
FR_BDPM_CIP = [  # (CIS, CIP7, CIP13)
    ("69000001", "3117041", "3400931170410"), ("69000003", "3000020", "3400930000201"),
    ("69000006", "3000040", "3400930000409"), ("69000007", "3000050", "3400930000508"),
    ("69000010", "3171618", "3400931716181"), ("69000012", "3016359", "3400930163597"),
    ("69000013", "3018688", "3400930186886"), ("69000014", "3016366", "3400930163665"),
]
FR_BDPM_COMPO = [  # (CIS, element, substance code, name, strength, reference, nature, link)
    ("69000001", "comprimé", "02345", "FUROSÉMIDE", "40 mg", "un comprimé", "SA", "1"),
    ("69000002", "gélule", "04567", "BÉSILATE D'AMLODIPINE", "6,94 mg", "une gélule", "SA", "1"),
    ("69000002", "gélule", "04568", "AMLODIPINE", "5 mg", "une gélule", "FT", "1"),
    ("69000003", "comprimé", "05678", "CHLORHYDRATE D'AMITRIPTYLINE", "28,28 mg", "un comprimé", "SA", "1"),
    ("69000003", "comprimé", "05679", "AMITRIPTYLINE", "25 mg", "un comprimé", "FT", "1"),
    ("69000005", "gélule", "03456", "LÉVODOPA", "100 mg", "une gélule", "SA", "1"),
    ("69000005", "gélule", "03457", "CHLORHYDRATE DE BENSÉRAZIDE", "28,5 mg", "une gélule", "SA", "2"),
    ("69000005", "gélule", "03458", "BENSÉRAZIDE", "25 mg", "une gélule", "FT", "2"),
    ("69000006", "gélule", "06789", "CHLORHYDRATE DE MÉTHADONE", "40 mg", "une gélule", "SA", "1"),
    ("69000007", "gélule", "07890", "OMÉPRAZOLE", "20 mg", "une gélule", "SA", "1"),
    *[(cis, "comprimé", "01234", "BACLOFÈNE", f"{mg} mg", "un comprimé", "SA", "1")
      for cis, mg in (("69000010", 10), ("69000011", 10), ("69000012", 20), ("69000013", 30),
                      ("69000014", 40), ("69000015", 10))],
]
FR_FORMULARY = """system,code,display,substance,atc,strength,unit,form,scored
ucd,3400890000017,ZOPICLONE 7.5 mg cp,zopiclone,N05CF01,7.5,mg,comprimé pelliculé sécable,oui
ucd,3400890000024,BACLOCUR 30 mg cp pell séc,baclofène,M03BX01,30,mg,comprimé pelliculé sécable,oui
""" + SYS_LIVRET + """,PH-0427,Tramadol 50 mg gélule,chlorhydrate de tramadol,,50,mg,gélule,non
"""


def fr_bdpm_files() -> dict[str, str]:
    def lines(rows: list[tuple[str, ...]], trailing: str = "") -> str:
        return "".join("\t".join(row) + trailing + "\n" for row in rows)

    cis = [(c, name, form, "orale", "Autorisation active", "Procédure nationale", "Commercialisée",
            "01/01/2000", "", "", " LABORATOIRE EXEMPLE", "Non") for c, name, form in FR_BDPM_CIS]
    cip = [(c, cip7, "plaquette(s) de 30 unité(s)", "Présentation active",
            "Déclaration de commercialisation", "01/01/2000", cip13, "oui", "65%", "", "", "", "")
           for c, cip7, cip13 in FR_BDPM_CIP]
    return {"CIS_bdpm.txt": lines(cis), "CIS_CIP_bdpm.txt": lines(cip),
            "CIS_COMPO_bdpm.txt": lines(FR_BDPM_COMPO, "\t")}


def fr_case(s: Scn) -> None:
    s.terminology = dict(FR_TERMINOLOGY)
    pr_case(s)


FR_QUIET = ["titration-step", "titration-interval"]
FR_IX_CASES = [
    ("fr-ix-diuretic-lasilix-cip13", "lasilix", "ix-diuretic",
     "LASILIX coded only by its CIP13 (ANS cip_ucd system): diuretic",
     "Furosemide coded only by a CIP13 under the ANS CIP/UCD system, no ATC: the BDPM index gives "
     "furosémide, a diuretic; ix-diuretic fires."),
    ("fr-ix-antihypertensive-amlor-cis", "amlor", "ix-antihypertensive",
     "AMLOR coded only by its CIS: antihypertensive",
     "Amlodipine coded only by its CIS (terminologie-bdpm); the BDPM composition names the besilate salt "
     "and its amlodipine fraction: ix-antihypertensive."),
    ("fr-ix-tricyclic-laroxyl-cip13-by-shape", "laroxyl", "ix-tricyclic",
     "LAROXYL CIP13 under an unknown local system: recognised by shape",
     "Amitriptyline coded by a CIP13 under a hospital URI the service does not know; the 34009 13-digit "
     "shape makes it a CIP13: ix-tricyclic."),
    ("fr-ix-cns-zopiclone-ucd", "zopiclone_ucd", "ix-cns-depressant",
     "Zopiclone coded only by its UCD13: formulary gives the substance",
     "Zopiclone coded only by a UCD13 (ANSM UCD system); UCD is not in the BDPM, the hospital formulary "
     "row gives zopiclone (N05CF01): ix-cns-depressant."),
    ("fr-ix-levodopa-modopar-cis-oid", "modopar", "ix-levodopa",
     "MODOPAR coded only by its CIS under the ANS OID: L-Dopa",
     "Levodopa/benserazide coded by CIS under urn:oid:1.2.250.1.213.2.3.1: ix-levodopa."),
    ("fr-ix-cns-tramadol-formulary-local-code", "tramadol_livret", "ix-cns-depressant",
     "Tramadol under a local pharmacy code found only in the formulary",
     "A local formulary code (livret) with no ATC in the row: the substance (chlorhydrate de tramadol -> "
     "tramadol) classifies it as a CNS depressant."),
]
for name, key, code, title, description in FR_IX_CASES:
    s = add(Scn(name, title, description, "2026-06-03T10:00",
                Patient("Lefèvre", "Hélène", "1970-02-14", "female", "Nantes"), prescriber="gp"))
    s.baseline(egfr=80, weight=68)
    s.comed_fr(key, offset=-200)
    fr_case(s)
    expect(s, [code], [*without(ALL_IX, code), "comed-unidentified", *FR_QUIET])

s = add(Scn("fr-ix-methadone-cip-oid-compatible", "Methadone coded only by CIP13: substitution, no card",
            """Methadone coded only by a CIP13 (CIP OID); the BDPM gives chlorhydrate de méthadone -> méthadone,
            an opioid substitution substance, compatible with baclofen: no interaction card and nothing
            unidentified.""",
            "2026-06-04T10:00", Patient("Roux", "Karim", "1982-09-30", "male", "Marseille"), prescriber="csapa"))
s.baseline(egfr=95, weight=80)
s.cond("opioid_dep", onset=-2000)
s.comed_fr("methadone", offset=-300)
fr_case(s)
expect(s, [], [*ALL_IX, "comed-unidentified", *FR_QUIET])

s = add(Scn("fr-omeprazole-cip13-identified-no-interaction", "MOPRAL by CIP13: identified, no interaction",
            """Omeprazole coded only by its CIP13: identified through the BDPM (oméprazole), in no
            interaction class: no interaction card and no comed-unidentified.""",
            "2026-06-05T10:00", Patient("Garnier", "Odile", "1966-11-02", "female", "Rennes"), prescriber="gp"))
s.baseline(egfr=85, weight=60)
s.comed_fr("mopral", offset=-100)
fr_case(s)
expect(s, [], [*ALL_IX, "comed-unidentified", *FR_QUIET])

s = add(Scn("fr-comed-unidentified-unknown-codes", "Unknown CIP13 and local code: 2 co-medications not identified",
            """A CIP13 absent from the imported BDPM (no display, no ATC) and a local pharmacy code
            absent from the formulary: nothing says what they are, so their interactions cannot be
            checked. comed-unidentified (warning) names them instead of staying silent.""",
            "2026-06-08T10:00", Patient("Perrin", "Alain", "1958-05-19", "male", "Dijon"), prescriber="gp"))
s.baseline(egfr=70, weight=82)
s.comed_fr("unknown_cip", offset=-150)
s.comed_fr("unknown_local", offset=-60)
fr_case(s)
expect(s, ["comed-unidentified"], [*ALL_IX, *FR_QUIET])

# Baclofen orders coded only by a French code: the product (and its strength) comes from the
# product table, the BDPM index or the formulary, so a dose in tablets is computable.
FR_BACLOFEN_CASES = [
    # name, variant, current (m, n, e) mg, draft tablets (m, n, e), title
    ("fr-baclofen-lioresal-cip13-tablets", "fr-lioresal-cip13", (10, 10, 10), (1, 1, 2),
     "LIORESAL 10 mg by CIP13, dose in tablets: 30 -> 40 mg/day"),
    ("fr-baclofen-generic-cis-tablets", "fr-generic-cis", (10, 10, 10), (1, 1, 2),
     "Generic baclofen 10 mg by CIS, dose in tablets: 30 -> 40 mg/day"),
    ("fr-baclocur-10-cis", "fr-baclocur10-cis", (10, 10, 10), (1, 1, 2),
     "BACLOCUR 10 mg by CIS (BDPM only), dose in tablets: 30 -> 40 mg/day"),
    ("fr-baclocur-20-cip13-oid", "fr-baclocur20-cip13", (15, 15, 20), (1, 1, 1),
     "BACLOCUR 20 mg by CIP13 (CIP OID), 1 cp x 3: 50 -> 60 mg/day"),
    ("fr-baclocur-30-cip13", "fr-baclocur30-cip13", (25, 25, 30), (1, 1, 1),
     "BACLOCUR 30 mg by CIP13, 1 cp x 3: 80 -> 90 mg/day"),
    ("fr-baclocur-40-cip7", "fr-baclocur40-cip7", (15, 15, 20), (0.5, 0.5, 0.5),
     "BACLOCUR 40 mg by CIP7 (CIP OID), half a scored tablet x 3: 50 -> 60 mg/day"),
    ("fr-baclocur-30-ucd-formulary", "fr-baclocur30-ucd", (25, 25, 30), (1, 1, 1),
     "BACLOCUR 30 mg by UCD13 (formulary only), 1 cp x 3: 80 -> 90 mg/day"),
]
for name, variant, current, tablets, title in FR_BACLOFEN_CASES:
    s = add(Scn(name, title,
                f"""Baclofen draft coded only by a French code ({variant}), the dose written in tablets:
                the strength comes from the product table, the BDPM index or the formulary, so the
                daily dose is computable (no dose-unknown) and the usual +10 mg step is checked.""",
                "2026-06-10T10:00", Patient("Marchand", "Sylvie", "1975-03-08", "female", "Tours")))
    s.baseline(egfr=90, weight=70)
    s.terminology = dict(FR_TERMINOLOGY)
    s.current(split3(*current), offset=-14)
    m, n, e = tablets
    s.draft([L(None, ["MORN"], tabs=m, seq=1), L(None, ["NOON"], tabs=n, seq=1), L(None, ["EVE"], tabs=e, seq=1)],
            med=variant)
    expect(s, [], ["comed-unidentified", "titration-step", "titration-interval"])


README_HEAD = """# FHIR fixtures — clinical test scenarios

Golden end-to-end scenarios for **baclofen-cds**: each one is a complete CDS Hooks 2.0 request,
exactly what an EHR would POST, and the answer the service must give. The clinical source of
truth is `spec/rtu-rules.md` (ANSM 2014 RTU, default profile `rtu-2014`); prefetch keys follow
`spec/service-contract.md`.

## Layout

```
fhir_fixtures/
  build_scenarios.py        # generator (stdlib + PyYAML); idempotent; writes everything below
  validate_scenarios.py     # validation pass: CDS Hooks shape + every FHIR resource (fhir.resources R4B)
  scenarios/<name>/request.json   # the CDS Hooks request (pretty-printed, 2-space indent)
  scenarios/<name>/expected.yaml  # the expected answer
```

The committed JSON/YAML is what tests read. To change a scenario, edit `build_scenarios.py` and
run `python fhir_fixtures/build_scenarios.py` (then `.venv/bin/python
fhir_fixtures/validate_scenarios.py`); `--check` exits 1 if the files on disk are stale.

## request.json

```json
{"hook": "order-sign" | "order-select", "hookInstance": "<uuid4, unique per scenario>",
 "fhirServer": "https://ehr.example-hospital.fr/fhir",
 "context": {"userId": "Practitioner/…", "patientId": "…", "encounterId": "…",
             "selections": ["MedicationRequest/<draft id>"],        // order-select only
             "draftOrders": {"resourceType": "Bundle", "type": "collection",
                             "entry": [{"resource": <MedicationRequest status "draft">}]}},
 "prefetch": {"patient": <Patient>, "conditions": <Bundle searchset | null>,
              "medications": <Bundle searchset of MedicationRequest (+ included Medication) | null>,
              "medicationStatements": <Bundle searchset of MedicationStatement (+ included Medication) | null>,
              "observations": <Bundle searchset of Observation | null>,
              "allergies": <Bundle searchset of AllergyIntolerance | null>}}
```

No `fhirAuthorization`: the prefetch is complete, nothing needs fetching. `null` = the EHR found
nothing (not a failure). An `OperationOutcome` instead of a Bundle = the EHR's prefetch failed
(two scenarios).

Conventions (shared with the service): the evaluation date is the draft's `authoredOn` (all in
2026, Europe/Paris offsets); ages in completed years; the current regimen is the most recent
non-draft `active` baclofen MedicationRequest (or `completed` within 7 days), begun at
`dosageInstruction[0].timing.repeat.boundsPeriod.start` if present, else at its `authoredOn`;
renal results older than 90 days don't count; creatinine-only cases are far from the 30/60
cut-offs (CKD-EPI 2021 value quoted in the description). Patients are fictitious (French
names, syntactically valid INS-NIR under `urn:oid:1.2.250.1.213.1.4.8`).

## expected.yaml

```yaml
title: "Short human title"
description: "The clinical situation and why the rules fire / stay silent."
service: baclofen-rtu            # baclofen-rtu-select for order-select
status: 200                      # expected HTTP status
must: [dose-specialist, plan-next-dose]   # each must appear in some card's baclofen-rtu-rules extension
must_not: [dose-collegial]                # none of these may appear in any card
no_cards: false                  # true: the answer must be {"cards": []}
critical: false                  # true: at least one card must have indicator "critical"
terminology: {"bdpm": "terminology/bdpm", "formulary": "terminology/formulary.csv"}  # optional
```

`terminology` (the `fr-` scenarios, issue 13) names the French drug terminology the service must
have loaded, as `CDS_TERMINOLOGY_DIR` (BDPM index) and `CDS_FORMULARY` would give it: the golden
test imports `terminology/bdpm/` (a BDPM subset in the official file layout) and reads
`terminology/formulary.csv` for that scenario only. Both are written by `build_scenarios.py`.
The baclofen CIP codes there are the real ones of the product table; the other CIS / CIP / UCD
codes are illustrative (right shape, not checked against the live BDPM).

`must` lists only what the spec clearly implies; `must_not` lists the codes that clearly stay
silent, especially the neighbours at a boundary. A code the spec leaves open for a scenario is
in neither list (see the notes below). `critical: false` means no critical card is required;
in every such scenario no critical rule has any evidence.

Codes absent from both lists on purpose:
- `dose-collegial` at 310 mg/day (`dose-310mg-over-max`): the spec does not say whether it is
  still reported once `dose-over-max` fires; `titration-step` there too (300 -> 310 is a normal
  +10 mg step, but the allowed target may be capped at the 300 mg maximum).
- `titration-step` when there is no current dose and the new dose is > 15 mg/day: the spec names
  `titration-start` for that case.
- `renal-unknown` when the renal category comes from a CKD Condition without any lab result,
  and when the observations prefetch failed (`data-unavailable` names the renal check).
- `monitoring` and the renal codes on the spasticity (AMM) order.
- `ix-antihypertensive` with tamsulosin (G04CA, an alpha-blocker outside the listed ATC classes).

"""


def readme(scns: list[Scn]) -> str:
    rows = [
        "## Scenarios",
        "",
        f"{len(scns)} scenarios.",
        "",
        "| # | scenario | hook | must | what it checks |",
        "|---|---|---|---|---|",
    ]
    for i, s in enumerate(scns, 1):
        must = ", ".join(f"`{c}`" for c in s.must if c not in FRAME) or "—"
        if s.no_cards:
            must = "no cards"
        if s.status != 200:
            must = f"HTTP {s.status}"
        hook = "select" if s.hook == "order-select" else "sign"
        rows.append(f"| {i} | [`{s.name}`](scenarios/{s.name}/) | {hook} | {must} | {s.title} |")
    rows += [
        "",
        "`rtu-register`, `monitoring` and `plan-next-dose` are also in `must` for every "
        "in-scope RTU order (not repeated in the table).",
        "",
    ]
    # Coverage summary: which scenarios make each rule code fire.
    rows += [
        "## Rule coverage (scenarios where the code is in `must`)",
        "",
        "| rule | # scenarios | examples |",
        "|---|---|---|",
    ]
    for code in RULE_CODES:
        names = [s.name for s in scns if code in s.must]
        ex = ", ".join(f"`{n}`" for n in names[:3]) + (" …" if len(names) > 3 else "")
        rows.append(f"| `{code}` | {len(names)} | {ex} |")
    return README_HEAD + "\n".join(rows) + "\n"


def render() -> dict[Path, str]:
    files: dict[Path, str] = {}
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names)), "duplicate scenario names"
    hooks = set()
    for s in SCENARIOS:
        if s.hook == "order-select":
            # order-select gives early dosing guidance only: the RTU frame cards come at signature.
            s.must = [c for c in s.must if c not in SELECT_SILENT]
            s.must_not = list(dict.fromkeys(s.must_not + SELECT_SILENT))
        s.sanity()
        req = s.request()
        assert req["hookInstance"] not in hooks
        hooks.add(req["hookInstance"])
        files[OUT / s.name / "request.json"] = json.dumps(req, indent=2, ensure_ascii=False) + "\n"
        exp = s.expected_yaml()
        loaded = yaml.safe_load(exp)
        assert loaded["must"] == s.must and loaded["must_not"] == s.must_not, s.name
        files[OUT / s.name / "expected.yaml"] = exp
    files[HERE / "README.md"] = readme(SCENARIOS)
    for file_name, text in fr_bdpm_files().items():
        files[HERE / "terminology" / "bdpm" / file_name] = text
    files[HERE / "terminology" / "formulary.csv"] = FR_FORMULARY
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if files on disk are stale")
    args = ap.parse_args()
    files = render()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    existing = {p.parent.name for p in OUT.glob("*/request.json")} if OUT.exists() else set()
    orphans = sorted(existing - {s.name for s in SCENARIOS})
    if args.check:
        for p in stale:
            print(f"stale: {p.relative_to(HERE)}")
        for o in orphans:
            print(f"orphan scenario directory: scenarios/{o}")
        return 1 if stale or orphans else 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
    for o in orphans:
        print(f"warning: scenarios/{o} is not produced by this script (left untouched)")
    print(f"{len(SCENARIOS)} scenarios written to {OUT.relative_to(HERE.parent)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
