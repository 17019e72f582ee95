"""Findings to CDS Hooks cards, against alert fatigue.

One card per critical finding; then at most one card per group (dose review, titration with
the next-dose suggestion, renal, precautions & interactions, follow-up, missing data). Critical
first. Texts come from the profile in the user's language; card uuids are stable for a
hookInstance so that feedback and retries refer to the same cards.
"""

from __future__ import annotations

import functools
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from cds_service.clinical import medication as medication_logic
from cds_service.clinical.actions import OrderRefs, actions_for
from cds_service.clinical.dose_messages import dose_message
from cds_service.clinical.engine import OrderEvaluation, unchecked
from cds_service.clinical.findings import (
    DoseReason,
    Finding,
    Label,
    Labels,
    OrderCreatinine,
    Param,
    PlannedStep,
    ProfileName,
    Proposal,
    Referral,
    UpdateDose,
)
from cds_service.clinical.profile import GROUPS, STATUS_LABELS, Language, Profile
from cds_service.clinical.suggestion_policy import CONTRAINDICATION_CODES
from cds_service.clinical.titration import fmt
from cds_service.clinical.wording import finish, format_date

RULE_SYSTEM = "urn:baclofen-rtu:rule"
OVERRIDE_SYSTEM = "urn:baclofen-rtu:override-reason"
RULES_EXTENSION = "baclofen-rtu-rules"
PROFILE_EXTENSION = "baclofen-rtu-profile"
UNCHECKED_EXTENSION = "baclofen-rtu-unchecked"
UNAVAILABLE_EXTENSION = "baclofen-rtu-unavailable"
SEVERITY = {"critical": 0, "warning": 1, "info": 2}
_NAMESPACE = uuid.UUID("6f1c3c6e-8f57-4b8e-9a43-7f1d2c0b5a10")
SUMMARY_LIMIT = 140  # CDS Hooks 2.0: a summary is "<140 characters", so at most 139
_ITEMS_READ = 40  # names read for a merged summary, which shows fewer


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


def _plain(value: Param, lang: Language) -> str | None:
    if isinstance(value, Label | Labels | ProfileName):
        return None
    if isinstance(value, DoseReason):
        return dose_message(value.english, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def _values(finding: Finding, profile: Profile, lang: Language) -> _Params:
    """Parameters as text in the reader's language: plain values first, then labels, which
    may use the plain values."""
    plain = _Params()
    for key, value in finding.params.items():
        text = _plain(value, lang)
        if text is not None:
            plain[key] = text
    final = _Params(plain)
    for key, value in finding.params.items():
        if isinstance(value, Label):
            final[key] = profile.label(value.key, lang).format_map(plain)
        elif isinstance(value, Labels):
            final[key] = ", ".join(profile.label(name, lang).format_map(plain) for name in value.keys)
        elif isinstance(value, ProfileName):
            final[key] = profile.name[lang]
    return final


def texts_of(finding: Finding, profile: Profile, lang: Language) -> tuple[str, str]:
    """The finding's summary and detail, in the variant it asks for."""
    spec = profile.rules[finding.code]
    variant = spec.variants.get(finding.variant) if finding.variant else None
    summary, detail = (variant.summary, variant.detail) if variant else (spec.summary, spec.detail)
    values = _values(finding, profile, lang)
    short = _Params(values)
    drug = finding.params.get("drug")
    if isinstance(drug, str):
        short["drug"] = ", ".join(_short_names(drug))
    return (finish(summary[lang].format_map(short), lang, short=True),
            finish(detail[lang].format_map(values), lang))


def clip_summary(text: str, most: int = SUMMARY_LIMIT - 1) -> str:
    """The summary on one line, at most `most` characters (CDS Hooks: fewer than 140; EHRs may
    truncate or refuse a longer one); a longer text is cut at a word boundary and ends with "…".
    Only ASCII blanks are collapsed: the non-breaking spaces of French typography stay."""
    text = re.sub(r"[ \t\r\n]+", " ", text).strip()
    if len(text) <= most:
        return text
    head = text[:most - 1]  # the kept text, then "…"
    if text[most - 1] != " " and " " in head:  # the cut falls inside a word: drop that word
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–—(\u00a0") + "…"


def _drug_name(text: str) -> str:
    """« Oxazépam (Séresta) 10 mg comprimé » → « oxazépam »: the substance, for a summary."""
    name = re.split(r"[\d(]", text, maxsplit=1)[0].strip() or text
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


@functools.lru_cache(maxsize=256)
def _short_names(drugs: str) -> tuple[str, ...]:
    """The substances of a « , »-joined drug list; cached, since every draft of an order set
    shares the same list (the work stays linear in drafts plus co-medications)."""
    return tuple(_drug_name(name) for name in drugs.split(", "))


def _items(finding: Finding, profile: Profile, lang: Language) -> Iterator[str]:
    """A finding in a few words for a merged summary: its drugs, else the rule's short label."""
    drug = finding.params.get("drug")
    if isinstance(drug, str) and drug:
        yield from _short_names(drug)
        return
    key = f"item_{finding.code}"
    yield profile.label(key, lang) if key in profile.labels else texts_of(finding, profile, lang)[0]


def _first_items(findings: list[Finding], profile: Profile, lang: Language) -> list[str]:
    """The distinct items, most important first, only as many as a summary can show (and at
    most `_ITEMS_READ` read): a card beside hundreds of co-medications costs no more than one
    beside a few. The card's detail lists them all."""
    items: dict[str, None] = {}
    length = 0
    names = (item for finding in findings for item in _items(finding, profile, lang))
    for item in itertools.islice(names, _ITEMS_READ):
        if item not in items:
            items[item] = None
            length += len(item) + 2
            if length > SUMMARY_LIMIT:
                break
    return list(items)


def merged_summary(findings: list[Finding], profile: Profile, lang: Language, first: str | None = None) -> str:
    """The whole card in one line: for precautions & interactions the count of each and the
    most important items (« 3 précautions, 3 interactions : furosémide, oxazépam, BPCO… »);
    for another group the first finding and how many more. `first`: the first finding's
    summary, when the caller already has it."""
    if first is None:
        first = texts_of(findings[0], profile, lang)[0]
    if len(findings) == 1:
        return clip_summary(first)
    kinds = [("pr-", "count_precautions"), ("ix-", "count_interactions")]
    counts = [(key, sum(f.code.startswith(prefix) for f in findings)) for prefix, key in kinds]
    if all(f.code.startswith(("pr-", "ix-")) for f in findings):
        head = ", ".join(finish(profile.label(key, lang).format(count=n), lang) for key, n in counts if n)
        ordered = sorted(findings, key=lambda f: (SEVERITY[f.indicator], not f.code.startswith("ix-")))
        items = _first_items(ordered, profile, lang)
        colon = " :" if lang == "fr" else ":"
        return clip_summary(finish(f"{head}{colon} {', '.join(items)}", lang))
    more = finish(profile.label("and_more", lang).format(count=len(findings) - 1), lang)
    return clip_summary(first, SUMMARY_LIMIT - 1 - len(more) - 3) + f" ({more})"


def _card_uuid(request: CardRequest, position: int, order_id: str | None, key: str) -> str:
    """Stable for a hookInstance; the draft's position keeps two drafts without (or with the same)
    id apart, since feedback and the audit key on card uuids."""
    return str(uuid.uuid5(_NAMESPACE, f"{request.hook_instance}|{position}|{order_id or ''}|{key}"))


def _split(step: PlannedStep) -> str:
    return "-".join(fmt(v) for v in step.intake_mg)


def _dose_label(proposal: UpdateDose, profile: Profile, lang: Language) -> str:
    """"Prescribe 30 mg/day (10-10-10), then 40 mg/day (15-10-15) from 16/12/2026 if …"; a taper
    names each step and the stop."""
    steps = proposal.steps
    first = steps[0]
    rest = steps[1:]
    parts = [
        profile.label("suggest_then", lang).format(dose=fmt(step.mg_per_day), split=_split(step),
                                                   date=format_date(step.start, lang) if step.start else "")
        for step in rest
    ]
    if proposal.purpose == "taper":
        last = steps[-1]
        stop = (profile.label("suggest_stop", lang).format(date=format_date(last.end, lang))
                if last.end is not None else "")
        return profile.label("suggest_taper", lang).format(dose=fmt(first.mg_per_day), split=_split(first),
                                                           then="".join(parts), stop=stop)
    key = "suggest_next" if proposal.purpose == "titrate" else "suggest_schedule"
    if not rest:
        key = "suggest_dose"
    return profile.label(key, lang).format(dose=fmt(first.mg_per_day), split=_split(first), then="".join(parts))


def _suggestion_label(proposal: Proposal, profile: Profile, lang: Language) -> str:
    if isinstance(proposal, UpdateDose):
        switch = (profile.label("suggest_switch_10mg", lang).format(tablet=proposal.tablet or "?")
                  if proposal.switch_to_10mg else "")
        return _dose_label(proposal, profile, lang) + switch
    if isinstance(proposal, Referral):
        return profile.label(f"suggest_referral_{proposal.kind}", lang)
    if isinstance(proposal, OrderCreatinine):
        return profile.label("suggest_creatinine", lang)
    return profile.label("suggest_cancel", lang)


def _steps_param(steps: tuple[PlannedStep, ...], today: date) -> str:
    """A schedule in a link: `30@2026-12-01,20@2026-12-04,0@2026-12-07` (0: stop)."""
    items = [f"{fmt(step.mg_per_day)}@{(step.start or today).isoformat()}" for step in steps]
    if steps and steps[-1].end is not None:
        items.append(f"0@{steps[-1].end.isoformat()}")
    return ",".join(items)


def _tablet_params(evaluation: OrderEvaluation, update: UpdateDose | None) -> dict[str, str]:
    """The tablet the patient view counts in: the ordered product's (a Baclocur 20 mg order is
    taken as 20 mg tablets: a sheet in 10 mg tablets would double every intake), 10 mg scored
    tablets when the suggestion switches to them, doses in mg for an oral solution. Nothing when
    the product is not known."""
    a = evaluation.assessment
    if update is not None and update.switch_to_10mg:
        return {"strength": fmt(2 * a.profile.titration.unit_mg), "form": "scored"}
    if medication_logic.is_oral_liquid(a.order):
        return {"form": "liquid"}
    tablet = medication_logic.ordered_tablet(a.order)
    if tablet is None:
        return {}
    return {"strength": fmt(tablet.strength_mg), "form": "scored" if tablet.scored else "unscored"}


def _plan_link(evaluation: OrderEvaluation, request: CardRequest, finding: Finding) -> dict[str, Any] | None:
    """The printable plan of what this card proposes: the schedule of its dose suggestion (the
    same steps as the button), or the dose to keep and why."""
    a = evaluation.assessment
    update = next((p for p in finding.proposals if isinstance(p, UpdateDose)), None)
    if finding.code != "plan-next-dose" and (update is None or update.purpose != "taper"):
        return None
    if update is None and finding.variant == "hold-new":
        return None  # nothing to plan: no dose at all until the check is done
    params = finding.params
    query: dict[str, str] = {"since": a.today.isoformat(), "profile": a.profile.id, "lang": request.lang,
                             "renal": a.renal.category, "age": "" if a.age is None else str(a.age)}
    if update is not None:
        query["steps"] = _steps_param(update.steps, a.today)
        query["state"] = "taper" if update.purpose == "taper" else "step"
    else:
        query["dose"] = str(params.get("base", ""))
        query["state"] = finding.variant or "hold"
        why = params.get("why")
        if isinstance(why, str) and why and why != "slow":
            query["reason"] = why
    query.update(_tablet_params(evaluation, update))
    review = params.get("review_date")
    if isinstance(review, date):
        query["until"] = review.isoformat()
    if update is not None and update.purpose == "taper" and update.steps[-1].end is not None:
        query["until"] = update.steps[-1].end.isoformat()
    key = "link_taper" if query["state"] == "taper" else "link_plan"
    return {
        "label": finish(a.profile.label(key, request.lang), request.lang),
        "url": f"{request.base_url.rstrip('/')}/plan?{urlencode(query)}",
        "type": "absolute",
    }


_PLANNED = frozenset(("plan-next-dose", *CONTRAINDICATION_CODES, "dose-over-max"))  # cards that link a plan


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
    texts = [texts_of(finding, profile, lang) for finding in findings]
    summary = merged_summary(findings, profile, lang, texts[0][0])
    parts = []
    for finding_summary, body in texts:
        parts.append(f"**{finding_summary}**\n\n{body}" if len(findings) > 1 else body)
    codes = [f.code for f in findings]
    footer = f"_{profile.name[lang]} · {', '.join(codes)}_"
    heading = f"### {finish(group_title, lang)}\n\n" if group_title and len(findings) > 1 else ""
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
                "label": finish(_suggestion_label(proposal, profile, lang), lang),
                "uuid": str(uuid.uuid5(uuid.UUID(card_uuid), f"suggestion-{len(suggestions)}")),
                "isRecommended": len(suggestions) == 0,
                "actions": actions,
            })
    indicator = primary.indicator
    extension: dict[str, Any] = {RULES_EXTENSION: codes, PROFILE_EXTENSION: profile.id}
    if "data-unavailable" in codes:
        extension[UNAVAILABLE_EXTENSION] = sorted(key for key in a.context.unavailable if key != "patient")
        extension[UNCHECKED_EXTENSION] = list(unchecked(a))
    card: dict[str, Any] = {
        "uuid": card_uuid,
        "summary": summary,
        "detail": heading + "\n\n---\n\n".join(parts) + "\n\n" + footer,
        "indicator": indicator,
        "source": {
            "label": f"{profile.source_label[lang]} · v{profile.meta.version} · "
                     f"{STATUS_LABELS[profile.meta.status][lang]}",
            "url": profile.source_url,
            "topic": {"system": RULE_SYSTEM, "code": primary.code, "display": texts[0][0][:120]},
        },
        "extension": extension,
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if indicator != "info":
        card["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": reason.code, "display": finish(reason.display[lang], lang)}
            for reason in profile.override_reasons_for(codes)
        ]
    links = []
    if "rtu-register" in codes:
        links.append({"label": finish(profile.label("link_register", lang), lang), "url": profile.register_url,
                      "type": "absolute"})
    for finding in findings:
        if finding.code not in _PLANNED:
            continue
        plan = _plan_link(evaluation, request, finding)
        if plan is not None:
            links.append(plan)
            break
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
