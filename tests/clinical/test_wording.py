"""French and English typography of card texts (issue 12)."""

from __future__ import annotations

from datetime import date

from cds_service.clinical.dose_messages import dose_message
from cds_service.clinical.wording import NBSP, finish, format_date, pluralise, record_text


def test_dates_in_each_language() -> None:
    assert format_date(date(2026, 11, 14), "fr") == "14/11/2026"
    assert format_date(date(2026, 11, 14), "en") == "14 Nov 2026"
    assert finish("prochaine le 2026-11-14", "fr") == "prochaine le 14/11/2026"
    assert finish("next on 2026-11-04", "en") == "next on 4 Nov 2026"


def test_french_spaces_apostrophes_and_quotes() -> None:
    text = finish("Dose : l'avis ; vraiment ? oui ! « cité »", "fr")
    assert text == f"Dose{NBSP}: l\u2019avis{NBSP}; vraiment{NBSP}? oui{NBSP}! «{NBSP}cité{NBSP}»"


def test_urls_keep_their_colons_and_dots() -> None:
    assert finish("voir https://www.rtubaclofene.org/a?b=1.5", "fr") == "voir https://www.rtubaclofene.org/a?b=1.5"


def test_a_url_keeps_its_text_while_the_rest_is_typeset() -> None:
    text = "le 2026-11-14 : 1.5 mg, voir http://x.fr/2026-11-14/a:b?c=1.5 ; www.y.fr/1.5"
    assert finish(text, "fr") == (f"le 14/11/2026{NBSP}: 1,5 mg, voir http://x.fr/2026-11-14/a:b?c=1.5 ; "
                                  "www.y.fr/1.5")
    assert finish(text, "fr") == finish(text, "fr")  # the memoised answer is the computed one
    assert finish("1,5 mg http://x.fr/1,5", "en") == "1.5 mg http://x.fr/1,5"


def test_decimal_comma_in_french_point_in_english() -> None:
    assert finish("44 mL/min/1.73 m²", "fr") == "44 mL/min/1,73 m²"
    assert finish("44 mL/min/1,73 m²", "en") == "44 mL/min/1.73 m²"
    assert finish("code N18.4", "fr") == "code N18.4"  # a code is not a number


def test_plurals_instead_of_s_in_parentheses() -> None:
    assert pluralise("depuis 1 jour(s)", "fr") == "depuis 1 jour"
    assert pluralise("depuis 5 jour(s)", "fr") == "depuis 5 jours"
    assert pluralise("en 2 prise(s)/j", "fr") == "en 2 prises/j"
    assert pluralise("+3 autre(s) point(s)", "fr") == "+3 autres points"
    assert pluralise("for 0 day(s)", "en") == "for 0 days"
    assert pluralise("1 intake(s)/day", "en") == "1 intake/day"


def test_ehr_text_is_quoted_and_labelled() -> None:
    evidence = record_text("Z39.1", "Care and examination of lactating mother")
    assert finish(f"Allaitement ({evidence})", "fr") == (
        f"Allaitement (Z39.1, libellé du dossier{NBSP}: «{NBSP}Care and examination of lactating mother{NBSP}»)")
    assert finish(f"Breastfeeding ({evidence})", "en") == (
        "Breastfeeding (Z39.1, EHR label: \u201cCare and examination of lactating mother\u201d)")
    assert finish(f"Allaitement ({evidence})", "fr", short=True) == "Allaitement (Z39.1)"


def test_dose_messages_are_translated() -> None:
    reason = "The dose is in tablets but the strength of a tablet is unknown."
    assert dose_message(reason, "fr") == "dose en comprimés mais dosage du comprimé inconnu"
    assert dose_message(reason, "en") == "the dose is in tablets but the strength of a tablet is unknown"
    assert dose_message("The timing code 'XYZ' is not understood.", "fr") == "code de rythme 'XYZ' non reconnu"
    assert dose_message("Something new.", "fr") == "motif non traduit"


def test_an_smpc_section_number_keeps_its_point() -> None:
    assert finish("(RCP du baclofène, rubrique 4.4) 1.73 m²", "fr") == "(RCP du baclofène, rubrique 4.4) 1,73 m²"
