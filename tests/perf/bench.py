"""`make bench`: latency and throughput of `baclofen-cds serve` against a floor, on 127.0.0.1.

Started as subprocesses, in one run: the service with 1 and with 2 uvicorn workers (sandbox auth,
a temporary SQLite, auto-migrated), a *floor* (a bare Starlette endpoint under the same uvicorn
settings answering a recorded CDS Hooks response) and, for the missing-prefetch case, the test
FHIR server answering after 20 ms. A closed-loop load generator sends the fixtures' order-sign
requests (full prefetch, a fresh hookInstance each) at concurrency 1, 8 and 32, bounded in count
and time, then orders that are not baclofen (out-of-scope: answered before the prefetch is
read), a large patient and a missing-prefetch request. Results go to
`bench-results/bench.json` and a table is printed, with each case's p50 relative to the floor's.

The machine has 2 cores shared by the client and the server(s): the server under test is
pinned to one core and the load generator to the other (unless `--no-pin`; the 2-worker service
gets every core), and client and server CPU are reported per case so you can see when the
client, not the server, is the bottleneck. `--source DIR` runs another copy of `cds_service/`
(say, `git archive <commit> cds_service | tar -x -C DIR`) under the same load, for before/after.

    python -m tests.perf.bench [--quick] [--cases floor,full-prefetch,...] [--client raw|httpx]
                               [--source DIR] [--no-pin] [--output PATH] [--label TEXT]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests import builders as b
from tests.perf.common import (
    ROOT,
    SCENARIOS,
    Body,
    ClientKind,
    LoadResult,
    Placement,
    Server,
    full_prefetch_bodies,
    load,
    new_event_loop,
    prepared,
    start_fhir,
    start_floor,
    start_service,
    workspace,
)

CONCURRENCY = (1, 8, 32)
MISSING_PREFETCH_SCENARIO = "dose-120mg-age40-specialist"
TOKEN = "bench-access-token"


@dataclass(frozen=True)
class Budget:
    """Bounds of one case: measured requests, seconds, and warm-up requests."""

    requests: int
    seconds: float
    warmup: int


FULL = Budget(requests=4000, seconds=10.0, warmup=300)
LARGE = Budget(requests=300, seconds=10.0, warmup=10)
MISSING = Budget(requests=1000, seconds=8.0, warmup=30)
QUICK = Budget(requests=600, seconds=3.0, warmup=50)


# --- workloads ------------------------------------------------------------------------------


def large_patient() -> Body:
    """1,000 Observations (renal labs and weights over years), 300 Conditions, 300 MedicationRequests."""
    today = date(2026, 3, 10)
    labs = (("62238-1", 85.0, "mL/min/{1.73_m2}"), ("2160-0", 80.0, "umol/L"), ("29463-7", 72.0, "kg"),
            ("33914-3", 88.0, "mL/min/{1.73_m2}"), ("2164-2", 95.0, "mL/min"))
    observations = []
    for i in range(1000):
        loinc, value, unit = labs[i % len(labs)]
        day = (today - timedelta(days=1 + i * 3)).isoformat()
        observations.append(b.lab(loinc, value + (i % 7), unit, day, oid=f"obs-{i}"))
    icd = ("F10.2", "I10", "E11.9", "E78.5", "K21.9", "M54.5", "J45.9", "F41.1", "G47.0", "K29.7", "E66.9",
           "M17.1", "H52.1", "L40.0", "N39.0", "R51", "Z72.0", "E03.9", "I25.1", "K76.0")
    conditions = [b.condition(icd[i % len(icd)], cid=f"cond-{i}",
                              status="active" if i % 3 else "resolved") for i in range(300)]
    atc = (("C09AA05", "ramipril"), ("A02BC01", "oméprazole"), ("C10AA05", "atorvastatine"),
           ("N02BE01", "paracétamol"), ("A10BA02", "metformine"), ("N05BA04", "oxazépam"),
           ("R03AC02", "salbutamol"), ("H03AA01", "lévothyroxine"), ("M01AE01", "ibuprofène"),
           ("N06AB10", "escitalopram"))
    medications = []
    for i in range(300):
        authored = (today - timedelta(days=2 + i * 5)).isoformat()
        if i % 15 == 0:  # a long baclofen history: completed courses, the latest one still active
            order = b.baclofen_order(10, 3, oid=f"med-{i}", status="active" if i == 0 else "completed",
                                     authored=authored)
        else:
            code, name = atc[i % len(atc)]
            order = b.other_order(code, name, oid=f"med-{i}", status="active" if i % 4 == 0 else "completed")
            order["authoredOn"] = authored
        medications.append(order)
    request = b.hook_request([b.baclofen_order(15, 3, authored=today.isoformat())],
                             conditions=conditions, medications=medications, observations=observations)
    return prepared("large-patient", request)


def out_of_scope_bodies() -> list[Body]:
    """Orders that are not baclofen (the fixtures' `scope-non-baclofen-*`), each sent with its full
    prefetch and with none at all (no fhirServer either): both answered before the prefetch is read."""
    bodies = []
    for folder in sorted(SCENARIOS.glob("scope-non-baclofen-*")):
        request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
        if "fhirServer" in request:
            request["fhirServer"] = "http://127.0.0.1:9/fhir"  # never reached
        bodies.append(prepared(f"{folder.name}-prefetch", request))
        bare = {key: value for key, value in request.items()
                if key not in ("prefetch", "fhirServer", "fhirAuthorization")}
        bodies.append(prepared(f"{folder.name}-bare", bare))
    return bodies


def missing_prefetch(fhir_base: str) -> tuple[Body, list[dict[str, Any]]]:
    """A fixture without prefetch (every key fetched from the FHIR server), and what the server holds."""
    request = json.loads((SCENARIOS / MISSING_PREFETCH_SCENARIO / "request.json").read_text(encoding="utf-8"))
    resources: list[dict[str, Any]] = []
    for value in request.pop("prefetch").values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            resources.extend(entry["resource"] for entry in value.get("entry") or [])
        elif isinstance(value, dict):
            resources.append(value)
    request["fhirServer"] = f"{fhir_base}/delay-20/fhir"
    request["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                    "scope": "patient/*.read", "subject": "cds-service"}
    return prepared("missing-prefetch", request), resources


async def fhir_round_trip_ms(fhir: Server, patient_id: str, count: int = 40) -> float:
    """p50 of one GET on the delay-20 FHIR server, through httpx like the service's own client."""
    timings = []
    async with httpx.AsyncClient() as http:
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get(f"{fhir.base}/delay-20/fhir/Patient/{patient_id}",
                                      headers={"Authorization": f"Bearer {TOKEN}"})
            response.raise_for_status()
            timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 3)


# --- the run --------------------------------------------------------------------------------


def record_floor_response(service: Server, bodies: list[Body]) -> bytes:
    """A real response of the service, of median size among the fixtures', for the floor to replay."""
    responses = []
    with httpx.Client(base_url=service.base, timeout=30.0) as http:
        for body in bodies:
            response = http.post(body.path, content=body.fresh(), headers={"content-type": "application/json"})
            if response.status_code != 200:
                raise RuntimeError(f"{body.name}: HTTP {response.status_code} {response.text[:300]}")
            responses.append(response.content)
    responses.sort(key=len)
    return responses[len(responses) // 2]


CASES = ("floor", "full-prefetch", "out-of-scope", "large-patient", "missing-prefetch", "full-prefetch-2w")


async def run_case(cases: list[dict[str, Any]], case: str, server: Server, bodies: list[Body], workers: int,
                   concurrency: int, budget: Budget, client: ClientKind) -> dict[str, Any]:
    result: LoadResult = await load(server, bodies, concurrency=concurrency, requests=budget.requests,
                                    seconds=budget.seconds, warmup=budget.warmup, client=client)
    row = {"case": case, "workers": workers, "concurrency": concurrency, **result.summary()}
    cases.append(row)
    print(_format_row(row), flush=True)
    return row


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    full, large, missing = (QUICK, QUICK, QUICK) if args.quick else (FULL, LARGE, MISSING)
    large = Budget(min(large.requests, LARGE.requests), large.seconds, min(large.warmup, LARGE.warmup))
    cases: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    client: ClientKind = args.client
    bodies = full_prefetch_bodies()
    wanted = set(args.cases.split(",")) if args.cases else set(CASES)
    placement = Placement.plan(pin=not args.no_pin)
    placement.pin_this_process()
    extras["placement"] = {"server_cpus": sorted(placement.server or []), "client_cpus": sorted(placement.client or [])}
    extras["source"] = str(args.source) if args.source else "this checkout"
    print(_format_header(), flush=True)
    with workspace() as workdir:
        service = start_service(workdir, workers=1, cpus=placement.server, source=args.source)
        floor = None
        fhir = None
        try:
            floor_response = record_floor_response(service, bodies)
            extras["floor_response_bytes"] = len(floor_response)
            extras["full_prefetch_request_bytes_median"] = statistics.median(len(x.payload) for x in bodies)
            extras["full_prefetch_scenarios"] = len(bodies)
            if "floor" in wanted:
                floor = start_floor(workdir, floor_response, placement.server)
                for concurrency in CONCURRENCY:
                    await run_case(cases, "floor", floor, bodies, 1, concurrency, full, client)
            if "full-prefetch" in wanted:
                for concurrency in CONCURRENCY:
                    await run_case(cases, "full-prefetch", service, bodies, 1, concurrency, full, client)
            if "out-of-scope" in wanted:
                for concurrency in CONCURRENCY:
                    await run_case(cases, "out-of-scope", service, out_of_scope_bodies(), 1, concurrency, full,
                                   client)
            big = large_patient()
            extras["large_patient_request_bytes"] = len(big.payload)
            if "large-patient" in wanted:
                for concurrency in (1, 8):
                    await run_case(cases, "large-patient", service, [big], 1, concurrency, large, client)
            if "missing-prefetch" in wanted:
                _, resources = missing_prefetch("")
                fhir = start_fhir(workdir, resources, placement.client)
                body, _ = missing_prefetch(fhir.base)
                patient_id = next(r["id"] for r in resources if r["resourceType"] == "Patient")
                extras["fhir_round_trip_p50_ms"] = await fhir_round_trip_ms(fhir, patient_id)
                for concurrency in (1, 8):
                    await run_case(cases, "missing-prefetch", service, [body], 1, concurrency, missing, client)
        finally:
            for server in (service, floor, fhir):
                if server is not None:
                    server.stop()
        if "full-prefetch-2w" in wanted:
            service = start_service(workdir, workers=2, source=args.source)  # every core
            try:
                for concurrency in CONCURRENCY:
                    await run_case(cases, "full-prefetch", service, bodies, 2, concurrency, full, client)
            finally:
                service.stop()
    floor_p50 = {row["concurrency"]: row["p50_ms"] for row in cases if row["case"] == "floor"}
    for row in cases:
        reference = floor_p50.get(row["concurrency"])
        row["ratio_to_floor_p50"] = round(row["p50_ms"] / reference, 2) if reference else None
    return {
        "label": args.label,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "client": client,
        "machine": {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()},
        "extras": extras,
        "cases": cases,
        "targets": targets(cases, extras),
    }


def targets(cases: list[dict[str, Any]], extras: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value, the limit and whether it is met."""

    def find(case: str, workers: int, concurrency: int) -> dict[str, Any]:
        for row in cases:
            if (row["case"], row["workers"], row["concurrency"]) == (case, workers, concurrency):
                return row
        return {}

    full8, floor8 = find("full-prefetch", 1, 8), find("floor", 1, 8)
    out8 = find("out-of-scope", 1, 8)
    large1 = find("large-patient", 1, 1)
    missing1 = find("missing-prefetch", 1, 1)
    checks: list[tuple[str, float, float]] = []
    if full8 and floor8:
        checks.append(("full-prefetch p50 <= 2x floor p50 (c=8, 1 worker)", full8["p50_ms"],
                       round(2 * floor8["p50_ms"], 3)))
    if full8:
        checks.append(("full-prefetch p99 < 25 ms (c=8, 1 worker)", full8["p99_ms"], 25.0))
    if full8 and floor8 and full8["throughput_rps"]:
        checks.append(("floor throughput / full-prefetch throughput <= 8 (c=8, 1 worker)",
                       round(floor8["throughput_rps"] / full8["throughput_rps"], 2), 8.0))
    if out8 and floor8:
        checks.append(("out-of-scope p50 <= 1.5x floor p50 (c=8, 1 worker)", out8["p50_ms"],
                       round(1.5 * floor8["p50_ms"], 3)))
    if large1:
        checks.append(("large patient p50 < 50 ms (c=1)", large1["p50_ms"], 50.0))
    if missing1:
        checks.append(("missing-prefetch p50 < FHIR round trip + 10 ms (c=1)", missing1["p50_ms"],
                       round(extras["fhir_round_trip_p50_ms"] + 10, 3)))
    checks.append(("no errors", sum(r["errors"] for r in cases), 0))
    inclusive = ("full-prefetch p50", "out-of-scope p50", "floor throughput", "no errors")
    return [{"target": name, "measured": value, "limit": limit,
             "met": value <= limit if name.startswith(inclusive) else value < limit}
            for name, value, limit in checks]


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


_COLUMNS = (("case", 17), ("workers", 3), ("concurrency", 4), ("requests", 6), ("errors", 4), ("p50_ms", 8),
            ("p95_ms", 8), ("p99_ms", 8), ("throughput_rps", 8), ("client_cpu_pct", 6), ("server_cpu_pct", 6))
_TITLES = {"workers": "w", "concurrency": "c", "requests": "n", "errors": "err", "p50_ms": "p50 ms",
           "p95_ms": "p95 ms", "p99_ms": "p99 ms", "throughput_rps": "req/s", "client_cpu_pct": "cli%",
           "server_cpu_pct": "srv%"}


def _format_header() -> str:
    return " ".join(f"{_TITLES.get(name, name):>{width}}" for name, width in _COLUMNS)


def _format_row(row: dict[str, Any]) -> str:
    return " ".join(f"{row[name]!s:>{width}}" for name, width in _COLUMNS)


def summary(report: dict[str, Any]) -> str:
    lines = ["", "| case | workers | conc. | requests | errors | p50 ms | p95 ms | p99 ms | req/s | x floor p50 "
             "| client CPU % | server CPU % |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in report["cases"]:
        lines.append(f"| {row['case']} | {row['workers']} | {row['concurrency']} | {row['requests']} | "
                     f"{row['errors']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
                     f"{row['throughput_rps']} | {row['ratio_to_floor_p50']} | {row['client_cpu_pct']} | "
                     f"{row['server_cpu_pct']} |")
    lines.append("")
    extras = report["extras"]
    lines.append(f"FHIR round trip (delay-20, p50): {extras.get('fhir_round_trip_p50_ms', '-')} ms; "
                 f"floor response {extras['floor_response_bytes']} bytes; "
                 f"large patient request {extras['large_patient_request_bytes']} bytes")
    for target in report["targets"]:
        verdict = "MET " if target["met"] else "MISSED"
        lines.append(f"  [{verdict}] {target['target']}: measured {target['measured']}, limit {target['limit']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark baclofen-cds against a floor (127.0.0.1 only).")
    parser.add_argument("--quick", action="store_true", help="small budgets, for a smoke run")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw",
                        help="load generator: raw asyncio HTTP/1.1 (default, cheapest) or httpx")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results" / "bench.json")
    parser.add_argument("--label", default="", help="free text stored with the results (e.g. 'before')")
    parser.add_argument("--cases", default="", help=f"comma-separated subset of: {', '.join(CASES)}")
    parser.add_argument("--no-pin", action="store_true",
                        help="unpinned (default: the server on one core, the client on the others)")
    parser.add_argument("--source", type=Path, default=None,
                        help="run the service from another copy of cds_service/ (e.g. `git archive` of an old commit)")
    args = parser.parse_args()
    loop = new_event_loop()
    try:
        report = loop.run_until_complete(bench(args))
    finally:
        loop.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(summary(report))
    print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main()
