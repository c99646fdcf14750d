"""Telegram counts text length in UTF-16 code units: split long texts safely."""

from __future__ import annotations

MAX_TEXT = 4096
MAX_CAPTION = 1024


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_fitting(text: str, limit: int) -> int:
    """Length (in characters) of the longest prefix of ``text`` within ``limit`` units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, cut at a paragraph, a line or a
    space when one lies in the second half of a piece; nothing is lost but the
    whitespace at the cuts."""
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut = _prefix_fitting(rest, limit)
        head = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = head.rfind(sep)
            if at > cut // 2:
                cut = at
                break
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def truncate(text: str, limit: int = MAX_CAPTION) -> str:
    """``text`` cut to ``limit`` UTF-16 units, with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    return text[: _prefix_fitting(text, limit - 1)].rstrip() + "…"
