"""The two CDS services this server offers, as published by `GET /cds-services`.

`SERVICES` carries the templates at the default page size; `discovery(profile, page_size)`
publishes the profile's descriptions and the templates at the configured page size
(`CDS_FHIR_PAGE_SIZE`), the same the service uses when it fetches.
"""

from __future__ import annotations

from cds_service.clinical.profile import Profile, load_profile
from cds_service.fhir.prefetch import DEFAULT_PAGE_SIZE, PREFETCH_TEMPLATES, prefetch_templates
from cds_service.protocol.models import Discovery, ServiceDefinition

ORDER_SIGN = "baclofen-rtu"
ORDER_SELECT = "baclofen-rtu-select"

def services(profile: Profile) -> dict[str, ServiceDefinition]:
    """The services as the profile in force defines them: its title, version and status, and its
    own maximum (80 mg/day in rtu-2017 and amm-2018), never a hard-coded one."""
    doses = profile.doses
    frame = profile.meta.label("en")
    reviews = ("specialist opinion, collegial decision, " if doses.specialist_from_mg is not None else "")
    return {
        ORDER_SIGN: ServiceDefinition(
            hook="order-sign",
            id=ORDER_SIGN,
            title="Baclofène — alcoolo-dépendance (ANSM)",
            description=(
                f"Checks a signed baclofen order for alcohol dependence against the rule profile {profile.id} "
                f"({frame}): dose thresholds ({reviews}{doses.max_mg_per_day:g} mg/day maximum), "
                "titration protocol, renal function, contraindications, precautions and interactions; "
                "suggests the next dose as FHIR actions."
            ),
            prefetch=dict(PREFETCH_TEMPLATES),
            usageRequirements="FHIR R4 draft MedicationRequest(s) in context.draftOrders.",
        ),
        ORDER_SELECT: ServiceDefinition(
            hook="order-select",
            id=ORDER_SELECT,
            title="Baclofène — aide à la posologie",
            description=(
                "While a baclofen order is composed: the titration step, the next dose and the dose "
                f"thresholds of the rule profile {profile.id} ({frame}), before the full check at signature."
            ),
            prefetch=dict(PREFETCH_TEMPLATES),
            usageRequirements="FHIR R4 draft MedicationRequest(s) in context.draftOrders; selections.",
        ),
    }


def discovery(profile: Profile, page_size: int = DEFAULT_PAGE_SIZE) -> Discovery:
    templates = prefetch_templates(page_size)
    return Discovery(services=[service.model_copy(update={"prefetch": dict(templates)})
                               for service in services(profile).values()])


# Ids and hooks of the services (routing, OpenAPI); their descriptions come from the profile in
# force, through `discovery(profile, page_size)`.
SERVICES: dict[str, ServiceDefinition] = services(load_profile("rtu-2017"))
