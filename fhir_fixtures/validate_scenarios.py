#!/usr/bin/env python3
"""Validate every scenario under fhir_fixtures/scenarios/.

Checks, for each scenario directory:
* request.json is a CDS Hooks 2.0 request as this project expects it (hook, uuid4 hookInstance
  unique across scenarios, fhirServer, context with userId/patientId/encounterId/draftOrders,
  `selections` pointing at a draft for order-select, exactly the five prefetch keys of
  spec/service-contract.md, no fhirAuthorization);
* every FHIR resource (the draftOrders Bundle, each draft, each prefetch value and each Bundle
  entry, contained resources) parses with the fhir.resources R4B models, plus the required
  code bindings the models do not enforce (status, intent, gender, Bundle type…);
* Bundle totals match their entries, references to the patient are consistent, Observations are
  final with an effectiveDateTime and a UCUM-coded valueQuantity (or a coded value);
* expected.yaml has the documented keys and only rule codes of the catalogue.

Needs fhir.resources (run it with the project's virtualenv):
    .venv/bin/python fhir_fixtures/validate_scenarios.py
Exit status 0 when everything is valid, 1 otherwise.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"

RULE_CODES = {
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
}
PREFETCH = {
    "patient": "Patient",
    "conditions": "Condition",
    "medications": "MedicationRequest",
    "medicationStatements": "MedicationStatement",
    "observations": "Observation",
    "allergies": "AllergyIntolerance",
}
BINDINGS: dict[str, dict[str, set[str]]] = {
    "Patient": {"gender": {"male", "female", "other", "unknown"}},
    "MedicationRequest": {
        "status": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"},
        "intent": {
            "proposal",
            "plan",
            "order",
            "original-order",
            "reflex-order",
            "filler-order",
            "instance-order",
            "option",
        },
    },
    "Observation": {
        "status": {
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        }
    },
    "Bundle": {
        "type": {
            "document",
            "message",
            "transaction",
            "transaction-response",
            "batch",
            "batch-response",
            "history",
            "searchset",
            "collection",
        }
    },
    "AllergyIntolerance": {"type": {"allergy", "intolerance"}, "criticality": {"low", "high", "unable-to-assess"}},
}
UCUM = "http://unitsofmeasure.org"


def model(resource_type: str) -> Any:
    mod = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(mod, resource_type)


class Checker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.errors: list[str] = []

    def err(self, msg: str) -> None:
        self.errors.append(f"{self.name}: {msg}")

    def resource(self, res: Any, where: str, expected_type: str | None = None) -> None:
        if not isinstance(res, dict) or "resourceType" not in res:
            self.err(f"{where}: not a FHIR resource")
            return
        rtype = res["resourceType"]
        if expected_type and rtype != expected_type:
            self.err(f"{where}: resourceType {rtype}, expected {expected_type}")
        try:
            model(rtype).model_validate(res)
        except Exception as e:
            self.err(f"{where}: {rtype} invalid: {str(e)[:400]}")
        for field, allowed in BINDINGS.get(rtype, {}).items():
            if field in res and res[field] not in allowed:
                self.err(f"{where}: {rtype}.{field}={res[field]!r} not in the required value set")
        for i, c in enumerate(res.get("contained", [])):
            self.resource(c, f"{where}.contained[{i}]")
        if rtype == "Observation":
            self.observation(res, where)
        if rtype == "MedicationRequest":
            self.medication_request(res, where)

    def observation(self, res: dict[str, Any], where: str) -> None:
        if res.get("status") != "final":
            self.err(f"{where}: Observation status is not final")
        if "effectiveDateTime" not in res:
            self.err(f"{where}: Observation without effectiveDateTime")
        vq = res.get("valueQuantity")
        if vq is not None and (vq.get("system") != UCUM or "code" not in vq):
            self.err(f"{where}: valueQuantity without a UCUM code")
        if vq is None and "valueCodeableConcept" not in res:
            self.err(f"{where}: Observation without a value")

    def medication_request(self, res: dict[str, Any], where: str) -> None:
        ref = res.get("medicationReference", {}).get("reference")
        if ref and ref.startswith("#"):
            ids = {c.get("id") for c in res.get("contained", [])}
            if ref[1:] not in ids:
                self.err(f"{where}: {ref} does not resolve to a contained resource")
        for i, d in enumerate(res.get("dosageInstruction", [])):
            for dr in d.get("doseAndRate", []):
                q = dr.get("doseQuantity")
                if q and not q.get("code"):
                    self.err(f"{where}.dosageInstruction[{i}]: doseQuantity without code")

    def bundle(self, b: Any, where: str, entry_type: str, patient_id: str) -> None:
        self.resource(b, where, "Bundle")
        if b.get("type") != "searchset":
            self.err(f"{where}: Bundle type {b.get('type')!r}, expected searchset")
        entries = b.get("entry", [])
        matches = [e for e in entries if e.get("search", {}).get("mode") != "include"]
        if b.get("total") != len(matches):
            self.err(f"{where}: total {b.get('total')} != {len(matches)} matching entries")
        for i, e in enumerate(entries):
            r = e.get("resource", {})
            mode = e.get("search", {}).get("mode")
            if mode == "include":  # a Medication brought by `_include`
                self.resource(r, f"{where}.entry[{i}]", "Medication")
            else:
                self.resource(r, f"{where}.entry[{i}]", entry_type)
                if mode != "match":
                    self.err(f"{where}.entry[{i}]: search.mode is not match")
            if not e.get("fullUrl", "").endswith(f"/{r.get('resourceType')}/{r.get('id')}"):
                self.err(f"{where}.entry[{i}]: fullUrl does not match the resource")
            if mode == "include":
                continue
            subj = (r.get("subject") or r.get("patient") or {}).get("reference")
            if subj != f"Patient/{patient_id}":
                self.err(f"{where}.entry[{i}]: subject {subj!r} is not the context patient")


def check_scenario(d: Path, seen_hooks: set[str]) -> list[str]:
    c = Checker(d.name)
    try:
        req = json.loads((d / "request.json").read_text(encoding="utf-8"))
        exp = yaml.safe_load((d / "expected.yaml").read_text(encoding="utf-8"))
    except Exception as e:
        return [f"{d.name}: unreadable: {e}"]

    # --- CDS Hooks request shape -------------------------------------------------------------
    hook = req.get("hook")
    if hook not in ("order-sign", "order-select"):
        c.err(f"hook {hook!r}")
    try:
        u = uuid.UUID(req.get("hookInstance", ""))
        if u.version != 4:
            c.err("hookInstance is not a version-4 UUID")
    except ValueError:
        c.err("hookInstance is not a UUID")
    if req.get("hookInstance") in seen_hooks:
        c.err("hookInstance reused by another scenario")
    seen_hooks.add(req.get("hookInstance"))
    if not str(req.get("fhirServer", "")).startswith("https://"):
        c.err("fhirServer missing or not https")
    if "fhirAuthorization" in req:
        c.err("fhirAuthorization present (scenarios carry full prefetch)")
    ctx = req.get("context", {})
    for k in ("userId", "patientId", "encounterId", "draftOrders"):
        if k not in ctx:
            c.err(f"context.{k} missing")
    if not str(ctx.get("userId", "")).startswith("Practitioner/"):
        c.err("context.userId is not a Practitioner reference")
    drafts = ctx.get("draftOrders", {})
    c.resource(drafts, "context.draftOrders", "Bundle")
    if drafts.get("type") != "collection":
        c.err("draftOrders is not a collection Bundle")
    draft_ids = set()
    for i, e in enumerate(drafts.get("entry", [])):
        r = e.get("resource", {})
        c.resource(r, f"draftOrders.entry[{i}]", "MedicationRequest")
        draft_ids.add(f"MedicationRequest/{r.get('id')}")
        if r.get("status") != "draft" or r.get("intent") != "order":
            c.err(f"draftOrders.entry[{i}]: not status draft / intent order")
        if r.get("subject", {}).get("reference") != f"Patient/{ctx.get('patientId')}":
            c.err(f"draftOrders.entry[{i}]: subject is not the context patient")
        if not str(r.get("authoredOn", "")).startswith("2026-"):
            c.err(f"draftOrders.entry[{i}]: authoredOn not in 2026")
    if hook == "order-select":
        sel = ctx.get("selections")
        if not sel or not set(sel) <= draft_ids:
            c.err("order-select: selections missing or not pointing at a draft order")
    elif "selections" in ctx:
        c.err("selections on an order-sign request")

    # --- prefetch ---------------------------------------------------------------------------
    pf = req.get("prefetch", {})
    if set(pf) != set(PREFETCH):
        c.err(f"prefetch keys {sorted(pf)} != {sorted(PREFETCH)}")
    pid = ctx.get("patientId")
    for key, rtype in PREFETCH.items():
        v = pf.get(key)
        if v is None:
            if key == "patient":
                c.err("patient prefetch is null")
            continue
        if v.get("resourceType") == "OperationOutcome":
            c.resource(v, f"prefetch.{key}", "OperationOutcome")
            continue
        if key == "patient":
            c.resource(v, "prefetch.patient", "Patient")
            if v.get("id") != pid:
                c.err("prefetch.patient.id != context.patientId")
        else:
            c.bundle(v, f"prefetch.{key}", rtype, pid)

    # --- expected.yaml ----------------------------------------------------------------------
    keys = {"title", "description", "service", "status", "must", "must_not", "no_cards", "critical"}
    if set(exp) - {"suggest", "terminology"} != keys:
        c.err(f"expected.yaml keys {sorted(exp)}")
    for path in (exp.get("terminology") or {}).values():
        if not (HERE / path).exists():
            c.err(f"terminology: {path} does not exist")
    if set(exp.get("suggest") or {}) - {"max_mg", "taper", "delete", "dose"}:
        c.err(f"suggest: unknown keys {sorted(exp['suggest'])}")
    want_service = "baclofen-rtu-select" if hook == "order-select" else "baclofen-rtu"
    if exp.get("service") != want_service:
        c.err(f"service {exp.get('service')!r} does not match hook {hook}")
    for k in ("must", "must_not"):
        bad = [x for x in exp.get(k, []) if x not in RULE_CODES]
        if bad:
            c.err(f"{k}: unknown rule codes {bad}")
    if set(exp.get("must", [])) & set(exp.get("must_not", [])):
        c.err("a code is both in must and must_not")
    if exp.get("no_cards") and exp.get("must"):
        c.err("no_cards with non-empty must")
    if not isinstance(exp.get("status"), int):
        c.err("status is not an integer")
    return c.errors


def main() -> int:
    dirs = sorted(p for p in SCENARIOS.iterdir() if p.is_dir())
    seen: set[str] = set()
    errors: list[str] = []
    for d in dirs:
        errors += check_scenario(d, seen)
    for e in errors:
        print(e)
    print(f"{len(dirs)} scenarios checked, {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
