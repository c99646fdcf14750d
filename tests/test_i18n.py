"""The language travels with the task answering a family, never globally."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import LANGUAGES, SOURCE, _, language, speaking, supported, text_direction

TAGS = st.one_of(
    st.sampled_from(["ar", "pt-BR", "en_US", "ES", "tr-TR", "fr-CA", "de", "", "zz-ar"]),
    st.text(max_size=8),
    st.none(),
)


@given(st.lists(TAGS, max_size=6))
def test_nested_languages_are_restored_on_the_way_out(tags: list[str | None]) -> None:
    def nest(rest: list[str | None], outer: str) -> None:
        assert language() == outer
        if not rest:
            return
        with speaking(rest[0]) as lang:
            assert lang == (supported(rest[0]) or SOURCE) and lang in LANGUAGES
            nest(rest[1:], lang)
        assert language() == outer

    nest(tags, language())
    assert language() == SOURCE


@given(TAGS)
def test_a_tag_maps_to_one_of_the_six_or_none(tag: str | None) -> None:
    found = supported(tag)
    assert found is None or (found in LANGUAGES and tag and tag.lower().startswith(found))


async def test_two_families_answered_at_once_keep_their_own_language() -> None:
    """Interleaved tasks (two parents writing at the same moment) never see
    each other's language: the contextvar is per task."""
    seen: dict[str, list[str]] = {"ar": [], "pt": []}
    both_inside = asyncio.Barrier(2)

    async def answer(code: str) -> None:
        with speaking(code):
            await both_inside.wait()
            for _round in range(5):
                seen[code].append(_("Chaque jour"))
                await asyncio.sleep(0)

    await asyncio.gather(answer("ar"), answer("pt"))
    assert seen == {"ar": ["كل يوم"] * 5, "pt": ["Todos os dias"] * 5}
    assert language() == SOURCE and _("Chaque jour") == "Chaque jour"
    assert text_direction("ar") == "rtl" and text_direction() == "ltr"
