"""The key school and class names are matched on: accents, case and extra
spaces ignored ("École  du Lac" = "ecole du lac")."""

from __future__ import annotations

import unicodedata


def name_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", " ".join(text.split()))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
