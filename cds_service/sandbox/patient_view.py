"""`GET /plan?…&view=patient`: the same plan as a one-page handout the patient takes home.

The prescriber page shows doses in mg, thresholds and the protocol; the patient needs tablets
per intake (morning, noon, evening, bedtime) of the product in hand, dates as they write them,
the plan only up to the next appointment (a taper: down to the stop), and what to do on side
effects. Same days as the prescriber page (its `plan_days`), only counted in tablets: the two
views cannot disagree. No thresholds, no sandbox link; every free-text input is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from urllib.parse import urlencode

from cds_service.clinical.profile import Language
from cds_service.clinical.titration import PlanDay, fmt, split_intakes
from cds_service.clinical.wording import format_date
from cds_service.sandbox.html import html_page
from cds_service.sandbox.patient_texts import NBSP, patient_text, slot_labels
from cds_service.sandbox.plan_params import Handout, PlanQuery

STYLESHEET = "/plan/static/patient.css"
HALF = "½"


@dataclass(frozen=True)
class Period:
    """Consecutive days on the same intakes; `intake_mg` has one value per column (0: none)."""

    start: date
    end: date
    mg_per_day: float
    intake_mg: tuple[float, ...]


def tablets(mg: float, handout: Handout) -> str | None:
    """`mg` as tablets of the product: "1", "½", "1 ½"; None when it is not a whole number of
    tablets (or of halves, for a scored tablet)."""
    halves = round(mg / handout.strength_mg * 2)
    if abs(halves * handout.strength_mg / 2 - mg) > 1e-6 or (halves % 2 and not handout.scored):
        return None
    whole, half = divmod(halves, 2)
    if not half:
        return str(whole)
    return f"{whole}{NBSP}{HALF}" if whole else HALF


def _place(split: tuple[float, ...], columns: int) -> tuple[float, ...]:
    """Intakes into the day's columns: fewer intakes than columns keep the morning and the evening
    (2 of 3: morning, evening; 1: evening)."""
    if len(split) >= columns:
        return split[:columns]
    if not split:
        return (0.0,) * columns
    placed = [0.0] * columns
    for index, value in enumerate(split[:-1]):
        placed[index] = value
    placed[-1] = split[-1]
    return tuple(placed)


def periods(days: list[PlanDay], q: PlanQuery, handout: Handout, last: date | None) -> list[Period]:
    """The days up to `last` (None: all), grouped while the intakes stay the same; intakes split
    in the product's units (half tablets when scored)."""
    columns = max(q.intakes, q.profile.titration.min_intakes)
    unit = q.profile.titration.unit_mg if handout.liquid else (
        handout.strength_mg / 2 if handout.scored else handout.strength_mg)
    found: list[Period] = []
    for day in days:
        if last is not None and day.day > last:
            break
        split = split_intakes(day.mg_per_day, columns, unit) if day.mg_per_day > 0 else ()
        placed = _place(split, columns)
        if found and found[-1].intake_mg == placed and found[-1].mg_per_day == day.mg_per_day:
            found[-1] = Period(found[-1].start, day.day, day.mg_per_day, placed)
        else:
            found.append(Period(day.day, day.day, day.mg_per_day, placed))
    return found


def _mg(value: float, lang: Language) -> str:
    number = fmt(value)
    return number.replace(".", ",") if lang == "fr" else number


def _when(period: Period, lang: Language) -> str:
    start = f'<time datetime="{period.start.isoformat()}">{format_date(period.start, lang)}</time>'
    end = f'<time datetime="{period.end.isoformat()}">{format_date(period.end, lang)}</time>'
    if period.mg_per_day == 0:
        return escape(patient_text("period_from", lang, start="\0")).replace("\0", start)
    if period.start == period.end:
        return escape(patient_text("period_one", lang, start="\0")).replace("\0", start)
    template = escape(patient_text("period_range", lang, start="\0", end="\1"))
    return template.replace("\0", start).replace("\1", end)


def _schedule(found: list[Period], q: PlanQuery, handout: Handout) -> tuple[str, bool]:
    """The table of periods, and whether some dose could not be written in tablets."""
    lang = q.lang
    columns = max(q.intakes, q.profile.titration.min_intakes)
    labels = slot_labels(columns, lang)
    strength = _mg(handout.strength_mg, lang)
    column_title = patient_text("mg_of", lang) if handout.liquid else patient_text("tablets_of", lang, mg=strength)
    head = (f'<tr><th scope="col" rowspan="2">{escape(patient_text("col_period", lang))}</th>'
            f'<th scope="colgroup" colspan="{columns}">'
            f'{escape(column_title)}</th>'
            f'<th scope="col" rowspan="2">{escape(patient_text("col_total", lang))}</th></tr>'
            "<tr>" + "".join(f'<th scope="col" class="slot">{escape(label)}</th>' for label in labels) + "</tr>")
    rows = []
    inexact = False
    for period in found:
        when = _when(period, lang)
        if period.mg_per_day == 0:
            rows.append(f'<tr class="row-stop"><th scope="row">{when}</th>'
                        f'<td colspan="{columns + 1}">{escape(patient_text("stop_row", lang))}</td></tr>')
            continue
        cells = []
        for mg in period.intake_mg:
            count = patient_text("none", lang) if mg <= 0 else None if handout.liquid else tablets(mg, handout)
            if count is None:  # a solution is measured in mg; a dose the tablets cannot give, too
                inexact = inexact or not handout.liquid
                count = patient_text("mg_day", lang, mg=_mg(mg, lang))
            cells.append(f'<td class="tabs">{escape(count)}</td>')
        total = escape(patient_text("mg_day", lang, mg=_mg(period.mg_per_day, lang)))
        rows.append(f'<tr><th scope="row">{when}</th>{"".join(cells)}<td class="total">{total}</td></tr>')
    table = (f'<table class="schedule"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>')
    return table, inexact


def _line(label_key: str, value: str, lang: Language) -> str:
    """`Label : value`, or a blank line to fill by hand."""
    colon = f"{NBSP}:" if lang == "fr" else ":"
    filled = f'<span class="filled">{escape(value)}</span>' if value else '<span class="blank"></span>'
    return f'<p class="field"><span class="label">{escape(patient_text(label_key, lang))}{colon}</span> {filled}</p>'


def _appointment(q: PlanQuery, review: date | None) -> str:
    lang = q.lang
    colon = f"{NBSP}:" if lang == "fr" else ":"
    if review is None:
        when = escape(patient_text("appointment_blank", lang))
    else:
        day = f'<time datetime="{review.isoformat()}">{format_date(review, lang)}</time>'
        when = escape(patient_text("appointment_on", lang, date="\0")).replace("\0", day)
    return (f'<p class="appointment"><strong>{escape(patient_text("appointment", lang))}{colon}</strong> '
            f"{when}</p>")


def _advice(lang: Language) -> str:
    keys = ("side_effects", "emergency", "never_stop", "driving", "sedatives", "missed")
    items = "".join(f'<li class="advice-{key.replace("_", "-")}">{escape(patient_text(key, lang))}</li>'
                    for key in keys)
    return (f'<section aria-labelledby="h-advice"><h2 id="h-advice">{escape(patient_text("advice", lang))}</h2>'
            f'<ul class="advice">{items}</ul></section>')


def render_patient(q: PlanQuery, handout: Handout, days: list[PlanDay], review: date) -> str:
    """The handout for `q`: `days` are the prescriber page's, `review` its next review date. A
    titration stops at the review; a taper runs down to its stop, the appointment left blank;
    « do not start » (`hold-new`) prints no dose at all."""
    lang = q.lang
    other: Language = "en" if lang == "fr" else "fr"
    taper = q.state == "taper"
    switch = "/plan?" + urlencode({**q.query_string(lang=other), **handout.query_string()})
    prescriber_view = "/plan?" + urlencode(q.query_string())
    nav = (f'<nav class="no-print" aria-label="{escape(patient_text("nav_label", lang))}">'
           f'<a href="{escape(switch)}" hreflang="{other}" lang="{other}">'
           f'{escape(patient_text("nav_switch", lang))}</a> · '
           f'<a href="{escape(prescriber_view)}">{escape(patient_text("nav_prescriber", lang))}</a>'
           f' <span class="hint">{escape(patient_text("print_hint", lang))}</span></nav>')
    found = periods([] if q.state == "hold-new" else days, q, handout, None if taper else review)
    if found and not taper and found[-1].end < review and found[-1].mg_per_day > 0:
        last = found[-1]  # a link whose plan ends before the review: the dose runs to the appointment
        found[-1] = Period(last.start, review, last.mg_per_day, last.intake_mg)
    strength = _mg(handout.strength_mg, lang)
    form = patient_text("product_scored" if handout.scored else "product_unscored", lang)
    product = f'{escape(patient_text("product", lang, mg=strength))}, {escape(form)}'
    if handout.liquid:
        product = escape(patient_text("product_liquid", lang))
    parts = [
        '<header class="who">',
        _line("patient", "", lang),
        _line("prescriber", handout.prescriber, lang),
        _line("contact", handout.contact, lang),
        "</header>",
        f'<p class="product">{product}</p>',
    ]
    if taper:
        parts.append(f'<p class="intro">{escape(patient_text("taper_intro", lang))}</p>')
    heading = patient_text(("schedule_liquid" if handout.liquid else "schedule") + ("_taper" if taper else ""), lang)
    parts.append(f'<section aria-labelledby="h-schedule"><h2 id="h-schedule">{escape(heading)}</h2>')
    if found:
        table, inexact = _schedule(found, q, handout)
        parts.append(table)
        if inexact:
            parts.append(f'<p class="notice">{escape(patient_text("not_divisible", lang, mg=strength))}</p>')
    else:
        parts.append(f'<p class="notice">{escape(patient_text("no_schedule", lang))}</p>')
    parts.append(_appointment(q, None if taper else review))
    if not taper:
        parts.append(f'<p class="intro">{escape(patient_text("keep_until", lang))}</p>')
    parts.append("</section>")
    parts.append(_advice(lang))
    parts.append(f'<footer><p>{escape(patient_text("footer", lang))}</p></footer>')
    title = patient_text("title", lang)
    subtitle = patient_text("subtitle_taper" if taper else "subtitle_liquid" if handout.liquid else "subtitle_step",
                            lang)
    body = f'<p class="subtitle">{escape(subtitle)}</p>{"".join(parts)}'
    return html_page(lang, title, body, nav, stylesheet=STYLESHEET, body_class="patient")
