"""The catalogs hold every text a family can be shown, in every language."""

from __future__ import annotations

import gettext
import io
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES, SOURCE, catalog, compile_po, ngettext, po_path, speaking

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
# The web pages' templates, as babel.cfg extracts them (`make locales`).
METHODS = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
]
TEMPLATE_OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PERCENT_FIELD = re.compile(r"%\((\w+)\)s")
TRANSLATED = [code for code in LANGUAGES if code != SOURCE]


def used_in_code() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=METHODS, options_map=TEMPLATE_OPTIONS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def load(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f)


def fields(text: str) -> set[str]:
    """``{name}`` (Python's str.format) and ``%(name)s`` (the templates')."""
    braces = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    return braces | {f"%{name}" for name in PERCENT_FIELD.findall(text)}


def test_the_templates_texts_are_in_the_catalogs() -> None:
    # The pages' own texts: a template that bypasses the catalogs fails here.
    assert "Réglages" in used_in_code() and "La classe %(of_child)s" in used_in_code()


def test_the_template_is_up_to_date() -> None:
    with (LOCALES / "petites_voix.pot").open("rb") as f:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert used_in_code() == template, "run `make locales`"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_text_is_translated(lang: str) -> None:
    cat = load(lang)
    ids = {m.id if isinstance(m.id, str) else m.id[0]: m for m in cat if m.id}
    missing = used_in_code() - ids.keys()
    assert not missing, f"{lang}: untranslated {sorted(missing)[:5]}"
    for message in ids.values():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{lang}: empty translation of {message.id!r}"
        assert not message.fuzzy, f"{lang}: fuzzy {message.id!r}"
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set().union(*(fields(s) for s in sources))
        for form in forms:
            assert fields(form) == expected, f"{lang}: placeholders of {message.id!r}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_plural_forms_compile_and_match_the_language(lang: str) -> None:
    cat = load(lang)
    plural = gettext.c2py(cat.plural_expr)
    assert all(0 <= plural(n) < cat.num_plurals for n in range(0, 250))
    for message in cat:
        if message.id and isinstance(message.id, tuple):
            assert len(message.string) == cat.num_plurals, f"{lang}: {message.id[0]!r}"
    compiled = gettext.GNUTranslations(io.BytesIO(compile_po(po_path(lang).read_bytes())))
    assert compiled.ngettext("{count} enregistrement", "{count} enregistrements", 1)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalog_says_whether_a_native_speaker_reviewed_it(lang: str) -> None:
    # In the header comment, which `pybabel update` keeps.
    head = po_path(lang).read_text(encoding="utf-8").split("msgid", 1)[0]
    assert "# Native speaker review: " in head


def test_a_family_reads_its_language_and_others_keep_french() -> None:
    catalog.cache_clear()
    with speaking("pt"):
        assert ngettext("{count} enregistrement", "{count} enregistrements", 2) == (
            "{count} gravações"
        )
        with speaking("ar"):
            assert "تسجيل" in ngettext("{count} enregistrement", "{count} enregistrements", 11)
    with speaking("de"):  # not one of the six: French
        assert ngettext("{count} enregistrement", "{count} enregistrements", 2).endswith("ments")
    assert ngettext("{count} enregistrement", "{count} enregistrements", 1).endswith("ment")
