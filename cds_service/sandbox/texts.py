"""Bilingual strings of the server-rendered pages (the plan page and its errors).

Kept apart from the rule profiles: these are page chrome, not regulatory text, and the plan
must render the same words whichever profile it shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from cds_service.clinical.profile import Language

TEXTS: Mapping[str, Mapping[Language, str]] = {
    "title": {"fr": "Plan de titration du baclofène", "en": "Baclofen titration plan"},
    "title_taper": {"fr": "Plan de réduction progressive du baclofène", "en": "Baclofen progressive reduction plan"},
    "first_step": {"fr": "Premier palier", "en": "First step"},
    "note_first_step": {"fr": "Premier palier de la réduction", "en": "First step of the reduction"},
    "subtitle": {
        "fr": "Le plan de la carte, jour par jour : les doses que la suggestion prescrit, rien de plus. "
              "Viser la dose minimale efficace.",
        "en": "The card's plan, day by day: the doses its suggestion prescribes, nothing more. "
              "Aim for the minimal effective dose.",
    },
    "plan_state": {"fr": "Décision", "en": "Decision"},
    "state_name_step": {"fr": "palier suivant possible après la réévaluation",
                        "en": "next step possible after the review"},
    "state_name_hold": {"fr": "pas d'augmentation", "en": "no increase"},
    "state_name_hold-new": {"fr": "ne pas débuter", "en": "do not start"},
    "state_name_threshold": {"fr": "garder la dose (seuil de la RTU)", "en": "keep the dose (RTU threshold)"},
    "state_name_reduced": {"fr": "garder la dose réduite", "en": "keep the reduced dose"},
    "state_name_max": {"fr": "dose maximale atteinte", "en": "maximum dose reached"},
    "state_name_taper": {"fr": "réduction progressive", "en": "progressive reduction"},
    "state_step": {"fr": "Le palier suivant n'est à prendre que si le craving persiste et si la tolérance est "
                         "bonne, après la réévaluation.",
                   "en": "Take the next step only if craving persists and tolerance is good, after the review."},
    "state_hold": {"fr": "Pas d'augmentation : garder {dose} mg/j au plus tant que {reason}.",
                   "en": "No increase: keep at most {dose} mg/day as long as {reason}."},
    "state_hold-new": {"fr": "Ne pas débuter le baclofène tant que {reason}.",
                       "en": "Do not start baclofen as long as {reason}."},
    "state_threshold": {"fr": "Garder {dose} mg/j : le palier suivant demande d'abord {reason}.",
                        "en": "Keep {dose} mg/day: the next step first needs {reason}."},
    "state_reduced": {"fr": "Garder {dose} mg/j : {reason} ; ré-augmenter plus tard, plus lentement.",
                      "en": "Keep {dose} mg/day: {reason}; re-escalate later, more slowly."},
    "reason_renal-unknown": {"fr": "la fonction rénale n'est pas connue", "en": "renal function is unknown"},
    "reason_data-unavailable": {"fr": "le dossier n'a pas pu être lu en entier",
                                "en": "the record could not be read in full"},
    "reason_dose-unknown": {"fr": "la dose n'est pas calculable", "en": "the dose cannot be computed"},
    "reason_review-specialist": {"fr": "l'avis d'un médecin expérimenté", "en": "an experienced physician's opinion"},
    "reason_review-collegial": {"fr": "une décision collégiale", "en": "a collegial decision"},
    "reason_reduced": {"fr": "la dose vient d'être réduite", "en": "the dose has just been reduced"},
    "reason_none": {"fr": "la réévaluation", "en": "the review"},
    "taper_warning": {"fr": "Réduction progressive : ne jamais arrêter le baclofène brutalement (risque de "
                            "syndrome de sevrage : confusion, hallucinations, convulsions ; {smpc}). Nombre et "
                            "durée des paliers : {local}.",
                      "en": "Progressive reduction: never stop baclofen abruptly (risk of withdrawal syndrome: "
                            "confusion, hallucinations, seizures; {smpc}). Number and length of the steps: "
                            "{local}."},
    "note_down": {"fr": "Réduction : {before} → {after} mg/j", "en": "Reduction: {before} → {after} mg/day"},
    "note_stop": {"fr": "Arrêt du baclofène", "en": "Baclofen stopped"},
    "nav_label": {"fr": "Navigation", "en": "Navigation"},
    "nav_sandbox": {"fr": "Bac à sable", "en": "Sandbox"},
    "nav_switch": {"fr": "English", "en": "Français"},
    "nav_patient": {"fr": "Version patient", "en": "Patient version"},
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
    "note_step": {"fr": "Palier : {before} → {after} mg/j, si craving persistant et bonne tolérance",
                  "en": "Step: {before} → {after} mg/day, if craving persists and tolerance is good"},
    "note_max": {"fr": "Dose maximale atteinte : ne pas augmenter", "en": "Maximum dose reached: do not increase"},
    "note_review": {"fr": "Réévaluation", "en": "Review"},
    "severe_stop": {"fr": "Insuffisance rénale sévère : le baclofène est contre-indiqué. Aucun plan de titration ; "
                          "chez un patient déjà traité, réduire progressivement.",
                    "en": "Severe renal insufficiency: baclofen is contraindicated. No titration plan; in a "
                          "patient already treated, reduce progressively."},
    "unknown_warning": {"fr": "Fonction rénale inconnue : la vérifier avant toute prescription ; "
                              "aucune augmentation d'ici là.",
                        "en": "Renal function unknown: check it before any prescription; "
                              "no increase until then."},
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
