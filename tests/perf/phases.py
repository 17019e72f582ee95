"""Where one evaluation's CPU goes, phase by phase, in process (no server, no audit, no HTTP).

    python -m tests.perf.phases [--repeat 5]

For the fixtures' full-prefetch order-sign requests and for the large patient: JSON parsing,
the CDS Hooks model, prefetch resolution, the patient context (FHIR validation and facts), the
rules, the cards and the response encoding; median milliseconds per request. Complements the
benchmark, which measures the whole request through uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson

from cds_service.clinical.cards import CardRequest, build_cards
from cds_service.clinical.engine import evaluate
from cds_service.clinical.profile import load_profile
from cds_service.fhir import prefetch
from cds_service.fhir.context_builder import build_context
from cds_service.protocol.models import HookRequest
from tests.perf.bench import large_patient
from tests.perf.common import Body, full_prefetch_bodies

PHASES = ("json", "model", "prefetch", "context", "rules", "cards", "encode")


def one(body: Body, profile: Any, loop: asyncio.AbstractEventLoop) -> dict[str, float]:
    """Milliseconds per phase for one request (after a full collection, so that the garbage of
    the previous request is not charged to this one's phases)."""
    gc.collect()
    spent: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        spent[name] = (now - clock) * 1000
        clock = now

    payload = orjson.loads(body.fresh())
    lap("json")
    request = HookRequest.model_validate(payload)
    lap("model")
    resolved = loop.run_until_complete(_resolve(request))
    lap("prefetch")
    context = build_context(patient_id=request.context.patientId, draft_orders=request.context.draftOrders,
                            data=resolved.data, unavailable=resolved.unavailable, today=date.today())
    lap("context")
    evaluations = evaluate(context, profile, "order-sign", None)
    lap("rules")
    cards = build_cards(evaluations, CardRequest(hook_instance=request.hookInstance, patient_id="p", user_id="u",
                                                 encounter_id=None, lang="fr", base_url="http://127.0.0.1"))
    lap("cards")
    orjson.dumps({"cards": cards})
    lap("encode")
    return spent


async def _resolve(request: HookRequest) -> prefetch.PrefetchResult:
    return await prefetch.resolve(request.prefetch, patient_id=request.context.patientId, endpoint=None,
                                  http=None, deadline_seconds=1.0, max_pages=1)  # type: ignore[arg-type]


def measure(bodies: list[Body], repeat: int, profile: Any) -> dict[str, float]:
    loop = asyncio.new_event_loop()
    try:
        runs: list[dict[str, float]] = [one(body, profile, loop) for _ in range(repeat) for body in bodies]
    finally:
        loop.close()
    medians = {phase: round(statistics.median(run[phase] for run in runs), 3) for phase in PHASES}
    medians["total"] = round(statistics.median(sum(run.values()) for run in runs), 3)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-phase CPU of an evaluation, in process.")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    profile = load_profile("rtu-2014")
    cases: dict[str, Callable[[], list[Body]]] = {"full-prefetch fixtures": full_prefetch_bodies,
                                                   "large patient": lambda: [large_patient()]}
    print(f"{'median ms':<24}" + "".join(f"{phase:>10}" for phase in (*PHASES, "total")))
    for name, bodies in cases.items():
        chosen = bodies()
        measure(chosen[:3], 1, profile)  # warm caches and imports
        result = measure(chosen, args.repeat, profile)
        print(f"{name:<24}" + "".join(f"{result[phase]:>10}" for phase in (*PHASES, "total")))


if __name__ == "__main__":
    main()
