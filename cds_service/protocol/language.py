"""Card language from `Accept-Language`: French by default, English when preferred."""

from __future__ import annotations

import functools

from cds_service.clinical.profile import Language


@functools.lru_cache(maxsize=256)  # an EHR sends the same few headers on every call
def negotiate(header: str | None) -> Language:
    """The first of fr/en in the header by q-value; French when neither is asked for."""
    if not header:
        return "fr"
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in ("fr", "en") and quality > 0:
            choices.append((-quality, index, primary))
    if not choices:
        return "fr"
    return "en" if sorted(choices)[0][2] == "en" else "fr"
