"""Daily dose of a baclofen order: units, timing forms, schedules, errors, and properties."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from fhir.resources.R4B.dosage import Dosage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cds_service.clinical.context import Code, MedicationFact
from cds_service.clinical.dose import DoseStep, DoseUnknown, Regimen, regimen_of

UCUM = "http://unitsofmeasure.org"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
AUTHORED = date(2024, 3, 1)


def order(
    *dosages: dict[str, Any],
    text: str | None = "Baclofène 10 mg, comprimé",
    codes: tuple[Code, ...] = (),
    strength: float | None = None,
    authored: date | None = AUTHORED,
) -> MedicationFact:
    return MedicationFact(
        id="draft-1",
        status="draft",
        intent="order",
        codes=codes,
        text=text,
        authored_on=authored,
        is_draft=True,
        dosages=tuple(Dosage.model_validate(d) for d in dosages),
        strength_mg=strength,
    )


def qty(value: Any, code: str | None = "mg", unit: str | None = None,
        system: str | None = UCUM) -> dict[str, Any]:
    found: dict[str, Any] = {"value": value}
    if code is not None:
        found["code"] = code
        found["system"] = system
    if unit is not None:
        found["unit"] = unit
    return {k: v for k, v in found.items() if v is not None}


def line(dose: dict[str, Any] | None = None, **timing: Any) -> dict[str, Any]:
    """One dosage line; `timing` keys go to timing.repeat, except `code` and `sequence`."""
    found: dict[str, Any] = {}
    sequence = timing.pop("sequence", None)
    code = timing.pop("code", None)
    if sequence is not None:
        found["sequence"] = sequence
    found["timing"] = {}
    if timing:
        found["timing"]["repeat"] = timing
    if code is not None:
        found["timing"]["code"] = code
    if not found["timing"]:
        del found["timing"]
    if dose is not None:
        found["doseAndRate"] = [{"doseQuantity": dose}]
    return found


TID: dict[str, Any] = {"frequency": 3, "period": 1, "periodUnit": "d"}


def only_step(med: MedicationFact) -> DoseStep:
    regimen = regimen_of(med)
    assert len(regimen.steps) == 1
    return regimen.first


# --- units ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "mg_per_day"),
    [
        (qty(5, "mg"), 15.0),
        (qty("0.005", "g"), 15.0),
        (qty(5000, "ug"), 15.0),
        (qty(5000, "mcg"), 15.0),
        (qty(5, None, "MG"), 15.0),
        (qty(5, None, "milligrammes"), 15.0),
        (qty(5000, None, "µg"), 15.0),
        (qty(5000, None, "μg"), 15.0),
        (qty(5000, None, "microgrammes"), 15.0),
        (qty("0.005", None, "grams"), 15.0),
    ],
)
def test_mass_units_are_converted_to_mg(quantity: dict[str, Any], mg_per_day: float) -> None:
    assert only_step(order(line(quantity, **TID))).mg_per_day == mg_per_day


@pytest.mark.parametrize(
    "quantity",
    [
        qty("0.5", "{tbl}"),
        qty("0.5", "{tablet}"),
        qty("0.5", "1"),
        qty("0.5", "TAB", system="http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"),
        qty("0.5", "732936001", system="http://snomed.info/sct"),
        qty("0.5", None, "comprimé"),
        qty("0.5", None, "comprimés"),
        qty("0.5", None, "comprimé(s)"),
        qty("0.5", None, "tablets"),
        qty("0.5", None, "tablet(s)"),
        qty("0.5", None, "cp"),
    ],
)
def test_tablets_are_multiplied_by_the_strength(quantity: dict[str, Any]) -> None:
    step = only_step(order(line(quantity, **TID), text="Baclofène 10 mg, comprimé"))
    assert step.mg_per_day == 15.0
    assert step.intake_mg == (5.0, 5.0, 5.0)


def test_tablet_strength_comes_from_the_order_first() -> None:
    med = order(line(qty(1, "{tbl}"), **TID), text="Baclofène 10 mg", strength=20.0)
    assert only_step(med).mg_per_day == 60.0


def test_tablet_strength_comes_from_the_rxnorm_product() -> None:
    med = order(line(qty(1, "{tbl}"), **TID), text=None,
                codes=(Code(RXNORM, "197392", "baclofen 20 MG Oral Tablet"),))
    assert only_step(med).mg_per_day == 60.0


def test_tablet_strength_comes_from_a_french_cip() -> None:
    med = order(line(qty(1, None, "comprimé"), **TID), text=None,
                codes=(Code("http://data.esante.gouv.fr/ansm/medicament/CIP13", "3400930163665"),))
    assert only_step(med).mg_per_day == 120.0  # Baclocur 40 mg


def test_oral_solution_ml_times_concentration_from_rxnorm() -> None:
    med = order(line(qty(5, "mL"), **TID), text=None,
                codes=(Code(RXNORM, "2667941", "baclofen 2 MG/ML Oral Solution"),))
    step = only_step(med)
    assert step.mg_per_day == 30.0
    assert step.intake_mg == (10.0, 10.0, 10.0)


def test_oral_solution_concentration_from_text() -> None:
    med = order(line(qty(10, None, "ml"), frequency=2, period=1, periodUnit="d"),
                text="baclofen 5 mg/5 mL oral solution")
    assert only_step(med).mg_per_day == 20.0


def test_dose_range_uses_the_high_value() -> None:
    dosage = {"timing": {"repeat": TID},
              "doseAndRate": [{"doseRange": {"low": qty(5), "high": qty(10)}}]}
    assert only_step(order(dosage)).mg_per_day == 30.0


def test_dose_range_high_without_unit_takes_the_low_unit() -> None:
    dosage = {"timing": {"repeat": TID},
              "doseAndRate": [{"doseRange": {"low": qty(5, "mg"), "high": {"value": 10}}}]}
    assert only_step(order(dosage)).mg_per_day == 30.0


def test_ordered_dose_is_preferred_over_calculated() -> None:
    kind = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
    dosage = {"timing": {"repeat": TID}, "doseAndRate": [
        {"type": {"coding": [{"system": kind, "code": "calculated"}]}, "doseQuantity": qty(7)},
        {"type": {"coding": [{"system": kind, "code": "ordered"}]}, "doseQuantity": qty(5)},
    ]}
    assert only_step(order(dosage)).mg_per_day == 15.0


# --- timing forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repeat", "mg_per_day", "intakes"),
    [
        ({"frequency": 3, "period": 1, "periodUnit": "d"}, 30.0, 3),
        ({"frequency": 2, "period": 1, "periodUnit": "d"}, 20.0, 2),
        ({"frequency": 1, "period": 8, "periodUnit": "h"}, 30.0, 3),
        ({"frequency": 1, "period": 6, "periodUnit": "h"}, 40.0, 4),
        ({"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}, 60.0, 6),
        ({"frequency": 3, "frequencyMax": 4, "period": 1, "periodUnit": "d"}, 40.0, 4),
        ({"frequency": 21, "period": 1, "periodUnit": "wk"}, 30.0, 3),
        ({"period": 1, "periodUnit": "d"}, 10.0, 1),
        ({"frequency": 1, "period": 2, "periodUnit": "d"}, 5.0, None),
        ({"frequency": 1, "period": 1, "periodUnit": "wk"}, 1.43, None),
        ({"frequency": 3, "period": 1, "periodUnit": "mo"}, 1.0, None),
        ({"frequency": 1, "period": 1, "periodUnit": "a"}, 0.03, None),
        ({"frequency": 1440, "period": 1, "periodUnit": "wk"}, None, None),  # > 24 a day
    ],
)
def test_frequency_per_period(repeat: dict[str, Any], mg_per_day: float | None,
                              intakes: int | None) -> None:
    med = order(line(qty(10), **repeat))
    if mg_per_day is None:
        with pytest.raises(DoseUnknown):
            regimen_of(med)
        return
    step = only_step(med)
    assert step.mg_per_day == mg_per_day
    assert step.intakes_per_day == intakes
    assert step.intake_mg == ((10.0,) * intakes if intakes else ())


def test_when_counts_distinct_events_in_clock_order() -> None:
    step = only_step(order(line(qty(5), when=["EVE", "MORN", "NOON", "MORN"])))
    assert (step.mg_per_day, step.intakes_per_day) == (15.0, 3)


def test_when_with_a_matching_frequency_is_not_multiplied() -> None:
    step = only_step(order(line(qty(5), when=["MORN", "NOON", "EVE"], **TID)))
    assert (step.mg_per_day, step.intakes_per_day) == (15.0, 3)


def test_when_with_once_a_day_means_once_per_event() -> None:
    step = only_step(order(line(qty(5), when=["MORN", "EVE"], frequency=1, period=1,
                                periodUnit="d")))
    assert (step.mg_per_day, step.intakes_per_day) == (10.0, 2)


def test_when_every_other_day() -> None:
    step = only_step(order(line(qty(10), when=["MORN"], frequency=1, period=2, periodUnit="d")))
    assert (step.mg_per_day, step.intakes_per_day) == (5.0, None)


def test_meal_codes_without_a_meal_mean_each_meal() -> None:
    step = only_step(order(line(qty(5), when=["AC"])))
    assert (step.mg_per_day, step.intakes_per_day) == (15.0, 3)
    step = only_step(order(line(qty(5), when=["PC", "PCM"])))
    assert (step.mg_per_day, step.intakes_per_day) == (15.0, 3)


def test_time_of_day_counts_distinct_times() -> None:
    times = ["20:00:00", "08:00:00", "12:00:00", "08:00:00"]
    step = only_step(order(line(qty(5), timeOfDay=times)))
    assert (step.mg_per_day, step.intakes_per_day) == (15.0, 3)


@pytest.mark.parametrize(
    ("code", "mg_per_day", "intakes"),
    [
        ("QD", 10.0, 1), ("AM", 10.0, 1), ("PM", 10.0, 1), ("BED", 10.0, 1), ("BID", 20.0, 2),
        ("TID", 30.0, 3), ("QID", 40.0, 4), ("Q4H", 60.0, 6), ("Q6H", 40.0, 4),
        ("Q8H", 30.0, 3), ("Q12H", 20.0, 2), ("QOD", 5.0, None), ("WK", 1.43, None),
        ("MO", 0.33, None),
    ],
)
def test_gts_abbreviation_timing_codes(code: str, mg_per_day: float, intakes: int | None) -> None:
    for concept in ({"coding": [{"system": GTS, "code": code}]}, {"coding": [{"code": code}]},
                    {"text": code.lower()}):
        step = only_step(order(line(qty(10), code=concept)))
        assert (step.mg_per_day, step.intakes_per_day) == (mg_per_day, intakes)


def test_repeat_structure_wins_over_timing_code() -> None:
    concept = {"coding": [{"system": GTS, "code": "QD"}]}
    step = only_step(order(line(qty(10), code=concept, **TID)))
    assert step.mg_per_day == 30.0


def test_unknown_timing_code_is_dose_unknown() -> None:
    concept = {"coding": [{"system": "http://snomed.info/sct", "code": "229797004"}]}
    with pytest.raises(DoseUnknown, match="229797004"):
        regimen_of(order(line(qty(10), code=concept)))


# --- lines and schedules ------------------------------------------------------------------


def test_lines_of_one_sequence_are_summed_in_clock_order() -> None:
    morning = line(qty(10), when=["MORN"], sequence=1)
    evening = line(qty(5), when=["EVE"], sequence=1)
    noon = line(qty(5), when=["NOON"], sequence=1)
    step = only_step(order(evening, morning, noon))
    assert step.mg_per_day == 20.0
    assert step.intakes_per_day == 3
    assert step.intake_mg == (10.0, 5.0, 5.0)


def test_lines_without_sequence_are_summed() -> None:
    step = only_step(order(line(qty(10), frequency=1, period=1, periodUnit="d"),
                           line(qty(5), **TID)))
    assert step.mg_per_day == 25.0
    assert step.intakes_per_day == 4
    assert step.intake_mg == (5.0, 5.0, 5.0, 10.0)


def test_two_lines_at_the_same_time_are_one_intake() -> None:
    step = only_step(order(line(qty(10), when=["MORN"]), line(qty(5), when=["MORN"])))
    assert (step.intakes_per_day, step.intake_mg) == (1, (15.0,))


def test_sequences_are_successive_steps_chained_by_duration() -> None:
    days3 = {"value": 3, "unit": "days", "system": UCUM, "code": "d"}
    med = order(
        line(qty(10), when=["MORN", "NOON", "EVE"], sequence=2, boundsDuration=days3),
        line(qty(5), when=["MORN", "NOON", "EVE"], sequence=1, boundsDuration=days3),
        line(qty(15), when=["MORN", "NOON", "EVE"], sequence=3),
    )
    regimen = regimen_of(med)
    assert [(s.sequence, s.mg_per_day, s.start, s.end) for s in regimen.steps] == [
        (1, 15.0, date(2024, 3, 1), date(2024, 3, 4)),
        (2, 30.0, date(2024, 3, 4), date(2024, 3, 7)),
        (3, 45.0, date(2024, 3, 7), None),
    ]
    assert regimen.is_schedule
    assert (regimen.first.mg_per_day, regimen.last.mg_per_day, regimen.max_mg_per_day) == (
        15.0, 30.0 + 15.0, 45.0)
    assert regimen.step_on(date(2024, 3, 3)) == regimen.steps[0]
    assert regimen.step_on(date(2024, 3, 4)) == regimen.steps[1]
    assert regimen.step_on(date(2030, 1, 1)) == regimen.steps[2]
    assert regimen.step_on(date(2024, 2, 29)) is None


def test_start_argument_overrides_authored_on() -> None:
    regimen = regimen_of(order(line(qty(5), **TID)), start=date(2024, 5, 2))
    assert regimen.first.start == date(2024, 5, 2)


def test_no_date_at_all_gives_open_steps() -> None:
    regimen = regimen_of(order(line(qty(5), **TID), authored=None))
    assert (regimen.first.start, regimen.first.end) == (None, None)
    assert regimen.step_on(date(2024, 1, 1)) == regimen.first


def test_distinct_bounds_periods_are_steps_in_date_order_with_exclusive_end() -> None:
    second = line(qty(10), boundsPeriod={"start": "2024-03-04"}, **TID)
    first = line(qty(5), boundsPeriod={"start": "2024-03-01", "end": "2024-03-03"}, **TID)
    regimen = regimen_of(order(second, first))
    assert [(s.mg_per_day, s.start, s.end) for s in regimen.steps] == [
        (15.0, date(2024, 3, 1), date(2024, 3, 4)),
        (30.0, date(2024, 3, 4), None),
    ]


def test_bounds_period_datetime_and_partial_dates() -> None:
    at_midnight = line(qty(5), boundsPeriod={"start": "2024-03-01T08:00:00+01:00",
                                             "end": "2024-03-05T00:00:00+01:00"}, **TID)
    assert (regimen_of(order(at_midnight)).first.start,
            regimen_of(order(at_midnight)).first.end) == (date(2024, 3, 1), date(2024, 3, 5))
    month = line(qty(5), boundsPeriod={"start": "2024-03", "end": "2024-12"}, **TID)
    step = regimen_of(order(month)).first
    assert (step.start, step.end) == (date(2024, 3, 1), date(2025, 1, 1))


def test_step_without_end_ends_where_the_next_explicit_start_is() -> None:
    first = line(qty(5), boundsPeriod={"start": "2024-03-01"}, **TID)
    second = line(qty(10), boundsPeriod={"start": "2024-03-08"}, **TID)
    regimen = regimen_of(order(first, second))
    assert regimen.first.end == date(2024, 3, 8)


def test_count_and_frequency_give_the_length() -> None:
    med = order(line(qty(5), count=9, sequence=1, **TID), line(qty(10), sequence=2, **TID))
    regimen = regimen_of(med)
    assert regimen.first.end == AUTHORED + timedelta(days=3)
    assert regimen.last.start == AUTHORED + timedelta(days=3)


def test_duration_in_weeks_and_range_of_lengths() -> None:
    weeks = line(qty(5), sequence=1, boundsDuration={"value": 1, "code": "wk", "system": UCUM},
                 **TID)
    assert regimen_of(order(weeks)).first.end == AUTHORED + timedelta(days=7)
    ranged = line(qty(5), sequence=1, boundsRange={"low": {"value": 2, "code": "d"},
                                                   "high": {"value": 3, "code": "d"}}, **TID)
    assert regimen_of(order(ranged)).first.end == AUTHORED + timedelta(days=2)


def test_as_needed_with_a_schedule_counts_the_maximum_use() -> None:
    dosage = line(qty(10), **TID)
    dosage["asNeededBoolean"] = True
    assert only_step(order(dosage)).mg_per_day == 30.0


def test_rounding_to_the_hundredth_without_float_noise() -> None:
    assert only_step(order(line(qty("3.33"), **TID))).mg_per_day == 9.99
    assert only_step(order(line(qty("0.1"), **TID))).mg_per_day == 0.3
    weekly = line(qty(10), frequency=1, period=1, periodUnit="wk")
    assert only_step(order(weekly)).mg_per_day == 1.43


def test_regimen_needs_a_step() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        Regimen(())


# --- errors -------------------------------------------------------------------------------


def _unknown(med: MedicationFact) -> str:
    with pytest.raises(DoseUnknown) as caught:
        regimen_of(med)
    reason = caught.value.reason
    assert reason and reason[0].isupper() and reason.endswith(".")
    return reason


@pytest.mark.parametrize(
    ("dosage", "needle"),
    [
        ({"asNeededBoolean": True, "doseAndRate": [{"doseQuantity": qty(10)}]}, "as needed"),
        ({"asNeededCodeableConcept": {"text": "craving"},
          "doseAndRate": [{"doseQuantity": qty(10)}]}, "as needed"),
        (line(None, **TID), "no dose quantity"),
        ({"timing": {"repeat": TID}, "doseAndRate": [{"rateQuantity": qty(1)}]}, "no dose"),
        (line({"unit": "mg"}, **TID), "no value"),
        (line(qty(10, None, "puff"), **TID), "puff"),
        (line({"value": 10}, **TID), "no unit"),
        (line(qty(0), **TID), "zero or negative"),
        (line(qty(-5), **TID), "zero or negative"),
        (line(qty(4000), **TID), "10 g"),
        (line(qty(4, "g"), **TID), "10 g"),
        (line(qty(1, "ug"), **TID), "0.01 mg"),
        (line(qty(10)), "no schedule"),
        (line(qty(10), boundsDuration={"value": 3, "code": "d"}), "no schedule"),
        (line(qty(10), frequency=3), "without a period"),
        (line(qty(10), frequency=3, period=1), "unit"),
        (line(qty(10), frequency=3, period=1, periodUnit="fortnight"), "unit"),
        (line(qty(10), frequency=3, period=0, periodUnit="d"), "zero or negative"),
        (line(qty(10), frequency=3, period=-1, periodUnit="d"), "zero or negative"),
        (line(qty(10), frequency=1, period=10, periodUnit="min"), "24 intakes"),
        ({"timing": {"repeat": TID}, "doseAndRate": [{"doseRange": {"low": qty(5)}}]},
         "upper bound"),
    ],
)
def test_unreadable_doses_say_why(dosage: dict[str, Any], needle: str) -> None:
    assert needle in _unknown(order(dosage))


def test_no_dosage_lines() -> None:
    assert "no dosage" in _unknown(order())


def test_tablets_without_strength() -> None:
    assert "strength" in _unknown(order(line(qty(1, "{tbl}"), **TID), text="baclofen"))


def test_tablets_of_an_oral_liquid() -> None:
    med = order(line(qty(1, "{tbl}"), **TID), text=None, codes=(Code(RXNORM, "2667941"),))
    assert "oral liquid" in _unknown(med)


def test_millilitres_of_a_tablet() -> None:
    med = order(line(qty(5, "mL"), **TID), text=None, codes=(Code(RXNORM, "197391"),))
    assert "tablet" in _unknown(med)


def test_millilitres_without_concentration() -> None:
    assert "concentration" in _unknown(order(line(qty(5, "mL"), **TID), text="baclofen"))


def test_summed_lines_above_ten_grams() -> None:
    med = order(line(qty(3000), **TID), line(qty(3000), **TID))
    assert "10 g" in _unknown(med)


def test_more_than_24_intakes_across_lines() -> None:
    med = order(line(qty(1), code={"coding": [{"code": "Q1H"}]}), line(qty(1), **TID))
    assert "24 intakes" in _unknown(med)


# --- properties ---------------------------------------------------------------------------


def _cent(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


doses = st.decimals(min_value=Decimal("0.25"), max_value=Decimal(200), places=2)
frequencies = st.integers(min_value=1, max_value=6)


@given(dose=doses, frequency=frequencies, period=st.integers(1, 7),
       unit=st.sampled_from(["d", "wk"]))
def test_daily_dose_is_dose_times_frequency_over_period(
    dose: Decimal, frequency: int, period: int, unit: str
) -> None:
    days = period * (7 if unit == "wk" else 1)
    med = order(line(qty(str(dose)), frequency=frequency, period=period, periodUnit=unit))
    expected = _cent(dose * frequency / days)
    step = only_step(med)
    assert step.mg_per_day == expected
    whole = Decimal(frequency) / days
    assert step.intakes_per_day == (int(whole) if whole == int(whole) else None)


@given(dose=doses, every_hours=st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24]))
def test_every_n_hours_is_24_over_n_intakes(dose: Decimal, every_hours: int) -> None:
    step = only_step(order(line(qty(str(dose)), frequency=1, period=every_hours, periodUnit="h")))
    assert step.intakes_per_day == 24 // every_hours
    assert step.mg_per_day == _cent(dose * (24 // every_hours))


@given(milligrams=st.integers(1, 1600), frequency=frequencies)  # stays under 10 g/day
def test_grams_micrograms_and_milligrams_agree(milligrams: int, frequency: int) -> None:
    timing = {"frequency": frequency, "period": 1, "periodUnit": "d"}
    as_mg = only_step(order(line(qty(milligrams, "mg"), **timing))).mg_per_day
    as_g = only_step(order(line(qty(str(Decimal(milligrams) / 1000), "g"), **timing))).mg_per_day
    as_ug = only_step(order(line(qty(milligrams * 1000, "ug"), **timing))).mg_per_day
    assert as_mg == as_g == as_ug == float(milligrams * frequency)


@given(first=doses, second=doses, f1=frequencies, f2=frequencies)
def test_summing_lines_is_additive(first: Decimal, second: Decimal, f1: int, f2: int) -> None:
    one = line(qty(str(first)), frequency=f1, period=1, periodUnit="d")
    two = line(qty(str(second)), frequency=f2, period=1, periodUnit="d")
    together = only_step(order(one, two))
    apart = only_step(order(one)), only_step(order(two))
    assert together.mg_per_day == _cent(first * f1 + second * f2)
    assert together.mg_per_day == pytest.approx(apart[0].mg_per_day + apart[1].mg_per_day)
    assert together.intakes_per_day == f1 + f2


events = st.sampled_from(["MORN", "NOON", "EVE", "HS", "CM", "ACD", "NIGHT", "WAKE"])


@given(st.lists(st.tuples(doses, st.lists(events, min_size=1, max_size=3)), min_size=1,
                max_size=4))
def test_order_of_same_sequence_lines_does_not_matter(
    lines: list[tuple[Decimal, list[str]]],
) -> None:
    dosages = [line(qty(str(dose)), when=when, sequence=1) for dose, when in lines]
    results = {only_step(order(*perm)) for perm in itertools.permutations(dosages)}
    assert len(results) == 1


@given(st.lists(st.tuples(doses, frequencies), min_size=1, max_size=4))
def test_order_of_untimed_lines_does_not_matter(lines: list[tuple[Decimal, int]]) -> None:
    dosages = [line(qty(str(d)), frequency=f, period=1, periodUnit="d") for d, f in lines]
    results = {only_step(order(*perm)) for perm in itertools.permutations(dosages)}
    assert len(results) == 1


# Random Dosage-shaped JSON, valid and odd: the function must answer or say DoseUnknown.
numbers = st.one_of(
    st.integers(-10, 100_000),
    st.decimals(min_value=-10, max_value=100_000, places=3).map(str),
)
units = st.sampled_from([
    ("mg", "mg", UCUM), ("g", "g", UCUM), (None, "ug", UCUM), ("mcg", None, None),
    ("comprimé", None, None), (None, "{tbl}", UCUM), ("mL", "mL", UCUM), ("puff", None, None),
    (None, None, None), ("kg", "kg", UCUM), (None, "TAB", "http://x.org/odd"),
])
quantities = st.builds(
    lambda value, unit: {k: v for k, v in zip(("value", "unit", "code", "system"),
                                                (value, *unit), strict=True) if v is not None},
    st.one_of(numbers, st.none()), units,
)
event_codes = st.sampled_from(["MORN", "NOON", "EVE", "HS", "C", "AC", "PCV", "WAKE", "XYZ"])
time_units = st.sampled_from(["s", "min", "h", "d", "d", "d", "wk", "mo", "a", "fortnight"])
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)).map(str)
bounds: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.fixed_dictionaries({"boundsDuration": st.fixed_dictionaries(
        {"value": numbers, "code": time_units})}),
    st.fixed_dictionaries({"boundsPeriod": st.fixed_dictionaries(
        {}, optional={"start": dates, "end": dates})}),
    st.fixed_dictionaries({"boundsRange": st.fixed_dictionaries(
        {"low": st.fixed_dictionaries({"value": numbers, "code": time_units})})}),
    st.just({}),
)
schedules = st.fixed_dictionaries(
    {"frequency": st.integers(1, 30), "period": st.sampled_from([1, 1, 2, 8, "0.5", 0, -1]),
     "periodUnit": time_units},
    optional={"frequencyMax": st.integers(1, 50), "periodMax": numbers,
              "when": st.lists(event_codes, min_size=1, max_size=5),
              "count": st.integers(1, 500),
              "dayOfWeek": st.lists(st.sampled_from(["mon", "wed", "fri"]), min_size=1)},
)
odd_repeats = st.fixed_dictionaries({}, optional={
    "frequency": st.integers(1, 2000), "period": numbers, "periodUnit": time_units,
    "when": st.lists(event_codes, min_size=1, max_size=5),
    "timeOfDay": st.lists(st.sampled_from(["08:00:00", "12:30:00", "20:00:00"]), min_size=1),
})
repeats = st.builds(lambda r, b: {**r, **b}, st.one_of(schedules, odd_repeats), bounds)
timing_codes = st.fixed_dictionaries({}, optional={
    "coding": st.lists(st.fixed_dictionaries(
        {"code": st.sampled_from(["TID", "BID", "QOD", "WK", "Q1H", "XYZ", "229797004"])},
        optional={"system": st.sampled_from([GTS, "http://snomed.info/sct"])}),
        min_size=1, max_size=2),
    "text": st.sampled_from(["TID", "bid", "three times a day"]),
})
timings = st.one_of(
    st.fixed_dictionaries({"repeat": repeats}, optional={"code": timing_codes}),
    st.fixed_dictionaries({}, optional={"repeat": repeats, "code": timing_codes}),
)
good_doses = st.builds(lambda value, unit: {"value": value, **unit}, st.integers(1, 40),
                       st.sampled_from([{"code": "mg", "system": UCUM}, {"unit": "comprimé"},
                                        {"unit": "mL"}, {"code": "ug", "system": UCUM}]))
doses_and_rates = st.one_of(
    st.fixed_dictionaries({"doseQuantity": good_doses}),
    st.fixed_dictionaries({"doseQuantity": quantities}),
    st.fixed_dictionaries({"doseRange": st.fixed_dictionaries(
        {}, optional={"low": quantities, "high": quantities})}),
    st.fixed_dictionaries({"rateQuantity": quantities}),
)
dosage_dicts = st.fixed_dictionaries({
    "timing": timings, "doseAndRate": st.lists(doses_and_rates, min_size=1, max_size=2),
}, optional={
    "sequence": st.integers(1, 3), "asNeededBoolean": st.booleans(),
    "route": st.just({"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}),
})
products = st.sampled_from([
    {"text": "Baclofène 10 mg, comprimé"}, {"text": "baclofen"},
    {"text": None, "codes": (Code(RXNORM, "2667941"),)}, {"text": "baclofen", "strength": 0.0},
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.lists(dosage_dicts, min_size=1, max_size=3), product=products,
       start=st.one_of(st.none(), st.dates()))
def test_never_raises_anything_but_dose_unknown(
    raw: list[dict[str, Any]], product: dict[str, Any], start: date | None
) -> None:
    try:
        dosages = tuple(Dosage.model_validate(d) for d in raw)
    except ValidationError:
        return  # not FHIR at all: the FHIR layer rejects it before the rules see it
    med = MedicationFact(id="x", status="draft", intent="order", codes=product.get("codes", ()),
                         text=product.get("text"), authored_on=AUTHORED, is_draft=True,
                         dosages=dosages, strength_mg=product.get("strength"))
    try:
        regimen = regimen_of(med, start=start)
    except DoseUnknown as exc:
        assert exc.reason
        return
    assert regimen.steps
    for step in regimen.steps:
        assert 0 < step.mg_per_day <= 10_000
        assert step.intakes_per_day is None or 1 <= step.intakes_per_day <= 24
        assert len(step.intake_mg) == (step.intakes_per_day or 0)
