"""Substance names (DCI) normalised so that the BDPM, a formulary and a profile agree.

« CHLORHYDRATE DE TRAMADOL », « Tramadol (chlorhydrate de) » and « tramadol » all become
`tramadol`: lower case, no accents, salt and hydrate words removed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Salt, ester and hydrate words of French and English substance names.
_SALT_WORDS = frozenset("""
    chlorhydrate hydrochloride dichlorhydrate dihydrochloride bromhydrate hydrobromide
    maleate hydrogenomaleate fumarate hemifumarate tartrate hemitartrate bitartrate
    succinate mesilate mesylate besilate besylate tosilate tosylate sulfate hydrogenosulfate
    bisulfate phosphate diphosphate citrate dicitrate lactate acetate gluconate malate
    oxalate sodique disodique dipotassique sodium potassique potassium calcique calcium
    magnesique magnesium monohydrate dihydrate trihydrate sesquihydrate hemihydrate anhydre
    anhydrous hydrate chlorure chloride bromure bromide iodure iodide nitrate embonate
    pamoate hyclate base de d of l' d' le la les
""".split())  # noqa: SIM905 - a word list reads best as text


@lru_cache(maxsize=8192)
def normalise_substance(name: str) -> str:
    """The comparable form of a substance name (see module doc)."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[()\[\],;]", " ", text).replace("'", "' ")
    words = [word for word in text.split() if word not in _SALT_WORDS]
    return " ".join(words).strip(" -")
