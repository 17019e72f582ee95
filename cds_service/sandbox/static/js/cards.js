// Renders CDS Hooks cards as an EHR does: indicator colour and icon, summary, Markdown detail,
// source, links (new tab), suggestion buttons and an override button. Built with DOM calls;
// the only innerHTML is the Markdown renderer's output, which escapes the card text first.

import { t } from "./i18n.js";
import { markdownToHtml } from "./markdown.js";

const ICONS = { info: "i", warning: "!", critical: "×" };
const SAFE_URL = /^https?:\/\//i;

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child) node.append(child);
  }
  return node;
}

function externalLink(url, label) {
  if (!SAFE_URL.test(url ?? "")) {
    return element("span", { text: label });
  }
  const anchor = element("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label);
  anchor.append(element("span", { className: "visually-hidden", text: ` ${t("new_tab")}` }));
  return anchor;
}

function renderCard(card, index, handlers) {
  const indicator = ["info", "warning", "critical"].includes(card.indicator) ? card.indicator : "info";
  const headingId = `card-${index}-summary`;
  const article = element("article", {
    className: `card card-${indicator}`,
    "data-indicator": indicator,
    "data-uuid": card.uuid ?? "",
    "data-rules": (card.extension?.["baclofen-rtu-rules"] ?? []).join(" "),
    "aria-labelledby": headingId,
  });
  const header = element("header", { className: "card-header" },
    element("span", { className: `card-icon icon-${indicator}`, "aria-hidden": "true", text: ICONS[indicator] }),
    element("span", { className: "card-indicator", text: t(`indicator_${indicator}`) }));
  header.append(element("h3", { id: headingId, className: "card-summary", text: card.summary ?? "" }));
  article.append(header);

  if (card.detail) {
    const detail = element("div", { className: "card-detail markdown" });
    detail.innerHTML = markdownToHtml(card.detail, 3);
    article.append(detail);
  }

  const meta = element("p", { className: "card-meta" });
  if (card.source?.label) {
    meta.append(element("span", { text: `${t("source")} ` }));
    meta.append(card.source.url ? externalLink(card.source.url, card.source.label)
      : element("span", { text: card.source.label }));
  }
  const rules = card.extension?.["baclofen-rtu-rules"] ?? [];
  if (rules.length) {
    const list = element("span", { className: "rule-codes", "aria-label": t("rules") });
    for (const code of rules) list.append(element("code", { className: "rule-code", text: code }));
    meta.append(list);
  }
  article.append(meta);

  if (card.links?.length) {
    const nav = element("ul", { className: "card-links", "aria-label": t("links") });
    for (const link of card.links) nav.append(element("li", {}, externalLink(link.url, link.label)));
    article.append(nav);
  }

  const actions = element("div", { className: "card-actions" });
  for (const suggestion of card.suggestions ?? []) {
    const button = element("button", {
      type: "button",
      className: `suggestion${suggestion.isRecommended ? " recommended" : ""}`,
      "data-suggestion": suggestion.uuid ?? "",
      "data-action-types": (suggestion.actions ?? []).map((a) => a.type).join(" "),
      text: suggestion.label,
    });
    button.addEventListener("click", () => handlers.onAccept(card, suggestion, article));
    actions.append(button);
  }
  if (card.overrideReasons?.length) {
    const button = element("button", { type: "button", className: "override", text: t("override") });
    button.addEventListener("click", () => handlers.onOverride(card, article, button));
    actions.append(button);
  }
  if (actions.childElementCount) article.append(actions);
  article.append(element("p", { className: "card-feedback", role: "status" }));
  return article;
}

/** Replace the content of `container` with `cards` (critical first, as the service sends them). */
export function renderCards(container, cards, handlers) {
  container.replaceChildren();
  if (!cards.length) {
    container.append(element("p", { className: "no-cards", text: t("no_cards") }));
    return;
  }
  cards.forEach((card, index) => container.append(renderCard(card, index, handlers)));
}

/** After feedback: say what happened on the card and stop further choices on it. */
export function closeCard(article, message, state) {
  article.classList.add(`card-${state}`);
  for (const button of article.querySelectorAll(".card-actions button")) button.disabled = true;
  article.querySelector(".card-feedback").textContent = message;
}

export { element };
