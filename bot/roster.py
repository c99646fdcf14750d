"""A class's children from an ONDE export (the national primary-school register).

ONDE exports class lists as ``;``-separated CSV, in UTF-8 (with or without a
BOM) or in Windows-1252, with column names that change between versions.
Only the first name and the class label are kept: family names, birth dates
and the rest of the row never leave this module.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

_HEADER_SEARCH_ROWS = 10  # an export may start with a title line or two
_EXCLUDED_WORDS = {
    "autre",
    "autres",
    "responsable",
    "responsables",
    "resp",
    "representant",
    "legal",
    "parent",
    "pere",
    "mere",
    "tuteur",
}


@dataclass(frozen=True)
class RosterChild:
    first_name: str
    class_label: str | None
    # Only the family name's initial, kept to tell two children apart.
    surname_initial: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Roster:
    children: tuple[RosterChild, ...]
    warnings: tuple[str, ...]  # French, e.g. "Ligne 7 : prénom vide, ignorée."


class RosterError(Exception):
    """An export that cannot be read; ``message_fr`` says why, for the user."""

    def __init__(self, message_fr: str) -> None:
        super().__init__(message_fr)
        self.message_fr = message_fr


def parse_onde_csv(data: bytes, *, class_label: str | None = None) -> Roster:
    """The children of ``data``, only those of ``class_label`` when given.

    ``class_label`` matches whatever the case, accents, spaces and dashes
    (``ms gs`` finds ``MS-GS``). Two children with the same first name are
    both returned, with a warning.
    """
    text = _decode(data)
    rows = _read_rows(text)
    if not rows:
        raise RosterError("Le fichier est vide.")
    header_index, first_col, class_col = _find_header(rows)
    surname_col = _best_column(rows[header_index][1], _surname_rank)

    children: list[RosterChild] = []
    warnings: list[str] = []
    lines_by_name: dict[str, list[int]] = defaultdict(list)
    classes_seen: dict[str, str] = {}
    wanted = _compact(class_label) if class_label is not None else None
    if wanted is not None and class_col is None:
        warnings.append("Pas de colonne de classe dans ce fichier : tous ses élèves sont gardés.")
    for line, row in rows[header_index + 1 :]:
        if not any(cell.strip() for cell in row):
            continue
        label = _cell(row, class_col) if class_col is not None else ""
        if label:
            classes_seen.setdefault(_compact(label), label)
        if wanted is not None and class_col is not None and not _label_matches(label, wanted):
            continue
        name = _clean_name(_cell(row, first_col))
        if not name:
            warnings.append(f"Ligne {line} : prénom vide, ignorée.")
            continue
        surname = _cell(row, surname_col) if surname_col is not None else ""
        initial = next((c.upper() for c in surname if c.isalpha()), None)
        children.append(RosterChild(name, label or None, initial))
        lines_by_name[name.casefold()].append(line)

    if not children:
        if wanted is not None and class_col is not None and classes_seen:
            found = ", ".join(sorted(classes_seen.values()))
            raise RosterError(
                f"Aucun élève de la classe « {class_label} » dans ce fichier. "
                f"Classes trouvées : {found}."
            )
        raise RosterError("Aucun élève dans ce fichier.")
    for key, lines in lines_by_name.items():
        if len(lines) > 1:
            name = next(c.first_name for c in children if c.first_name.casefold() == key)
            where = ", ".join(str(n) for n in lines)
            warnings.append(
                f"Prénom « {name} » présent {len(lines)} fois (lignes {where}) : "
                "tous sont gardés, avec l'initiale de leur nom pour les distinguer."
            )
    return Roster(children=tuple(children), warnings=tuple(warnings))


# --------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if not data.strip():
        raise RosterError("Le fichier est vide.")
    if data.startswith(b"PK\x03\x04"):
        raise RosterError(
            "Ce fichier est un classeur (Excel ou LibreOffice), pas un CSV : "
            "exportez-le au format CSV, séparateur point-virgule."
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise RosterError("Ce fichier n’est pas un fichier CSV (texte) lisible.")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every row, blank rows included."""
    sample = [line for line in text.splitlines() if line.strip()][:_HEADER_SEARCH_ROWS]
    # ONDE writes ";"; a sheet saved again elsewhere may give tabs or commas.
    delimiter = next((d for d in ";\t," if any(d in line for line in sample)), ";")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        start = 1
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise RosterError(f"Ce fichier CSV est mal formé (ligne {reader.line_num}).") from exc
    if not any(any(cell.strip() for cell in row) for _, row in rows):
        return []
    return rows


def _find_header(rows: list[tuple[int, list[str]]]) -> tuple[int, int, int | None]:
    """Index of the header row, column of the first name, column of the class."""
    non_blank = [i for i, (_, row) in enumerate(rows) if any(c.strip() for c in row)]
    for index in non_blank[:_HEADER_SEARCH_ROWS]:
        header = rows[index][1]
        first_col = _best_column(header, _first_name_rank)
        if first_col is not None:
            return index, first_col, _best_column(header, _class_rank)
    seen = ", ".join(f"« {c.strip()} »" for c in rows[non_blank[0]][1] if c.strip())
    raise RosterError(
        f"Colonne du prénom introuvable : il faut une colonne « Prénom ». Colonnes lues : {seen}."
    )


def _best_column(header: list[str], rank: Callable[[list[str]], int | None]) -> int | None:
    ranked = [(r, i) for i, name in enumerate(header) if (r := rank(_words(name))) is not None]
    return min(ranked)[1] if ranked else None


def _first_name_rank(words: list[str]) -> int | None:
    """0: the usual first name, 1: 'Prénom', 2: another child's first-name column."""
    found = set(words)
    if not ({"prenom", "prenoms"} & found) or _EXCLUDED_WORDS & found:
        return None
    if "nom" in found:  # "Nom Prénom": the family name comes with it
        return None
    if any(w.isdigit() and w != "1" for w in words):  # "Prénom 2", "Prénom 3"
        return None
    if "usuel" in found:
        return 0
    return 1 if words == ["prenom"] else 2


def _surname_rank(words: list[str]) -> int | None:
    """The child's family name: 'Nom', 'Nom de famille', 'Nom d'usage', 'Nom élève'."""
    found = set(words)
    if "nom" not in found or {"prenom", "prenoms"} & found or _EXCLUDED_WORDS & found:
        return None
    if any(w.isdigit() for w in words):
        return None
    return 0 if words == ["nom"] or "usage" in found else 1


def _class_rank(words: list[str]) -> int | None:
    """0 for a class column, 1 for a level column (PS, MS, GS), None otherwise."""
    if _EXCLUDED_WORDS & set(words):
        return None
    if {"classe", "classes"} & set(words):
        return 0
    if "niveau" in words:
        return 1
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(header: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(header))


def _compact(label: str) -> str:
    return "".join(re.findall(r"[a-z0-9]+", _fold(label)))


def _label_matches(label: str, wanted: str) -> bool:
    return bool(label) and (
        _compact(label) == wanted or wanted in (_compact(part) for part in label.split(","))
    )


def _cell(row: list[str], column: int) -> str:
    return row[column].strip() if column < len(row) else ""


def _clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if name.isupper():  # "ZOÉ", "JEAN-BAPTISTE": written as on a slip
        name = name.title()
    return name
