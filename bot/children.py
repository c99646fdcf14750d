"""Children's names as teachers type them: folded keys, initials, tags.

Two children of a class with the same first name are told apart by an
initial (``Léa B.``, ``Léa M.``); in a tag a space is written ``_`` and the
dot may be left out (``#Léa_B``). A bare first name that fits two children
is ambiguous and is never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.text_norm import fold
from storage.records import Child


def child_key(name: str) -> str:
    """'Léa B.' / '#léa_b' / 'LEA  B' -> 'lea b': what makes a name unique."""
    words = fold(name.replace("_", " ").replace(".", " ")).split()
    return " ".join(words)


def tidy_child_name(text: str) -> str:
    """'léa_b' -> 'Léa B.': the way a name is shown, initial with its dot."""
    words = text.replace("_", " ").split()
    if not words:
        return ""
    words[0] = words[0][:1].upper() + words[0][1:]
    last = words[-1].rstrip(".")
    if len(words) > 1 and len(last) == 1 and last.isalpha():
        words[-1] = last.upper() + "."
    return " ".join(words)


@dataclass(frozen=True)
class NameMatch:
    child: Child | None  # the one child meant
    candidates: tuple[Child, ...] = ()  # several fit: ambiguous

    @property
    def ambiguous(self) -> bool:
        return self.child is None and len(self.candidates) > 1


def find_by_name(name: str, children: Sequence[Child]) -> NameMatch:
    """The child ``name`` means: its exact name, or a first name that fits
    one child only. Several fitting children: ambiguous."""
    key = child_key(name)
    if not key:
        return NameMatch(None)
    exact = [c for c in children if child_key(c.first_name) == key]
    if exact:
        return NameMatch(exact[0])
    fitting = tuple(c for c in children if child_key(c.first_name).split(" ")[0] == key)
    if len(fitting) == 1:
        return NameMatch(fitting[0])
    return NameMatch(None, fitting)


def ambiguity_question(name: str, candidates: Sequence[Child]) -> str:
    """French: which one? With the tags that tell them apart."""
    tags = " ou ".join(f"#{c.first_name.replace(' ', '_').rstrip('.')}" for c in candidates)
    return f"Il y a plusieurs « {name} » dans la classe : lequel ? Écrivez {tags}."
