// Builds a real CDS Hooks 2.0 request (FHIR R4 resources, full prefetch) from the form's values,
// the way an EHR would send it: the codes are those the rule profiles recognise.

export const SYSTEMS = {
  atc: "http://www.whocc.no/atc",
  icd10: "http://hl7.org/fhir/sid/icd-10",
  snomed: "http://snomed.info/sct",
  loinc: "http://loinc.org",
  rxnorm: "http://www.nlm.nih.gov/research/umls/rxnorm",
  ucum: "http://unitsofmeasure.org",
};

const PATIENT_ID = "pat-sandbox";
const DRAFT_ID = "mr-draft-sandbox";
const PRACTITIONER = "Practitioner/pra-sandbox";
const ENCOUNTER_ID = "enc-sandbox";
const BASE = "https://ehr.sandbox.invalid/fhir";

// key → [ICD-10 code, ICD-10 display, SNOMED CT code or null, SNOMED display, French text]
export const CONDITIONS = {
  alcohol: ["F10.2", "Mental and behavioural disorders due to use of alcohol: dependence syndrome",
    "66590003", "Alcohol dependence", "Dépendance à l'alcool"],
  ms: ["G35", "Multiple sclerosis", "24700007", "Multiple sclerosis", "Sclérose en plaques"],
  epilepsy: ["G40.9", "Epilepsy, unspecified", "84757009", "Epilepsy", "Épilepsie"],
  coeliac: ["K90.0", "Coeliac disease", "396331005", "Celiac disease", "Maladie cœliaque"],
  pregnancy: ["Z33", "Pregnant state, incidental", "77386006", "Pregnant", "Grossesse en cours"],
  breastfeeding: ["Z39.1", "Care and examination of lactating mother", null, null, "Allaitement maternel"],
  psychosis: ["F20.0", "Paranoid schizophrenia", "58214004", "Schizophrenia", "Schizophrénie paranoïde"],
  depression: ["F32.1", "Moderate depressive episode", "35489007", "Depressive disorder", "Épisode dépressif"],
  delirium: ["F05.0", "Delirium not superimposed on dementia, so described", "2776000", "Delirium",
    "État confusionnel"],
  stroke: ["I69.3", "Sequelae of cerebral infarction", null, null, "Séquelles d'infarctus cérébral"],
  copd: ["J44.9", "Chronic obstructive pulmonary disease, unspecified", "13645005",
    "Chronic obstructive lung disease", "BPCO"],
  seizures: ["F10.31", "Alcohol withdrawal state with convulsions", null, null,
    "Crise convulsive de sevrage alcoolique"],
  urinary: ["R33", "Retention of urine", "267064002", "Retention of urine", "Rétention urinaire"],
  cirrhosis: ["K70.3", "Alcoholic cirrhosis of liver", "420054005", "Alcoholic cirrhosis", "Cirrhose alcoolique"],
  ckd3: ["N18.3", "Chronic kidney disease, stage 3", "433144002", "Chronic kidney disease stage 3",
    "Maladie rénale chronique stade 3"],
  ckd4: ["N18.4", "Chronic kidney disease, stage 4", "431857002", "Chronic kidney disease stage 4",
    "Maladie rénale chronique stade 4"],
  dialysis: ["Z99.2", "Dependence on renal dialysis", null, null, "Hémodialyse chronique"],
};

// key → [ATC code, ATC display, French text, French dosage text]
export const DRUGS = {
  furosemide: ["C03CA01", "furosemide", "Furosémide 40 mg comprimé", "1 comprimé le matin"],
  ramipril: ["C09AA05", "ramipril", "Ramipril 5 mg gélule", "1 gélule le matin"],
  amlodipine: ["C08CA01", "amlodipine", "Amlodipine 5 mg gélule", "1 gélule le soir"],
  amitriptyline: ["N06AA09", "amitriptyline", "Amitriptyline 25 mg comprimé", "1 comprimé au coucher"],
  oxazepam: ["N05BA04", "oxazepam", "Oxazépam 10 mg comprimé", "1 comprimé matin et soir"],
  zolpidem: ["N05CF02", "zolpidem", "Zolpidem 10 mg comprimé sécable", "1/2 comprimé au coucher"],
  tramadol: ["N02AX02", "tramadol", "Tramadol 50 mg gélule", "1 gélule 3 fois par jour"],
  levodopa: ["N04BA02", "levodopa and decarboxylase inhibitor", "Lévodopa/Bensérazide 100 mg/25 mg gélule",
    "1 gélule 3 fois par jour"],
  methadone: ["N07BC02", "methadone", "Méthadone 40 mg gélule", "60 mg le matin"],
  buprenorphine: ["N07BC01", "buprenorphine", "Buprénorphine 8 mg comprimé sublingual", "1 comprimé le matin"],
};

/** A UUID v4, also where `crypto.randomUUID` is missing (plain http on another host). */
export function uuid4() {
  if (globalThis.crypto?.randomUUID) {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `iso` (YYYY-MM-DD) moved by `days` (calendar arithmetic in UTC: no time-zone drift). */
export function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function todayIso() {
  const now = new Date();
  return new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())).toISOString().slice(0, 10);
}

/** A birth date giving `age` completed years on `evaluation` (birthday 40 days before it). */
export function birthDateFor(age, evaluation) {
  const [y, m, d] = evaluation.split("-").map(Number);
  return new Date(Date.UTC(y - age, m - 1, d - 40)).toISOString().slice(0, 10);
}

const ORAL = { coding: [{ system: SYSTEMS.snomed, code: "26643006", display: "Oral route" }] };
const BACLOFEN = {
  coding: [{ system: SYSTEMS.atc, code: "M03BX01", display: "baclofen" }],
  text: "Baclofène 10 mg comprimé sécable",
};
const ACTIVE_CONDITION = {
  coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }],
};
const CONFIRMED_CONDITION = {
  coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-ver-status", code: "confirmed" }],
};

function fmt(value) {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
}

/** A Dosage: `mg` per intake, `perDay` intakes a day (timing.repeat), oral, UCUM mg. */
export function baclofenDosage(mg, perDay, start) {
  const repeat = { frequency: perDay, period: 1, periodUnit: "d" };
  if (start) {
    repeat.boundsPeriod = { start };
  }
  return {
    sequence: 1,
    text: `${fmt(mg)} mg ${perDay} fois par jour`,
    timing: { repeat },
    route: ORAL,
    doseAndRate: [{
      type: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/dose-rate-type", code: "ordered" }] },
      doseQuantity: { value: mg, unit: "mg", system: SYSTEMS.ucum, code: "mg" },
    }],
  };
}

function searchset(type, resources) {
  const bundle = {
    resourceType: "Bundle",
    type: "searchset",
    total: resources.length,
    link: [{ relation: "self", url: `${BASE}/${type}?patient=${PATIENT_ID}` }],
  };
  if (resources.length) {
    bundle.entry = resources.map((resource) => ({
      fullUrl: `${BASE}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: "match" },
    }));
  }
  return bundle;
}

function condition(key, recorded) {
  const [icd, icdDisplay, sct, sctDisplay, text] = CONDITIONS[key];
  const coding = [{ system: SYSTEMS.icd10, code: icd, display: icdDisplay }];
  if (sct) {
    coding.push({ system: SYSTEMS.snomed, code: sct, display: sctDisplay });
  }
  return {
    resourceType: "Condition",
    id: `cond-${key}`,
    clinicalStatus: ACTIVE_CONDITION,
    verificationStatus: CONFIRMED_CONDITION,
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-category",
      code: "problem-list-item" }] }],
    code: { coding, text },
    subject: { reference: `Patient/${PATIENT_ID}` },
    recordedDate: recorded,
  };
}

function reason(indication) {
  if (indication === "alcohol" || indication === "ms") {
    const [code, display, , , text] = CONDITIONS[indication];
    return [{ coding: [{ system: SYSTEMS.icd10, code, display }], text }];
  }
  return undefined;
}

function baclofenOrder({ id, status, authoredOn, mg, perDay, start, indication }) {
  const order = {
    resourceType: "MedicationRequest",
    id,
    status,
    intent: "order",
    medicationCodeableConcept: BACLOFEN,
    subject: { reference: `Patient/${PATIENT_ID}` },
    encounter: { reference: `Encounter/${ENCOUNTER_ID}` },
    authoredOn,
    requester: { reference: PRACTITIONER },
    dosageInstruction: [baclofenDosage(mg, perDay, start)],
  };
  const reasonCode = reason(indication);
  if (reasonCode) {
    order.reasonCode = reasonCode;
  }
  return order;
}

function coMedication(key, authoredOn) {
  const [code, display, text, dosage] = DRUGS[key];
  return {
    resourceType: "MedicationRequest",
    id: `mr-${key}`,
    status: "active",
    intent: "order",
    medicationCodeableConcept: { coding: [{ system: SYSTEMS.atc, code, display }], text },
    subject: { reference: `Patient/${PATIENT_ID}` },
    authoredOn,
    dosageInstruction: [{ text: dosage, route: ORAL }],
  };
}

function observation(id, code, display, effective, value, category = "laboratory") {
  return {
    resourceType: "Observation",
    id,
    status: "final",
    category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category",
      code: category }] }],
    code: { coding: [{ system: SYSTEMS.loinc, code, display }] },
    subject: { reference: `Patient/${PATIENT_ID}` },
    effectiveDateTime: effective,
    ...value,
  };
}

function observations(form) {
  const found = [];
  if (form.renalKind === "creatinine" && form.renalValue > 0) {
    found.push(observation("obs-creatinine", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma",
      form.renalDate, { valueQuantity: { value: form.renalValue, unit: "µmol/L", system: SYSTEMS.ucum,
        code: "umol/L" } }));
  } else if (form.renalKind === "egfr" && form.renalValue > 0) {
    found.push(observation("obs-egfr", "62238-1",
      "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
      + "Creatinine-based formula (CKD-EPI)", form.renalDate,
      { valueQuantity: { value: form.renalValue, unit: "mL/min/1.73 m2", system: SYSTEMS.ucum,
        code: "mL/min/{1.73_m2}" } }));
  }
  const recent = addDays(form.evaluation, -2);
  if (form.pregnant) {
    found.push(observation("obs-pregnancy", "82810-3", "Pregnancy status", recent,
      { valueCodeableConcept: { coding: [{ system: SYSTEMS.snomed, code: "77386006", display: "Pregnant" }] } },
      "social-history"));
  }
  if (form.breastfeeding) {
    found.push(observation("obs-breastfeeding", "63895-7", "Breastfeeding status", recent,
      { valueCodeableConcept: { coding: [{ system: SYSTEMS.snomed, code: "413712001",
        display: "Breastfeeding (mother)" }] } }, "social-history"));
  }
  return found;
}

function allergy() {
  return {
    resourceType: "AllergyIntolerance",
    id: "alg-baclofen",
    clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
      code: "active" }] },
    verificationStatus: { coding: [{
      system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", code: "confirmed" }] },
    type: "allergy",
    category: ["medication"],
    code: { coding: [
      { system: SYSTEMS.rxnorm, code: "1292", display: "baclofen" },
      { system: SYSTEMS.snomed, code: "387342009", display: "Baclofen (substance)" },
      { system: SYSTEMS.atc, code: "M03BX01", display: "baclofen" },
    ], text: "Baclofène" },
    patient: { reference: `Patient/${PATIENT_ID}` },
  };
}

/** The CDS Hooks request for the form's values (see `readForm` in app.js for the shape). */
export function buildRequest(form, hook = "order-select") {
  const patient = {
    resourceType: "Patient",
    id: PATIENT_ID,
    identifier: [{ system: "urn:oid:1.2.250.1.213.1.4.8", value: "180057512345678" }],
    name: [{ family: "Bac-à-sable", given: ["Camille"] }],
    birthDate: birthDateFor(form.age, form.evaluation),
  };
  if (form.sex !== "unknown") {
    patient.gender = form.sex;
  }
  const since = addDays(form.evaluation, -365);
  const medications = [];
  if (form.currentMg > 0 && form.currentIntakes > 0) {
    medications.push(baclofenOrder({ id: "mr-baclofen-current", status: "active", authoredOn: form.currentSince,
      mg: form.currentMg, perDay: form.currentIntakes, start: form.currentSince, indication: form.indication }));
  }
  for (const key of form.medications) {
    medications.push(coMedication(key, addDays(form.evaluation, -60)));
  }
  const draft = baclofenOrder({ id: DRAFT_ID, status: "draft", authoredOn: form.evaluation, mg: form.newMg,
    perDay: form.newIntakes, start: form.evaluation, indication: form.indication });
  const request = {
    hook,
    hookInstance: uuid4(),
    context: {
      userId: PRACTITIONER,
      patientId: PATIENT_ID,
      encounterId: ENCOUNTER_ID,
      draftOrders: { resourceType: "Bundle", type: "collection", entry: [{ resource: draft }] },
    },
    prefetch: {
      patient,
      conditions: searchset("Condition", form.conditions.map((key) => condition(key, since))),
      medications: searchset("MedicationRequest", medications),
      observations: searchset("Observation", observations(form)),
      allergies: searchset("AllergyIntolerance", form.allergy ? [allergy()] : []),
      medicationStatements: searchset("MedicationStatement", []),
    },
  };
  return withHook(request, hook);
}

/** The same request for another hook: a fresh hookInstance, and `selections` only for order-select. */
export function withHook(request, hook) {
  const copy = structuredClone(request);
  copy.hook = hook;
  copy.hookInstance = uuid4();
  const drafts = (copy.context.draftOrders?.entry ?? []).map((e) => e.resource).filter(Boolean);
  if (hook === "order-select") {
    if (!copy.context.selections?.length) {
      copy.context.selections = drafts
        .filter((r) => r.resourceType === "MedicationRequest")
        .map((r) => `MedicationRequest/${r.id}`);
    }
  } else {
    delete copy.context.selections;
  }
  return copy;
}

export const SERVICES = { "order-select": "baclofen-rtu-select", "order-sign": "baclofen-rtu" };
