"""The two CDS services this server offers, as published by `GET /cds-services`.

`SERVICES` carries the templates at the default page size; `discovery(page_size)` publishes them
at the configured one (`CDS_FHIR_PAGE_SIZE`), the same the service uses when it fetches.
"""

from __future__ import annotations

from cds_service.fhir.prefetch import DEFAULT_PAGE_SIZE, PREFETCH_TEMPLATES, prefetch_templates
from cds_service.protocol.models import Discovery, ServiceDefinition

ORDER_SIGN = "baclofen-rtu"
ORDER_SELECT = "baclofen-rtu-select"

SERVICES: dict[str, ServiceDefinition] = {
    ORDER_SIGN: ServiceDefinition(
        hook="order-sign",
        id=ORDER_SIGN,
        title="Baclofène — RTU alcoolo-dépendance (ANSM)",
        description=(
            "Checks a signed baclofen order for alcohol dependence against the ANSM temporary "
            "recommendation for use: dose thresholds (specialist opinion, collegial decision, "
            "300 mg/day maximum), titration protocol, renal function, contraindications, "
            "precautions and interactions; suggests the next dose as FHIR actions."
        ),
        prefetch=dict(PREFETCH_TEMPLATES),
        usageRequirements="FHIR R4 draft MedicationRequest(s) in context.draftOrders.",
    ),
    ORDER_SELECT: ServiceDefinition(
        hook="order-select",
        id=ORDER_SELECT,
        title="Baclofène — aide à la posologie (RTU)",
        description=(
            "While a baclofen order is composed: the titration step, the next dose and the dose "
            "thresholds of the ANSM RTU, before the full check at signature."
        ),
        prefetch=dict(PREFETCH_TEMPLATES),
        usageRequirements="FHIR R4 draft MedicationRequest(s) in context.draftOrders; selections.",
    ),
}


def discovery(page_size: int = DEFAULT_PAGE_SIZE) -> Discovery:
    templates = prefetch_templates(page_size)
    return Discovery(services=[service.model_copy(update={"prefetch": dict(templates)})
                               for service in SERVICES.values()])
