"""Renal function: CKD-EPI 2021, creatinine units, freshness, thresholds, sex, conditions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cds_service.clinical.context import (
    Code,
    ConditionFact,
    ObservationFact,
    PatientContext,
    Sex,
)
from cds_service.clinical.renal import (
    Category,
    RenalAssessment,
    RenalPolicy,
    assess_renal,
    ckd_epi_2021,
    creatinine_mg_dl,
)

LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
TODAY = date(2024, 6, 1)
BORN_60 = date(1964, 1, 15)  # 60 at TODAY
POLICY = RenalPolicy()


def obs(loinc: str, value: float | None, unit: str | None = "mL/min/{1.73_m2}",
        days_ago: int = 10, obs_id: str | None = None) -> ObservationFact:  # fmt: skip
    return ObservationFact(
        id=obs_id or f"{loinc}-{days_ago}-{value}",
        codes=(Code(LOINC, loinc),),
        effective=TODAY - timedelta(days=days_ago),
        value=value,
        unit=unit,
    )


def condition(system: str, code: str, active: bool = True) -> ConditionFact:
    return ConditionFact(id=code, codes=(Code(system, code),), active=active)


def patient(*observations: ObservationFact, sex: Sex = "male", born: date | None = BORN_60,
            conditions: tuple[ConditionFact, ...] = ()) -> PatientContext:  # fmt: skip
    return PatientContext(today=TODAY, patient_id="p1", birth_date=born, sex=sex,
                          observations=observations, conditions=conditions)  # fmt: skip


# --- CKD-EPI 2021 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("creatinine", "age", "female", "expected", "digits"),
    [
        # kidney.epi R package (Bikbov, CRAN), reference example of egfr.ckdepi.cr.2021:
        # creatinine 1.4 mg/dL, 60 years, male -> 57.54.
        (1.4, 60, False, 57.54, 2),
        # tabletools::calculate_egfr (J. M. Luther, rdrr.io) documented examples, CKD-EPI 2021:
        # male 70 y, 0.8 mg/dL -> 95.2; female 50 y, 1.0 mg/dL -> 68.6.
        (0.8, 70, False, 95.2, 1),
        (1.0, 50, True, 68.6, 1),
        # NKF eGFR calculator (kidney.org), as reported for 1.2 mg/dL, 55 years, male -> 71.
        (1.2, 55, False, 71, 0),
        # At Scr = kappa and age 0 only the constants remain: 142 (male), 142 x 1.012 (female).
        (0.9, 0, False, 142.0, 6),
        (0.7, 0, True, 143.704, 6),
    ],
)
def test_ckd_epi_2021_published_values(creatinine: float, age: float, female: bool,
                                       expected: float, digits: int) -> None:  # fmt: skip
    assert round(ckd_epi_2021(creatinine, age, female), digits) == expected


def test_ckd_epi_2021_both_sides_of_kappa() -> None:
    # Below kappa the exponent is alpha (-0.302 male), above it -1.200 (kidney.org equation).
    assert ckd_epi_2021(0.45, 0, False) == pytest.approx(142 * 0.5**-0.302)
    assert ckd_epi_2021(1.8, 0, False) == pytest.approx(142 * 2**-1.2)
    assert ckd_epi_2021(0.35, 0, True) == pytest.approx(142 * 0.5**-0.241 * 1.012)
    assert ckd_epi_2021(0.9, 10, False) == pytest.approx(142 * 0.9938**10)


@pytest.mark.parametrize(
    ("creatinine", "age"), [(0.0, 50), (-1.0, 50), (1.0, -1), (float("nan"), 50)]
)
def test_ckd_epi_2021_refuses_impossible_input(creatinine: float, age: float) -> None:
    with pytest.raises(ValueError):
        ckd_epi_2021(creatinine, age, False)


@given(st.floats(0.2, 15), st.floats(0.2, 15), st.integers(18, 100), st.booleans())
def test_ckd_epi_2021_falls_as_creatinine_rises(a: float, b: float, age: int,
                                                female: bool) -> None:  # fmt: skip
    low, high = sorted((a, b))
    assert ckd_epi_2021(high, age, female) <= ckd_epi_2021(low, age, female)


# --- creatinine units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "expected"),
    [
        ("2160-0", 1.2, "mg/dL", 1.2),
        ("2160-0", 1.2, "mg/dl", 1.2),
        ("38483-4", 1.2, "mg/dL", 1.2),
        ("14682-9", 88.4, "umol/L", 1.0),
        ("14682-9", 106.08, "µmol/L", 1.2),  # micro sign
        ("77140-2", 106.08, "μmol/L", 1.2),  # Greek mu
        ("14682-9", 123.76, "micromol/L", 1.4),
        ("14682-9", 0.0884, "mmol/L", 1.0),
        ("2160-0", 12.0, "mg/L", 1.2),
        ("14682-9", 88.4, None, 1.0),  # the LOINC code says µmol/L
        ("2160-0", 1.2, None, 1.2),  # the LOINC code says mg/dL
        ("2160-0", 1.2, "", 1.2),
    ],
)
def test_creatinine_units(loinc: str, value: float, unit: str | None, expected: float) -> None:
    assert creatinine_mg_dl(obs(loinc, value, unit)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("loinc", "value", "unit"),
    [
        ("2160-0", None, "mg/dL"),
        ("2160-0", 0.0, "mg/dL"),
        ("2160-0", -1.0, "mg/dL"),
        ("2160-0", 1.2, "g/dL"),  # not a unit we convert
        ("2160-0", 95.0, "mg/dL"),  # µmol/L sent as mg/dL: implausible, not an eGFR of 0.4
        ("14682-9", 0.9, "umol/L"),  # mg/dL sent as µmol/L: implausible, not an eGFR of 900
        ("99999-9", 1.2, None),  # no unit and no code to infer it from
    ],
)
def test_unusable_creatinine(loinc: str, value: float | None, unit: str | None) -> None:
    assert creatinine_mg_dl(obs(loinc, value, unit)) is None


# --- categories and thresholds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("egfr", "category"),
    [(29, "severe"), (29.9, "severe"), (30, "moderate"), (59, "moderate"), (59.9, "moderate"),
     (60, "normal"), (95, "normal"), (0, "severe")],
)  # fmt: skip
def test_thresholds(egfr: float, category: Category) -> None:
    result = assess_renal(patient(obs("98979-8", egfr, obs_id="o1")), POLICY)
    assert result == RenalAssessment(category=category, egfr=egfr, source="egfr",
                                     observed_on=TODAY - timedelta(days=10), observation_id="o1")


@pytest.mark.parametrize(
    "loinc", ["98979-8", "62238-1", "33914-3", "48642-3", "48643-1", "69405-9"]
)
def test_every_egfr_code(loinc: str) -> None:
    assert assess_renal(patient(obs(loinc, 45)), POLICY).category == "moderate"


@pytest.mark.parametrize("loinc", ["35591-7", "2164-2"])
def test_creatinine_clearance(loinc: str) -> None:
    result = assess_renal(patient(obs(loinc, 25, "mL/min")), POLICY)
    assert (result.category, result.source, result.egfr) == ("severe", "clearance", 25)


def test_egfr_in_ml_per_second_is_converted() -> None:
    result = assess_renal(patient(obs("98979-8", 0.5, "mL/s/{1.73_m2}")), POLICY)
    assert (result.category, result.egfr) == ("moderate", 30.0)


def test_custom_policy_thresholds() -> None:
    policy = RenalPolicy(severe_below=25.0, moderate_below=50.0)
    assert assess_renal(patient(obs("98979-8", 27)), policy).category == "moderate"
    assert assess_renal(patient(obs("98979-8", 55)), policy).category == "normal"


# --- freshness and choice of result -------------------------------------------------------


def test_freshness_90_days_counts_91_does_not() -> None:
    assert assess_renal(patient(obs("98979-8", 20, days_ago=90)), POLICY).category == "severe"
    assert assess_renal(patient(obs("98979-8", 20, days_ago=91)), POLICY).category == "unknown"


def test_freshness_follows_the_policy() -> None:
    policy = RenalPolicy(max_age_days=30)
    assert assess_renal(patient(obs("98979-8", 20, days_ago=31)), policy).category == "unknown"


def test_results_after_today_do_not_count() -> None:
    assert assess_renal(patient(obs("98979-8", 20, days_ago=-1)), POLICY).category == "unknown"


def test_results_without_date_or_value_do_not_count() -> None:
    undated = ObservationFact(id="u", codes=(Code(LOINC, "98979-8"),), effective=None, value=20)
    result = assess_renal(patient(undated, obs("98979-8", None)), POLICY)
    assert result.category == "unknown"


def test_the_most_recent_result_wins() -> None:
    old_low = obs("98979-8", 20, days_ago=30, obs_id="old")
    new_normal = obs("98979-8", 75, days_ago=5, obs_id="new")
    result = assess_renal(patient(old_low, new_normal), POLICY)
    assert (result.category, result.observation_id) == ("normal", "new")


def test_measured_beats_computed_on_the_same_day() -> None:
    measured = obs("98979-8", 65, days_ago=3, obs_id="egfr")
    creatinine = obs("2160-0", 2.5, "mg/dL", days_ago=3, obs_id="creat")  # would give 28.7
    result = assess_renal(patient(creatinine, measured), POLICY)
    assert (result.category, result.source, result.observation_id) == ("normal", "egfr", "egfr")


def test_computed_result_that_is_more_recent_wins() -> None:
    measured = obs("98979-8", 65, days_ago=4, obs_id="egfr")
    creatinine = obs("2160-0", 2.5, "mg/dL", days_ago=3, obs_id="creat")
    result = assess_renal(patient(creatinine, measured), POLICY)
    assert (result.category, result.source, result.egfr) == ("severe", "ckd-epi", 28.7)


def test_lowest_of_two_same_day_measures() -> None:
    result = assess_renal(patient(obs("98979-8", 62), obs("35591-7", 41, "mL/min")), POLICY)
    assert (result.egfr, result.source) == (41, "clearance")


def test_other_loinc_codes_and_systems_are_ignored() -> None:
    weight = obs("29463-7", 20, "kg")
    local = ObservationFact(id="l", codes=(Code("http://local", "98979-8"),),
                            effective=TODAY, value=20)  # fmt: skip
    assert assess_renal(patient(weight, local), POLICY).category == "unknown"


# --- creatinine -> CKD-EPI ----------------------------------------------------------------


def test_creatinine_in_mg_dl_gives_ckd_epi_with_age_and_sex() -> None:
    result = assess_renal(patient(obs("2160-0", 1.4, "mg/dL", obs_id="c")), POLICY)
    assert result == RenalAssessment(category="moderate", egfr=57.5, source="ckd-epi",
                                     observed_on=TODAY - timedelta(days=10), observation_id="c")


def test_creatinine_in_umol_l_is_converted_before_ckd_epi() -> None:
    result = assess_renal(patient(obs("14682-9", 123.76, "umol/L")), POLICY)
    assert (result.category, result.egfr) == ("moderate", 57.5)


def test_female_creatinine() -> None:
    result = assess_renal(patient(obs("2160-0", 1.4, "mg/dL"), sex="female"), POLICY)
    assert (result.category, result.egfr) == ("moderate", 43.1)


@pytest.mark.parametrize("sex", ["unknown", "other"])
def test_unknown_sex_keeps_the_lower_estimate(sex: Sex) -> None:
    # 1.4 mg/dL at 60: 57.5 as a man, 43.1 as a woman -> 43.1.
    result = assess_renal(patient(obs("2160-0", 1.4, "mg/dL"), sex=sex), POLICY)
    assert result.egfr == 43.1
    # 2.4 mg/dL at 60: 30.1 as a man (moderate) but 22.6 as a woman (severe) -> severe.
    result = assess_renal(patient(obs("2160-0", 2.4, "mg/dL"), sex=sex), POLICY)
    assert (result.category, result.egfr) == ("severe", 22.6)


def test_age_is_taken_at_today() -> None:
    born = date(1964, 6, 2)  # 59 at TODAY, 60 the day after
    at_59 = assess_renal(patient(obs("2160-0", 1.4, "mg/dL"), born=born), POLICY)
    assert at_59.egfr == round(ckd_epi_2021(1.4, 59, False), 1) == 57.9


def test_creatinine_without_birth_date_is_not_usable() -> None:
    assert assess_renal(patient(obs("2160-0", 1.4, "mg/dL"), born=None), POLICY).category == (
        "unknown")  # fmt: skip


# --- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "code", "category"),
    [
        (ICD10, "N18.4", "severe"), (ICD10, "N18.5", "severe"), (ICD10, "N18.6", "severe"),
        (ICD10, "Z99.2", "severe"), (ICD10, "N184", "severe"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "N18.31", "moderate"), (ICD10, "N18.3", "moderate"),
        (SNOMED, "431857002", "severe"), (SNOMED, "433146000", "severe"),
        (SNOMED, "714152005", "severe"), (SNOMED, "46177005", "severe"),
        (SNOMED, "105502003", "severe"), (SNOMED, "433144002", "moderate"),
        (SNOMED, "700378005", "moderate"), (SNOMED, "700379002", "moderate"),
        (ICD10, "N18.2", "unknown"), (ICD10, "N17.9", "unknown"),
        (SNOMED, "4317", "unknown"),  # a prefix of a SNOMED code is not that code
        ("http://local", "N18.4", "unknown"),
    ],
)  # fmt: skip
def test_conditions(system: str, code: str, category: str) -> None:
    result = assess_renal(patient(conditions=(condition(system, code),)), POLICY)
    assert result.category == category
    if category != "unknown":
        assert (result.source, result.condition_code, result.egfr) == ("condition", code, None)


def test_inactive_conditions_do_not_count() -> None:
    result = assess_renal(patient(conditions=(condition(ICD10, "N18.5", active=False),)), POLICY)
    assert result == RenalAssessment(category="unknown")


def test_severe_condition_beats_a_normal_lab() -> None:
    context = patient(obs("98979-8", 75, obs_id="o"), conditions=(condition(ICD10, "N18.4"),))
    result = assess_renal(context, POLICY)
    assert result == RenalAssessment(category="severe", egfr=75, source="condition",
                                     observed_on=TODAY - timedelta(days=10), observation_id="o",
                                     condition_code="N18.4")  # fmt: skip


def test_severe_lab_beats_a_moderate_condition() -> None:
    context = patient(obs("98979-8", 20), conditions=(condition(ICD10, "N18.3"),))
    result = assess_renal(context, POLICY)
    assert (result.category, result.source, result.condition_code) == ("severe", "egfr", "N18.3")


def test_same_category_is_credited_to_the_lab() -> None:
    context = patient(obs("98979-8", 45), conditions=(condition(SNOMED, "433144002"),))
    assert assess_renal(context, POLICY).source == "egfr"


def test_severe_condition_wins_over_a_moderate_one() -> None:
    conditions = (condition(ICD10, "N18.3"), condition(SNOMED, "46177005"))
    result = assess_renal(patient(conditions=conditions), POLICY)
    assert (result.category, result.condition_code) == ("severe", "46177005")


def test_condition_codes_follow_the_policy() -> None:
    policy = RenalPolicy(severe_condition_prefixes=("N18.5",), moderate_condition_prefixes=())
    assert assess_renal(patient(conditions=(condition(ICD10, "N18.4"),)), policy).category == (
        "unknown")  # fmt: skip


def test_nothing_known_is_unknown() -> None:
    assert assess_renal(patient(), POLICY) == RenalAssessment(category="unknown")
