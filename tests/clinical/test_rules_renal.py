"""Renal function rules (spec "Renal function"): eGFR and clearance bands, creatinine through
CKD-EPI 2021, the 90-day freshness policy, CKD conditions, and the worse of lab and condition."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.clinical.findings import CancelDraft, OrderCreatinine
from tests.builders import condition, egfr, lab
from tests.clinical.rtu_helpers import ago, born_aged, order_of, run, taking

RENAL = {"renal-severe", "renal-moderate", "renal-unknown"}


def renal_codes(observations: list[dict[str, Any]], *, conditions: list[dict[str, Any]] | None = None,
                age: int = 45, gender: str = "male") -> set[str]:
    result = run([order_of(30)], medications=[taking(30, days=20)], observations=observations,
                 conditions=conditions or [], birth_date=born_aged(age), gender=gender)
    return set(result.codes) & RENAL


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, {"renal-severe"}), (29, {"renal-severe"}), (29.9, {"renal-severe"}), (30, {"renal-moderate"}),
     (45, {"renal-moderate"}), (59, {"renal-moderate"}), (59.9, {"renal-moderate"}), (60, set()), (95, set())],
)
def test_egfr_bands(value: float, expected: set[str]) -> None:
    assert renal_codes([egfr(value, ago(12))]) == expected


@pytest.mark.parametrize("loinc", ["98979-8", "62238-1", "33914-3", "48642-3", "48643-1", "69405-9"])
def test_every_egfr_code_counts(loinc: str) -> None:
    assert renal_codes([lab(loinc, 25, "mL/min/{1.73_m2}", ago(3))]) == {"renal-severe"}


@pytest.mark.parametrize("loinc", ["35591-7", "2164-2"])
def test_creatinine_clearance_counts(loinc: str) -> None:
    assert renal_codes([lab(loinc, 45, "mL/min", ago(3))]) == {"renal-moderate"}


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "age", "gender", "expected"),
    [
        ("2160-0", 0.8, "mg/dL", 35, "female", set()),             # ≈ 98
        ("2160-0", 2.9, "mg/dL", 71, "male", {"renal-severe"}),     # ≈ 22
        ("14682-9", 150, "umol/L", 58, "male", {"renal-moderate"}),  # ≈ 46
        ("38483-4", 1.0, "mg/dL", 40, "male", set()),               # ≈ 96
        ("77140-2", 300, "umol/L", 60, "female", {"renal-severe"}),  # ≈ 14
    ],
)
def test_creatinine_through_ckd_epi(loinc: str, value: float, unit: str, age: int, gender: str,
                                    expected: set[str]) -> None:
    assert renal_codes([lab(loinc, value, unit, ago(14))], age=age, gender=gender) == expected


def test_unknown_sex_takes_the_lower_estimate() -> None:
    """110 µmol/L at 50: about 71 for a man, 53 for a woman."""
    creatinine = [lab("14682-9", 110, "umol/L", ago(5))]
    assert renal_codes(creatinine, gender="male") == set()
    assert renal_codes(creatinine, gender="female") == {"renal-moderate"}
    assert renal_codes(creatinine, gender="unknown") == {"renal-moderate"}


@pytest.mark.parametrize(("days", "expected"), [(0, {"renal-moderate"}), (89, {"renal-moderate"}),
                                                (90, {"renal-moderate"}), (91, {"renal-unknown"}),
                                                (400, {"renal-unknown"})])
def test_results_older_than_90_days_do_not_count(days: int, expected: set[str]) -> None:
    assert renal_codes([egfr(45, ago(days))]) == expected


@pytest.mark.parametrize(("days", "expected"), [(90, {"renal-severe"}), (91, {"renal-unknown"})])
def test_creatinine_freshness(days: int, expected: set[str]) -> None:
    assert renal_codes([lab("2160-0", 2.9, "mg/dL", ago(days))], age=71) == expected


def test_the_most_recent_result_wins() -> None:
    assert renal_codes([egfr(25, ago(60)), egfr(70, ago(5))]) == set()
    assert renal_codes([egfr(70, ago(60)), egfr(25, ago(5))]) == {"renal-severe"}


def test_no_result_is_unknown_and_suggests_a_creatinine() -> None:
    result = run([order_of(15)], observations=[lab("29463-7", 80, "kg", ago(2))])
    found = result.get("renal-unknown")
    assert found.indicator == "warning"
    assert found.params["max_age"] == 90
    assert found.proposals == (OrderCreatinine(),)


def test_severe_is_critical_and_suggests_cancelling() -> None:
    result = run([order_of(30)], medications=[taking(30, days=20)], observations=[egfr(29, ago(12))])
    found = result.get("renal-severe")
    assert found.indicator == "critical"
    assert found.proposals == (CancelDraft(),)
    assert found.params["egfr"] == "29 mL/min/1,73 m²"


def test_moderate_is_a_warning_naming_the_slow_schedule() -> None:
    found = run([order_of(30)], medications=[taking(30, days=20)], observations=[egfr(45, ago(3))]).get(
        "renal-moderate")
    assert found.indicator == "warning"
    assert (found.params["step"], found.params["interval"]) == ("5", 7)
    assert found.proposals == ()


@pytest.mark.parametrize(
    ("code", "expected"),
    [("N18.3", {"renal-moderate"}), ("N18.30", {"renal-moderate"}), ("N18.4", {"renal-severe"}),
     ("N18.5", {"renal-severe"}), ("N18.6", {"renal-severe"}), ("Z99.2", {"renal-severe"}),
     ("N18.2", {"renal-unknown"})],
)
def test_ckd_conditions(code: str, expected: set[str]) -> None:
    assert renal_codes([], conditions=[condition(code)]) == expected


def test_the_worse_of_lab_and_condition_counts() -> None:
    assert renal_codes([egfr(75, ago(5))], conditions=[condition("N18.4")]) == {"renal-severe"}
    assert renal_codes([egfr(25, ago(5))], conditions=[condition("N18.3")]) == {"renal-severe"}
    assert renal_codes([egfr(75, ago(5))], conditions=[condition("N18.3")]) == {"renal-moderate"}


def test_resolved_ckd_condition_is_ignored() -> None:
    assert renal_codes([egfr(75, ago(5))], conditions=[condition("N18.4", status="resolved")]) == set()


def test_snomed_ckd_stage_4() -> None:
    stage4 = condition("431857002", "http://snomed.info/sct", "Chronic kidney disease stage 4")
    assert renal_codes([], conditions=[stage4]) == {"renal-severe"}


def test_a_future_result_does_not_count() -> None:
    future = egfr(20, "2026-03-20")
    assert renal_codes([future]) == {"renal-unknown"}


def test_unavailable_observations_give_renal_unknown_and_data_unavailable() -> None:
    result = run([order_of(30)], medications=[taking(30, days=20)], unavailable={"observations"})
    assert {"renal-unknown", "data-unavailable"} <= set(result.codes)
    assert "observations" in str(result.get("data-unavailable").params["keys"])

