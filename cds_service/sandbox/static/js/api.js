// Calls to the service: the scenario API, the two hooks and feedback. Same origin only
// (CSP connect-src 'self'); every call resolves to {status, body, ms} and never throws on
// an HTTP error, so that the page can show exactly what came back.

async function call(method, url, body, headers = {}) {
  const started = performance.now();
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, ms: Math.round(performance.now() - started) };
}

export function listScenarios() {
  return call("GET", "/sandbox/api/scenarios");
}

export function getScenario(name) {
  return call("GET", `/sandbox/api/scenarios/${encodeURIComponent(name)}`);
}

export function hookUrl(service) {
  return `/cds-services/${encodeURIComponent(service)}`;
}

/** POST a hook request; `lang` goes out as Accept-Language, as an EHR would send it. */
export function postHook(service, request, lang) {
  return call("POST", hookUrl(service), request, { "Accept-Language": lang });
}

export function postFeedback(service, payload) {
  return call("POST", `${hookUrl(service)}/feedback`, payload);
}
