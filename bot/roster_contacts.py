"""Guardians' e-mail addresses from the ONDE "responsables" export.

One row per guardian (civility, name, street address, phones, e-mail), then
the guardian's children, the same three columns repeating for each child
(family name, first name, classes). Only each guardian's e-mail address
linked to each child's first name (and, when two children of a class share
it, the initial of the family name) leaves this module: never a phone, a
street address or a guardian's name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.roster import (
    _HEADER_SEARCH_ROWS,
    RosterError,
    _cell,
    _clean_name,
    _compact,
    _decode,
    _read_rows,
    _words,
)
from bot.service.email_signup import clean_address

_EMAIL_WORDS = {"courriel", "email", "mail", "mel", "electronique"}
_CHILD_WORDS = {"enfant", "enfants", "eleve", "eleves"}


@dataclass(frozen=True)
class ContactLink:
    """One guardian's address for one child."""

    first_name: str  # "Léa", or "Léa M." when two children share it in the file
    class_label: str | None
    address: str


@dataclass(frozen=True)
class Responsables:
    links: tuple[ContactLink, ...]
    # Every child of the file, with or without an address: (first name, class).
    children: tuple[tuple[str, str | None], ...]
    guardians: int  # rows read
    without_email: int  # rows without a usable address
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _ChildColumns:
    first: int
    family: int | None
    label: int | None


@dataclass(frozen=True)
class _Header:
    index: int
    email: int
    children: tuple[_ChildColumns, ...]


def is_responsables(data: bytes) -> bool:
    """Whether this export is the guardians' one (told by its header)."""
    try:
        rows = _read_rows(_decode(data))
    except RosterError:
        return False
    return _find_header(rows) is not None


def parse_responsables(data: bytes) -> Responsables:
    rows = _read_rows(_decode(data))
    header = _find_header(rows)
    if header is None:
        raise RosterError(
            "Ce fichier n'est pas l'export des responsables : il faut une colonne "
            "« Courriel » et les colonnes « Prénom enfant »."
        )
    found: list[tuple[str, str, str | None, str]] = []  # first, family, label, address
    guardians = without = 0
    warnings: list[str] = []
    for line, row in rows[header.index + 1 :]:
        if not any(cell.strip() for cell in row):
            continue
        guardians += 1
        raw = _cell(row, header.email)
        address = clean_address(raw)
        if address is None:
            without += 1
            if raw:
                warnings.append(f"Ligne {line} : adresse e-mail illisible, ignorée.")
        for child in header.children:
            first = _clean_name(_cell(row, child.first))
            if not first:
                continue
            family = _cell(row, child.family) if child.family is not None else ""
            cls = _cell(row, child.label) if child.label is not None else ""
            found.append((first, family, cls or None, address or ""))
    # Two children of one class with the same first name: an initial tells them apart.
    families: dict[tuple[str, str], set[str]] = defaultdict(set)
    for first, family, label, _ in found:
        families[(first.casefold(), _compact(label or ""))].add(family.casefold())
    links: list[ContactLink] = []
    children: list[tuple[str, str | None]] = []
    for first, family, label, address in found:
        name = first
        if len(families[(first.casefold(), _compact(label or ""))]) > 1 and family:
            name = f"{first} {family[0].upper()}."
        if (name, label) not in children:
            children.append((name, label))
        link = ContactLink(name, label, address)
        if address and link not in links:
            links.append(link)
    return Responsables(tuple(links), tuple(children), guardians, without, tuple(warnings))


def _find_header(rows: list[tuple[int, list[str]]]) -> _Header | None:
    non_blank = [i for i, (_, row) in enumerate(rows) if any(c.strip() for c in row)]
    for index in non_blank[:_HEADER_SEARCH_ROWS]:
        words = [_words(name) for name in rows[index][1]]
        email = next((i for i, w in enumerate(words) if _EMAIL_WORDS & set(w)), None)
        firsts = [
            i
            for i, w in enumerate(words)
            if {"prenom", "prenoms"} & set(w) and _CHILD_WORDS & set(w)
        ]
        if email is None or not firsts:
            continue
        children = []
        for n, first in enumerate(firsts):
            end = firsts[n + 1] if n + 1 < len(firsts) else len(words)
            start = firsts[n - 1] + 1 if n else 0
            family = next(
                (
                    i
                    for i in range(first - 1, start - 1, -1)
                    if "nom" in words[i] and _CHILD_WORDS & set(words[i])
                ),
                None,
            )
            label = next(
                (i for i in range(first + 1, end) if {"classe", "classes"} & set(words[i])),
                None,
            )
            children.append(_ChildColumns(first, family, label))
        return _Header(index, email, tuple(children))
    return None
