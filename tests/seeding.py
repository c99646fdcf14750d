"""A class with subscribed families and one recording already prepared for
phones, written straight through the repositories: fan-out tests and
benchmarks start from here without the cost of real ingest."""

from __future__ import annotations

import os
from collections.abc import Sequence

from bot.service.context import Context
from storage.repos.recordings import NewRecording, ProcessedFiles


async def class_with_held_recording(
    ctx: Context,
    chat_ids: Sequence[str],
    *,
    platform: str = "telegram",
    voice_bytes: int = 40_000,
    duration_s: float = 10.0,
) -> int:
    """One family per chat; the recording waits in ``held`` until the caller
    releases it (``recordings.release_held``). Returns the recording id."""
    repos, now = ctx.repos, ctx.clock.now()
    school = await repos.schools.ensure_school("École des Oliviers", now)
    klass = await repos.schools.ensure_class(school.id, "Moyens", "4 16:30", now)
    for chat in chat_ids:
        name = f"Enfant{chat}"
        child, _ = await repos.families.ensure_child(klass.id, name, name.lower(), now)
        await repos.families.set_consent(child.id, True, now)  # the paper form is signed
        guardian = await repos.families.upsert_guardian(platform, chat, chat, now)
        await repos.families.subscribe(guardian.id, child.id, klass.id, now)
    album, _ = await repos.albums.make_current(
        klass.id, "Le loup qui voulait changer de couleur", "le loup", now
    )
    rec = await repos.recordings.create(
        NewRecording(
            album_id=album.id,
            class_id=klass.id,
            title="Groupe 1",
            platform=platform,
            source_chat_id="-4001",
            source_message_id="1",
            attachment_ref="unused",
            attachment_kind="voice",
            posted_by=f"{platform}:501",
            is_private=False,
            private_child_id=None,
            tagged_child_ids=(),
        ),
        now,
    )
    assert rec is not None
    voice = await ctx.media.put_bytes(b"OggS" + os.urandom(voice_bytes - 4))
    compat = await ctx.media.put_bytes(os.urandom(voice_bytes))
    files = ProcessedFiles(voice, voice, compat, "audio/mpeg", duration_s, ())
    assert await repos.recordings.set_processed(rec.id, files, "held", None)
    return rec.id
