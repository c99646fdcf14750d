"""A teacher's recording: filed, prepared for phones, then scheduled.

Each step is stored before the next one starts, so that a restart resumes a
recording where it was (``received`` and ``processing`` are picked up again
at start) and nothing a teacher sent is lost.

With several processes on one database, the process holding the platform's
account downloads the original (it alone has the credentials) and stores it;
when it has no free slot for ffmpeg it leaves the conversion to whichever
process claims it first (:meth:`Filing.run`, in every process). The outcome
and the teacher's answer are stored together; the account's holder sends
the answer and clears it, so that a process killed at any moment leaves
nothing half told.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.aio import nap
from bot.audio import AudioRejected
from bot.ports import Activity, AttachmentUnavailable, Choice, MediaMessage, TransientFailure
from bot.service import texts
from bot.service.context import Context
from bot.service.quiet_hours import next_allowed
from bot.service.who_speaks import blocking_names, read_tags, resolve, who_choices
from bot.text_norm import fold
from storage.records import Recording
from storage.repos.recordings import Answer, NewRecording, ProcessedFiles

log = logging.getLogger("petites_voix.filing")

DEFAULT_ALBUM = "Enregistrements"
DOWNLOAD_TRIES = 4
# Preparing again after a failure on our side (busy database, full disk).
PREPARE_TRIES = 3
PREPARE_RETRY_S = 2.0
MB = 1024 * 1024
# A recording being prepared is claimed for this long, renewed while the
# work goes on (bot/app.py): a dead process's job waits at most that long.
LEASE = timedelta(seconds=30)
RENEW_EVERY_S = 10.0
# Every process looks this often for originals to convert and answers to
# send, besides being told at once (PostgreSQL's LISTEN/NOTIFY).
LOOK_EVERY_S = 2.0
# Where processes tell each other: an original stored, an answer due.
NEWS = "petites_voix_recordings"


class Filing:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()
        # Recording id -> its preparation running in this process: the
        # platform whose account downloads it, or None for a conversion
        # claimed from the shared queue (not the account's: kept when the
        # account is lost).
        self._working: dict[int, tuple[str | None, asyncio.Task[None]]] = {}
        # Recordings ffmpeg works on in this process (at most
        # [audio] max_concurrency: the rest is left to other processes).
        self._converting: set[int] = set()
        self._told_not_teacher: set[tuple[str, str, str]] = set()
        self._news = asyncio.Event()
        # One sender of answers at a time in this process: a direct send and
        # the loop never send the same answer twice.
        self._answering = asyncio.Lock()

    async def receive(self, platform: str, msg: MediaMessage, class_id: int) -> None:
        repos, chat = self.ctx.repos, msg.chat.chat_id
        user = msg.sender.user_id
        if not await repos.staff.is_teacher_of(class_id, platform, user):
            key = (platform, chat, user)
            if key not in self._told_not_teacher:  # told once, not at every file
                self._told_not_teacher.add(key)
                await self.ctx.say(
                    platform,
                    chat,
                    "Merci ! Seuls les enseignants de la classe peuvent ajouter des "
                    "enregistrements à l'album : celui-ci n'est pas envoyé aux familles.",
                    reply_to=msg.message_id,
                )
            return
        refusal = self._size_refusal(platform, msg)
        if refusal:
            await self.ctx.say(platform, chat, refusal, reply_to=msg.message_id)
            return
        caption = read_tags(msg.caption)
        now = self.ctx.clock.now()
        resolved = await resolve(self.ctx, class_id, caption.names)
        child_ids = [c.id for c in resolved.children]
        # Never guessed: two Léa, or #prive without one child, wait for the
        # teacher's answer (a reply with tags) instead of going anywhere.
        unclear = bool(resolved.ambiguous) or (caption.private and len(child_ids) != 1)
        private = caption.private and not unclear
        album = await repos.albums.current(class_id)
        if album is None:
            album, _ = await repos.albums.make_current(
                class_id, DEFAULT_ALBUM, fold(DEFAULT_ALBUM), now
            )
        rec = await repos.recordings.create(
            NewRecording(
                album_id=album.id,
                class_id=class_id,
                title=caption.title,
                platform=platform,
                source_chat_id=chat,
                source_message_id=msg.message_id,
                attachment_ref=msg.attachment.ref,
                attachment_kind=msg.attachment.kind,
                posted_by=f"{platform}:{user}",
                is_private=private,
                private_child_id=child_ids[0] if private else None,
                tagged_child_ids=tuple(child_ids),
                speakers_unclear=unclear,
            ),
            now,
        )
        if rec is None:
            return  # the platform sent the same message twice
        self.start(rec)

    def _size_refusal(self, platform: str, msg: MediaMessage) -> str | None:
        size = msg.attachment.size
        if size is None:
            return None
        caps = self.ctx.adapters[platform].capabilities
        limit = self.ctx.settings.audio.max_megabytes * 1024 * 1024
        if caps.max_download_bytes is not None and size > caps.max_download_bytes:
            return (
                f"Ce fichier fait {size / MB:.0f} Mo : la messagerie ne me laisse pas "
                f"récupérer plus de {caps.max_download_bytes / MB:.0f} Mo. Dans Audacity, "
                "exportez-le en MP3 (Fichier > Exporter > Exporter en MP3), ou coupez-le en "
                "deux, puis renvoyez-le. Rien n'a été envoyé aux familles."
            )
        if size > limit:
            return (
                f"Ce fichier fait {size / MB:.0f} Mo, plus que les "
                f"{limit / MB:.0f} Mo acceptés. Exportez-le en MP3 ou coupez-le, puis "
                "renvoyez-le. Rien n'a été envoyé aux familles."
            )
        return None

    def start(self, rec: Recording) -> None:
        """Prepare a recording of an account this process holds."""
        self._launch(rec.id, rec.platform, self._prepare(rec))

    def _launch(self, rec_id: int, platform: str | None, work: Coroutine[Any, Any, None]) -> None:
        if rec_id in self._working:
            work.close()
            return
        task = asyncio.create_task(work, name=f"prepare-{rec_id}")
        self._tasks.add(task)
        self._working[rec_id] = (platform, task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(functools.partial(self._finished, rec_id))

    def _finished(self, recording_id: int, _task: asyncio.Task[None]) -> None:
        self._working.pop(recording_id, None)

    async def resume_unfinished(self, platform: str) -> int:
        """While this process runs ``platform``'s account (preparing
        downloads through it): recordings a stop interrupted, or a dead
        process left once its claim ran out, are prepared again."""
        now = self.ctx.clock.now()
        # Several processes: an original already stored is any process's to convert.
        claimed = await self.ctx.repos.recordings.claim_unfinished(
            platform,
            self.ctx.process,
            now,
            now + LEASE,
            downloads_only=not self.ctx.repos.db.single_process,
        )
        pending = [r for r in claimed if r.id not in self._working]
        for rec in pending:
            self.start(rec)
        return len(pending)

    async def renew_claims(self) -> None:
        if self._working:
            until = self.ctx.clock.now() + LEASE
            await self.ctx.repos.recordings.renew_claims(self.ctx.process, until)

    async def run(self, stopping: asyncio.Event) -> None:
        """In every process: keep this process's claims alive, convert
        stored originals nobody converts, and send the answers due on the
        accounts this process holds."""
        db = self.ctx.repos.db
        listening = asyncio.create_task(db.watch(NEWS, self._heard), name="recordings-news")
        loop = asyncio.get_running_loop()
        renew_at = loop.time()
        try:
            while not stopping.is_set():
                self._news.clear()
                try:
                    if loop.time() >= renew_at:
                        renew_at = loop.time() + RENEW_EVERY_S
                        await self.renew_claims()
                    if not db.single_process:  # one process converts what it downloads
                        await self.take_conversions()
                    await self.send_answers()
                except Exception as exc:
                    log.warning("preparing loop: %s", type(exc).__name__)
                await nap(LOOK_EVERY_S, stopping, self._news)
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

    def _heard(self, _news: str) -> None:
        self._news.set()

    async def _tell(self, news: str) -> None:
        """Wake this process's loop and every other process's."""
        self._news.set()
        try:
            await self.ctx.repos.db.notify(NEWS, news)
        except Exception as exc:  # the others look again within LOOK_EVERY_S
            log.info("could not tell the other processes (%s)", type(exc).__name__)

    def _free_slots(self) -> int:
        return self.ctx.settings.audio.max_concurrency - len(self._converting)

    async def take_conversions(self) -> int:
        """Claim stored originals nobody converts, as many as ffmpeg slots
        are free here (no account needed: another process may hold it)."""
        free = self._free_slots()
        if free <= 0:
            return 0
        now = self.ctx.clock.now()
        # Only platforms configured here: the answer speaks the platform's
        # commands, and the same file is expected everywhere anyway.
        claimed = await self.ctx.repos.recordings.claim_originals(
            sorted(self.ctx.adapters), self.ctx.process, now, now + LEASE, free
        )
        for rec in claimed:
            self._launch(rec.id, None, self._convert(rec))
        return len(claimed)

    async def stop(self, platform: str | None = None) -> None:
        """Stop preparing (``platform``'s recordings only, when given)."""
        tasks = [t for p, t in self._working.values() if platform in (None, p)]
        if platform is None:
            tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _prepare(self, rec: Recording) -> None:
        """Every way this ends is stored and answered: filed, refused, or
        failed on our side after a few tries (a busy database, a full disk)."""
        now = self.ctx.clock.now()
        if not await self.ctx.repos.recordings.claim(rec.id, self.ctx.process, now, now + LEASE):
            return  # another process prepares it
        await self._with_tries(rec, functools.partial(self._prepare_once, rec))

    async def _convert(self, rec: Recording) -> None:
        """A stored original claimed from the shared queue."""
        assert rec.original_sha is not None
        await self._with_tries(
            rec, functools.partial(self._convert_and_file, rec, rec.original_sha)
        )

    async def _with_tries(self, rec: Recording, work: Callable[[], Awaitable[None]]) -> None:
        for attempt in range(1, PREPARE_TRIES + 1):
            try:
                await work()
                return
            except Exception:
                log.warning(
                    "preparing recording %d failed (try %d of %d)",
                    rec.id,
                    attempt,
                    PREPARE_TRIES,
                    exc_info=True,
                )
                if attempt < PREPARE_TRIES:
                    await asyncio.sleep(PREPARE_RETRY_S * 2 ** (attempt - 1))
        try:
            await self._fail(rec, "prepare:error", texts.preparation_failed())
        except Exception:
            # Still 'received' or 'processing': prepared again at the next start.
            log.exception("recording %d could not be marked failed", rec.id)

    async def _prepare_once(self, rec: Recording) -> None:
        repos, platform = self.ctx.repos, rec.platform
        adapter = self.ctx.adapters.get(platform)
        if adapter is None:
            return
        await repos.recordings.set_state(rec.id, "processing", only_from=("received",))
        await _quietly(adapter.show_activity(rec.source_chat_id, Activity.RECORDING_VOICE))
        media = self.ctx.media
        original = rec.original_sha
        downloaded = original is None or not await media.exists(original)
        if downloaded:
            data = await self._download(rec)
            if data is None:
                return
            original = await media.put_bytes(data)
        assert original is not None
        if not repos.db.single_process and self._free_slots() <= 0:
            # Busy here: whichever process has a free slot converts it.
            if await repos.recordings.hand_over(rec.id, original):
                await self._tell("original")
            return
        self._converting.add(rec.id)  # the slot, taken before anything waits
        try:
            if downloaded:
                await repos.recordings.set_original(rec.id, original)
            await self._convert_and_file(rec, original)
        finally:
            self._converting.discard(rec.id)

    async def _convert_and_file(self, rec: Recording, original: str) -> None:
        media = self.ctx.media
        self._converting.add(rec.id)
        try:
            # ffmpeg works on a local copy; the results go back to the store
            # and the temporary folder goes with its copies.
            with tempfile.TemporaryDirectory(prefix="pv-") as tmp:
                source = Path(tmp) / "original"
                await media.fetch(original, source)
                prepared = await self.ctx.pipeline.prepare(source, Path(tmp))
                files = ProcessedFiles(
                    original_sha=original,
                    voice_sha=await media.put_file(prepared.voice_path),
                    compat_sha=await media.put_file(prepared.compat_path),
                    compat_mime=prepared.compat_mime,
                    duration_s=prepared.duration_s,
                    waveform=prepared.waveform,
                )
        except AudioRejected as exc:
            await self._fail(rec, exc.code, exc.message_fr)
            return
        finally:
            self._converting.discard(rec.id)
        await self._schedule(rec, files)

    async def _download(self, rec: Recording) -> bytes | None:
        adapter = self.ctx.adapters[rec.platform]
        for attempt in range(DOWNLOAD_TRIES):
            try:
                return await adapter.download(rec.attachment_ref)
            except AttachmentUnavailable as exc:
                await self._fail(rec, f"download:{exc.reason}", _unavailable(exc.reason))
                return None
            except (TransientFailure, OSError) as exc:
                log.info("download failed (%s), attempt %d", type(exc).__name__, attempt + 1)
                await asyncio.sleep(2**attempt)
        await self._fail(
            rec,
            "download:unreachable",
            "Je n'arrive pas à récupérer ce fichier auprès de la messagerie. Pouvez-vous le "
            "renvoyer ?",
        )
        return None

    async def _schedule(self, rec: Recording, files: ProcessedFiles) -> None:
        repos, now = self.ctx.repos, self.ctx.clock.now()
        unclear = await repos.recordings.speakers_unclear(rec.id)
        missing = [] if unclear else await blocking_names(self.ctx, rec)
        held = unclear or bool(missing)
        publish_at = now + timedelta(seconds=self.ctx.settings.delivery.grace_seconds)
        album = await repos.albums.get(rec.album_id)
        assert album is not None
        title = texts.recording_label(rec.title, rec.position)
        p = self.ctx.adapters[rec.platform].capabilities.command_prefixes[0]
        named = await repos.recordings.tagged_children(rec.id)
        lines = [
            f"Rangé dans l'album « {album.title} » : enregistrement {title} "
            f"({texts.duration(files.duration_s)})."
        ]
        choices = False  # the "who speaks" buttons under the answer
        if unclear:
            lines.append("Je ne sais pas encore qui parle : il attend votre réponse.")
            lines.append(texts.who_speaks_question(p))
            choices = True
        elif missing and not named:
            lines.append("Il attend : " + texts.missing_consent(missing))
            lines.append(texts.who_speaks_question(p))
            choices = True
        elif missing:
            lines.append(
                "Il attend : " + texts.missing_consent(missing) + " Il partira quand "
                f"l'accord sera noté ({p}consentement {missing[0]} oui), sinon jamais."
            )
        else:
            tz = self.ctx.settings.schedule.timezone
            allowed = next_allowed(publish_at, self.ctx.settings.schedule)
            when = texts.moment(publish_at, tz, now)
            lines.append(f"Envoi aux familles {when}.")
            if allowed > publish_at:
                lines.append(
                    f"(Heures calmes : les familles le recevront {texts.moment(allowed, tz, now)}.)"
                )
            lines.append(f"Pour l'arrêter d'ici là, répondez-lui {p}annuler.")
            if not named:
                lines.append(
                    "Il est pour toute la classe. Pour dire qui parle, répondez-lui #Prénom."
                )
                choices = True
        if not await repos.recordings.set_processed(
            rec.id,
            files,
            "held" if held else "waiting",
            publish_at,
            reason="consent" if held else None,
            answer=Answer("\n".join(lines), choices, self.ctx.process),
        ):
            return  # cancelled meanwhile
        await self._answer(rec.platform)  # the teacher first, then the families
        self.ctx.wake.publisher.set()

    async def _answer(self, platform: str) -> None:
        """The answer just stored: sent from here when this process holds
        the account, else by the process that does (told at once)."""
        if platform in self.ctx.held:
            await self.send_answers(platform)
        else:
            await self._tell("answer")

    async def send_answers(self, platform: str | None = None) -> int:
        """Send the teachers' answers due on the accounts this process holds
        (``platform``'s only, when given), each cleared once sent. A process
        killed between the two sends it again from the next holder (with the
        same idempotency key, where the platform has one)."""
        sent = 0
        async with self._answering:
            for name in self.ctx.adapters:
                if name not in self.ctx.held or platform not in (None, name):
                    continue
                for due in await self.ctx.repos.recordings.answers_due(name):
                    if name not in self.ctx.held:
                        break  # the account went to another process meanwhile
                    choices = await self._who_choices(name, due.class_id) if due.choices else ()
                    receipt = await self.ctx.say(
                        name,
                        due.chat_id,
                        due.text,
                        reply_to=due.reply_to,
                        choices=choices,
                        idempotency_key=f"pv-answer-{due.recording_id}",
                    )
                    if receipt is None and name not in self.ctx.held:
                        break  # lost the account while sending: the next holder sends it
                    # A failure the platform gave is logged by say(), not tried again.
                    await self.ctx.repos.recordings.answered(
                        due.recording_id, receipt.message_id if receipt else None
                    )
                    sent += 1
        if sent:  # prepared elsewhere: this process publishes the account's recordings
            self.ctx.wake.publisher.set()
        return sent

    async def _who_choices(self, platform: str, class_id: int) -> tuple[Choice, ...]:
        if not self.ctx.adapters[platform].capabilities.has_buttons:
            return ()
        children = await self.ctx.repos.families.children_of_class(class_id)
        return who_choices(children, private_allowed=True)

    async def recheck_held(self, class_id: int) -> int:
        """After a consent: held recordings whose children all agree go out."""
        released = 0
        now = self.ctx.clock.now()
        for rec in await self.ctx.repos.recordings.held_in_class(class_id):
            if rec.voice_sha is None or not await self.ctx.audience.may_go(rec):
                continue
            if await self.ctx.repos.recordings.speakers_unclear(rec.id):
                continue
            publish_at = now + timedelta(seconds=self.ctx.settings.delivery.grace_seconds)
            if await self.ctx.repos.recordings.release_held(rec.id, publish_at):
                released += 1
        if released:
            self.ctx.wake.publisher.set()
        return released

    async def _fail(self, rec: Recording, code: str, message_fr: str) -> None:
        answer = Answer(message_fr + "\nRien n'a été envoyé aux familles.", False, self.ctx.process)
        if not await self.ctx.repos.recordings.refuse(rec.id, code, answer):
            return  # cancelled by the teacher meanwhile, or already answered
        log.info("recording %d refused: %s", rec.id, code)
        await self._answer(rec.platform)


def _unavailable(reason: str) -> str:
    if reason == "too_big":
        return (
            "Ce fichier est trop gros pour que je le récupère (20 Mo au plus). Exportez-le en "
            "MP3 dans Audacity, ou coupez-le en deux, puis renvoyez-le."
        )
    return "Je n'arrive pas à récupérer ce fichier. Pouvez-vous le renvoyer ?"


async def _quietly(awaitable: object) -> None:
    try:
        await awaitable  # type: ignore[misc]
    except Exception as exc:
        log.debug("chat action failed: %s", type(exc).__name__)
