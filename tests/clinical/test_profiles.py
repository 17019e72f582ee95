"""Rule profiles: the three regulatory versions, their settings, texts and value sets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cds_service.clinical import profile as profile_module
from cds_service.clinical.context import Code
from cds_service.clinical.profile import (
    GROUPS,
    LANGUAGES,
    PROFILE_NAMES,
    RULE_CODES,
    ProfileError,
    load_profile,
)
from tests.builders import ATC, ICD10, LOINC, SNOMED

INDICATORS = {
    "dose-over-max": "critical", "dose-collegial": "warning", "dose-specialist": "warning",
    "titration-start": "warning", "titration-step": "warning", "titration-interval": "warning",
    "titration-intakes": "warning", "plan-next-dose": "info",
    "renal-severe": "critical", "renal-moderate": "warning", "renal-unknown": "warning",
    "ci-epilepsy": "critical", "ci-hypersensitivity": "critical", "ci-gluten": "critical",
    "ci-pregnancy": "critical", "ci-breastfeeding": "critical",
    "pr-psychosis": "warning", "pr-confusion": "warning", "pr-depression": "warning",
    "pr-cerebrovascular": "warning", "pr-respiratory": "warning", "pr-withdrawal-seizures": "warning",
    "pr-urinary": "warning", "pr-hepatic": "info",
    "ix-diuretic": "warning", "ix-antihypertensive": "warning", "ix-tricyclic": "warning",
    "ix-cns-depressant": "warning", "ix-levodopa": "warning", "comed-unidentified": "warning",
    "rtu-register": "info", "monitoring": "info", "indication-missing": "info", "indication-amm": "info",
    "dose-unknown": "warning", "data-unavailable": "warning",
}


def test_the_spec_catalogue_is_complete() -> None:
    assert set(INDICATORS) == set(RULE_CODES)
    assert len(RULE_CODES) == len(set(RULE_CODES)) == 36


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_profile_has_every_rule_with_the_spec_indicator(name: str) -> None:
    spec = load_profile(name)
    assert spec.id == name
    for code in RULE_CODES:
        rule = spec.rules[code]
        assert rule.indicator == INDICATORS[code], code
        assert rule.group in GROUPS
        assert rule.group == "critical" if rule.indicator == "critical" else rule.group != "critical"
        for lang in LANGUAGES:
            assert rule.summary[lang].strip() and rule.detail[lang].strip()
    for lang in LANGUAGES:
        assert spec.name[lang] and spec.source_label[lang]
        assert all(title[lang] for title in spec.group_titles.values())


@pytest.mark.parametrize(
    ("code", "group"),
    [("dose-specialist", "dose"), ("dose-collegial", "dose"), ("dose-unknown", "dose"),
     ("titration-step", "titration"), ("plan-next-dose", "titration"), ("renal-moderate", "renal"),
     ("renal-unknown", "renal"), ("pr-hepatic", "safety"), ("ix-levodopa", "safety"), ("monitoring", "followup"),
     ("indication-amm", "followup"), ("data-unavailable", "data")],
)
def test_groups(code: str, group: str) -> None:
    assert load_profile("rtu-2014").rules[code].group == group


def test_rtu_2014_settings_are_the_seed_and_spec_defaults() -> None:
    spec = load_profile("rtu-2014")
    doses, titration, renal, policy = spec.doses, spec.titration, spec.renal, spec.policy
    assert (doses.max_mg_per_day, doses.specialist_from_mg, doses.collegial_above_mg,
            doses.collegial_elderly_above_mg, doses.elderly_above_age) == (300, 120, 180, 120, 65)
    assert (doses.amm_min_mg, doses.amm_max_mg, doses.over_max_is_off_label) == (30, 75, False)
    assert (titration.start_mg_per_day, titration.start_intakes, titration.first_phase_ceiling_mg,
            titration.first_phase_step_mg, titration.first_phase_interval_days, titration.second_phase_step_mg,
            titration.second_phase_interval_days, titration.renal_moderate_step_mg,
            titration.renal_moderate_interval_days, titration.min_intakes, titration.unit_mg) == \
        (15, 3, 30, 15, 2, 10, 3, 5, 7, 3, 5)
    assert (renal.max_age_days, renal.severe_below, renal.moderate_below) == (90, 30, 60)
    assert (policy.completed_within_days, policy.review_interval_days, policy.fragile_review_interval_days,
            policy.register_applies) == (7, 14, 7, True)
    assert spec.regime == "rtu"
    assert spec.register_url == "https://www.rtubaclofene.org"


@pytest.mark.parametrize("name", ["rtu-2017", "amm-2018"])
def test_later_profiles_cap_at_80_without_review_thresholds(name: str) -> None:
    spec = load_profile(name)
    base = load_profile("rtu-2014")
    assert spec.doses.max_mg_per_day == 80
    assert (spec.doses.specialist_from_mg, spec.doses.collegial_above_mg, spec.doses.collegial_elderly_above_mg) == \
        (None, None, None)
    assert spec.doses.over_max_is_off_label is True
    if name == "rtu-2017":
        assert spec.titration == base.titration
    else:  # Baclocur SmPC 4.2: 15 mg/day, then +10 mg/day every 3 (or 4) days
        titration = spec.titration
        assert (titration.start_mg_per_day, titration.first_phase_ceiling_mg, titration.second_phase_step_mg,
                titration.second_phase_interval_days) == (15, 15, 10, 3)
    assert spec.renal == base.renal
    assert spec.rules["dose-over-max"].detail != base.rules["dose-over-max"].detail
    assert spec.name != base.name


def test_rtu_2017_keeps_the_register_and_amm_2018_drops_it() -> None:
    assert load_profile("rtu-2017").regime == "rtu"
    assert load_profile("rtu-2017").policy.register_applies is True
    assert load_profile("amm-2018").regime == "amm"
    assert load_profile("amm-2018").policy.register_applies is False


def test_off_label_wording() -> None:
    assert "hors AMM" in load_profile("rtu-2017").rules["dose-over-max"].detail["fr"]
    assert "off-label" in load_profile("rtu-2017").rules["dose-over-max"].detail["en"]
    assert "hors AMM" in load_profile("amm-2018").rules["dose-over-max"].detail["fr"]
    assert "off-label" in load_profile("amm-2018").rules["dose-over-max"].detail["en"]


def test_profiles_are_cached() -> None:
    assert load_profile("rtu-2014") is load_profile("rtu-2014")


def test_unknown_profile() -> None:
    with pytest.raises(ProfileError, match="unknown rule profile 'rtu-1999'"):
        load_profile("rtu-1999")


def broken(change: Any) -> dict[str, Any]:
    data = profile_module._read("rtu-2014")
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"].pop("monitoring"), "no rule spec for monitoring"),
        (lambda d: d["rules"]["monitoring"].update(indicator="loud"), "monitoring has indicator loud"),
        (lambda d: d["rules"]["monitoring"].update(group="misc"), "unknown group misc"),
        (lambda d: d["rules"]["monitoring"]["summary"].pop("en"), "needs a text in each of"),
        (lambda d: d["rules"]["pr-hepatic"].update(value_set="liver"), "value set 'liver' is not defined"),
        (lambda d: d["doses"].pop("max_mg_per_day"), "missing or invalid setting"),
        (lambda d: d.pop("titration"), "section 'titration' is missing"),
        (lambda d: d["groups"].pop("data"), "no title for group data"),
    ],
)
def test_a_broken_profile_fails_at_load(change: Any, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        profile_module._build(broken(change))


def test_unknown_code_system_in_a_value_set_fails() -> None:
    with pytest.raises(ValueError, match="unknown code systems"):
        profile_module._build(broken(lambda d: d["value_sets"]["epilepsy"].update(icd9=["345"])))


SPEC_CODES = [
    ("alcohol_dependence", ICD10, "F10.20"), ("alcohol_dependence", SNOMED, "7200002"),
    ("alcohol_dependence", SNOMED, "66590003"), ("spasticity", ICD10, "G35"), ("spasticity", SNOMED, "24700007"),
    ("epilepsy", ICD10, "G40.9"), ("epilepsy", ICD10, "G41.0"), ("epilepsy", SNOMED, "84757009"),
    ("gluten", ICD10, "K90.0"), ("gluten", SNOMED, "396331005"),
    ("pregnancy", SNOMED, "77386006"), ("pregnancy", ICD10, "Z33.1"), ("pregnancy", ICD10, "O09.9"),
    ("pregnancy_observation", LOINC, "82810-3"), ("breastfeeding", ICD10, "Z39.1"),
    ("psychosis", ICD10, "F20.0"), ("psychosis", ICD10, "F29"), ("psychosis", SNOMED, "69322001"),
    ("confusion", ICD10, "F05.9"), ("confusion", ICD10, "R41.0"), ("confusion", SNOMED, "2776000"),
    ("depression", ICD10, "F32.9"), ("depression", ICD10, "F33.1"), ("depression", SNOMED, "35489007"),
    ("cerebrovascular", ICD10, "I60.9"), ("cerebrovascular", ICD10, "I69.4"), ("cerebrovascular", ICD10, "G45.9"),
    ("cerebrovascular", SNOMED, "62914000"),
    ("respiratory", ICD10, "J96.10"), ("respiratory", ICD10, "J44.1"), ("respiratory", SNOMED, "409622000"),
    ("withdrawal_seizures", ICD10, "F10.31"), ("withdrawal_seizures", ICD10, "F10.41"),
    ("urinary", ICD10, "R33"), ("urinary", ICD10, "N31.9"),
    ("hepatic", ICD10, "K70.3"), ("hepatic", ICD10, "K74.6"),
    ("diuretic", ATC, "C03CA01"), ("diuretic", ATC, "C09BA05"), ("diuretic", ATC, "C09DA01"),
    ("antihypertensive", ATC, "C02AC01"), ("antihypertensive", ATC, "C07AB07"),
    ("antihypertensive", ATC, "C08CA01"), ("antihypertensive", ATC, "C09AA05"),
    ("tricyclic", ATC, "N06AA09"), ("cns_depressant", ATC, "N05AH03"), ("cns_depressant", ATC, "N05BA04"),
    ("cns_depressant", ATC, "N05CF02"), ("cns_depressant", ATC, "N02AX02"), ("cns_depressant", ATC, "N03AA02"),
    ("levodopa", ATC, "N04BA02"), ("opioid_substitution", ATC, "N07BC02"), ("opioid_substitution", ATC, "N07BC01"),
    ("baclofen_substance", ATC, "M03BX01"), ("baclofen_substance", "http://www.nlm.nih.gov/research/umls/rxnorm",
                                             "1292"),
]


@pytest.mark.parametrize(("value_set", "system", "code"), SPEC_CODES)
def test_value_sets_hold_the_spec_codes(value_set: str, system: str, code: str) -> None:
    assert load_profile("rtu-2014").value_set(value_set).matches(Code(system, code))


@pytest.mark.parametrize(
    ("value_set", "system", "code"),
    [("epilepsy", ICD10, "F10.31"), ("withdrawal_seizures", ICD10, "G40.9"), ("psychosis", ICD10, "F32.1"),
     ("cns_depressant", ATC, "N07BC02"), ("cns_depressant", ATC, "N06AA09"), ("cns_depressant", ATC, "N07BB05"),
     ("tricyclic", ATC, "N06AB10"), ("diuretic", ATC, "C09AA05"), ("alcohol_dependence", ICD10, "F10.1"),
     ("confusion", ICD10, "F10.41"), ("withdrawal_seizures", ICD10, "F10.231"),
     ("epilepsy", SNOMED, "G40"), ("depression", "http://example.org/codes", "F32")],
)
def test_value_sets_exclude_neighbouring_codes(value_set: str, system: str, code: str) -> None:
    assert not load_profile("rtu-2014").value_set(value_set).matches(Code(system, code))


_QUOTE_END = re.compile(r"[»\"]\s*\(([^()]*)\)")


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_quotation_names_its_source(name: str) -> None:
    """Issue 12: a quoted sentence says whose it is (the review article, the RTU it summarises,
    the SmPC, or local policy), through the profile's `sources` labels."""
    spec = load_profile(name)
    labels = {text[lang] for text in spec.sources.values() for lang in ("fr", "en")}
    texts = [text for rule in spec.rules.values() for text in rule.detail.values()]
    texts += [text for rule in spec.rules.values() for variant in rule.variants.values()
              for text in variant.detail.values()]
    quoted = 0
    for text in texts:
        for attribution in _QUOTE_END.findall(text):
            quoted += 1
            assert any(label in attribution for label in labels), (name, attribution)
    assert quoted > 20


def test_amm_profile_quotes_the_smpc_not_the_rtu_for_titration() -> None:
    spec = load_profile("amm-2018")
    for code in ("titration-start", "titration-step", "titration-interval", "monitoring", "dose-over-max"):
        assert "Baclocur" in spec.rules[code].detail["fr"], code
        assert "RTU ANSM 2014" not in spec.rules[code].detail["fr"], code
    inherited = spec.rules["renal-severe"].detail["fr"]
    assert "antérieure à l'AMM" in inherited  # an RTU-era quotation says so under the AMM


def test_an_unknown_source_key_is_refused() -> None:
    with pytest.raises(ProfileError, match="unknown source 'rcp'"):
        profile_module._attribute({"detail": {"fr": "« … » ({src:rcp})", "en": "x"}},
                                  {"rtu": {"fr": "a", "en": "b"}}, "p.rules")


def test_amm_gluten_card_asks_to_check_the_dispensed_products_excipients() -> None:
    """Baclocur's tablets contain maize starch, not wheat starch (SmPC 6.1): under the AMM the
    card keeps the RTU-era contraindication but says to check the product, with a reason to
    record that it was."""
    spec = load_profile("amm-2018")
    assert "Baclocur" in spec.rules["ci-gluten"].detail["fr"] and "excipients" in spec.rules["ci-gluten"].detail["fr"]
    assert "wheat-free-product" in [reason.code for reason in spec.override_reasons_for(["ci-gluten"])]
    assert "wheat-free-product" not in [reason.code for reason in load_profile("rtu-2014").override_reasons_for(
        ["ci-gluten"])]


def test_amm_profile_names_the_rtu_only_as_a_source() -> None:
    """Under the AMM, a card never presents the 2014 RTU as the frame that applies: the
    indication is the AMM's (SmPC 4.1), the RTU's contraindications are named as the RTU's."""
    spec = load_profile("amm-2018")
    assert "4.1" in spec.rules["indication-missing"].detail["fr"]
    assert "RTU" not in spec.rules["indication-missing"].summary["fr"] + spec.rules["indication-amm"].summary["fr"]
    for code in ("ci-epilepsy", "ci-pregnancy", "ci-breastfeeding"):
        assert "RTU de 2014" in spec.rules[code].summary["fr"] and "RCP" in spec.rules[code].summary["fr"]


def test_a_malformed_source_key_is_refused_too() -> None:
    with pytest.raises(ProfileError, match="unknown source 'amm indication'"):
        profile_module._attribute({"detail": {"fr": "x ({src:amm indication})", "en": "x"}},
                                  {"amm": {"fr": "a", "en": "b"}}, "p.rules")
