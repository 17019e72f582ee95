"""The frame of the sandbox's printable pages (the plan's prescriber and patient views)."""

from __future__ import annotations

from html import escape

from cds_service.clinical.profile import Language

ICON = "/plan/static/favicon.svg"


def html_page(lang: Language, title: str, body: str, nav: str = "", *, stylesheet: str,
              body_class: str = "") -> str:
    """A whole page around `body`: both views of a plan share this frame."""
    attributes = f' class="{body_class}"' if body_class else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="icon" href="{ICON}" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{stylesheet}"></head>'
        f'<body{attributes}>{nav}<main id="main"><h1>{escape(title)}</h1>{body}</main></body></html>'
    )
