"""OpenTelemetry spans for the request, each prefetch fetch and the rule evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cds_service.observability import tracing
from tests.builders import hook_request, patient
from tests.fhir_server import FakeFhir


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.use_tracer(provider.get_tracer("test"))
    yield memory
    tracing.use_tracer(None)


def test_tracing_is_off_unless_configured() -> None:
    assert tracing.configure(None) is False
    with tracing.span("anything") as current:
        assert current is None


async def test_spans_for_request_fetches_and_evaluation(client: httpx.AsyncClient, fhir_server: FakeFhir,
                                                        exporter: InMemorySpanExporter) -> None:
    fhir_server.load([patient()])
    request = hook_request(omit=("conditions", "allergies"), fhir_server=fhir_server.url("ok"))
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert {"cds.request", "cds.prefetch", "cds.evaluate"} <= set(names)
    fetched = sorted(span.attributes["key"] for span in spans if span.name == "cds.fhir.fetch")
    assert fetched == ["allergies", "conditions"]
    by_name = {span.name: span for span in spans}
    request_span = by_name["cds.request"]
    assert by_name["cds.evaluate"].parent.span_id == request_span.context.span_id
    assert request_span.attributes["service"] == "baclofen-rtu"
