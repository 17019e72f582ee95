"""Bilingual strings of the patient handout (`/plan?…&view=patient`).

Apart from the prescriber page's texts (`texts.py`): a patient reads plain words, never a
threshold, a rule profile or a protocol rhythm. French as a French hospital writes it: non-breaking
spaces before `:` `;` `?` `!`, typographic apostrophes.
"""

from __future__ import annotations

from collections.abc import Mapping

from cds_service.clinical.profile import Language

NBSP = "\u00a0"

PATIENT_TEXTS: Mapping[str, Mapping[Language, str]] = {
    "title": {"fr": "Votre traitement par baclofène", "en": "Your baclofen treatment"},
    "subtitle_step": {"fr": "Comment prendre vos comprimés jusqu’au prochain rendez-vous",
                      "en": "How to take your tablets until your next appointment"},
    "subtitle_taper": {"fr": "Diminution progressive de la dose, étape par étape",
                       "en": "Reducing the dose gradually, step by step"},
    "patient": {"fr": "Nom du patient", "en": "Patient’s name"},
    "prescriber": {"fr": "Médecin", "en": "Doctor"},
    "contact": {"fr": "En cas de question, contacter", "en": "If you have a question, contact"},
    "product": {"fr": "Comprimé de baclofène {mg}{nbsp}mg", "en": "Baclofen {mg}{nbsp}mg tablet"},
    "product_scored": {"fr": "sécable : il peut être coupé en deux (½ = un demi-comprimé)",
                       "en": "scored: it can be broken in half (½ = half a tablet)"},
    "product_unscored": {"fr": "non sécable : ne pas le couper", "en": "not scored: do not break it"},
    "product_liquid": {"fr": "Baclofène en solution buvable : mesurez chaque prise en mg avec le dispositif "
                             "doseur fourni ; en cas de doute, demandez au pharmacien",
                       "en": "Baclofen oral solution: measure each dose in mg with the measuring device "
                             "supplied; if in doubt, ask your pharmacist"},
    "mg_of": {"fr": "Dose à prendre (mg)", "en": "Dose to take (mg)"},
    "schedule_liquid": {"fr": "Quelle dose, et quand", "en": "What dose, and when"},
    "schedule_liquid_taper": {"fr": "Quelle dose, et quand (la dose diminue)",
                              "en": "What dose, and when (the dose goes down)"},
    "subtitle_liquid": {"fr": "Comment prendre votre traitement jusqu’au prochain rendez-vous",
                        "en": "How to take your treatment until your next appointment"},
    "schedule": {"fr": "Combien de comprimés, et quand", "en": "How many tablets, and when"},
    "schedule_taper": {"fr": "Combien de comprimés, et quand (la dose diminue)",
                       "en": "How many tablets, and when (the dose goes down)"},
    "col_period": {"fr": "Période", "en": "Period"},
    "col_total": {"fr": "Par jour", "en": "Per day"},
    "tablets_of": {"fr": "Nombre de comprimés de {mg}{nbsp}mg", "en": "Number of {mg}{nbsp}mg tablets"},
    "slot_morning": {"fr": "Matin", "en": "Morning"},
    "slot_noon": {"fr": "Midi", "en": "Noon"},
    "slot_evening": {"fr": "Soir", "en": "Evening"},
    "slot_bedtime": {"fr": "Coucher", "en": "Bedtime"},
    "slot_n": {"fr": "Prise {n}", "en": "Dose {n}"},
    "period_range": {"fr": "du {start} au {end}", "en": "{start} to {end}"},
    "period_one": {"fr": "le {start}", "en": "{start}"},
    "period_from": {"fr": "à partir du {start}", "en": "from {start}"},
    "none": {"fr": "—", "en": "—"},
    "mg_day": {"fr": "{mg}{nbsp}mg", "en": "{mg}{nbsp}mg"},
    "stop_row": {"fr": "Arrêt : ne plus prendre de baclofène", "en": "Stop: take no more baclofen"},
    "appointment": {"fr": "Prochain rendez-vous", "en": "Next appointment"},
    "appointment_on": {"fr": "le {date}", "en": "on {date}"},
    "appointment_blank": {"fr": "le ____ / ____ / ________", "en": "on ____ / ____ / ________"},
    "keep_until": {
        "fr": "Le plan s’arrête au prochain rendez-vous. D’ici là, ne changez pas la dose de vous-même : "
              "c’est votre médecin qui décidera de la suite.",
        "en": "The plan stops at your next appointment. Until then, do not change the dose yourself: "
              "your doctor will decide what comes next.",
    },
    "taper_intro": {
        "fr": "Votre médecin a décidé d’arrêter le baclofène. L’arrêt se fait en diminuant la dose "
              "progressivement : suivez les étapes, sans aller plus vite.",
        "en": "Your doctor has decided to stop baclofen. It is stopped by lowering the dose gradually: "
              "follow the steps, without going faster.",
    },
    "no_schedule": {
        "fr": "Pas de plan de prise sur cette feuille : votre médecin vous dira quoi faire.",
        "en": "No dosing plan on this sheet: your doctor will tell you what to do.",
    },
    "not_divisible": {
        "fr": "Certaines doses ne se prennent pas avec des comprimés de {mg}{nbsp}mg (elles sont écrites en mg) : "
              "demandez à votre médecin ou à votre pharmacien.",
        "en": "Some doses cannot be taken with {mg}{nbsp}mg tablets (they are written in mg): "
              "ask your doctor or pharmacist.",
    },
    "advice": {"fr": "À savoir", "en": "Good to know"},
    "side_effects": {
        "fr": "En cas d’effets indésirables (somnolence, vertiges, fatigue, nausées, confusion) : "
              "ne pas augmenter la dose, en parler à votre médecin.",
        "en": "If you have side effects (drowsiness, dizziness, tiredness, nausea, confusion): "
              "do not increase the dose, talk to your doctor.",
    },
    "emergency": {
        "fr": "Somnolence très forte, confusion importante, difficulté à respirer : appelez le 15 (ou le 112).",
        "en": "Very strong drowsiness, severe confusion, difficulty breathing: call 15 (or 112).",
    },
    "never_stop": {
        "fr": "Ne jamais arrêter le baclofène brutalement, même si vous allez mieux : risque de sevrage "
              "(agitation, confusion, hallucinations, convulsions). L’arrêt se fait toujours progressivement, "
              "avec votre médecin.",
        "en": "Never stop baclofen abruptly, even if you feel better: risk of withdrawal (agitation, "
              "confusion, hallucinations, seizures). It is always stopped gradually, with your doctor.",
    },
    "driving": {
        "fr": "Ne pas conduire ni utiliser de machines dangereuses pendant que la dose change, "
              "ni tant que vous vous sentez somnolent.",
        "en": "Do not drive or use dangerous machines while the dose is changing, "
              "nor as long as you feel drowsy.",
    },
    "sedatives": {
        "fr": "L’alcool et les médicaments qui font dormir (somnifères, anxiolytiques, antidouleurs forts, "
              "certains antiallergiques) augmentent la somnolence : parlez-en à votre médecin ou à votre "
              "pharmacien avant d’en prendre.",
        "en": "Alcohol and medicines that make you sleepy (sleeping pills, anxiety medicines, strong "
              "painkillers, some allergy medicines) increase drowsiness: talk to your doctor or pharmacist "
              "before taking them.",
    },
    "missed": {
        "fr": "Si vous oubliez une prise, ne doublez pas la suivante.",
        "en": "If you forget a dose, do not double the next one.",
    },
    "footer": {
        "fr": "Cette feuille reprend la prescription de votre médecin ; elle ne la remplace pas.",
        "en": "This sheet follows your doctor’s prescription; it does not replace it.",
    },
    "nav_label": {"fr": "Navigation", "en": "Navigation"},
    "nav_switch": {"fr": "English", "en": "Français"},
    "nav_prescriber": {"fr": "Version prescripteur", "en": "Prescriber version"},
    "print_hint": {"fr": "À imprimer sur une page A4 : utilisez la fonction d’impression du navigateur.",
                   "en": "Prints on one A4 page: use the browser’s print command."},
}

SLOTS: Mapping[int, tuple[str, ...]] = {
    1: ("slot_evening",),
    2: ("slot_morning", "slot_evening"),
    3: ("slot_morning", "slot_noon", "slot_evening"),
    4: ("slot_morning", "slot_noon", "slot_evening", "slot_bedtime"),
}


def french_spacing(value: str) -> str:
    """Non-breaking spaces before `:` `;` `?` `!` (French typography), once."""
    for mark in (":", ";", "?", "!"):
        value = value.replace(f" {mark}", f"{NBSP}{mark}")
    return value


def patient_text(key: str, lang: Language, **values: object) -> str:
    """The handout string `key` in `lang`, placeholders filled, French spacing applied."""
    template = PATIENT_TEXTS[key][lang]
    result = template.format(nbsp=NBSP, **values)
    return french_spacing(result) if lang == "fr" else result


def slot_labels(count: int, lang: Language) -> tuple[str, ...]:
    """Column labels for `count` intakes: morning / noon / evening / bedtime, numbered beyond four."""
    keys = SLOTS.get(count)
    if keys is None:
        return tuple(patient_text("slot_n", lang, n=n) for n in range(1, count + 1))
    return tuple(patient_text(key, lang) for key in keys)
