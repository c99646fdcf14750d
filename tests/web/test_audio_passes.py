"""Audio behind a link is answered from a pass kept for a moment (a phone
sends many Range requests); every change of who may hear what cuts it at
once in this process, and within the pass's life from another process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from bot.app import open_context
from bot.service.audience import CACHE_S
from bot.service.erasure import Erasure
from bot.service.withdrawal import Withdrawal
from bot.web.audio_passes import PASS_S, AudioPass, AudioPasses
from tests.web.kit import School, school_online

ALBUM = "Le loup qui voulait changer de couleur"


async def _heard_once(school: School, client: TestClient[object, object]) -> tuple[str, int]:
    """Lina's audio path, fetched once so that its pass is kept."""
    await school.klass("MS-GS")
    await school.child("MS-GS", "Lina")
    await school.album("MS-GS", ALBUM)
    rec = await school.recording(ALBUM, "Groupe 1", names=("Lina",))
    audio = f"{await school.page('Lina')}/audio/{rec}.mp3"
    assert (await client.get(audio, headers={"Range": "bytes=0-1"})).status == 206
    token = audio.split("/")[2]
    assert school.services.passes.get(token, rec, school.ctx.audience.generation.value, 0.0)
    return audio, rec


async def test_a_new_link_cuts_the_old_links_audio_at_once(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        audio, _rec = await _heard_once(school, client)
        page = audio.rsplit("/audio/", 1)[0]
        moved = await client.post(f"{page}/nouveau-lien", allow_redirects=False)
        fresh = moved.headers["Location"].split("?")[0]
        assert (await client.get(audio)).status == 404
        assert (await client.get(audio.replace(page, fresh))).status == 200


async def test_a_family_leaving_cuts_its_audio_at_once(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        audio, _rec = await _heard_once(school, client)
        page = audio.rsplit("/audio/", 1)[0]
        left = await client.post(f"{page}/quitter", data={"confirmer": "oui"})
        assert left.status == 200 and "Au revoir" in await left.text()
        assert (await client.get(audio)).status == 404


async def test_a_withdrawn_recording_is_cut_at_once(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        audio, rec = await _heard_once(school, client)
        await Withdrawal(school.ctx).withdraw(rec, "memory:maitresse")
        assert (await client.get(audio)).status == 404


async def test_an_erased_child_is_cut_at_once(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        audio, _rec = await _heard_once(school, client)
        await Erasure(school.ctx).child(school.children["Lina"])
        assert (await client.get(audio)).status == 404


async def test_a_consent_withdrawn_by_another_process_cuts_the_audio_soon(
    tmp_path: Path,
) -> None:
    async with school_online(tmp_path) as (school, client):
        audio, _rec = await _heard_once(school, client)
        other = await open_context(school.ctx.settings, {}, school.clock)
        try:  # the same database, its own caches: nothing bumped here
            await other.repos.families.set_consent(
                school.children["Lina"], False, school.clock.now()
            )
        finally:
            await other.close()
        await asyncio.sleep(max(PASS_S, CACHE_S) + 0.2)
        assert (await client.get(audio)).status == 404


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "get", "bump"]),
            st.integers(min_value=0, max_value=3),  # which recording
            st.floats(min_value=0, max_value=0.6, allow_nan=False),  # time passing
        ),
        max_size=40,
    )
)
def test_a_pass_answers_only_while_young_and_nothing_changed(
    steps: list[tuple[str, int, float]],
) -> None:
    passes = AudioPasses()
    now, generation = 0.0, 0
    granted: dict[int, tuple[float, int]] = {}  # recording -> (given at, generation)
    for action, rec, gap in steps:
        now += gap
        if action == "bump":
            generation += 1
        elif action == "put":
            passes.put("t", rec, AudioPass(1, "ab" * 32, "01.mp3", generation, now + PASS_S), now)
            granted[rec] = (now, generation)
        else:
            expected = (
                rec in granted and granted[rec][1] == generation and now < granted[rec][0] + PASS_S
            )
            assert (passes.get("t", rec, generation, now) is not None) == expected
