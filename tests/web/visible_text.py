"""What a person reads on a page: its text nodes and the attributes a
browser shows or speaks (title, aria-label, placeholder, alt), for the
"no French left" checks in aiohttp and browser tests alike."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.i18n import LANGUAGES

SPOKEN = ("title", "aria-label", "placeholder", "alt")
LATIN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ]")
# Names of products and formats: the same in every language.
PRODUCTS = ("Petites Voix", "Apple Podcasts", "AntennaPod", "Telegram", "Element", "Matrix",
            "RSS", "URL", "Start")  # fmt: skip


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in SPOKEN and value and value.strip():
                self.texts.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return parser.texts


def without_names(text: str, names: set[str]) -> str:
    keep = sorted({*names, *LANGUAGES.values(), *PRODUCTS}, key=len, reverse=True)
    for name in keep:
        text = text.replace(name, " ")
    return text


def left_in_french(
    texts: list[str], french_texts: list[str], names: set[str], *, latin_script: bool
) -> list[str]:
    """The texts of a page in another language that are still French: the
    same sentence as on the French page (names, numbers and the languages'
    and products' own names aside), or, for a language not written in Latin
    letters (Arabic), any Latin letter left once those are taken out."""
    french = set(french_texts)
    found = []
    for text in texts:
        if not LATIN.search(without_names(text, names)):
            continue  # nothing but names, numbers and the page's own script
        if text in french or not latin_script:
            found.append(text)
    return found
