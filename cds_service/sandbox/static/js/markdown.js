// A small, safe Markdown renderer for card details.
//
// Safety first: the whole source is HTML-escaped before any Markdown is recognised, so no
// tag or attribute from a card can reach the page; the only markup in the output is what
// this file writes. Links are kept only for http(s) URLs. Supported: paragraphs, **bold**,
// _italic_ / *italic*, `code`, # to ###### headings, > blockquotes, - / * / 1. lists, ---,
// [text](http…) links and bare http(s) URLs.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Runs on already-escaped text: `&`, `<`, `>`, quotes are entities by now.
const SAFE_URL = /^https?:\/\/[^\s<>"']+$/i;

function link(url, label) {
  // `url` is escaped text; `&amp;` stays as is, which is what an href attribute wants.
  if (!SAFE_URL.test(url)) {
    return label;
  }
  return `<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`;
}

/** Inline Markdown on one escaped line. Links are set aside first so that `_` or `*` in a
 * URL are never taken for emphasis. */
export function inline(escaped) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let text = escaped.replace(/`([^`]+)`/g, (m, code) => hold(`<code>${code}</code>`));
  text = text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, label, url) => hold(link(url, label)));
  text = text.replace(/\bhttps?:\/\/[^\s*)\]]+/gi, (match) => {
    // The text is escaped: a quote or bracket after a URL is an entity, not part of it;
    // neither is trailing punctuation.
    let url = match;
    let rest = "";
    const cut = url.search(/&(quot|#39|lt|gt);/);
    if (cut >= 0) {
      rest = url.slice(cut);
      url = url.slice(0, cut);
    }
    const trail = url.match(/[.,;:!?_]+$/);
    if (trail) {
      rest = trail[0] + rest;
      url = url.slice(0, -trail[0].length);
    }
    return hold(link(url, url)) + rest;
  });
  text = text.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>");
  text = text.replace(/(^|[^\w*])\*(?=\S)([^*]*?\S)\*(?![\w*])/g, "$1<em>$2</em>");
  text = text.replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, "$1<em>$2</em>");
  return text.replace(/\u0000(\d+)\u0000/g, (m, index) => held[Number(index)]);
}

function isBlockStart(line) {
  return /^(#{1,6}\s|&gt;|[-*+]\s|\d+[.)]\s|(-{3,}|\*{3,}|_{3,})\s*$)/.test(line);
}

/** Markdown source to an HTML string that contains only the markup written here.
 * `headingBase` shifts heading levels (card details sit under an h3: `###` → h4). */
export function markdownToHtml(source, headingBase = 3) {
  const lines = escapeHtml(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  const out = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index].trimEnd();
    const trimmed = line.trim();
    if (trimmed === "") {
      index += 1;
    } else if (/^(-{3,}|\*{3,}|_{3,})$/.test(trimmed)) {
      out.push("<hr>");
      index += 1;
    } else if (/^#{1,6}\s/.test(trimmed)) {
      const [, hashes, title] = trimmed.match(/^(#{1,6})\s+(.*?)\s*#*$/);
      const level = Math.min(6, Math.max(headingBase + 1, hashes.length + 1));
      out.push(`<h${level}>${inline(title)}</h${level}>`);
      index += 1;
    } else if (trimmed.startsWith("&gt;")) {
      const quoted = [];
      while (index < lines.length && lines[index].trim().startsWith("&gt;")) {
        quoted.push(lines[index].trim().replace(/^&gt;\s?/, ""));
        index += 1;
      }
      // The lines are escaped already: render them as paragraphs, never escape twice.
      out.push(`<blockquote>${paragraphs(quoted)}</blockquote>`);
    } else if (/^([-*+]|\d+[.)])\s/.test(trimmed)) {
      const ordered = /^\d/.test(trimmed);
      const pattern = ordered ? /^\d+[.)]\s+/ : /^[-*+]\s+/;
      const items = [];
      while (index < lines.length && pattern.test(lines[index].trim())) {
        items.push(`<li>${inline(lines[index].trim().replace(pattern, ""))}</li>`);
        index += 1;
      }
      const tag = ordered ? "ol" : "ul";
      out.push(`<${tag}>${items.join("")}</${tag}>`);
    } else {
      const para = [];
      while (index < lines.length && lines[index].trim() !== "" && (para.length === 0 || !isBlockStart(lines[index].trim()))) {
        para.push(lines[index].trim());
        index += 1;
      }
      out.push(`<p>${inline(para.join(" "))}</p>`);
    }
  }
  return out.join("");
}

function paragraphs(lines) {
  const blocks = [];
  let current = [];
  for (const line of lines) {
    if (line.trim() === "") {
      if (current.length) blocks.push(current);
      current = [];
    } else {
      current.push(line.trim());
    }
  }
  if (current.length) blocks.push(current);
  return blocks.map((block) => `<p>${inline(block.join(" "))}</p>`).join("");
}
