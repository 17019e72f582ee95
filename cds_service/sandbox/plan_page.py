"""`GET /plan`: the printable plan linked from a card (the next dose, or a progressive reduction).

Server-rendered HTML with no script (the card link opens it in any EHR browser, under the strict
CSP): a summary, what the card decided and why, the thresholds, the next review, an SVG chart and
a day-by-day table. The schedule is the card's own (its `steps`, the very doses the suggestion
button prescribes), never a projection of its own: the page and the card cannot disagree. It is
not part of the sandbox switch: production cards link to it. `view=patient` prints the same days
as a handout for the patient (`patient_view`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from cds_service.clinical.profile import LANGUAGES, Language
from cds_service.clinical.titration import PlanDay, fmt, split_intakes
from cds_service.clinical.wording import format_date
from cds_service.protocol.language import negotiate
from cds_service.sandbox.html import html_page
from cds_service.sandbox.patient_view import render_patient
from cds_service.sandbox.plan_chart import Line, render_chart
from cds_service.sandbox.plan_params import BadParameter, Handout, PlanQuery, parse_handout, parse_query, parse_view
from cds_service.sandbox.texts import WEEKDAYS, text

STYLESHEET = "/plan/static/plan.css"


@dataclass(frozen=True)
class Threshold:
    key: str
    mg: float
    reached: bool
    line: str


def thresholds(q: PlanQuery) -> list[Threshold]:
    """The profile's review thresholds and maximum, as they apply to this patient."""
    doses = q.profile.doses
    may_be_elderly = q.age is None or q.age > doses.elderly_above_age
    found: list[Threshold] = []
    if doses.specialist_from_mg is not None:
        found.append(Threshold("threshold_specialist", doses.specialist_from_mg,
                               q.dose >= doses.specialist_from_mg, "line-specialist"))
    if doses.collegial_elderly_above_mg is not None and may_be_elderly:
        found.append(Threshold("threshold_collegial_elderly", doses.collegial_elderly_above_mg,
                               q.dose > doses.collegial_elderly_above_mg, "line-collegial"))
    if doses.collegial_above_mg is not None:
        found.append(Threshold("threshold_collegial", doses.collegial_above_mg,
                               q.dose > doses.collegial_above_mg, "line-collegial"))
    max_key = "threshold_max_off_label" if doses.over_max_is_off_label else "threshold_max"
    found.append(Threshold(max_key, doses.max_mg_per_day, q.dose >= doses.max_mg_per_day, "line-max"))
    return sorted(found, key=lambda t: t.mg)


def review_date(q: PlanQuery) -> tuple[date, int]:
    """Next review: every 2 weeks, weekly for the fragile; never after the planned end
    (the card link's `until` is the review date the rules computed)."""
    policy, doses = q.profile.policy, q.profile.doses
    fragile = (q.age is not None and q.age > doses.elderly_above_age) or q.renal in ("moderate", "severe")
    days = policy.fragile_review_interval_days if fragile else policy.review_interval_days
    review = q.since + timedelta(days=days)
    if q.since < q.until < review:
        review = q.until
    return review, days


def _split(q: PlanQuery, mg: float) -> tuple[float, ...]:
    if mg <= 0:
        return ()
    return split_intakes(mg, max(q.intakes, q.profile.titration.min_intakes), q.profile.titration.unit_mg)


def plan_days(q: PlanQuery) -> list[PlanDay]:
    """Day by day: the card's steps (a dose of 0 is the stop, shown on its day), else the one
    dose to keep until the review. None for a contraindication without a reduction plan."""
    if not q.steps:
        if q.renal == "severe":
            return []
        steps: tuple[tuple[float, date], ...] = ((q.dose, q.since),)
    else:
        steps = q.steps
    end = max(q.until, steps[-1][1])
    days: list[PlanDay] = []
    previous: float | None = None
    day = q.since
    while day <= end:
        current = [mg for mg, start in steps if start <= day]
        mg = current[-1] if current else steps[0][0]
        note = None
        if previous is not None and mg != previous:
            note = "stop" if mg == 0 else ("step" if mg > previous else "down")
        days.append(PlanDay(day, mg, _split(q, mg), note))
        if mg == 0:
            break
        previous = mg
        day += timedelta(days=1)
    return days


def _notes(days: list[PlanDay], q: PlanQuery, review: date) -> list[tuple[str, list[str]]]:
    """(row class, notes) per day: steps, the first day a review blocks the next step, the max."""
    lang, max_mg = q.lang, q.profile.doses.max_mg_per_day
    rows: list[tuple[str, list[str]]] = []
    max_shown = False
    previous = days[0].mg_per_day if days else 0.0
    for index, day in enumerate(days):
        notes: list[str] = []
        css = ""
        if index == 0:
            notes.append(text("note_first_step" if q.state == "taper" else "note_start", lang))
        if day.note == "step":
            notes.append(text("note_step", lang, before=fmt(previous), after=fmt(day.mg_per_day)))
            css = "row-step"
        elif day.note == "down":
            notes.append(text("note_down", lang, before=fmt(previous), after=fmt(day.mg_per_day)))
            css = "row-down"
        elif day.note == "stop":
            notes.append(text("note_stop", lang))
            css = "row-stop"
        if day.mg_per_day >= max_mg and not max_shown:
            notes.append(text("note_max", lang))
            max_shown = True
        if day.day == review:
            notes.append(text("note_review", lang))
            css = f"{css} row-review".strip()
        previous = day.mg_per_day
        rows.append((css, notes))
    return rows


def _summary(q: PlanQuery, review: date, interval: int) -> str:
    lang = q.lang
    age = text("age_years", lang, age=q.age) if q.age is not None else text("unknown", lang)
    items = [
        ("start_dose", f"{fmt(q.dose)} {q.profile.label('mg_per_day', lang)}"),
        ("plan_state", text(f"state_name_{q.state}", lang)),
        ("since", format_date(q.since, lang)),
        ("until", format_date(q.until, lang)),
        ("age", age),
        ("renal", text(f"renal_{q.renal}", lang)),
        ("intakes", str(max(q.intakes, q.profile.titration.min_intakes))),
        ("profile", q.profile.meta.label(lang)),
        ("review", text("review_every", lang, date=format_date(review, lang), days=interval)),
    ]
    if q.state == "taper":  # a reduction to a stop: no titration, no review rhythm to show
        items = [(key, value) for key, value in items if key != "review"]
        items[0] = ("first_step", items[0][1])
    body = "".join(f"<dt>{escape(text(key, lang))}</dt><dd>{escape(value)}</dd>" for key, value in items)
    return f'<section aria-labelledby="h-summary"><h2 id="h-summary">{escape(text("summary", lang))}</h2>' \
           f'<dl class="summary">{body}</dl></section>'


def _thresholds(q: PlanQuery, found: list[Threshold]) -> str:
    lang = q.lang
    elderly_age = q.profile.doses.elderly_above_age
    items = "".join(
        f'<li class="{"reached" if t.reached else "ahead"} {t.line}">'
        f'{escape(text(t.key, lang, mg=fmt(t.mg), age=elderly_age))} '
        f'<span class="state">({escape(text("reached" if t.reached else "ahead", lang))})</span></li>'
        for t in found
    )
    return f'<section aria-labelledby="h-thresholds"><h2 id="h-thresholds">{escape(text("thresholds", lang))}</h2>' \
           f'<ul class="thresholds">{items}</ul></section>'


def _chart(q: PlanQuery, days: list[PlanDay], found: list[Threshold], review: date) -> str:
    if not days:
        return ""
    lang = q.lang
    names = {"line-specialist": "line_specialist", "line-collegial": "line_collegial", "line-max": "line_max"}
    lines = [Line(t.mg, f"{fmt(t.mg)} {text(names[t.line], lang)}", t.line) for t in found]
    label = text("chart_label", lang, start=format_date(days[0].day, lang), end=format_date(days[-1].day, lang),
                 first=fmt(days[0].mg_per_day), last=fmt(days[-1].mg_per_day))
    svg = render_chart(days, lines, review, title=text("chart", lang), label=label, lang=lang)
    return f'<section aria-labelledby="h-chart"><h2 id="h-chart">{escape(text("chart", lang))}</h2>' \
           f'<figure class="chart-box">{svg}<figcaption>{escape(label)}</figcaption></figure></section>'


def _table(q: PlanQuery, days: list[PlanDay], review: date) -> str:
    lang = q.lang
    head = "".join(f'<th scope="col">{escape(text(key, lang))}</th>'
                   for key in ("col_day", "col_date", "col_dose", "col_split", "col_note"))
    rows = []
    for index, (day, (css, notes)) in enumerate(zip(days, _notes(days, q, review), strict=True)):
        weekday = WEEKDAYS[lang][day.day.weekday()]
        split = "-".join(fmt(v) for v in day.intake_mg)
        note = escape(" · ".join(notes))
        cls = f' class="{css}"' if css else ""
        when = f'<time datetime="{day.day.isoformat()}">{format_date(day.day, lang)}</time>'
        rows.append(f"<tr{cls}><td>{index}</td><th scope=\"row\">{weekday} {when}</th>"
                    f"<td class=\"num\">{fmt(day.mg_per_day)}</td><td class=\"num\">{split}</td>"
                    f"<td>{note}</td></tr>")
    return f'<section aria-labelledby="h-table"><h2 id="h-table">{escape(text("table", lang))}</h2>' \
           f'<table class="plan"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>'


def _warnings(q: PlanQuery) -> str:
    """What the card decided, in the same words: a taper, a dose to keep and why."""
    lang, max_mg = q.lang, q.profile.doses.max_mg_per_day
    found = []
    if q.state == "taper":
        sources = q.profile.sources
        found.append(("alert critical", text("taper_warning", lang, smpc=sources["smpc"][lang],
                                             local=sources["local"][lang])))
    elif q.renal == "severe":
        found.append(("alert critical", text("severe_stop", lang)))
    elif q.renal == "unknown":
        found.append(("alert warning", text("unknown_warning", lang)))
    if q.state in ("hold", "hold-new", "threshold", "reduced"):
        reason = text(f"reason_{q.reason}", lang) if q.reason else text("reason_none", lang)
        found.append(("alert warning", text(f"state_{q.state}", lang, dose=fmt(q.dose), reason=reason)))
    if q.state == "step":
        found.append(("alert info", text("state_step", lang)))
    if q.dose > max_mg and q.state != "taper":
        found.append(("alert critical", text("over_max_warning", lang, mg=fmt(max_mg))))
    return "".join(f'<p class="{css}" role="alert">{escape(message)}</p>' for css, message in found)


def render_plan(q: PlanQuery, *, sandbox_link: bool) -> str:
    """The whole page for `q`."""
    lang = q.lang
    other: Language = "en" if lang == "fr" else "fr"
    switch = "/plan?" + urlencode(q.query_string(lang=other))
    patient = "/plan?" + urlencode({**q.query_string(), **Handout().query_string()})
    links = [f'<a href="{escape(switch)}" hreflang="{other}" lang="{other}">{escape(text("nav_switch", lang))}</a>',
             f'<a href="{escape(patient)}" class="patient-view">{escape(text("nav_patient", lang))}</a>']
    if sandbox_link:
        links.append(f'<a href="/sandbox">{escape(text("nav_sandbox", lang))}</a>')
    nav = (f'<nav class="no-print" aria-label="{escape(text("nav_label", lang))}">{" · ".join(links)}'
           f' <span class="hint">{escape(text("print_hint", lang))}</span></nav>')
    review, interval = review_date(q)
    days = plan_days(q)
    taper = q.state == "taper"
    found = [] if taper else thresholds(q)
    body = (
        f'<p class="subtitle">{escape(text("subtitle", lang))}</p>'
        + _warnings(q)
        + _summary(q, review, interval)
        + ("" if taper else _thresholds(q, found))
        + _chart(q, days, found, review)
        + (_table(q, days, review) if days else "")
        + f'<footer><p>{escape(text("footer", lang, profile=q.profile.meta.label(lang)))}</p></footer>'
    )
    return html_page(lang, text("title_taper" if taper else "title", lang), body, nav, stylesheet=STYLESHEET)


def _error(request: Request, error: BadParameter, lang: Language) -> Response:
    """400 naming the parameter: HTML for a browser, JSON for everything else."""
    if "text/html" in request.headers.get("accept", ""):
        body = (f'<p class="alert critical" role="alert"><strong>{escape(error.name)}</strong> : '
                f"{escape(error.message)}</p><p>{escape(text('error_back', lang))}</p>")
        return HTMLResponse(html_page(lang, text("error_title", lang), body, stylesheet=STYLESHEET), status_code=400)
    return JSONResponse({"error": "invalid-parameter", "message": str(error), "field": error.name},
                        status_code=400)


async def plan_page(request: Request) -> Response:
    state = request.app.state.cds
    asked = request.query_params.get("lang", "")
    lang: Language = next((code for code in LANGUAGES if code == asked),
                          negotiate(request.headers.get("accept-language")))
    try:
        query = parse_query(request.query_params, default_profile=state.profile.id, default_lang=lang,
                            today=date.today())
        handout = parse_handout(request.query_params) if parse_view(request.query_params) == "patient" else None
    except BadParameter as error:
        return _error(request, error, lang)
    if handout is not None:
        return HTMLResponse(render_patient(query, handout, plan_days(query), review_date(query)[0]))
    return HTMLResponse(render_plan(query, sandbox_link=state.settings.sandbox))
