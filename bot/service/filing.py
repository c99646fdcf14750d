"""A teacher's recording: filed, prepared for phones, then scheduled.

Each step is stored before the next one starts, so that a restart resumes a
recording where it was (``received`` and ``processing`` are picked up again
at start) and nothing a teacher sent is lost.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
from datetime import timedelta
from pathlib import Path

from bot.audio import AudioRejected
from bot.ports import Activity, AttachmentUnavailable, Choice, MediaMessage, TransientFailure
from bot.service import texts
from bot.service.context import Context
from bot.service.quiet_hours import next_allowed
from bot.service.who_speaks import blocking_names, read_tags, resolve, who_choices
from bot.text_norm import fold
from storage.records import Recording
from storage.repos.recordings import NewRecording, ProcessedFiles

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


class Filing:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()
        # Recording id -> its preparation running in this process.
        self._working: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._told_not_teacher: set[tuple[str, str, str]] = set()

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
        if rec.id in self._working:
            return
        task = asyncio.create_task(self._prepare(rec), name=f"prepare-{rec.id}")
        self._tasks.add(task)
        self._working[rec.id] = (rec.platform, task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(functools.partial(self._finished, rec.id))

    def _finished(self, recording_id: int, _task: asyncio.Task[None]) -> None:
        self._working.pop(recording_id, None)

    async def resume_unfinished(self, platform: str) -> int:
        """While this process runs ``platform``'s account (preparing
        downloads through it): recordings a stop interrupted, or a dead
        process left once its claim ran out, are prepared again."""
        now = self.ctx.clock.now()
        claimed = await self.ctx.repos.recordings.claim_unfinished(
            platform, self.ctx.process, now, now + LEASE
        )
        pending = [r for r in claimed if r.id not in self._working]
        for rec in pending:
            self.start(rec)
        return len(pending)

    async def renew_claims(self) -> None:
        if self._working:
            until = self.ctx.clock.now() + LEASE
            await self.ctx.repos.recordings.renew_claims(self.ctx.process, until)

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
        for attempt in range(1, PREPARE_TRIES + 1):
            try:
                await self._prepare_once(rec)
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
        try:
            media = self.ctx.media
            original = rec.original_sha
            if original is None or not await media.exists(original):
                data = await self._download(rec)
                if data is None:
                    return
                original = await media.put_bytes(data)
                await repos.recordings.set_original(rec.id, original)
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
        if not await repos.recordings.set_processed(
            rec.id,
            files,
            "held" if held else "waiting",
            publish_at,
            reason="consent" if held else None,
        ):
            return  # cancelled meanwhile
        album = await repos.albums.get(rec.album_id)
        assert album is not None
        title = texts.recording_label(rec.title, rec.position)
        p = self.ctx.adapters[rec.platform].capabilities.command_prefixes[0]
        named = await repos.recordings.tagged_children(rec.id)
        lines = [
            f"Rangé dans l'album « {album.title} » : enregistrement {title} "
            f"({texts.duration(files.duration_s)})."
        ]
        choices: tuple[Choice, ...] = ()
        if unclear:
            lines.append("Je ne sais pas encore qui parle : il attend votre réponse.")
            lines.append(texts.who_speaks_question(p))
            choices = await self._who_choices(rec)
        elif missing and not named:
            lines.append("Il attend : " + texts.missing_consent(missing))
            lines.append(texts.who_speaks_question(p))
            choices = await self._who_choices(rec)
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
                choices = await self._who_choices(rec)
        receipt = await self.ctx.say(
            rec.platform,
            rec.source_chat_id,
            "\n".join(lines),
            reply_to=rec.source_message_id,
            choices=choices,
        )
        if receipt:
            await repos.recordings.set_reply(rec.id, receipt.message_id)
        self.ctx.wake.publisher.set()

    async def _who_choices(self, rec: Recording) -> tuple[Choice, ...]:
        if not self.ctx.adapters[rec.platform].capabilities.has_buttons:
            return ()
        children = await self.ctx.repos.families.children_of_class(rec.class_id)
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
        if not await self.ctx.repos.recordings.set_state(
            rec.id, "failed", reason=code, only_from=("received", "processing")
        ):
            return  # cancelled by the teacher meanwhile, or already answered
        log.info("recording %d refused: %s", rec.id, code)
        await self.ctx.say(
            rec.platform,
            rec.source_chat_id,
            message_fr + "\nRien n'a été envoyé aux familles.",
            reply_to=rec.source_message_id,
        )


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
