"""Soak test: steady load on one worker, watching the process's memory and file descriptors.

    python -m tests.perf.soak --seconds 300 [--concurrency 4] [--interval 10]

Starts `baclofen-cds serve` (1 worker, sandbox auth, temporary SQLite) and the test FHIR server,
then sends a steady closed-loop mix: full-prefetch order-sign requests (most), missing-prefetch
ones fetched from the FHIR server (the shared httpx pool), invalid requests (400s) and feedback.
Every interval it samples the worker's RSS and open file descriptors from /proc, and the
interval's throughput and latency, then says whether memory and descriptors stayed flat after
warm-up. Results: bench-results/soak.json. Not part of CI (it runs for minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.perf.bench import missing_prefetch
from tests.perf.common import (
    ROOT,
    Body,
    Placement,
    full_prefetch_bodies,
    load,
    new_event_loop,
    open_fds,
    prepared,
    rss_kib,
    start_fhir,
    start_service,
    workspace,
)

RSS_GROWTH_LIMIT = 0.05  # flat: less than 5 % growth between the end of warm-up and the end
FD_GROWTH_LIMIT = 2  # flat: the median descriptor count of the last third within 2 of the first third's
# (pooled and closing connections make the count wander by a few from one sample to the next)


def workload(fhir_base: str, card_uuid: str) -> list[Body]:
    """About 80 % full prefetch, 7 % fetched from the FHIR server, 7 % invalid, 6 % feedback
    (on a card the service issued: feedback on any other uuid is a 404)."""
    full = full_prefetch_bodies()
    fetched, _ = missing_prefetch(fhir_base)
    fetched_fast = Body(fetched.name, fetched.path, fetched.payload.replace(b"/delay-20/fhir", b"/ok/fhir"))
    invalid_fhir = json.loads(full[0].payload)
    invalid_fhir["context"]["draftOrders"]["entry"][0]["resource"]["authoredOn"] = "yesterday"
    bad = [Body("malformed", "/cds-services/baclofen-rtu", b'{"hook": "order-sign",', 400),
           prepared("invalid-fhir", invalid_fhir, expect=400)]
    feedback = Body("feedback", "/cds-services/baclofen-rtu/feedback", orjson.dumps({"feedback": [{
        "card": card_uuid, "outcome": "overridden",
        "outcomeTimestamp": "2026-03-10T10:00:00Z",
        "overrideReason": {"reason": {"system": "urn:baclofen-rtu:override-reason", "code": "other"}}}]}))
    mix: list[Body] = []
    for index, body in enumerate(full):
        mix.append(body)
        if index % 12 == 0:
            mix.extend([fetched_fast, bad[index % 2], feedback])
    return mix


def slope_per_minute(samples: list[dict[str, Any]], key: str) -> float:
    """Least-squares slope of `key` against time, per minute."""
    xs = [s["t_seconds"] / 60 for s in samples]
    ys = [float(s[key]) for s in samples]
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    denominator = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / denominator if denominator else 0.0


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    samples: list[dict[str, Any]] = []
    placement = Placement.plan(pin=True)  # the worker on one core, the load and the FHIR server on the other
    placement.pin_this_process()
    with workspace() as workdir:
        _, resources = missing_prefetch("")
        fhir = start_fhir(workdir, resources, placement.client)
        service = start_service(workdir, workers=1, cpus=placement.server)
        try:
            first = full_prefetch_bodies()[0]
            async with httpx.AsyncClient(timeout=30) as http:
                issued = (await http.post(service.base + first.path, content=first.fresh(),
                                          headers={"content-type": "application/json"})).json()
            bodies = workload(fhir.base, issued["cards"][0]["uuid"])
            pid = service.process.pid
            started = time.perf_counter()
            samples.append({"t_seconds": 0.0, "rss_kib": rss_kib(pid), "open_fds": open_fds(pid)})
            print(f"{'t s':>6} {'RSS MiB':>8} {'fds':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}",
                  flush=True)
            while time.perf_counter() - started < args.seconds:
                result = await load(service, bodies, concurrency=args.concurrency, requests=10**9,
                                    seconds=args.interval)
                summary = result.summary()
                sample = {"t_seconds": round(time.perf_counter() - started, 1), "rss_kib": rss_kib(pid),
                          "open_fds": open_fds(pid), "throughput_rps": summary["throughput_rps"],
                          "p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"], "errors": summary["errors"],
                          "error_samples": summary["error_samples"]}
                samples.append(sample)
                print(f"{sample['t_seconds']:>6} {sample['rss_kib'] / 1024:>8.1f} {sample['open_fds']:>5} "
                      f"{sample['throughput_rps']:>7} {sample['p50_ms']:>7} {sample['p99_ms']:>7} "
                      f"{sample['errors']:>6}", flush=True)
        finally:
            service.stop()
            fhir.stop()
    return verdict(samples, args)


def verdict(samples: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    warm = [s for s in samples if s["t_seconds"] >= args.warmup] or samples[-2:]
    rss_start, rss_end = warm[0]["rss_kib"], samples[-1]["rss_kib"]
    fds = [s["open_fds"] for s in warm]
    third = max(1, len(fds) // 3)
    fd_growth = statistics.median(fds[-third:]) - statistics.median(fds[:third])
    growth = (rss_end - rss_start) / rss_start if rss_start else 0.0
    return {
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "interval_seconds": args.interval,
        "warmup_seconds": args.warmup,
        "requests": int(sum(s.get("throughput_rps", 0) * args.interval for s in samples[1:])),
        "errors": sum(s.get("errors", 0) for s in samples[1:]),
        "rss_kib_after_warmup": rss_start,
        "rss_kib_end": rss_end,
        "rss_growth_pct": round(100 * growth, 2),
        "rss_slope_kib_per_min": round(slope_per_minute(warm, "rss_kib"), 1),
        "open_fds_min": min(fds),
        "open_fds_max": max(fds),
        "open_fds_growth": fd_growth,
        "rss_flat": growth < RSS_GROWTH_LIMIT,
        "fds_flat": fd_growth <= FD_GROWTH_LIMIT,
        "samples": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Soak baclofen-cds (1 worker) and watch RSS and open fds.")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before memory should be flat")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results" / "soak.json")
    args = parser.parse_args()
    loop = new_event_loop()
    try:
        report = loop.run_until_complete(soak(args))
    finally:
        loop.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"\n{report['requests']} requests, {report['errors']} errors; "
          f"RSS {report['rss_kib_after_warmup'] / 1024:.1f} -> {report['rss_kib_end'] / 1024:.1f} MiB "
          f"after warm-up ({report['rss_growth_pct']:+.2f} %, "
          f"{report['rss_slope_kib_per_min']:+.1f} KiB/min): {'flat' if report['rss_flat'] else 'GROWING'}; "
          f"open fds {report['open_fds_min']}-{report['open_fds_max']} ({report['open_fds_growth']:+g} median, "
          f"first to last third): "
          f"{'flat' if report['fds_flat'] else 'GROWING'}")
    print(f"results: {args.output}")


if __name__ == "__main__":
    main()
