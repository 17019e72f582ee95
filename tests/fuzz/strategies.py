"""Hypothesis strategies that break valid CDS Hooks requests in the ways EHRs and attackers do.

Start from a real fixture request, then: put an odd value anywhere (wrong type, huge or tiny
number, NaN-like or unicode string, deep nesting), delete or rename a field, duplicate list
entries, swap a FHIR resource for a generated one, or damage the bytes (truncation, invalid
UTF-8, BOM, duplicated keys). Bodies are rendered with the standard `json` module so that
non-JSON tokens (NaN) and integers beyond 64 bits reach the server as an EHR could send them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from cds_service.fixtures import fixtures_dir, list_scenarios
from tests.fuzz.asgi import CLOSED_FHIR_SERVER

Path = tuple[str | int, ...]
SAFE_FHIR_SERVERS = (CLOSED_FHIR_SERVER, "http://127.0.0.1:9/", "https://127.0.0.1:9/fhir", "http://[::1]:9/fhir")


@dataclass(frozen=True)
class Seed:
    """A valid fixture request, its service and every path into it."""

    name: str
    service: str
    request: dict[str, Any]
    paths: tuple[Path, ...]


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


def load_seeds() -> list[Seed]:
    directory = fixtures_dir()
    assert directory is not None, "fhir_fixtures/ not found"
    seeds = []
    for scenario in list_scenarios(directory):
        request = copy.deepcopy(scenario.request)
        if "fhirServer" in request:
            request["fhirServer"] = CLOSED_FHIR_SERVER
        seeds.append(Seed(scenario.name, scenario.service, request, tuple(_paths(request))))
    return seeds


SEEDS = load_seeds()

ODD_SCALARS: tuple[Any, ...] = (
    None, True, False, 0, -1, 1, 0.5, -0.0, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 + 1, -(2**63) - 1,
    10**30, -(10**30), 10**400, 1e308, -1e308, 5e-324, 1e-300, float("nan"), float("inf"), float("-inf"),
    "", " ", "\t\n", "NaN", "nan", "Infinity", "-Infinity", "1e999", "-1e999", "0x1F", "1,5", "١٢٣",
    "null", "true", "{}", "[]", "2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "0001-01-01",
    "9999-12-31T23:59:60Z", "2026-03-10T25:00:00Z", "2026-03-10T10:00:00", "T", "--", "Patient/", "#",
    "Patient/../../x", "#missing", "M03BX01", "baclofène", "BACLOFENE", "mg", "mg/d", "µg", "ug", "[lb_av]",
    "x" * 5000, "\u202e", "\u0000", "\ufeff", "💊" * 50, "e\u0301" * 30, "<script>alert(1)</script>",
    "'; DROP TABLE evaluations; --", "%s%s%s", "{{context.patientId}}",
)


@dataclass(frozen=True)
class Deep:
    """A value nested `depth` levels deep, rendered as text (the json module would overflow)."""

    depth: int
    kind: str  # "list", "dict", or "extension": valid FHIR, nested extensions

    def text(self) -> str:
        if self.kind == "list":
            return "[" * self.depth + "]" * self.depth
        if self.kind == "extension":
            leaf = '[{"url":"http://x.org/e","valueString":"v"}]'
            return '[{"url":"http://x.org/e","extension":' * self.depth + leaf + "}]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth


def odd_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.sampled_from(ODD_SCALARS),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.builds(Deep, st.sampled_from([20, 40, 60, 100, 130, 300, 500, 1100]),
                  st.sampled_from(["list", "dict", "extension"])),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(st.text(max_size=12), children, max_size=4)),
        max_leaves=8,
    )


ODD_VALUES = odd_values()
ODD_DATES = st.sampled_from([
    "9999-12-31", "0001-01-01", "1899-12-31", "1900-01-01", "2200-12-31", "2201-01-01", "2026-02-29", "2024-02-29",
    "2026", "2026-03", "9999", "0001", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "2026-03-10T23:59:60Z",
    "2026-03-10T10:00:00-13:59", "2026-03-11", "2026-03-09", "2025-03-10", "1970-01-01",
])
ODD_NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, 0.5, 1e-9, 5e-324, 1e15, 1e308, -1e308, 2**63, 2**64, 10**30, 120, 180, 300,
                     301, 1000, 0.001, 29.99, 30, 59.9, 60, 15, 5, 2.5]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**70), max_value=2**70),
)
_DATE_LIKE = re.compile(r"^[0-9]{4}(-[0-9]{2})?")


def values_like(current: Any) -> st.SearchStrategy[Any]:
    """Odd values, weighted toward the current value's own kind (a date, a number) where bugs hide."""
    if isinstance(current, str) and _DATE_LIKE.match(current):
        return st.one_of(ODD_DATES, ODD_DATES, ODD_VALUES)
    if isinstance(current, int | float) and not isinstance(current, bool):
        return st.one_of(ODD_NUMBERS, ODD_NUMBERS, ODD_VALUES)
    return ODD_VALUES


def pick(draw: st.DrawFn, items: Sequence[Any]) -> Any:
    """One item of a long sequence (an index draw: `sampled_from` would rebuild a strategy each time)."""
    return items[draw(st.integers(min_value=0, max_value=len(items) - 1))]


def render(value: Any) -> bytes:
    """JSON text as an EHR could send it: NaN tokens and big integers kept, `Deep` values inlined."""
    deep: dict[str, Deep] = {}

    def marker(item: Any) -> str:  # json calls this for what it cannot encode: our Deep values
        if not isinstance(item, Deep):
            raise TypeError(type(item).__name__)
        name = f"@@deep{len(deep)}@@"
        deep[name] = item
        return name

    text = json.dumps(value, ensure_ascii=False, default=marker)
    for name, item in deep.items():
        text = text.replace(f'"{name}"', item.text(), 1)
    return text.encode("utf-8", "surrogatepass")


def clone(document: Any) -> Any:
    """A deep copy of plain JSON, ten times faster than `copy.deepcopy`."""
    return orjson.loads(orjson.dumps(document))


def _parent(document: Any, path: Path) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def mutate(document: Any, path: Path, operation: str, value: Any) -> None:
    """Apply one mutation in place (the path exists in `document` when called)."""
    parent = _parent(document, path)
    key = path[-1]
    if operation == "replace":
        parent[key] = value
    elif operation == "delete":
        del parent[key]
    elif operation == "wrap":
        parent[key] = [parent[key]] if not isinstance(value, dict) else {"value": parent[key]}
    elif operation == "duplicate":
        if isinstance(parent, list):
            assert isinstance(key, int)
            parent.insert(key, copy.deepcopy(parent[key]))
        elif isinstance(parent[key], list) and parent[key]:
            parent[key] = parent[key] * 40
    elif operation == "rename" and isinstance(parent, dict) and isinstance(key, str):
        parent[key.upper() if key.islower() else key + "_"] = parent.pop(key)


OPERATIONS = ("replace", "replace", "replace", "delete", "wrap", "duplicate", "duplicate", "rename")


@st.composite
def mutated_requests(draw: st.DrawFn) -> tuple[str, Any]:
    """(service, request body as a Python value) after 1 to 3 mutations of a fixture request."""
    seed = pick(draw, SEEDS)
    document: Any = clone(seed.request)
    paths: Sequence[Path] = seed.paths
    drafts: Sequence[Path] = DRAFT_PATHS[seed.name]
    count = draw(st.integers(min_value=1, max_value=3))
    for step in range(count):
        inside_drafts = bool(drafts) and draw(st.booleans())  # half the time inside the draft orders
        pool = drafts if inside_drafts else paths
        if not pool:
            break
        path = pick(draw, pool)
        mutate(document, path, pick(draw, OPERATIONS), draw(values_like(_parent(document, path)[path[-1]])))
        if step + 1 < count:
            paths = list(_paths(document))
            drafts = [path for path in paths if path[:2] == ("context", "draftOrders")]
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # sometimes the other hook's service
        service = "baclofen-rtu-select" if seed.service == "baclofen-rtu" else "baclofen-rtu"
    else:
        service = seed.service
    contain(document)
    return service, document


def contain(document: Any) -> None:
    """Keep every fetch on loopback: an http(s) fhirServer becomes a closed local port."""
    if isinstance(document, dict):
        server = document.get("fhirServer")
        if isinstance(server, str) and server.startswith(("http://", "https://")) \
                and server not in SAFE_FHIR_SERVERS:
            document["fhirServer"] = CLOSED_FHIR_SERVER


FHIR_TYPES = ("Patient", "Condition", "Observation", "MedicationRequest", "MedicationStatement", "Medication",
              "AllergyIntolerance", "Bundle", "OperationOutcome", "Encounter", "NotAType", "")
FHIR_FIELDS = ("id", "status", "intent", "code", "subject", "patient", "clinicalStatus", "verificationStatus",
               "medicationCodeableConcept", "medicationReference", "dosageInstruction", "authoredOn",
               "effectiveDateTime", "effectivePeriod", "valueQuantity", "valueString", "valueBoolean", "birthDate",
               "gender", "onsetDateTime", "abatementDateTime", "reasonCode", "reasonReference", "contained",
               "ingredient", "reaction", "extension", "_birthDate", "meta", "entry", "resourceType")


def fhir_like(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A resource-shaped object: a resourceType and FHIR field names with odd or plausible values."""
    codings = st.fixed_dictionaries({"coding": st.lists(st.fixed_dictionaries(
        {"system": st.sampled_from(["http://loinc.org", "http://www.whocc.no/atc", "http://hl7.org/fhir/sid/icd-10",
                                    "http://snomed.info/sct", "", "urn:x"]),
         "code": st.sampled_from(["62238-1", "2160-0", "29463-7", "M03BX01", "F10.2", "G40.9", "N18.4", "active",
                                  "final", " ", "", "x y"])}), max_size=3)})
    field_values = st.one_of(children, codings, st.sampled_from(["2026-03-01", "2026-03-01T10:00:00Z", "final",
                                                                 "active", "draft", "order", "Patient/pat-1"]))
    return st.builds(
        lambda rtype, fields: {"resourceType": rtype, **fields},
        st.sampled_from(FHIR_TYPES),
        st.dictionaries(st.sampled_from(FHIR_FIELDS), field_values, max_size=8),
    )


FHIR_LIKE = fhir_like(ODD_VALUES)
DRAFT_PATHS = {seed.name: [path for path in seed.paths if path[:2] == ("context", "draftOrders")] for seed in SEEDS}
RESOURCE_PATHS = {seed.name: [path for path in seed.paths if path[-1] == "resource" or path == ("prefetch", "patient")]
                  for seed in SEEDS}
RENDERED = {seed.name: render(seed.request) for seed in SEEDS}


@st.composite
def requests_with_generated_resources(draw: st.DrawFn) -> tuple[str, Any]:
    """A fixture request where one draft order or prefetch resource is replaced by a generated one."""
    seed = pick(draw, SEEDS)
    document: Any = clone(seed.request)
    mutate(document, pick(draw, RESOURCE_PATHS[seed.name]), "replace", draw(FHIR_LIKE))
    contain(document)
    return seed.service, document


@st.composite
def damaged_bytes(draw: st.DrawFn) -> bytes:
    """A valid request body, then broken at the byte level."""
    body = RENDERED[pick(draw, SEEDS).name]
    damage = draw(st.sampled_from(["truncate", "invalid-utf8", "bom", "duplicate-key", "trailing", "replace-all",
                                   "nul", "overlong"]))
    position = draw(st.integers(min_value=0, max_value=len(body) - 1))
    if damage == "truncate":
        return body[:position]
    if damage == "invalid-utf8":
        return body[:position] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])) \
            + body[position:]
    if damage == "bom":
        return b"\xef\xbb\xbf" + body
    if damage == "duplicate-key":
        key = draw(st.sampled_from([b'"hook":"patient-view",', b'"context":{},', b'"prefetch":null,',
                                    b'"hookInstance":1,']))
        return b"{" + key + body[1:]
    if damage == "trailing":
        return body + draw(st.sampled_from([b"}", b",", b" garbage", b"\x00", b"{}"]))
    if damage == "nul":
        return body[:position] + b"\x00" + body[position:]
    if damage == "overlong":
        return body[:position] + b"\xc0\xaf" + body[position:]
    return draw(st.sampled_from([b"", b"null", b"[]", b"1", b'"text"', b"{}", b"{" * 2000, b"[" * 1025 + b"]" * 1025,
                                 b"\xef\xbb\xbf{}", b'{"hook": NaN}', b'{"hook": Infinity}']))


@st.composite
def mutated_feedback(draw: st.DrawFn) -> Any:
    """A feedback body (valid shape first), then mutated like a hook request."""
    item: dict[str, Any] = {
        "card": draw(st.sampled_from(["6f1c3c6e-8f57-4b8e-9a43-7f1d2c0b5a10", "unknown-card", ""])),
        "outcome": draw(st.sampled_from(["accepted", "overridden"])),
        "outcomeTimestamp": "2026-03-10T10:00:00Z",
    }
    if item["outcome"] == "accepted":
        item["acceptedSuggestions"] = [{"id": "s-1"}]
    else:
        item["overrideReason"] = {"reason": {"system": "urn:baclofen-rtu:override-reason", "code": "other"},
                                  "userComment": "vu"}
    document: Any = {"feedback": [item] * draw(st.integers(min_value=1, max_value=3))}
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = list(_paths(document))
        if not paths:
            break
        mutate(document, pick(draw, paths), pick(draw, OPERATIONS), draw(ODD_VALUES))
    return document
