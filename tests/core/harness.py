"""A whole service on a memory platform, with a clock the test moves."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from adapters.memory import MemoryAdapter
from bot import admin
from bot.app import Service
from bot.clock import ManualClock
from bot.config import DeliverySettings, ScheduleSettings, Settings
from bot.ports import Attachment, ChatAdapter, ChatRef, MediaMessage, Sender, TextMessage
from bot.service.links import PageUrl
from bot.service.thanks import Thanks

# The teachers' recordings and broken files, kept with the tests.
SAMPLES = Path(__file__).resolve().parents[1] / "samples"

GROUP = "-100500"
CODE_LINE = re.compile(r"^[A-Za-z0-9_-]{20,64}$", re.M)
# A Tuesday morning in term time, Paris: outside quiet hours.
MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        raise FileNotFoundError(path)
    return path


def settings_for(data_dir: Path, database: str | None = None, **schedule: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        database=database,
        schedule=replace(ScheduleSettings(), **schedule),  # type: ignore[arg-type]
        delivery=DeliverySettings(grace_seconds=60),
    )


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def code_in(text: str) -> str:
    match = CODE_LINE.search(text)
    assert match, f"no code standing alone on a line in: {text!r}"
    return match.group(0)


@dataclass
class Stage:
    data_dir: Path
    # A PostgreSQL URL (the tests' server), or None: SQLite in data_dir.
    database: str | None = None
    adapter: MemoryAdapter = field(default_factory=MemoryAdapter)
    clock: ManualClock = field(default_factory=lambda: ManualClock(MORNING))
    settings: Settings | None = None
    service: Service | None = None
    # Platforms beside the memory one (e-mail), and who knows the families' pages.
    more_adapters: dict[str, ChatAdapter] = field(default_factory=dict)
    page_url: PageUrl | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # The language a person's app is set to (Sender.language_code), by user.
    app_languages: dict[str, str] = field(default_factory=dict)

    def sender(self, user: str) -> Sender:
        return Sender(user, user.title(), self.app_languages.get(user))

    async def start(self) -> Service:
        if self.settings is None:
            self.settings = settings_for(self.data_dir, self.database)
        adapters = {"memory": self.adapter, **self.more_adapters}
        self.service = await Service.create(self.settings, adapters, self.clock, self.page_url)
        await self.service.start()
        return self.service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    @property
    def svc(self) -> Service:
        assert self.service is not None
        return self.service

    def mid(self) -> str:
        return f"m{next(self._ids)}"

    async def say(
        self, user: str, text: str, *, chat: str | None = None, reply_to: str | None = None
    ) -> str:
        direct = chat is None
        message_id = self.mid()
        await self.adapter.push(
            TextMessage(
                message_id=message_id,
                chat=ChatRef(chat or user, is_direct=direct),
                sender=self.sender(user),
                text=text,
                reply_to=reply_to,
            )
        )
        return message_id

    async def post_audio(
        self,
        user: str,
        path: Path,
        caption: str = "",
        kind: str = "audio",
        chat: str = GROUP,
        direct: bool = False,
    ) -> str:
        """``direct``: sent in the user's private chat with the bot (``chat``
        is then the user's own id unless given)."""
        if direct and chat == GROUP:
            chat = user
        message_id = self.mid()
        data = path.read_bytes()
        ref = f"file-{message_id}"
        self.adapter.files[ref] = data
        await self.adapter.push(
            MediaMessage(
                message_id=message_id,
                chat=ChatRef(chat, is_direct=direct),
                sender=self.sender(user),
                attachment=Attachment(ref, kind, size=len(data), filename=path.name),  # type: ignore[arg-type]
                caption=caption,
            )
        )
        await self.svc.filing.wait_idle()
        return message_id

    async def invite_teacher(
        self, user: str, school: str = "École du Lac", klass: str = "MS-GS"
    ) -> None:
        result = await admin.invite_teacher(self.svc.ctx, school, klass)
        await self.say(user, f"/start {result['code']}")

    async def setup_class(self, teacher: str = "maitresse") -> None:
        await self.invite_teacher(teacher)
        await self.say(teacher, "/classe", chat=GROUP)
        await self.say(teacher, "/album Le loup qui voulait changer de couleur", chat=GROUP)

    async def invite_parent(
        self, teacher: str, child: str, *parents: str, consent: bool | None = True
    ) -> None:
        """Invite the child's family; ``consent``: the teacher records the
        paper form first (``None``: nothing recorded)."""
        before = len(self.adapter.texts_to(teacher))
        await self.say(teacher, f"/invitation {child}", chat=GROUP)
        code = code_in(self.adapter.texts_to(teacher)[before])
        if consent is not None:
            await self.say(
                teacher, f"/consentement {child} {'oui' if consent else 'non'}", chat=GROUP
            )
        for parent in parents:
            await self.say(parent, f"/start {code}")

    async def idle(self, timeout: float = 20.0) -> None:
        """Wait until the service provably has nothing left to do at the
        test's clock, so that an assertion "nothing was sent" can fail.

        Idle means, seen several times in a row: no delivery or digest due
        (``next_try_at`` <= now), no digest period due and not yet planned (the
        alarm's tick is done here rather than waited for), no recording past
        its undo window still waiting, none being filed or prepared, no morning
        line of thanks due and no teacher notice unsent, no send in flight in a
        worker or on the platform. Work found is woken up and
        given time; past ``timeout`` the test fails naming what stayed busy.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        calm = 0
        while calm < 3:
            busy = await self._busy()
            if busy:
                calm = 0
                if loop.time() > deadline:
                    raise AssertionError(f"the service never became idle: {busy}")
                self.svc.ctx.wake.deliveries()
                self.svc.ctx.wake.publisher.set()
            else:
                calm += 1
            await asyncio.sleep(0.02)

    async def _busy(self) -> str:
        """What the service still has to do now ("" when nothing)."""
        svc, now = self.svc, self.clock.now()
        repos = svc.ctx.repos
        if await svc.digests.planner.plan():
            return "a digest period fell due"
        if await repos.recordings.due_for_publishing(now):
            return "a recording past its undo window"
        if svc.filing._tasks:
            return "a recording being filed or prepared"
        for platform in svc.ctx.adapters:
            if await repos.deliveries.due(platform, now, 1):
                return f"a delivery due on {platform}"
            if await repos.digests.due(platform, now, 1):
                return f"a digest due on {platform}"
        if await Thanks(svc.ctx).due():
            svc.ctx.wake.notices.set()
            return "the morning line of thanks is due"
        for platform in svc.ctx.adapters:
            if await repos.year_end.notices(platform):
                svc.ctx.wake.notices.set()
                return f"a teacher notice due on {platform}"
        for platform in svc.ctx.adapters:
            if await repos.recordings.answers_due(platform, 1):
                return f"a teacher's answer due on {platform}"
        if any(worker._in_flight for worker in svc.workers):
            return "a send in flight in a delivery worker"
        if self.adapter.in_flight:
            return "a send in flight on the platform"
        return ""

    async def publish(self) -> None:
        """End the undo window of everything waiting and let it go out."""
        self.clock.advance(self.svc.ctx.settings.delivery.grace_seconds + 1)
        await self.svc.publisher.publish_due()
