"""Bilingual strings of the server-rendered pages (the plan page and its errors).

Kept apart from the rule profiles: these are page chrome, not regulatory text, and the plan
must render the same words whichever profile it shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from cds_service.clinical.profile import Language

TEXTS: Mapping[str, Mapping[Language, str]] = {
    "title": {"fr": "Plan de titration du baclofène", "en": "Baclofen titration plan"},
    "subtitle": {
        "fr": "Protocole de titration au rythme le plus rapide permis ; viser la dose minimale efficace.",
        "en": "Titration protocol at the fastest pace allowed; aim for the minimal effective dose.",
    },
    "nav_label": {"fr": "Navigation", "en": "Navigation"},
    "nav_sandbox": {"fr": "Bac à sable", "en": "Sandbox"},
    "nav_switch": {"fr": "English", "en": "Français"},
    "print_hint": {"fr": "Imprimable : utilisez la fonction d'impression du navigateur.",
                   "en": "Printable: use the browser's print command."},
    "summary": {"fr": "Situation", "en": "Situation"},
    "start_dose": {"fr": "Dose de départ", "en": "Starting dose"},
    "since": {"fr": "Depuis le", "en": "Since"},
    "until": {"fr": "Plan jusqu'au", "en": "Plan until"},
    "age": {"fr": "Âge", "en": "Age"},
    "age_years": {"fr": "{age} ans", "en": "{age} years"},
    "unknown": {"fr": "inconnu", "en": "unknown"},
    "renal": {"fr": "Fonction rénale", "en": "Renal function"},
    "renal_normal": {"fr": "normale (DFG ≥ 60)", "en": "normal (eGFR ≥ 60)"},
    "renal_moderate": {"fr": "insuffisance modérée (30 ≤ DFG < 60) : titration lente",
                       "en": "moderate insufficiency (30 ≤ eGFR < 60): slow titration"},
    "renal_severe": {"fr": "insuffisance sévère (DFG < 30)", "en": "severe insufficiency (eGFR < 30)"},
    "renal_unknown": {"fr": "inconnue", "en": "unknown"},
    "profile": {"fr": "Référentiel", "en": "Rule profile"},
    "intakes": {"fr": "Prises par jour", "en": "Intakes a day"},
    "review": {"fr": "Prochaine réévaluation", "en": "Next review"},
    "review_every": {"fr": "le {date} (toutes les {days} jours de titration)",
                     "en": "on {date} (every {days} days during titration)"},
    "thresholds": {"fr": "Seuils à venir", "en": "Thresholds ahead"},
    "threshold_specialist": {"fr": "≥ {mg} mg/j : avis d'un médecin expérimenté (addictologue, psychiatre, CSAPA)",
                             "en": "≥ {mg} mg/day: opinion of an experienced physician (addiction specialist, "
                                   "psychiatrist, CSAPA)"},
    "threshold_collegial": {"fr": "> {mg} mg/j : décision collégiale (CSAPA ou service d'addictologie)",
                            "en": "> {mg} mg/day: collegial decision (CSAPA or hospital addiction service)"},
    "threshold_collegial_elderly": {"fr": "> {mg} mg/j après {age} ans : décision collégiale",
                                    "en": "> {mg} mg/day over age {age}: collegial decision"},
    "threshold_max": {"fr": "{mg} mg/j : dose maximale autorisée", "en": "{mg} mg/day: maximum authorised dose"},
    "threshold_max_off_label": {"fr": "{mg} mg/j : dose maximale (au-delà : hors RTU, hors AMM)",
                                "en": "{mg} mg/day: maximum dose (above: outside the RTU, off-label)"},
    "reached": {"fr": "déjà atteint", "en": "already reached"},
    "ahead": {"fr": "à venir", "en": "ahead"},
    "none_ahead": {"fr": "Aucun seuil de dose dans ce référentiel.", "en": "No dose threshold in this profile."},
    "chart": {"fr": "Dose quotidienne", "en": "Daily dose"},
    "chart_label": {"fr": "Dose quotidienne de {start} à {end} : de {first} à {last} mg/j",
                    "en": "Daily dose from {start} to {end}: from {first} to {last} mg/day"},
    "line_specialist": {"fr": "avis spécialisé", "en": "specialist"},
    "line_collegial": {"fr": "collégialité", "en": "collegial"},
    "line_max": {"fr": "maximum", "en": "maximum"},
    "line_review": {"fr": "réévaluation", "en": "review"},
    "table": {"fr": "Jour par jour", "en": "Day by day"},
    "col_date": {"fr": "Date", "en": "Date"},
    "col_day": {"fr": "J", "en": "Day"},
    "col_dose": {"fr": "Dose (mg/j)", "en": "Dose (mg/day)"},
    "col_split": {"fr": "Prises (mg)", "en": "Intakes (mg)"},
    "col_note": {"fr": "Remarque", "en": "Note"},
    "note_start": {"fr": "Dose actuelle", "en": "Current dose"},
    "note_step": {"fr": "Palier : {before} → {after} mg/j", "en": "Step: {before} → {after} mg/day"},
    "note_specialist": {"fr": "Avis d'un médecin expérimenté requis avant d'augmenter",
                        "en": "A specialist's opinion is needed before going further"},
    "note_collegial": {"fr": "Décision collégiale requise avant d'augmenter",
                       "en": "A collegial decision is needed before going further"},
    "note_max": {"fr": "Dose maximale atteinte : ne pas augmenter", "en": "Maximum dose reached: do not increase"},
    "note_review": {"fr": "Réévaluation", "en": "Review"},
    "severe_stop": {"fr": "Insuffisance rénale sévère : le baclofène est contre-indiqué. Aucun plan de titration.",
                    "en": "Severe renal insufficiency: baclofen is contraindicated. No titration plan."},
    "unknown_warning": {"fr": "Fonction rénale inconnue : la vérifier avant toute prescription "
                              "(le plan suppose une fonction normale).",
                        "en": "Renal function unknown: check it before any prescription "
                              "(the plan assumes normal function)."},
    "over_max_warning": {"fr": "La dose de départ dépasse la dose maximale de {mg} mg/j.",
                         "en": "The starting dose exceeds the {mg} mg/day maximum."},
    "footer": {"fr": "Plan indicatif produit par baclofen-cds ({profile}). Adapter à la tolérance : en cas "
                     "d'effets indésirables, allonger les paliers ; s'ils persistent, revenir au palier précédent.",
               "en": "Indicative plan from baclofen-cds ({profile}). Adapt to tolerance: on side effects, lengthen "
                     "the steps; if they persist, go back one step."},
    "error_title": {"fr": "Paramètre invalide", "en": "Invalid parameter"},
    "error_back": {"fr": "Corrigez l'adresse et réessayez.", "en": "Fix the address and try again."},
}

WEEKDAYS: Mapping[Language, tuple[str, ...]] = {
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def text(key: str, lang: Language, **values: object) -> str:
    """The page string `key` in `lang`, with `{name}` placeholders filled."""
    template = TEXTS[key][lang]
    return template.format(**values) if values else template
