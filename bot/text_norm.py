"""Folding of what people type: accents and case do not matter."""

from __future__ import annotations

import unicodedata

from storage.names import name_key

__all__ = ["fold", "name_key", "tidy_name"]


def fold(text: str) -> str:
    """'Fréquence' -> 'frequence', 'ÉLÉA' -> 'elea'."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tidy_name(text: str) -> str:
    """A first name as people write it, without stray spaces: 'lina ' -> 'Lina'."""
    name = " ".join(text.split())
    return name[:1].upper() + name[1:] if name else name


def of(name: str) -> str:
    """« de Tom », « d’Inès »: French elides before a vowel sound."""
    return f"d’{name}" if name[:1].lower() in "aeiouyàâéèêëîïôöùûüœh" else f"de {name}"
