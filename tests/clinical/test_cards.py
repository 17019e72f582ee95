"""Cards (spec "Cards — against alert fatigue"): texts for every rule in both languages,
grouping, order, source topic, extensions, uuids, override reasons, links."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from cds_service.clinical.cards import RULE_SYSTEM, SUMMARY_LIMIT, clip_summary, texts_of
from cds_service.clinical.profile import GROUPS, LANGUAGES, PROFILE_NAMES, RULE_CODES, Language, load_profile
from cds_service.protocol.models import Card
from tests.builders import condition, other_order
from tests.clinical.rtu_helpers import HOOK_INSTANCE, Run, catalogue, order_of, run, taking

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
CATALOGUES = {name: catalogue(name) for name in PROFILE_NAMES}
NOT_IN_PROFILE = {"rtu-2017": {"dose-specialist", "dose-collegial"},
                  "amm-2018": {"dose-specialist", "dose-collegial", "rtu-register"}}


def all_cards(profile: str, lang: Language) -> list[dict[str, Any]]:
    return [card for result in CATALOGUES[profile].values() for card in result.cards(lang)]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_catalogue_makes_every_rule_fire(profile: str) -> None:
    fired = {code for result in CATALOGUES[profile].values() for code in result.codes}
    assert fired == set(RULE_CODES) - NOT_IN_PROFILE.get(profile, set())


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_rule_text_renders_fully_and_briefly(profile: str, lang: Language) -> None:
    spec = load_profile(profile)
    for result in CATALOGUES[profile].values():
        for found in result.findings:
            summary, detail = texts_of(found, spec, lang)
            assert 10 <= len(clip_summary(summary)) < SUMMARY_LIMIT, (found.code, summary)
            assert not PLACEHOLDER.search(summary), (found.code, summary)
            assert not PLACEHOLDER.search(detail), (found.code, detail)
            assert "(('" not in summary + detail and "('label'" not in summary + detail, found.code


def test_french_and_english_texts_differ() -> None:
    found = CATALOGUES["rtu-2014"]["specialist"].get("dose-specialist")
    spec = load_profile("rtu-2014")
    fr = texts_of(found, spec, "fr")[0]
    en = texts_of(found, spec, "en")[0]
    assert fr == "Baclofène 120 mg/j (≥ 120 mg/j)\u00a0: avis d\u2019un médecin expérimenté requis"
    assert en == "Baclofen 120 mg/day (≥ 120 mg/day): an experienced physician's opinion is required"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_cards_are_valid_cds_hooks_cards(profile: str, lang: Language) -> None:
    for card in all_cards(profile, lang):
        Card.model_validate(card)
        assert len(card["summary"]) < SUMMARY_LIMIT
        assert not PLACEHOLDER.search(card["summary"] + card["detail"])
        assert card["source"]["topic"]["system"] == RULE_SYSTEM
        codes = card["extension"]["baclofen-rtu-rules"]
        assert card["source"]["topic"]["code"] == codes[0]
        assert set(codes) <= set(RULE_CODES)
        assert card["extension"]["baclofen-rtu-profile"] == profile
        assert load_profile(profile).name[lang] in card["detail"]
        if card["indicator"] == "info":
            assert "overrideReasons" not in card
        else:
            reasons = card["overrideReasons"]
            offered = {reason.code for reason in load_profile(profile).override_reasons_for(codes)}
            assert [r["code"] for r in reasons] and {r["code"] for r in reasons} == offered
            assert all(r["system"] == "urn:baclofen-rtu:override-reason" and r["display"] for r in reasons)
        if "suggestions" in card:
            assert card["selectionBehavior"] == "at-most-one"
            flags = [s["isRecommended"] for s in card["suggestions"]]
            assert flags == [True] + [False] * (len(flags) - 1)


def groups_of(result: Run) -> list[list[str]]:
    return [card["extension"]["baclofen-rtu-rules"] for card in result.cards()]


def test_one_card_per_critical_finding_then_one_per_group() -> None:
    cards = CATALOGUES["rtu-2014"]["everything"].cards()
    assert [card["extension"]["baclofen-rtu-rules"] for card in cards] == [
        ["ci-epilepsy"], ["ci-hypersensitivity"], ["ci-gluten"], ["ci-pregnancy"], ["ci-breastfeeding"],
        ["renal-unknown"],
        ["pr-psychosis", "pr-confusion", "pr-depression", "pr-cerebrovascular", "pr-respiratory",
         "pr-withdrawal-seizures", "pr-urinary", "ix-diuretic", "ix-antihypertensive", "ix-tricyclic",
         "ix-cns-depressant", "ix-levodopa", "pr-hepatic"],
        ["data-unavailable"],
        ["indication-missing"],
        ["rtu-register", "monitoring"],
    ]
    assert [card["indicator"] for card in cards] == ["critical"] * 5 + ["warning"] * 3 + ["info"] * 2


def test_critical_cards_come_first_and_warnings_before_info() -> None:
    for result in CATALOGUES["rtu-2014"].values():
        ranks = [{"critical": 0, "warning": 1, "info": 2}[card["indicator"]] for card in result.cards()]
        assert ranks == sorted(ranks)


def test_at_most_one_card_per_group() -> None:
    spec = load_profile("rtu-2014")
    for result in CATALOGUES["rtu-2014"].values():
        seen: list[str] = []
        for card in result.cards():
            groups = {spec.rules[code].group for code in card["extension"]["baclofen-rtu-rules"]}
            assert len(groups) == 1
            (group,) = groups
            assert group in GROUPS
            if card["indicator"] != "critical":
                assert group not in seen
                seen.append(group)


def test_a_group_card_takes_the_most_severe_indicator_and_lists_its_findings() -> None:
    (card,) = [c for c in CATALOGUES["rtu-2014"]["step-interval"].cards()
               if c["source"]["topic"]["code"] == "titration-step"]
    assert card["indicator"] == "warning"
    assert card["extension"]["baclofen-rtu-rules"] == ["titration-step", "titration-interval", "plan-next-dose"]
    assert card["detail"].startswith("### Titration\n\n**Palier trop important\u00a0: 40 → 60 mg/j")
    assert card["detail"].endswith("_RTU baclofène (ANSM, 2014) · titration-step, titration-interval, plan-next-dose_")
    assert card["summary"] == ("Palier trop important\u00a0: 40 → 60 mg/j\u00a0; au plus 50 mg/j à cette étape "
                               "(+2 autres points)")


def test_a_renewal_dose_card_is_info_without_suggestion() -> None:
    (card,) = [c for c in CATALOGUES["rtu-2014"]["renewal"].cards() if c["source"]["topic"]["code"] ==
               "dose-specialist"]
    assert card["indicator"] == "info"
    assert "suggestions" not in card and "overrideReasons" not in card


def test_specialist_card_suggests_a_referral_in_english() -> None:
    (card,) = [c for c in CATALOGUES["rtu-2014"]["specialist"].cards("en")
               if c["source"]["topic"]["code"] == "dose-specialist"]
    assert card["summary"] == "Baclofen 120 mg/day (≥ 120 mg/day): an experienced physician's opinion is required"
    (suggestion,) = card["suggestions"]
    assert suggestion["label"] == ("Request the opinion of an experienced physician (addiction specialist, "
                                   "psychiatrist, CSAPA)")
    assert suggestion["actions"][0]["type"] == "create"


def test_uuids_are_stable_per_hook_instance_and_unique() -> None:
    result = CATALOGUES["rtu-2014"]["everything"]
    first = [card["uuid"] for card in result.cards()]
    assert first == [card["uuid"] for card in result.cards()]
    assert first == [card["uuid"] for card in result.cards("en")]
    assert len(set(first)) == len(first)
    other = [card["uuid"] for card in result.cards(hook_instance="0b6f5a52-4a0e-4a89-9a52-2b8a3f1e1c11")]
    assert not set(first) & set(other)
    suggestions = [s["uuid"] for card in result.cards() for s in card.get("suggestions", [])]
    assert len(set(suggestions)) == len(suggestions)
    assert HOOK_INSTANCE not in first


def test_uuids_differ_between_two_baclofen_drafts() -> None:
    result = run([order_of(15), order_of(15, oid="draft-2")])
    uuids = [card["uuid"] for card in result.cards()]
    assert len(uuids) == 4 and len(set(uuids)) == 4


def test_register_and_plan_links() -> None:
    result = run([order_of(40)], medications=[taking(30, days=5)], birth_date="1960-01-20")
    cards = {card["source"]["topic"]["code"]: card for card in result.cards()}
    assert cards["rtu-register"]["links"] == [{"label": "Registre RTU baclofène", "url": "https://www.rtubaclofene.org",
                                               "type": "absolute"}]
    (plan,) = cards["plan-next-dose"]["links"]
    assert plan["label"] == "Plan de titration" and plan["type"] == "absolute"
    url = urlparse(plan["url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/plan")
    # the link carries the very schedule of the suggestion: 40 mg/day, 50 after the weekly review
    assert parse_qs(url.query) == {"steps": ["40@2026-03-10,50@2026-03-18"], "state": ["step"],
                                   "since": ["2026-03-10"], "until": ["2026-03-17"], "age": ["66"],
                                   "renal": ["normal"], "profile": ["rtu-2014"], "lang": ["fr"]}


def test_a_hold_plan_links_to_the_dose_kept_and_why() -> None:
    result = run([order_of(40)], medications=[taking(30, days=5)], observations=[])
    (card,) = [c for c in result.cards() if "plan-next-dose" in c["extension"]["baclofen-rtu-rules"]]
    (plan,) = [link for link in card["links"] if "/plan?" in link["url"]]
    query = parse_qs(urlparse(plan["url"]).query)
    assert (query["state"], query["reason"], query["dose"]) == (["hold"], ["renal-unknown"], ["30"])


def test_a_taper_links_to_the_reduction_plan() -> None:
    result = run([order_of(90)], medications=[taking(90, days=30)], conditions=[condition("G40.9")])
    (card,) = [c for c in result.cards() if c["source"]["topic"]["code"] == "ci-epilepsy"]
    (plan,) = card["links"]
    assert plan["label"].startswith("Plan de réduction progressive")
    assert "politique locale" in plan["label"]  # the taper's steps are the hospital's, not the RTU's
    query = parse_qs(urlparse(plan["url"]).query)
    assert query["state"] == ["taper"] and query["steps"] == ["60@2026-03-10,30@2026-03-13,0@2026-03-16"]


def test_amm_indication_has_one_info_card_without_links() -> None:
    (card,) = CATALOGUES["rtu-2014"]["amm"].cards()
    assert card["extension"]["baclofen-rtu-rules"] == ["indication-amm"]
    assert card["summary"] == ("Indication spasticité\u00a0: posologie de l\u2019AMM (30-75 mg/j)\u00a0; "
                               "cadre RTU non appliqué")
    assert "links" not in card


def test_plan_summary_says_hold_and_max_plainly() -> None:
    hold = {c["source"]["topic"]["code"]: c for c in CATALOGUES["rtu-2014"]["hold"].cards("en")}
    assert hold["plan-next-dose"]["summary"] == ("Keep 115 mg/day: the next step (125 mg/day) first needs an "
                                                 "experienced physician's opinion")
    assert "suggestions" not in hold["plan-next-dose"]
    top = run([order_of(300)], medications=[taking(300, days=10)]).cards("fr")
    (plan,) = [c for c in top if "plan-next-dose" in c["extension"]["baclofen-rtu-rules"]]
    assert plan["summary"] == ("Dose maximale de 300 mg/j atteinte\u00a0: ne pas augmenter\u00a0; "
                               "réévaluation le 24/03/2026")


def test_over_max_card_names_the_profile() -> None:
    for profile, words in (("rtu-2014", "RTU baclofène (ANSM, 2014)"), ("rtu-2017", "juillet 2017"),
                           ("amm-2018", "Baclocur")):
        (card,) = [c for c in CATALOGUES[profile]["over-max"].cards() if c["indicator"] == "critical"]
        assert card["source"]["topic"]["code"] == "dose-over-max"
        assert words in card["detail"]


def test_data_unavailable_card_names_what_was_not_checked() -> None:
    (card,) = [c for c in CATALOGUES["rtu-2014"]["everything"].cards("en")
               if c["source"]["topic"]["code"] == "data-unavailable"]
    assert card["summary"] == ("Part of the record could not be read (laboratory results): checks not run, "
                               "no increase offered")
    assert "renal function (eGFR, creatinine)" in card["detail"] and "renal-unknown" not in card["detail"]
    assert card["extension"]["baclofen-rtu-unchecked"] == ["renal-unknown", "ci-pregnancy", "ci-breastfeeding"]


def test_no_cards_outside_scope() -> None:
    order = other_order("N02BE01", "Paracétamol", oid="draft-1", status="draft")
    assert run([order], conditions=[condition("F10.2")]).cards() == []


def test_clip_summary_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert clip_summary("Baclofène  120 mg/j\n: avis") == "Baclofène 120 mg/j : avis"
    exactly = "x" * 139
    assert clip_summary(exactly) == exactly
    words = " ".join(["baclofène"] * 20)  # 199 characters
    clipped = clip_summary(words)
    assert len(clipped) < SUMMARY_LIMIT and clipped.endswith("baclofène…")
    assert clip_summary("y" * 140) == "y" * 138 + "…"
    assert clip_summary("a" * 137 + " bc") == "a" * 137 + "…"  # 140 long: the cut word is dropped
