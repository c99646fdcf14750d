"""Bootstrap: the one place where settings, storage, audio, adapters and
services are wired together, started and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.aio import nap
from bot.audio import AudioLimits, AudioPipeline
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.delivery.worker import DeliveryWorker
from bot.digests import Digests
from bot.leadership import DUTIES, HEARTBEAT_S, account_name, hold, this_process, try_lock
from bot.media_store import MediaStore
from bot.metrics import Metrics
from bot.ports import ChatAdapter, DeliveryError, PermanentFailure, RecipientGone
from bot.service.audience import Audience
from bot.service.context import Context
from bot.service.delivery_news import DeliveryNews
from bot.service.dispatcher import Dispatcher
from bot.service.family_pages import FamilyPages
from bot.service.filing import Filing
from bot.service.links import FamilyLinks, PageUrl
from bot.service.publisher import Publisher
from bot.service.retention import Retention
from bot.service.signing import Signer
from bot.web import email_routes
from bot.web.server import Registrar, WebServer, build_app
from bot.web.services import WebServices
from bot.web_health import HealthServer, add_health_routes
from storage.db import Database, ExclusiveLock
from storage.media import LocalMediaStore
from storage.repos import Repositories

log = logging.getLogger("petites_voix")


class StartupError(Exception):
    """The service cannot start; the message is one French line."""


def database_target(settings: Settings) -> Path | str:
    """The PostgreSQL URL when configured, else the SQLite file in data_dir."""
    return settings.database or settings.data_dir / "petites-voix.sqlite3"


async def open_media(settings: Settings) -> MediaStore:
    """The configured media store: ``[storage] media = "s3://…"``, else the
    ``media`` folder of data_dir."""
    if settings.s3 is None:
        return LocalMediaStore(settings.data_dir / "media")
    from storage.s3_media import S3MediaStore, S3Unavailable  # only when configured

    try:
        store = await S3MediaStore.open(settings.s3)
    except S3Unavailable as exc:
        raise StartupError(f"[storage] media : {exc}") from None
    if await asyncio.to_thread(_has_files, settings.data_dir / "media"):
        # Files from before the move are not read from there any more.
        log.warning(
            "data_dir/media still holds files while media are in S3: copy them into the "
            "bucket (admin copy-storage, or any S3 sync: the names are the same)"
        )
    return store


def _has_files(folder: Path) -> bool:
    return next(folder.glob("??/*"), None) is not None


async def open_context(
    settings: Settings,
    adapters: Mapping[str, ChatAdapter],
    clock: Clock | None = None,
    page_url: PageUrl | None = None,
) -> Context:
    media = await open_media(settings)
    db = await Database.open(database_target(settings))
    repos = Repositories.over(db)
    await repos.schools.fill_missing_keys()
    audio = settings.audio
    metrics = Metrics()
    metrics.declare(sorted(adapters))
    links = None
    # E-mails link to the family's page: its address comes from the family
    # pages, which need the context being built here (bound just below).
    pages: list[FamilyPages] = []

    async def family_page(child_id: int) -> str | None:
        return await pages[0].link_for(child_id) if pages else None

    if settings.web is not None:
        signer = await asyncio.to_thread(Signer.at, settings.data_dir)
        links = FamilyLinks(settings.web.public_url, signer, page_url or family_page)
    ctx = Context(
        settings=settings,
        repos=repos,
        audience=Audience(repos),
        media=media,
        pipeline=AudioPipeline(
            AudioLimits(
                max_bytes=int(audio.max_megabytes * 1024 * 1024),
                max_duration_s=audio.max_minutes * 60,
            ),
            max_concurrency=audio.max_concurrency,
            on_prepared=metrics.preparation,
        ),
        clock=clock or SystemClock(),
        adapters=dict(adapters),
        metrics=metrics,
        links=links,
    )
    pages.append(FamilyPages(ctx))
    return ctx


@dataclass
class Service:
    """The running service: adapters connected, loops running."""

    ctx: Context
    filing: Filing
    dispatcher: Dispatcher
    publisher: Publisher
    workers: list[DeliveryWorker]
    digests: Digests
    web: WebServer | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    health: HealthServer | None = None
    drain_timeout: float = 20.0
    _loops: list[asyncio.Task[None]] = field(default_factory=list)
    # Listening to the other processes' news of deliveries due (PostgreSQL).
    _news: asyncio.Task[None] | None = None
    # Platforms whose adapter is connected in this process.
    _connected: set[str] = field(default_factory=set)
    _caught_up: bool = False

    @property
    def _worker_of(self) -> dict[str, DeliveryWorker]:
        return {w.platform: w for w in self.workers}

    @classmethod
    async def create(
        cls,
        settings: Settings,
        adapters: Mapping[str, ChatAdapter],
        clock: Clock | None = None,
        page_url: PageUrl | None = None,
    ) -> Service:
        ctx = await open_context(settings, adapters, clock, page_url)
        filing = Filing(ctx)
        web_server = None
        if settings.web is not None:
            # /healthz for the proxy's checks; /metrics stays on [metrics] listen,
            # out of the families' reach.
            extra: list[Registrar] = [lambda a, s: add_health_routes(a, s.ctx, metrics=False)]
            if any(a.capabilities.links_not_audio for a in adapters.values()):
                # The address typed on the invitation page, its confirmation,
                # one-click unsubscribe (RFC 8058).
                extra.append(lambda a, s: email_routes.register(a, s.ctx))
            app = build_app(WebServices.build(ctx), extra=extra)
            web_server = WebServer(app, settings.web.listen_host, settings.web.listen_port)
        return cls(
            ctx=ctx,
            filing=filing,
            dispatcher=Dispatcher(ctx, filing),
            publisher=Publisher(ctx),
            workers=[DeliveryWorker(ctx, a, settings.delivery) for a in adapters.values()],
            digests=Digests(ctx),
            web=web_server,
        )

    async def start(self) -> None:
        metrics = self.ctx.settings.metrics
        if metrics is not None:
            # First: /healthz answers 503 while a platform is still awaited.
            self.health = HealthServer(self.ctx, metrics.listen_host, metrics.listen_port)
            try:
                await self.health.start()
            except OSError as exc:
                raise StartupError(
                    f"[metrics] listen : impossible d'écouter sur "
                    f"{metrics.listen_host}:{metrics.listen_port} ({exc.strerror})"
                ) from exc
        if self.web is not None:
            # Family pages answer even while a chat platform is still down.
            try:
                await self.web.start()
            except OSError as exc:
                raise StartupError(
                    f"[web] listen : impossible d'écouter sur {self.web.host}:{self.web.port} "
                    f"({exc.strerror or exc})"
                ) from exc
        ctx, db = self.ctx, self.ctx.repos.db
        ctx.process = this_process()
        if db.single_process:  # claims left by this file's last (dead) process
            await ctx.repos.recordings.release_claims()
        for adapter in ctx.adapters.values():
            name = account_name(ctx.settings, adapter.platform)
            lock = await try_lock(db, name)
            if lock is not None:
                # Held at once (always, on SQLite): connected before start
                # returns, so refused credentials stop the start.
                try:
                    await self._connect(adapter, self.stopping)
                finally:
                    if self.stopping.is_set() or adapter.platform not in self._connected:
                        await lock.release()
                if self.stopping.is_set():
                    return
                ctx.held.add(adapter.platform)
            else:
                ctx.elsewhere.add(adapter.platform)
            self._loops.append(
                asyncio.create_task(
                    hold(
                        db,
                        name,
                        self.stopping,
                        functools.partial(self._run_account, adapter, name),
                        first=lock,
                        waiting=functools.partial(self._elsewhere, adapter.platform),
                    )
                )
            )
        duties = await try_lock(db, DUTIES)
        if duties is not None:
            ctx.held.add(DUTIES)
            # Plans what fell due while stopped before start returns.
            await self.digests.catch_up()
            self._caught_up = True
        self._loops.append(
            asyncio.create_task(hold(db, DUTIES, self.stopping, self._run_duties, first=duties))
        )
        self._news = DeliveryNews(self.ctx).start()
        self._loops.append(asyncio.create_task(self.publisher.run(self.stopping)))
        # Converting stored originals and sending teachers' answers: every process.
        self._loops.append(asyncio.create_task(self.filing.run(self.stopping)))
        self._loops.append(asyncio.create_task(Retention(self.ctx).run(self.stopping)))

    def _elsewhere(self, platform: str, held_elsewhere: bool) -> None:
        if held_elsewhere:
            self.ctx.elsewhere.add(platform)
        else:
            self.ctx.elsewhere.discard(platform)

    async def _run_account(
        self, adapter: ChatAdapter, name: str, lock: ExclusiveLock, ending: asyncio.Event
    ) -> None:
        """While this process holds the account: connected, receiving,
        preparing its recordings and sending its outbox. Lost: all of it
        stops at once, so that the next holder is the only one."""
        ctx, platform = self.ctx, adapter.platform
        if platform not in self._connected:
            try:
                await self._connect(adapter, ending)
            except StartupError as exc:
                log.error("%s", exc)
                await nap(60.0, ending)
            if platform not in self._connected:
                return
        if ending.is_set():
            await self._disconnect(adapter)
            return
        ctx.held.add(platform)
        holders = ctx.repos.holders
        keeping = asyncio.create_task(self._keeping(name, platform, ending))
        worker = self._worker_of[platform]
        try:
            await holders.took(name, ctx.process, ctx.clock.now())
            await worker.run(ending, drain_timeout=None)
        finally:
            ctx.held.discard(platform)
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
            if self.stopping.is_set():  # a stop: sends under way may finish
                await worker.drain(self.drain_timeout)
            else:  # lost: not one more message from this process
                await worker.drain(0)
                await self.filing.stop(platform)
                await self._disconnect(adapter)
            with contextlib.suppress(Exception):
                await holders.left(name, ctx.process)

    async def _keeping(self, name: str, platform: str, ending: asyncio.Event) -> None:
        """The holder's heartbeat, and recordings of the account left
        unfinished (a stop, a dead process whose claims ran out) picked up;
        claims are renewed by ``Filing.run``, in every process."""
        ctx = self.ctx
        while not ending.is_set():
            try:
                resumed = await self.filing.resume_unfinished(platform)
                if resumed:
                    log.info("resuming %d recording(s) left unfinished", resumed)
                await ctx.repos.holders.still(name, ctx.process, ctx.clock.now())
            except Exception as exc:
                log.warning("%s: heartbeat failed (%s)", name, type(exc).__name__)
            await nap(HEARTBEAT_S, ending)

    async def _run_duties(self, lock: ExclusiveLock, ending: asyncio.Event) -> None:
        """Digest planning, retention and the end of the year: one process."""
        self.ctx.held.add(DUTIES)
        if self._caught_up:
            self._caught_up = False  # start() did it, just before
        else:  # taken over: what fell due meanwhile goes now
            await self.digests.catch_up()
        self.digests.start()
        try:
            await ending.wait()
        finally:
            self.digests.stop()
            self.ctx.held.discard(DUTIES)

    async def _connect(self, adapter: ChatAdapter, ending: asyncio.Event) -> None:
        """Connect, waiting for a platform that is down (a restart at 3 am must
        not give up because the network is not there yet); refused
        credentials stop the start with one clear line."""
        delay = 1.0
        while not ending.is_set():
            try:
                await adapter.connect(self.dispatcher.sink_for(adapter))
            except (PermanentFailure, RecipientGone) as exc:
                raise StartupError(
                    f"{adapter.platform} refuse la connexion ({exc.reason}) : vérifiez le jeton "
                    "ou le mot de passe dans la configuration"
                ) from exc
            except (DeliveryError, OSError, TimeoutError) as exc:
                log.warning(
                    "%s unreachable (%s); trying again in %.0f s",
                    adapter.platform,
                    getattr(exc, "reason", type(exc).__name__),
                    delay,
                )
                await nap(delay, ending)
                delay = min(delay * 2, 60.0)
            else:
                log.info("%s adapter connected", adapter.platform)
                self._connected.add(adapter.platform)
                self.ctx.metrics.connected(adapter.platform, True)
                return

    async def _disconnect(self, adapter: ChatAdapter) -> None:
        if adapter.platform not in self._connected:
            return
        self._connected.discard(adapter.platform)
        try:
            await adapter.disconnect()
        except Exception:
            log.exception("%s adapter did not disconnect cleanly", adapter.platform)
        self.ctx.metrics.connected(adapter.platform, False)

    async def stop(self) -> None:
        """Stop receiving, let sends under way finish, close. Loses nothing:
        every state not reached is still in the database for the next start."""
        self.stopping.set()
        self.digests.stop()
        if self._news is not None:
            self._news.cancel()
            await asyncio.gather(self._news, return_exceptions=True)
        if self.web is not None:
            await self.web.stop()
        for adapter in self.ctx.adapters.values():
            await self._disconnect(adapter)
        await self.filing.stop()
        if self._loops:
            await asyncio.wait(self._loops, timeout=self.drain_timeout + 10)
        for loop in self._loops:
            loop.cancel()
        if self.health is not None:
            await self.health.stop()
        await self.ctx.close()
