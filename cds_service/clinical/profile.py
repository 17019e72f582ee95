"""Rule profiles: a regulatory version is a YAML file, not code.

A profile holds thresholds, titration steps, policy settings, value sets and bilingual card
texts. `rtu-2017` and `amm-2018` extend `rtu-2014` and override only what changed. Profiles
are loaded and checked once (`load_profile` is cached), so a bad file fails at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from cds_service.clinical.renal import RenalPolicy
from cds_service.clinical.valuesets import ValueSet

Indicator = Literal["info", "warning", "critical"]
Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
PROFILE_NAMES = ("rtu-2014", "rtu-2017", "amm-2018")

RULE_CODES: tuple[str, ...] = (
    "dose-over-max", "dose-collegial", "dose-specialist",
    "titration-start", "titration-step", "titration-interval", "titration-intakes",
    "plan-next-dose",
    "renal-severe", "renal-moderate", "renal-unknown",
    "ci-epilepsy", "ci-hypersensitivity", "ci-gluten", "ci-pregnancy", "ci-breastfeeding",
    "pr-psychosis", "pr-confusion", "pr-depression", "pr-cerebrovascular", "pr-respiratory",
    "pr-withdrawal-seizures", "pr-urinary", "pr-hepatic",
    "ix-diuretic", "ix-antihypertensive", "ix-tricyclic", "ix-cns-depressant", "ix-levodopa",
    "comed-unidentified", "rtu-register", "monitoring", "indication-missing", "indication-amm",
    "dose-unknown", "data-unavailable",
)
GROUPS = ("critical", "dose", "titration", "renal", "safety", "indication", "followup", "data")


class ProfileError(ValueError):
    """A rule profile that is missing, malformed or incomplete."""


Text = Mapping[Language, str]


@dataclass(frozen=True)
class DoseThresholds:
    max_mg_per_day: float
    specialist_from_mg: float | None
    collegial_above_mg: float | None
    collegial_elderly_above_mg: float | None
    elderly_above_age: int
    over_max_is_off_label: bool
    amm_min_mg: float
    amm_max_mg: float


@dataclass(frozen=True)
class TitrationPolicy:
    start_mg_per_day: float
    start_intakes: int
    first_phase_ceiling_mg: float
    first_phase_step_mg: float
    first_phase_interval_days: int
    second_phase_step_mg: float
    second_phase_interval_days: int
    renal_moderate_step_mg: float
    renal_moderate_interval_days: int
    min_intakes: int
    unit_mg: float


@dataclass(frozen=True)
class Policy:
    completed_within_days: int
    pregnancy_observation_max_age_days: int
    review_interval_days: int
    fragile_review_interval_days: int
    order_select_rules: frozenset[str]
    amm_indication_rules: frozenset[str]
    register_applies: bool
    followup_on_stable_renewal: bool  # register/monitoring cards on a same-dose stable renewal

    def applies_to_amm(self, code: str) -> bool:
        """Whether a rule still runs for a spasticity (AMM) order; entries may be `ci-*`."""
        return any(fnmatchcase(code, pattern) for pattern in self.amm_indication_rules)


@dataclass(frozen=True)
class SuggestionPolicy:
    """[local policy] How one-click doses are shaped: the taper and the pace of re-escalation.

    The RTU and the SmPC ask for a progressive stop and a slow re-escalation but give no
    numbers: these are the hospital's, to be validated by its drug committee."""

    taper_first_step_min_fraction: float
    taper_next_step_min_fraction: float
    taper_stop_at_or_below_mg: float
    taper_step_days: int
    reescalation_step_mg: float
    reescalation_interval_days: int


@dataclass(frozen=True)
class Variant:
    """Another wording of a rule for one situation (e.g. a record that could not be read)."""

    summary: Text
    detail: Text


@dataclass(frozen=True)
class RuleSpec:
    code: str
    indicator: Indicator
    group: str
    summary: Text
    detail: Text
    value_set: str | None = None
    atc_value_set: str | None = None
    history: bool = False  # resolved or inactive conditions count ("history of …")
    variants: Mapping[str, Variant] = field(default_factory=dict)


@dataclass(frozen=True)
class SignOff:
    """The hospital drug committee's approval of the profile (filled in by the hospital)."""

    committee: str
    signed_by: str
    signed_on: str

    @property
    def signed(self) -> bool:
        return bool(self.signed_by and self.signed_on)


@dataclass(frozen=True)
class ProfileMeta:
    """What a committee signs: which regulatory text, of when, in which version of the file."""

    title: Text
    regulatory_source: Text
    regulatory_date: str
    version: str
    status: Literal["current", "historical"]
    sign_off: SignOff

    def label(self, lang: Language) -> str:
        """« RTU baclofène modifiée (ANSM, juillet 2017) · v1.0 · en vigueur »."""
        status = STATUS_LABELS[self.status][lang]
        return f"{self.title[lang]} · v{self.version} · {status}"


STATUS_LABELS: Mapping[str, Text] = {
    "current": {"fr": "en vigueur", "en": "current"},
    "historical": {"fr": "historique", "en": "historical"},
}


@dataclass(frozen=True)
class OverrideReason:
    """A reason a clinician may give for overriding a card; offered only on cards whose rules
    match one of `rules` (patterns such as `renal-*`), so a renal card offers renal reasons."""

    code: str
    display: Text
    rules: tuple[str, ...]

    def applies_to(self, codes: Sequence[str]) -> bool:
        return any(fnmatchcase(code, pattern) for code in codes for pattern in self.rules)


@dataclass(frozen=True)
class Profile:
    id: str
    meta: ProfileMeta
    name: Text
    source_label: Text
    source_url: str
    register_url: str
    regime: Literal["rtu", "amm"]
    doses: DoseThresholds
    titration: TitrationPolicy
    renal: RenalPolicy
    policy: Policy
    suggestions: SuggestionPolicy
    value_sets: Mapping[str, ValueSet]
    rules: Mapping[str, RuleSpec]
    group_titles: Mapping[str, Text]
    override_reasons: tuple[OverrideReason, ...]
    labels: Mapping[str, Text] = field(default_factory=dict)
    #: who each quotation is attributed to (`{src:KEY}` in the texts), for the committee's review
    sources: Mapping[str, Text] = field(default_factory=dict)

    @property
    def drug_vocabulary(self) -> frozenset[str]:
        """Every substance name the drug classes list (read in order texts as a last resort)."""
        cached = self.__dict__.get("_vocabulary")
        if cached is None:
            cached = frozenset().union(*(vs.substances for vs in self.value_sets.values()))
            object.__setattr__(self, "_vocabulary", cached)
        return cached

    def override_reasons_for(self, codes: Sequence[str]) -> list[OverrideReason]:
        """The override reasons that fit a card covering these rules, in profile order."""
        return [reason for reason in self.override_reasons if reason.applies_to(codes)]

    def value_set(self, name: str) -> ValueSet:
        try:
            return self.value_sets[name]
        except KeyError:
            raise ProfileError(f"profile {self.id}: value set {name!r} is not defined") from None

    def label(self, key: str, lang: Language) -> str:
        return self.labels[key][lang]


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(name: str) -> dict[str, Any]:
    path = resources.files("cds_service.clinical") / "profiles" / f"{name}.yaml"
    if not path.is_file():
        raise ProfileError(f"unknown rule profile {name!r} (available: {', '.join(PROFILE_NAMES)})")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ProfileError(f"profile {name}: not a mapping")
    parent = data.pop("extends", None)
    return _merge(_read(parent), data) if parent else data


def _text(value: Any, where: str) -> Text:
    if not isinstance(value, Mapping) or any(not isinstance(value.get(lang), str) for lang in LANGUAGES):
        raise ProfileError(f"{where}: needs a text in each of {LANGUAGES}")
    return {lang: value[lang] for lang in LANGUAGES}


def _section(data: Mapping[str, Any], key: str, profile: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ProfileError(f"profile {profile}: section {key!r} is missing")
    return value


_SOURCE_TOKEN = re.compile(r"\{src:([^{}]*)\}")


def _attribute(value: Any, sources: Mapping[str, Text], where: str, lang: Language | None = None) -> Any:
    """Every `{src:KEY}` in a text replaced by the profile's label for that source, in the
    text's language: a derived profile re-attributes a quotation by changing one label."""
    if isinstance(value, str):
        if lang is None:
            return value

        def label(match: re.Match[str]) -> str:
            key = match[1]
            if key not in sources:
                raise ProfileError(f"{where}: unknown source {key!r} (defined: {', '.join(sources)})")
            return sources[key][lang]

        return _SOURCE_TOKEN.sub(label, value)
    if isinstance(value, Mapping):
        return {key: _attribute(item, sources, f"{where}.{key}", key if key in LANGUAGES else lang)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_attribute(item, sources, where, lang) for item in value]
    return value


def _build(raw: Mapping[str, Any]) -> Profile:
    pid = str(raw.get("id"))
    sources = {key: _text(text, f"{pid}.sources.{key}") for key, text in _section(raw, "sources", pid).items()}
    data = {key: value if key == "sources" else _attribute(value, sources, f"{pid}.{key}")
            for key, value in raw.items()}
    try:
        value_sets = {
            name: ValueSet.from_mapping(name, codes)
            for name, codes in _section(data, "value_sets", pid).items()
        }
        rules: dict[str, RuleSpec] = {}
        for code, spec in _section(data, "rules", pid).items():
            rules[code] = RuleSpec(
                code=code,
                indicator=spec["indicator"],
                group=spec["group"],
                summary=_text(spec.get("summary"), f"{pid}.rules.{code}.summary"),
                detail=_text(spec.get("detail"), f"{pid}.rules.{code}.detail"),
                value_set=spec.get("value_set"),
                atc_value_set=spec.get("atc_value_set"),
                history=bool(spec.get("history", False)),
                variants={
                    name: Variant(_text(variant.get("summary"), f"{pid}.rules.{code}.variants.{name}.summary"),
                                  _text(variant.get("detail"), f"{pid}.rules.{code}.variants.{name}.detail"))
                    for name, variant in (spec.get("variants") or {}).items()
                },
            )
        doses = _section(data, "doses", pid)
        titration = _section(data, "titration", pid)
        renal = _section(data, "renal", pid)
        policy = _section(data, "policy", pid)
        source = _section(data, "source", pid)
        meta = _section(data, "metadata", pid)
        sign_off = meta.get("sign_off") or {}
        if meta.get("status") not in ("current", "historical"):
            raise ProfileError(f"profile {pid}: metadata.status must be current or historical")
        profile = Profile(
            id=pid,
            meta=ProfileMeta(
                title=_text(meta.get("title"), f"{pid}.metadata.title"),
                regulatory_source=_text(meta.get("regulatory_source"), f"{pid}.metadata.regulatory_source"),
                regulatory_date=str(meta["regulatory_date"]),
                version=str(meta["version"]),
                status=meta["status"],
                sign_off=SignOff(str(sign_off.get("committee") or ""), str(sign_off.get("signed_by") or ""),
                                 str(sign_off.get("signed_on") or "")),
            ),
            name=_text(data.get("name"), f"{pid}.name"),
            source_label=_text(source.get("label"), f"{pid}.source.label"),
            source_url=str(source["url"]),
            register_url=str(data["register_url"]),
            regime=data["regime"],
            doses=DoseThresholds(**doses),
            titration=TitrationPolicy(**titration),
            suggestions=SuggestionPolicy(**_section(data, "suggestions", pid)),
            renal=RenalPolicy(
                egfr_loinc=frozenset(renal["egfr_loinc"]),
                clearance_loinc=frozenset(renal["clearance_loinc"]),
                creatinine_loinc=frozenset(renal["creatinine_loinc"]),
                max_age_days=int(renal["max_age_days"]),
                severe_below=float(renal["severe_below"]),
                moderate_below=float(renal["moderate_below"]),
                severe_condition_prefixes=tuple(renal["severe_condition_prefixes"]),
                moderate_condition_prefixes=tuple(renal["moderate_condition_prefixes"]),
            ),
            policy=Policy(
                completed_within_days=int(policy["completed_within_days"]),
                pregnancy_observation_max_age_days=int(policy["pregnancy_observation_max_age_days"]),
                review_interval_days=int(policy["review_interval_days"]),
                fragile_review_interval_days=int(policy["fragile_review_interval_days"]),
                order_select_rules=frozenset(policy["order_select_rules"]),
                amm_indication_rules=frozenset(policy["amm_indication_rules"]),
                register_applies=bool(policy["register_applies"]),
                followup_on_stable_renewal=bool(policy["followup_on_stable_renewal"]),
            ),
            value_sets=value_sets,
            rules=rules,
            group_titles={
                name: _text(text, f"{pid}.groups.{name}")
                for name, text in _section(data, "groups", pid).items()
            },
            override_reasons=tuple(
                OverrideReason(str(code), _text(item["display"], f"{pid}.override_reasons.{code}"),
                               tuple(str(rule) for rule in item["rules"]))
                for code, item in (data.get("override_reasons") or {}).items()
                if item is not None  # a derived profile removes a reason with `code: null`
            ),
            labels={
                key: _text(text, f"{pid}.labels.{key}")
                for key, text in _section(data, "labels", pid).items()
            },
            sources=sources,
        )
    except (KeyError, TypeError) as exc:
        raise ProfileError(f"profile {pid}: missing or invalid setting {exc}") from exc
    _check(profile)
    return profile


def _check(profile: Profile) -> None:
    missing = [code for code in RULE_CODES if code not in profile.rules]
    if missing:
        raise ProfileError(f"profile {profile.id}: no rule spec for {', '.join(missing)}")
    for spec in profile.rules.values():
        if spec.indicator not in ("info", "warning", "critical"):
            raise ProfileError(f"profile {profile.id}: {spec.code} has indicator {spec.indicator}")
        if spec.group not in GROUPS:
            raise ProfileError(f"profile {profile.id}: {spec.code} has unknown group {spec.group}")
        for name in (spec.value_set, spec.atc_value_set):
            if name is not None:
                profile.value_set(name)
    for reason in profile.override_reasons:
        if not any(fnmatchcase(code, pattern) for code in RULE_CODES for pattern in reason.rules):
            raise ProfileError(f"profile {profile.id}: override reason {reason.code} matches no rule")
    for group in GROUPS:
        if group not in profile.group_titles:
            raise ProfileError(f"profile {profile.id}: no title for group {group}")


def profile_choices() -> str:
    """One line naming each profile and what it means, for start-up messages and `--help`."""
    parts = []
    for name in PROFILE_NAMES:
        profile = load_profile(name)
        parts.append(f"{name} = {profile.meta.title['en']}, max {profile.doses.max_mg_per_day:g} mg/day "
                     f"({profile.meta.status})")
    return "; ".join(parts)


def missing_profile_message() -> str:
    return ("CDS_PROFILE must be set explicitly in production (CDS_AUTH=required); choose one of: "
            + profile_choices())


@cache
def load_profile(name: str) -> Profile:
    """The named profile, parsed and checked (cached: profiles are immutable)."""
    return _build(_read(name))


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping):
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: data}


def diff_profiles(old: str, new: str) -> list[str]:
    """What changes from one profile to another, one line per setting (thresholds, rules,
    texts, metadata), for the drug committee: `- key: old` / `+ key: new`."""
    before, after = _flatten(_read(old)), _flatten(_read(new))
    lines = []
    for key in sorted(set(before) | set(after)):
        if key == "id" or before.get(key) == after.get(key):
            continue
        if key in before:
            lines.append(f"- {key}: {before[key]}")
        if key in after:
            lines.append(f"+ {key}: {after[key]}")
    return lines
