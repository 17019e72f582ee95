"""Why a dose could not be computed, in the reader's language.

`dose.DoseUnknown` explains itself in one English sentence (logs, the `check` command); a
French card must not show it as is. Each known sentence has its French wording here; an unknown
one is not shown in a French card (only « motif non traduit »), never in English.
"""

from __future__ import annotations

import re

from cds_service.clinical.wording import Language

_FRENCH: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), text) for pattern, text in (
    (r"The dosage could not be read \((.+)\)\.", "posologie illisible ({0})"),
    (r"The order has no dosage instructions\.", "la prescription n'a pas de posologie"),
    (r"The daily dose is above 10 g, which can only be an entry error\.",
     "dose quotidienne supérieure à 10 g : erreur de saisie"),
    (r"The daily dose is below 0\.01 mg, which can only be an entry error\.",
     "dose quotidienne inférieure à 0,01 mg : erreur de saisie"),
    (r"More than 24 intakes a day, which can only be an entry error\.",
     "plus de 24 prises par jour : erreur de saisie"),
    (r"The dosage is as needed, with no schedule to compute a daily dose\.",
     "posologie « si besoin » sans rythme : dose quotidienne non calculable"),
    (r"The dosage has no schedule \(frequency, when, time of day or code\)\.",
     "posologie sans rythme (fréquence, moment ou horaire)"),
    (r"The dosage has no dose quantity\.", "posologie sans quantité"),
    (r"The dose range has no upper bound\.", "fourchette de dose sans borne haute"),
    (r"The dose quantity has no value\.", "quantité de dose sans valeur"),
    (r"The dose is zero or negative\.", "dose nulle ou négative"),
    (r"The dose unit (.+) is not understood\.", "unité de dose {0} non reconnue"),
    (r"The dose has no unit\.", "dose sans unité"),
    (r"The dose is in tablets but the strength of a tablet is unknown\.",
     "dose en comprimés mais dosage du comprimé inconnu"),
    (r"The dose is in tablets but the product is an oral liquid\.",
     "dose en comprimés mais le produit est une solution buvable"),
    (r"The dose is in mL but the concentration \(mg/mL\) is unknown\.",
     "dose en mL mais concentration (mg/mL) inconnue"),
    (r"The dose is in mL but the product is a tablet\.", "dose en mL mais le produit est un comprimé"),
    (r"The (.+) (\S+) is not a plausible number\.", "valeur {1} non plausible"),
    (r"The timing gives a frequency without a period\.", "fréquence sans période"),
    (r"The timing code (.+) is not understood\.", "code de rythme {0} non reconnu"),
    (r"The timing period unit (.+) is not understood\.", "unité de période {0} non reconnue"),
    (r"The timing period is zero or negative\.", "période nulle ou négative"),
))


def dose_message(reason: str, lang: Language) -> str:
    """The reason in `lang`, as the clause the card puts in parentheses: English as given but
    without its capital and full stop, French from the table above."""
    if lang == "en":
        return reason[:1].lower() + reason[1:].rstrip(".")
    for pattern, text in _FRENCH:
        match = pattern.fullmatch(reason)
        if match:
            return text.format(*match.groups())
    return "motif non traduit"
