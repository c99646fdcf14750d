"""Splitting texts for Telegram's 4,096 UTF-16 unit limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.telegram.text import split_text, truncate, utf16_len

TOKENS = [*"abcdé ,.\n", "🎧", "👧🏽", "\n\n", "enregistrement "]
texts = st.lists(st.sampled_from(TOKENS), max_size=300).map("".join)


@given(texts, st.integers(min_value=8, max_value=200))
def test_pieces_fit_and_keep_every_word(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(utf16_len(p) <= limit for p in pieces)
    assert "".join(text.split()) == "".join("".join(pieces).split())
    assert pieces  # never nothing to send


def test_cuts_at_a_line_when_it_can() -> None:
    text = ("a" * 3000) + "\n" + ("b" * 3000)
    assert split_text(text) == ["a" * 3000, "b" * 3000]


def test_emoji_count_twice() -> None:
    text = "🎧" * 3000  # 6,000 UTF-16 units
    pieces = split_text(text)
    assert [utf16_len(p) for p in pieces] == [4096, 6000 - 4096]


@given(texts)
def test_truncate_fits_a_caption(text: str) -> None:
    out = truncate(text, 64)
    assert utf16_len(out) <= 64
    assert out == text or out.endswith("…")
