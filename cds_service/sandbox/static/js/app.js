// The sandbox page: pick a scenario or compose a case, fire order-select while editing and
// order-sign on "Sign", render the cards, apply accepted suggestions to the draft and send
// CDS Hooks feedback. Plain ES module, no build step, nothing inline (strict CSP).

import { getScenario, hookUrl, listScenarios, postFeedback, postHook } from "./api.js";
import { closeCard, element, renderCards } from "./cards.js";
import { addDays, buildRequest, CONDITIONS, DRUGS, SERVICES, todayIso, withHook } from "./fhir.js";
import { getLang, LANGUAGES, setLang, t, translate } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const LANG_KEY = "baclofen-cds.sandbox.lang";
const DEBOUNCE_MS = 400;
const GROUPS = {
  ci: { fr: "Contre-indications", en: "Contraindications" },
  dose: { fr: "Seuils de dose", en: "Dose thresholds" },
  indication: { fr: "Indication", en: "Indication" },
  ix: { fr: "Interactions", en: "Interactions" },
  pr: { fr: "Précautions", en: "Precautions" },
  prefetch: { fr: "Prefetch et données manquantes", en: "Prefetch and missing data" },
  renal: { fr: "Fonction rénale", en: "Renal function" },
  schedule: { fr: "Schémas par paliers", en: "Stepped schedules" },
  scope: { fr: "Périmètre", en: "Scope" },
  select: { fr: "order-select", en: "order-select" },
  titration: { fr: "Titration", en: "Titration" },
};

const state = {
  request: null, // the patient and draft(s) the next hook call is about
  scenario: "", // scenario name, or "" for a composed case
  draftState: "original",
  deleted: new Set(),
  created: [],
  lastHook: null,
  service: null,
  status: { key: "status_idle", values: {}, error: false },
  seq: 0,
  scenarios: [],
  pendingOverride: null,
  timer: null,
  dirty: false,
};

// ---- form -------------------------------------------------------------------------------

function checkbox(prefix, key, name) {
  const id = `${prefix}-${key}`;
  return element("div", { className: "check" },
    element("input", { id, name, type: "checkbox", value: key }),
    element("label", { for: id, "data-i18n": `${prefix}_${key}`, text: key }));
}

function buildChecks() {
  const conditions = $("conditions");
  for (const key of Object.keys(CONDITIONS)) conditions.append(checkbox("cond", key, "conditions"));
  const medications = $("medications");
  for (const key of Object.keys(DRUGS)) medications.append(checkbox("med", key, "medications"));
}

function setDefaults() {
  const today = todayIso();
  $("eval-date").value = today;
  $("cur-since").value = addDays(today, -3);
  $("renal-date").value = addDays(today, -10);
  $("cond-alcohol").checked = true;
}

function number(id, fallback = 0) {
  const value = Number.parseFloat($(id).value);
  return Number.isFinite(value) ? value : fallback;
}

function validDate(id, fallback) {
  const value = $(id).value;
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : fallback;
}

/** The form as plain values for `buildRequest`; out-of-range numbers are clamped, not rejected. */
function readForm() {
  const evaluation = validDate("eval-date", todayIso());
  const checked = (name) => [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  return {
    age: Math.min(110, Math.max(18, Math.round(number("age", 45)))),
    sex: $("sex").value,
    evaluation,
    currentMg: Math.max(0, number("cur-mg")),
    currentIntakes: Math.min(6, Math.max(1, Math.round(number("cur-n", 3)))),
    currentSince: validDate("cur-since", addDays(evaluation, -3)),
    newMg: Math.max(0.5, number("new-mg", 5)),
    newIntakes: Math.min(6, Math.max(1, Math.round(number("new-n", 3)))),
    indication: $("indication").value,
    renalKind: $("renal-kind").value,
    renalValue: number("renal-value"),
    renalDate: validDate("renal-date", evaluation),
    conditions: checked("conditions"),
    medications: checked("medications"),
    allergy: $("allergy-baclofen").checked,
    pregnant: $("obs-pregnant").checked,
    breastfeeding: $("obs-breastfeeding").checked,
  };
}

function updateTotals() {
  const total = (mg, n) => Math.round(number(mg) * Math.round(number(n)) * 100) / 100;
  $("cur-total").textContent = t("daily_total", { mg: total("cur-mg", "cur-n") });
  $("new-total").textContent = t("daily_total", { mg: total("new-mg", "new-n") });
  $("renal-value").disabled = $("renal-kind").value === "none";
  $("renal-date").disabled = $("renal-kind").value === "none";
}

function onFormEdited() {
  updateTotals();
  if (state.scenario) {
    state.scenario = "";
    $("scenario").value = "";
    $("scenario-info").hidden = true;
  }
  clearTimeout(state.timer);
  state.dirty = true;
  state.timer = setTimeout(() => {
    rebuildFromForm();
    fire("order-select");
  }, DEBOUNCE_MS);
}

function rebuildFromForm() {
  clearTimeout(state.timer);
  state.dirty = false;
  loadRequest(buildRequest(readForm(), "order-select"));
}

/** Sign what the form says now, even if the debounced order-select has not gone yet. */
function sign() {
  if (state.dirty) rebuildFromForm();
  return fire("order-sign");
}

// ---- draft, created resources ------------------------------------------------------------

function drafts() {
  return (state.request?.context?.draftOrders?.entry ?? []).map((entry) => entry.resource).filter(Boolean);
}

function loadRequest(request) {
  state.request = request;
  state.draftState = "original";
  state.deleted = new Set();
  state.created = [];
  renderDraft();
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function renderDraft() {
  const found = drafts();
  const draft = found.find((r) => r.resourceType === "MedicationRequest") ?? found[0];
  $("draft-json").textContent = draft ? pretty(draft) : t("draft_none");
  $("draft-state").textContent = t(`draft_${state.draftState}`);
  $("draft-state").dataset.state = state.draftState;
  $("recheck-hint").hidden = state.draftState === "original";
  const created = $("created");
  created.replaceChildren();
  if (!state.created.length) {
    created.append(element("p", { className: "hint", text: t("none") }));
  }
  for (const resource of state.created) {
    const name = resource.code?.text ?? resource.code?.coding?.[0]?.display ?? resource.id ?? "";
    created.append(element("details", { className: "created" },
      element("summary", { text: `${resource.resourceType} — ${name}` }),
      element("pre", { className: "json", text: pretty(resource) })));
  }
}

function sameResource(resource, reference) {
  const [type, id] = reference.includes("/") ? reference.split("/") : [resource.resourceType, reference];
  return resource.resourceType === type && resource.id === id;
}

/** Apply one CDS Hooks action to the draft, as an EHR would. */
function applyAction(action) {
  const entries = state.request?.context?.draftOrders?.entry ?? [];
  if (action.type === "update" && action.resource) {
    const index = entries.findIndex((e) => e.resource?.resourceType === action.resource.resourceType
      && e.resource?.id === action.resource.id);
    entries[index >= 0 ? index : 0] = { resource: structuredClone(action.resource) };
    state.draftState = "updated";
  } else if (action.type === "create" && action.resource) {
    state.created.push(structuredClone(action.resource));
  } else if (action.type === "delete") {
    const reference = action.resourceId ?? "";
    for (const resource of drafts()) {
      if (sameResource(resource, reference)) state.deleted.add(`${resource.resourceType}/${resource.id}`);
    }
    state.draftState = "deleted";
  }
}

// ---- hook calls ---------------------------------------------------------------------------

function setStatus(key, values = {}, error = false) {
  state.status = { key, values, error };
  $("hook-status").textContent = t(key, values);
  $("hook-status").classList.toggle("error", error);
}

function showExchange(requestLine, request, responseLine, response) {
  $("dev-request-line").textContent = requestLine;
  $("dev-request").textContent = request === undefined ? t("dev_empty") : pretty(request);
  $("dev-response-line").textContent = responseLine;
  $("dev-response").textContent = response === undefined ? t("dev_empty") : pretty(response);
}

/** The request for `hook`, without drafts a suggestion deleted. */
function outgoing(hook) {
  const request = withHook(state.request, hook);
  const entries = request.context.draftOrders?.entry;
  if (entries) {
    request.context.draftOrders.entry = entries.filter(
      (e) => !state.deleted.has(`${e.resource?.resourceType}/${e.resource?.id}`));
  }
  return request;
}

async function fire(hook) {
  if (!state.request) return;
  const service = SERVICES[hook];
  const request = outgoing(hook);
  const seq = ++state.seq;
  const lang = getLang();
  state.lastHook = hook;
  const cards = $("cards");
  cards.setAttribute("aria-busy", "true");
  setStatus("status_loading", { service });
  showExchange(`POST ${hookUrl(service)} · Accept-Language: ${lang}`, request, "…", undefined);
  let result;
  try {
    result = await postHook(service, request, lang);
  } catch (error) {
    if (seq === state.seq) {
      cards.removeAttribute("aria-busy");
      setStatus("status_network", { message: error.message }, true);
    }
    return;
  }
  if (seq !== state.seq) return; // a newer call has been made meanwhile
  showExchange(`POST ${hookUrl(service)} · Accept-Language: ${lang}`, request,
    `HTTP ${result.status} · ${result.ms} ms`, result.body);
  state.service = service;
  const list = result.status === 200 && Array.isArray(result.body?.cards) ? result.body.cards : [];
  renderCards(cards, list, { onAccept: accept, onOverride: openOverride });
  if (result.status === 200) {
    setStatus("status_done", { hook, status: result.status, count: list.length, ms: result.ms });
  } else {
    const message = result.body?.message ?? result.body?.error ?? String(result.body ?? "");
    setStatus("status_error", { hook, status: result.status, message }, true);
    cards.replaceChildren(element("p", { className: "call-error", text: message }));
  }
  Object.assign(cards.dataset, { hook, lang, scenario: state.scenario, seq: String(seq), status: String(result.status) });
  cards.removeAttribute("aria-busy");
}

// ---- feedback -------------------------------------------------------------------------------

async function sendFeedback(article, card, item, message) {
  const service = state.service;
  const payload = { feedback: [item] };
  const status = article.querySelector(".card-feedback");
  status.textContent = `${message} — ${t("fb_sending")}`;
  let result;
  try {
    result = await postFeedback(service, payload);
  } catch (error) {
    result = { status: 0, body: String(error.message) };
  }
  const ok = result.status === 200;
  const outcome = t(ok ? "fb_stored" : "fb_failed", { status: result.status });
  status.textContent = `${message} — ${outcome}`;
  article.dataset.feedback = ok ? "stored" : "failed";
  const entry = element("li", { className: ok ? "ok" : "failed", "data-outcome": item.outcome },
    element("span", { text: `${new Date().toLocaleTimeString(getLang())} · ${item.outcome} · ${card.summary} → ` }),
    element("strong", { text: outcome }),
    element("details", {},
      element("summary", { text: `POST ${hookUrl(service)}/feedback` }),
      element("pre", { className: "json", text: `${pretty(payload)}\n\n→ HTTP ${result.status}\n${pretty(result.body)}` })));
  $("feedback-log").prepend(entry);
}

function accept(card, suggestion, article) {
  for (const action of suggestion.actions ?? []) applyAction(action);
  renderDraft();
  const message = t("accepted", { label: suggestion.label });
  closeCard(article, message, "accepted");
  return sendFeedback(article, card, {
    card: card.uuid,
    outcome: "accepted",
    acceptedSuggestions: [{ id: suggestion.uuid }],
    outcomeTimestamp: new Date().toISOString(),
  }, message);
}

function openOverride(card, article, button) {
  const select = $("override-reason");
  select.replaceChildren(element("option", { value: "", text: t("dialog_choose") }));
  for (const reason of card.overrideReasons) {
    select.append(element("option", { value: reason.code, text: reason.display ?? reason.code }));
  }
  $("override-comment").value = "";
  $("override-card").textContent = card.summary ?? "";
  state.pendingOverride = { card, article, button };
  $("override-dialog").showModal();
  select.focus();
}

function closeOverride() {
  const pending = state.pendingOverride;
  state.pendingOverride = null;
  $("override-dialog").close();
  pending?.button?.focus();
}

function confirmOverride(event) {
  event.preventDefault();
  const select = $("override-reason");
  if (!select.value) {
    select.setCustomValidity(t("dialog_choose"));
    select.reportValidity();
    return;
  }
  const { card, article } = state.pendingOverride;
  const reason = card.overrideReasons.find((r) => r.code === select.value);
  const comment = $("override-comment").value.trim();
  closeOverride();
  const message = t("overridden", { reason: reason.display ?? reason.code });
  closeCard(article, message, "overridden");
  const overrideReason = { reason: { system: reason.system, code: reason.code, display: reason.display } };
  if (comment) overrideReason.userComment = comment;
  sendFeedback(article, card, {
    card: card.uuid,
    outcome: "overridden",
    overrideReason,
    outcomeTimestamp: new Date().toISOString(),
  }, message);
}

// ---- scenarios ------------------------------------------------------------------------------

function fillScenarios() {
  const select = $("scenario");
  const keep = select.value;
  select.replaceChildren(element("option", { value: "", "data-i18n": "scenario_none", text: t("scenario_none") }));
  const groups = new Map();
  for (const scenario of state.scenarios) {
    const prefix = scenario.name.split("-")[0];
    if (!groups.has(prefix)) {
      const label = GROUPS[prefix]?.[getLang()] ?? prefix;
      groups.set(prefix, element("optgroup", { label }));
    }
    groups.get(prefix).append(element("option", { value: scenario.name, text: scenario.title }));
  }
  for (const group of groups.values()) select.append(group);
  select.value = keep;
}

async function pickScenario(name) {
  clearTimeout(state.timer);
  state.dirty = false;
  if (!name) {
    state.scenario = "";
    $("scenario-info").hidden = true;
    rebuildFromForm();
    return fire("order-select");
  }
  const summary = state.scenarios.find((s) => s.name === name);
  const result = await getScenario(name);
  if (result.status !== 200) {
    setStatus("status_error", { hook: "GET", status: result.status, message: result.body?.message ?? "" }, true);
    return undefined;
  }
  state.scenario = name;
  $("scenario-description").textContent = summary?.description ?? "";
  const expected = [...(summary?.must ?? [])];
  if (summary?.critical) expected.push(`(${t("critical_expected")})`);
  $("scenario-expected").textContent = expected.join(", ") || "—";
  $("scenario-info").hidden = false;
  loadRequest(result.body);
  return fire(result.body.hook === "order-select" ? "order-select" : "order-sign");
}

// ---- language -------------------------------------------------------------------------------

function applyLanguage(lang, refire) {
  setLang(lang);
  $("lang").value = getLang();
  try {
    localStorage.setItem(LANG_KEY, getLang());
  } catch {
    // storage may be disabled: the switch still works for this page
  }
  translate();
  fillScenarios();
  updateTotals();
  renderDraft();
  setStatus(state.status.key, state.status.values, state.status.error);
  if (refire && state.request && state.lastHook) fire(state.lastHook);
}

function initialLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  let stored = null;
  try {
    stored = localStorage.getItem(LANG_KEY);
  } catch {
    stored = null;
  }
  const browser = (navigator.language ?? "fr").slice(0, 2);
  return [asked, stored, browser].find((l) => LANGUAGES.includes(l)) ?? "fr";
}

// ---- start ----------------------------------------------------------------------------------

async function start() {
  buildChecks();
  setDefaults();
  applyLanguage(initialLanguage(), false);
  showExchange("", undefined, "", undefined);

  const form = $("compose");
  form.addEventListener("input", onFormEdited);
  form.addEventListener("change", onFormEdited);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("reset", () => setTimeout(() => { setDefaults(); onFormEdited(); }, 0));
  $("scenario").addEventListener("change", (event) => pickScenario(event.target.value));
  $("sign").addEventListener("click", sign);
  $("lang").addEventListener("change", (event) => applyLanguage(event.target.value, true));
  $("override-form").addEventListener("submit", confirmOverride);
  $("override-cancel").addEventListener("click", closeOverride);
  $("override-reason").addEventListener("change", (event) => event.target.setCustomValidity(""));
  $("override-dialog").addEventListener("cancel", () => { state.pendingOverride = null; });

  const listed = await listScenarios();
  state.scenarios = listed.status === 200 ? listed.body.scenarios ?? [] : [];
  fillScenarios();
  document.body.dataset.ready = "true";
  const wanted = new URLSearchParams(location.search).get("scenario");
  if (wanted && state.scenarios.some((s) => s.name === wanted)) {
    $("scenario").value = wanted;
    await pickScenario(wanted);
  } else {
    await pickScenario("");
  }
}

start();
