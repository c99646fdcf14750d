"""The end of the school year at a controllable clock: announced once two
weeks ahead, each family's keepsake sent once whatever restarts and holding
only what its family may hear then, then the classes emptied, schools and
teachers kept; a dry run changes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from adapters.memory import MemoryAdapter
from bot.config import RetentionSettings
from bot.service.year_end import YearEnd
from tests.core.digests_kit import paris, settle
from tests.core.harness import GROUP, Stage, eventually, sample, settings_for

TEACHER = "maitresse"
CLIP = "loup_groupe3_voice.ogg"
LOUP = "Le loup qui voulait changer de couleur"
LAST_DAY = (7, 3)  # Saturday 3 July 2027
FAMILIES = {"papa": "Lina", "maman": "Tom", "mamie": "Zoé"}
# Every table the year fills; close-year must leave none of these rows.
ERASED = (
    "children",
    "recordings",
    "recording_children",
    "subscriptions",
    "guardians",
    "consent_answers",
    "deliveries",
    "digests",
    "mixes",
    "channels",
    "media_cache",
)


def year_stage(data_dir: Path, **kwargs: object) -> Stage:
    settings = replace(
        settings_for(data_dir), retention=RetentionSettings(school_year_end=LAST_DAY)
    )
    return Stage(data_dir, settings=settings, **kwargs)  # type: ignore[arg-type]


async def a_year(stage: Stage) -> None:
    """Two albums; a recording with Zoé, private ones, one per child."""
    await stage.setup_class(TEACHER)
    for parent, child in FAMILIES.items():
        await stage.invite_parent(TEACHER, child, parent)
    for caption in ("Lina raconte #Lina", "Tom raconte #Tom", "Avec Zoé #Zoé #Lina #Tom"):
        await stage.post_audio(TEACHER, sample(CLIP), caption=caption)
    await stage.say(TEACHER, "/album Comptines", chat=GROUP)
    await stage.post_audio(TEACHER, sample(CLIP), caption="Pour Lina #prive #Lina")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Tous #classe")
    await stage.publish()
    await settle(stage)


async def count(stage: Stage, table: str) -> int:
    return int(await stage.svc.ctx.repos.db.fetchval(f"SELECT COUNT(*) FROM {table}"))


async def mix_key(stage: Stage, *titles: str) -> str:
    """The content key of the keepsake compiled from these recordings, in order."""
    shas = []
    for title in titles:
        sha = await stage.svc.ctx.repos.db.fetchval(
            "SELECT voice_sha FROM recordings WHERE title = $1", title
        )
        shas.append(sha)
    return hashlib.sha256(("|".join(shas) + "|gap=1.0").encode()).hexdigest()


async def keepsakes_sent(stage: Stage, adapters: list[MemoryAdapter], chat: str) -> list[str]:
    """The content keys of the keepsake recordings a family received, in order."""
    keys = []
    for adapter in adapters:
        for sent in adapter.audio_to(chat):
            audio = sent.message.audio
            if audio is None or "l'année de" not in audio.title:
                continue
            key = await stage.svc.ctx.repos.db.fetchval(
                "SELECT content_key FROM mixes WHERE voice_sha = $1", audio.voice.ref
            )
            keys.append(key)
    return keys


def announcements(adapter: MemoryAdapter, chat: str) -> list[str]:
    return [t for t in adapter.texts_to(chat) if t.startswith("L'année scolaire se termine")]


async def test_announced_once_two_weeks_ahead(tmp_path: Path) -> None:
    stage = year_stage(tmp_path / "data")
    await stage.start()
    try:
        await a_year(stage)
        stage.clock.set(paris(2027, 6, 18, 9))  # D-15: not yet
        await YearEnd(stage.svc.ctx).tick()
        await stage.idle()
        assert await count(stage, "digests") == 0
        assert all(announcements(stage.adapter, p) == [] for p in FAMILIES)
        stage.clock.set(paris(2027, 6, 19, 9))  # D-14
        await YearEnd(stage.svc.ctx).tick()
        await settle(stage)
        for parent in FAMILIES:
            (text,) = announcements(stage.adapter, parent)
            assert "samedi 3 juillet 2027" in text
        for moment in (paris(2027, 6, 19, 10), paris(2027, 6, 25, 9)):
            stage.clock.set(moment)
            await YearEnd(stage.svc.ctx).tick()
            await stage.idle()
        await stage.stop()
        await stage.start()
        await YearEnd(stage.svc.ctx).tick()
        await stage.idle()
        assert all(len(announcements(stage.adapter, p)) == 1 for p in FAMILIES)
    finally:
        await stage.stop()


async def test_keepsakes_once_through_a_restart_then_the_year_is_erased(tmp_path: Path) -> None:
    first = year_stage(tmp_path / "data")
    await first.start()
    first.svc.drain_timeout = 0.5
    await a_year(first)
    # Zoé's family withdraws its consent at the end of the year: the
    # recording where she speaks leaves the other families' keepsakes.
    await first.say(TEACHER, "/consentement Zoé non", chat=GROUP)
    # Each family may hear the class recordings naming Lina or Tom; "Avec
    # Zoé" and "Tous" (the whole class speaks) are held back; "Pour Lina"
    # is for Lina's family only.
    album = await mix_key(first, "Lina raconte", "Tom raconte")
    expected = {
        "papa": [album, await mix_key(first, "Pour Lina")],
        "maman": [album],
        "mamie": [album],
    }
    files = {
        sha
        for row in await first.svc.ctx.repos.db.fetch(
            "SELECT voice_sha, compat_sha, original_sha FROM recordings"
        )
        for sha in row
        if sha
    }
    first.clock.set(paris(2027, 7, 3, 9))
    before = {t: await count(first, t) for t in (*ERASED, "schools", "classes", "teachers")}
    dry = await YearEnd(first.svc.ctx).close(dry_run=True)
    assert dry["state"] == "dry_run" and dry["keepsakes"]["open"] == 3
    assert {t: await count(first, t) for t in before} == before

    first.adapter.send_budget = 3  # then the platform stops answering
    report = await YearEnd(first.svc.ctx).close(dry_run=False)
    assert report["state"] == "waiting_for_keepsakes" and report["keepsakes"]["planned_now"] == 3
    await eventually(lambda: first.adapter.send_budget == 0)
    # Keepsakes still on their way: the service's own sweep erases nothing.
    await YearEnd(first.svc.ctx).tick()
    assert await count(first, "recordings") == before["recordings"] == 5
    assert await count(first, "children") == before["children"] == 3
    await first.stop()

    second = year_stage(tmp_path / "data", adapter=MemoryAdapter(), clock=first.clock)
    await second.start()
    try:
        await settle(second)
        both = [first.adapter, second.adapter]
        for parent, keys in expected.items():
            assert await keepsakes_sent(second, both, parent) == keys, parent
        for parent, child in FAMILIES.items():
            texts = [
                t
                for a in both
                for t in a.texts_to(parent)
                if t.startswith("Le souvenir de l'année")
            ]
            assert len(texts) == 1 and child in texts[0] and "3 juillet 2027" in texts[0]

        report = await YearEnd(second.svc.ctx).close(dry_run=False)
        assert report["state"] == "closed", report
        assert report["keepsakes"] == {
            "planned_now": 0, "sent": 3, "empty": 0, "failed": 0, "open": 0
        }  # fmt: skip
        for table in ERASED:
            assert await count(second, table) == 0, table
        assert await count(second, "invitations WHERE kind = 'parent'") == 0
        assert await count(second, "schools") == 1
        assert await count(second, "classes") == 1
        assert await count(second, "teachers") == 1
        assert not [sha for sha in files if await second.svc.ctx.media.exists(sha)]
        # The teacher is told what to do in September, once.
        assert await YearEnd(second.svc.ctx).send_notices() == 1
        (notice,) = [t for t in second.adapter.texts_to(TEACHER) if "septembre" in t]
        assert "/classe" in notice and "consentement" in notice
        assert (await YearEnd(second.svc.ctx).close(dry_run=False))["state"] == "already_closed"
        assert await YearEnd(second.svc.ctx).send_notices() == 0
    finally:
        await second.stop()


async def test_a_pause_does_not_cancel_the_keepsake(tmp_path: Path) -> None:
    stage = year_stage(tmp_path / "data")
    await stage.start()
    try:
        await stage.setup_class(TEACHER)
        await stage.invite_parent(TEACHER, "Lina", "papa")
        await stage.post_audio(TEACHER, sample(CLIP), caption="Lina raconte #Lina")
        await stage.publish()
        await settle(stage)
        stage.clock.set(paris(2027, 7, 3, 9))
        later = paris(2027, 7, 3, 10)
        repos = stage.svc.ctx.repos
        assert await repos.year_end.plan_keepsakes(2027, later, stage.clock.now()) == 1
        await stage.say("papa", "/pause")
        assert await repos.year_end.keepsake_states(2027) == {"planned": 1}
        stage.clock.set(later)
        await settle(stage)
        assert await keepsakes_sent(stage, [stage.adapter], "papa") == [
            await mix_key(stage, "Lina raconte")
        ]
    finally:
        await stage.stop()


async def test_the_year_end_speaks_each_family_s_language(tmp_path: Path) -> None:
    """A Portuguese family reads the announcement, its date and its keepsake
    in Portuguese; a French one in French, from the same run."""
    stage = year_stage(tmp_path / "data")
    await stage.start()
    try:
        await stage.setup_class(TEACHER)
        await stage.invite_parent(TEACHER, "Lina", "papa")
        await stage.invite_parent(TEACHER, "Tom", "mae")
        await stage.say("mae", "/langue pt")
        await stage.post_audio(TEACHER, sample(CLIP), caption="Tous #classe")
        await stage.publish()
        await settle(stage)
        stage.clock.set(paris(2027, 6, 19, 9))  # D-14
        await YearEnd(stage.svc.ctx).tick()
        await settle(stage)
        assert len(announcements(stage.adapter, "papa")) == 1
        assert announcements(stage.adapter, "mae") == []
        (notice,) = [t for t in stage.adapter.texts_to("mae") if "O ano escolar" in t]
        assert "sábado, 3 de julho de 2027" in notice
        assert "effacé" not in notice and "juillet" not in notice

        stage.clock.set(paris(2027, 7, 3, 9))
        repos = stage.svc.ctx.repos
        assert await repos.year_end.plan_keepsakes(2027, paris(2027, 7, 3, 10), stage.clock.now())
        stage.clock.set(paris(2027, 7, 3, 10))
        await settle(stage)
        (text,) = [t for t in stage.adapter.texts_to("mae") if "A recordação do ano de Tom" in t]
        assert "1 álbum" in text and "sábado, 3 de julho de 2027" in text
        titles = [s.message.audio.title for s in stage.adapter.audio_to("mae") if s.message.audio]
        assert any(t.endswith(": o ano de Tom") for t in titles), titles
        assert any("Le souvenir de l'année de Lina" in t for t in stage.adapter.texts_to("papa"))
    finally:
        await stage.stop()
