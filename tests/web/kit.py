"""A class with published recordings, written through the repositories with
real prepared files (the samples), and the web application over it on
aiohttp's test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import open_context
from bot.clock import ManualClock
from bot.config import Settings, WebSettings
from bot.service.context import Context
from bot.web.server import build_app
from bot.web.services import WebServices
from storage.repos.recordings import NewRecording, ProcessedFiles
from tests.core.harness import MORNING, SAMPLES

PUBLIC_URL = "https://voix.example.org"
MP3 = SAMPLES / "loup_groupe2.mp3"
VOICE = SAMPLES / "loup_groupe3_voice.ogg"


@dataclass
class School:
    ctx: Context
    services: WebServices
    clock: ManualClock
    children: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    albums: dict[str, int] = field(default_factory=dict)
    _messages: int = 0

    async def klass(self, name: str, school: str = "École du Lac") -> int:
        now = self.clock.now()
        s = await self.ctx.repos.schools.ensure_school(school, now)
        k = await self.ctx.repos.schools.ensure_class(s.id, name, "4 16:30", now)
        self.classes[name] = k.id
        return k.id

    async def child(self, class_name: str, first_name: str, consent: bool | None = True) -> int:
        class_id = self.classes[class_name]
        now = self.clock.now()
        child, _ = await self.ctx.repos.families.ensure_child(
            class_id, first_name, first_name.lower(), now
        )
        if consent is not None:
            await self.ctx.repos.families.set_consent(child.id, consent, now)
        self.children[first_name] = child.id
        return child.id

    async def album(self, class_name: str, title: str) -> int:
        album, _ = await self.ctx.repos.albums.make_current(
            self.classes[class_name], title, title.lower(), self.clock.now()
        )
        self.albums[title] = album.id
        return album.id

    async def recording(
        self,
        album: str,
        title: str,
        *,
        names: tuple[str, ...] = (),
        private_for: str | None = None,
        mp3: Path = MP3,
    ) -> int:
        repos, now = self.ctx.repos, self.clock.now()
        album_row = await repos.albums.get(self.albums[album])
        assert album_row is not None
        self._messages += 1
        tagged = tuple(self.children[n] for n in names)
        private = self.children[private_for] if private_for else None
        rec = await repos.recordings.create(
            NewRecording(
                album_id=album_row.id,
                class_id=album_row.class_id,
                title=title,
                platform="memory",
                source_chat_id="-1",
                source_message_id=str(self._messages),
                attachment_ref="unused",
                attachment_kind="audio",
                posted_by="memory:maitresse",
                is_private=private is not None,
                private_child_id=private,
                tagged_child_ids=tagged + ((private,) if private else ()),
            ),
            now,
        )
        assert rec is not None
        files = ProcessedFiles(
            await self.ctx.media.put_file(VOICE),
            await self.ctx.media.put_file(VOICE),
            await self.ctx.media.put_file(mp3),
            "audio/mpeg",
            5.7,
            (),
        )
        assert await repos.recordings.set_processed(rec.id, files, "waiting", now)
        outcome = await repos.deliveries.publish(rec.id, now, now)
        assert outcome.published, outcome
        self.clock.advance(60)
        return rec.id

    async def page(self, first_name: str) -> str:
        """The path of the family's page (made on first use)."""
        return f"/f/{await self.services.pages.token_for(self.children[first_name])}"


def web_settings(data_dir: Path, **privacy: bool) -> Settings:
    from bot.config import PrivacySettings

    return Settings(
        data_dir=data_dir,
        web=WebSettings(PUBLIC_URL, "127.0.0.1", 0),
        privacy=PrivacySettings(**privacy),
    )


@asynccontextmanager
async def school_online(
    data_dir: Path, settings: Settings | None = None
) -> AsyncIterator[tuple[School, TestClient[object, object]]]:
    clock = ManualClock(MORNING)
    ctx = await open_context(settings or web_settings(data_dir), {}, clock)
    services = WebServices.build(ctx)
    try:
        async with TestClient(TestServer(build_app(services))) as client:
            yield School(ctx, services, clock), client
    finally:
        await ctx.close()
