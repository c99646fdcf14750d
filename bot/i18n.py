"""The family's language, carried by the task that answers it.

French is the source language: every message id is the French text, so a
missing translation falls back to French. The language of the person being
answered lives in a :class:`contextvars.ContextVar` (each event, delivery or
digest sets it for its own task): never ``gettext.install()``.

Catalogs are ``bot/locales/<lang>/LC_MESSAGES/petites_voix.po``; the ``.mo``
beside each is compiled at install (``make``); if it is missing or older than
its ``.po`` (a fresh clone, a translator's edit) the ``.po`` is compiled in
memory instead, so a stale binary never hides a fix.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN: Final = "petites_voix"
SOURCE: Final = "fr"
# The six languages, and each one's name in itself (for the chooser).
LANGUAGES: Final = {
    "fr": "Français",
    "ar": "العربية",
    "en": "English",
    "es": "Español",
    "pt": "Português",
    "tr": "Türkçe",
}
RIGHT_TO_LEFT: Final = frozenset({"ar"})
LOCALES: Final = Path(__file__).parent / "locales"

_current: ContextVar[str] = ContextVar("petites_voix_language", default=SOURCE)


def language() -> str:
    """The language of whoever is being answered now."""
    return _current.get()


def supported(code: str | None) -> str | None:
    """One of the six codes, from a platform's tag ("pt-BR", "en_US"), or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


@contextmanager
def speaking(code: str | None) -> Iterator[str]:
    """Within the block, ``_()`` answers in ``code`` (French when unknown)."""
    lang = supported(code) or SOURCE
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined; ``_()`` it where shown."""
    return message


def is_rtl(code: str | None = None) -> bool:
    return (code or _current.get()) in RIGHT_TO_LEFT


def text_direction(code: str | None = None) -> str:
    """``rtl`` or ``ltr``: the ``dir`` of a page in that language (the current one)."""
    return "rtl" if is_rtl(code) else "ltr"


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of one language (read once per process)."""
    if lang == SOURCE or lang not in LANGUAGES:
        return gettext.NullTranslations()
    po = po_path(lang)
    mo = po.with_suffix(".mo")
    data = mo.read_bytes() if _fresh(mo, po) else compile_po(po.read_bytes())
    return gettext.GNUTranslations(io.BytesIO(data))


def compile_po(po_bytes: bytes) -> bytes:
    """A ``.po`` file's content as ``.mo`` bytes."""
    parsed = read_po(io.BytesIO(po_bytes))
    out = io.BytesIO()
    write_mo(out, parsed)
    return out.getvalue()


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _fresh(mo: Path, po: Path) -> bool:
    try:
        return mo.stat().st_mtime >= po.stat().st_mtime
    except OSError:
        return False
