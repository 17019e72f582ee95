"""Findings to CDS Hooks cards, against alert fatigue.

One card per critical finding; then at most one card per group (dose review, titration with
the next-dose suggestion, renal, precautions & interactions, follow-up, missing data). Critical
first. Texts come from the profile in the user's language; card uuids are stable for a
hookInstance so that feedback and retries refer to the same cards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from cds_service.clinical.actions import OrderRefs, actions_for
from cds_service.clinical.engine import OrderEvaluation
from cds_service.clinical.findings import Finding, PlannedStep, UpdateDose
from cds_service.clinical.profile import GROUPS, Language, Profile
from cds_service.clinical.titration import fmt

RULE_SYSTEM = "urn:baclofen-rtu:rule"
OVERRIDE_SYSTEM = "urn:baclofen-rtu:override-reason"
RULES_EXTENSION = "baclofen-rtu-rules"
PROFILE_EXTENSION = "baclofen-rtu-profile"
SEVERITY = {"critical": 0, "warning": 1, "info": 2}
_NAMESPACE = uuid.UUID("6f1c3c6e-8f57-4b8e-9a43-7f1d2c0b5a10")
SUMMARY_LIMIT = 140


@dataclass(frozen=True)
class CardRequest:
    """What the card builder needs from the hook call."""

    hook_instance: str
    patient_id: str
    user_id: str | None
    encounter_id: str | None
    lang: Language
    base_url: str


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _resolve(value: object, profile: Profile, lang: Language, values: _Params) -> str:
    """A parameter's text: labels and the profile name are looked up in the user's language."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "label":
        return profile.label(str(value[1]), lang).format_map(values)
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "profile":
        return profile.name[lang]
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "labels":
        names = ", ".join(profile.label(str(key), lang) for key in value[1])
        return f" ({profile.label('fragile_prefix', lang)}{names})"
    return str(value)


def _values(finding: Finding, profile: Profile, lang: Language) -> _Params:
    """Parameters as text; labels may use other parameters, labels included (two levels)."""
    plain = _Params({k: str(v) for k, v in finding.params.items() if not isinstance(v, tuple)})
    first = _Params(plain)
    for key, value in finding.params.items():
        if isinstance(value, tuple):
            first[key] = _resolve(value, profile, lang, plain)
    final = _Params(plain)
    for key, value in finding.params.items():
        if isinstance(value, tuple):
            final[key] = _resolve(value, profile, lang, first)
    return final


def render(template: str, finding: Finding, profile: Profile, lang: Language) -> str:
    return template.format_map(_values(finding, profile, lang))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _card_uuid(request: CardRequest, position: int, order_id: str | None, key: str) -> str:
    """Stable for a hookInstance; the draft's position keeps two drafts without (or with the same)
    id apart, since feedback and the audit key on card uuids."""
    return str(uuid.uuid5(_NAMESPACE, f"{request.hook_instance}|{position}|{order_id or ''}|{key}"))


def _suggestion_label(proposal: object, profile: Profile, lang: Language) -> str:
    if isinstance(proposal, UpdateDose):
        steps = proposal.steps
        first = steps[0]
        if len(steps) == 1:
            return profile.label("suggest_dose", lang).format(dose=fmt(first.mg_per_day), split=_split(first))
        then = "".join(
            profile.label("suggest_then", lang).format(dose=fmt(step.mg_per_day), split=_split(step),
                                                       date=step.start.isoformat() if step.start else "")
            for step in steps[1:]
        )
        return profile.label("suggest_schedule", lang).format(dose=fmt(first.mg_per_day), split=_split(first),
                                                              then=then)
    kind = type(proposal).__name__
    key = {
        "Referral": f"suggest_referral_{getattr(proposal, 'kind', 'specialist')}",
        "OrderCreatinine": "suggest_creatinine",
        "CancelDraft": "suggest_cancel",
    }[kind]
    return profile.label(key, lang)


def _split(step: PlannedStep) -> str:
    return "-".join(fmt(v) for v in step.intake_mg)


def _plan_link(evaluation: OrderEvaluation, request: CardRequest) -> dict[str, Any] | None:
    plan = next((f for f in evaluation.findings if f.code == "plan-next-dose"), None)
    if plan is None:
        return None
    a = evaluation.assessment
    query = {
        "dose": plan.params.get("base", plan.params.get("next")),
        "since": a.today.isoformat(),
        "until": plan.params.get("review_date"),
        "age": a.age if a.age is not None else "",
        "renal": a.renal.category,
        "profile": a.profile.id,
        "lang": request.lang,
    }
    return {
        "label": a.profile.label("link_plan", request.lang),
        "url": f"{request.base_url.rstrip('/')}/plan?{urlencode(query)}",
        "type": "absolute",
    }


def _card(
    position: int,
    findings: list[Finding],
    key: str,
    group_title: str | None,
    evaluation: OrderEvaluation,
    request: CardRequest,
) -> dict[str, Any]:
    a = evaluation.assessment
    profile, lang = a.profile, request.lang
    findings = sorted(findings, key=lambda f: SEVERITY[f.indicator])
    primary = findings[0]
    specs = [profile.rules[f.code] for f in findings]
    summary = _clip(render(specs[0].summary[lang], primary, profile, lang))
    parts = []
    for finding, spec in zip(findings, specs, strict=True):
        body = render(spec.detail[lang], finding, profile, lang)
        if len(findings) > 1:
            body = f"**{render(spec.summary[lang], finding, profile, lang)}**\n\n{body}"
        parts.append(body)
    codes = [f.code for f in findings]
    footer = f"_{profile.name[lang]} · {', '.join(codes)}_"
    heading = f"### {group_title}\n\n" if group_title and len(findings) > 1 else ""
    card_uuid = _card_uuid(request, position, a.order.id, key)
    refs = OrderRefs(request.patient_id, request.user_id, request.encounter_id, a.order.id, a.today)
    draft = dict(a.order.raw) if a.order.raw is not None else None
    suggestions: list[dict[str, Any]] = []
    for finding in findings:
        for proposal in finding.proposals:
            actions = actions_for(proposal, refs, draft, profile, lang)
            if not actions:
                continue
            suggestions.append({
                "label": _suggestion_label(proposal, profile, lang),
                "uuid": str(uuid.uuid5(uuid.UUID(card_uuid), f"suggestion-{len(suggestions)}")),
                "isRecommended": len(suggestions) == 0,
                "actions": actions,
            })
    indicator = primary.indicator
    card: dict[str, Any] = {
        "uuid": card_uuid,
        "summary": summary,
        "detail": heading + "\n\n---\n\n".join(parts) + "\n\n" + footer,
        "indicator": indicator,
        "source": {
            "label": profile.source_label[lang],
            "url": profile.source_url,
            "topic": {"system": RULE_SYSTEM, "code": primary.code,
                      "display": render(specs[0].summary[lang], primary, profile, lang)[:120]},
        },
        "extension": {RULES_EXTENSION: codes, PROFILE_EXTENSION: profile.id},
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if indicator != "info":
        card["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": display[lang]}
            for code, display in profile.override_reasons
        ]
    links = []
    if "rtu-register" in codes:
        links.append({"label": profile.label("link_register", lang), "url": profile.register_url,
                      "type": "absolute"})
    if "plan-next-dose" in codes:
        plan = _plan_link(evaluation, request)
        if plan is not None:
            links.append(plan)
    if links:
        card["links"] = links
    return card


def build_cards(evaluations: list[OrderEvaluation], request: CardRequest) -> list[dict[str, Any]]:
    """All cards for the hook call, critical first, grouped against alert fatigue."""
    cards: list[tuple[int, int, dict[str, Any]]] = []
    for position, evaluation in enumerate(evaluations):
        profile = evaluation.assessment.profile
        grouped: dict[str, list[Finding]] = {}
        for finding in evaluation.findings:
            group = profile.rules[finding.code].group
            if group == "critical" or finding.indicator == "critical":
                card = _card(position, [finding], finding.code, None, evaluation, request)
                cards.append((0, len(cards), card))
            else:
                grouped.setdefault(group, []).append(finding)
        for group in GROUPS:
            if group in grouped:
                title = profile.group_titles[group][request.lang]
                card = _card(position, grouped[group], group, title, evaluation, request)
                cards.append((SEVERITY[card["indicator"]], len(cards), card))
    return [card for _, _, card in sorted(cards, key=lambda item: (item[0], item[1]))]
