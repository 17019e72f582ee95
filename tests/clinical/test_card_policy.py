"""Cards against alert fatigue (issue 12): follow-up only when it changes something, the
indication as its own card, override reasons that fit the card, no referral for a dose refused
outright, and merged summaries that carry the whole card."""

from __future__ import annotations

from dataclasses import replace

from cds_service.clinical import engine
from cds_service.clinical.profile import load_profile
from tests.builders import condition, egfr, other_order
from tests.clinical.rtu_helpers import ago, order_of, run, taking


def codes_of(cards: list[dict]) -> list[list[str]]:
    return [card["extension"]["baclofen-rtu-rules"] for card in cards]


def test_no_register_nor_monitoring_on_a_stable_renewal() -> None:
    stable = run([order_of(60)], medications=[taking(60, days=30)])
    assert "rtu-register" not in stable.codes and "monitoring" not in stable.codes
    titrating = run([order_of(70)], medications=[taking(60, days=30)])
    assert {"rtu-register", "monitoring"} <= set(titrating.codes)
    first = run([order_of(15)])
    assert {"rtu-register", "monitoring"} <= set(first.codes)
    early = run([order_of(60)], medications=[taking(60, days=4)])  # same dose, still titrating
    assert "monitoring" in early.codes


def test_a_stable_renewal_with_a_warning_keeps_its_monitoring() -> None:
    moderate = run([order_of(60)], medications=[taking(60, days=30)], observations=[egfr(45, ago(9))])
    assert "renal-moderate" in moderate.codes and "monitoring" in moderate.codes


def test_the_profile_may_keep_follow_up_on_stable_renewals(monkeypatch) -> None:
    profile = load_profile("rtu-2014")
    always = replace(profile, policy=replace(profile.policy, followup_on_stable_renewal=True))
    real = engine.evaluate_order

    def with_policy(assessment, hook):  # type: ignore[no-untyped-def]
        return real(replace(assessment, profile=always), hook)

    monkeypatch.setattr(engine, "evaluate_order", with_policy)
    stable = run([order_of(60)], medications=[taking(60, days=30)])
    assert "monitoring" in stable.codes


def test_missing_indication_is_its_own_card() -> None:
    groups = codes_of(run([order_of(15, reason=None)]).cards("fr"))
    assert ["indication-missing"] in groups
    assert ["rtu-register", "monitoring"] in groups


def test_a_severe_renal_card_offers_renal_reasons_not_collegial_ones() -> None:
    result = run([order_of(30)], medications=[taking(30, days=30)], observations=[egfr(20, ago(9))])
    (card,) = [c for c in result.cards("fr") if c["extension"]["baclofen-rtu-rules"] == ["renal-severe"]]
    reasons = [r["code"] for r in card["overrideReasons"]]
    assert "collegial-decision-obtained" not in reasons and "specialist-opinion-obtained" not in reasons
    assert {"renal-recent-result", "renal-nephrology-opinion"} <= set(reasons)
    assert all("collégiale" not in r["display"] for r in card["overrideReasons"])


def test_a_collegial_card_offers_the_collegial_reason() -> None:
    result = run([order_of(190)], medications=[taking(180, days=30)])
    (card,) = [c for c in result.cards("fr") if c["extension"]["baclofen-rtu-rules"] == ["dose-collegial"]]
    assert "collegial-decision-obtained" in [r["code"] for r in card["overrideReasons"]]
    assert "renal-nephrology-opinion" not in [r["code"] for r in card["overrideReasons"]]


def test_no_referral_for_a_dose_above_the_maximum() -> None:
    result = run([order_of(310)], medications=[taking(300, days=30)], birth_date="1950-01-01")
    creates = [action for card in result.cards("fr") for s in card.get("suggestions", [])
               for action in s["actions"] if action["type"] == "create"
               and action["resource"]["resourceType"] == "ServiceRequest"]
    assert "dose-over-max" in result.codes and not creates


def test_merged_safety_summary_counts_and_names_the_items() -> None:
    conditions = [condition("F32.1"), condition("J44.9")]
    co = [other_order("C03CA01", "Furosémide 40 mg comprimé", oid="co-1"),
          other_order("N05BA04", "Oxazépam (Séresta) 10 mg comprimé", oid="co-2")]
    result = run([order_of(15)], conditions=conditions, medications=co)
    (card,) = [c for c in result.cards("fr") if c["extension"]["baclofen-rtu-rules"][0].startswith(("pr-", "ix-"))]
    assert card["summary"].startswith("2\u00a0précautions, 2\u00a0interactions\u00a0: ") or \
        card["summary"].startswith("2 précautions, 2 interactions\u00a0: ")
    for word in ("furosémide", "oxazépam", "dépression", "insuffisance respiratoire"):
        assert word in card["summary"]
    assert len(card["summary"]) < 140
