"""E-mail behind the same port as the chat platforms.

Nothing comes in (families act on their page); what goes out is the
outbox's messages, each turned into a MIME e-mail here. Capabilities say
what the core must know: no voice bubbles, links instead of audio, long
texts, the relay's rate per minute.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from adapters.email import mime
from adapters.email.letter_templates import LetterTemplates
from adapters.email.smtp import SmtpPool, SmtpSettings
from bot.ports import (
    Activity,
    AttachmentUnavailable,
    Capabilities,
    InboundSink,
    OutboundMessage,
    Receipt,
)

log = logging.getLogger("petites_voix.email")


class EmailAdapter:
    def __init__(
        self, settings: SmtpSettings, *, rate_per_minute: float = 600.0, attach: bool = False
    ) -> None:
        self.settings = settings
        self.attach = attach
        self.pool = SmtpPool(settings)
        # A fan-out's e-mails share their words: MIME for those made once.
        self.templates = LetterTemplates(settings.sender)
        self._caps = Capabilities(
            max_text_length=100_000,
            global_rate_per_s=rate_per_minute / 60.0,
            per_chat_interval_s=0.0,
            per_group_per_min=0,
            max_upload_bytes=mime.MAX_ATTACHMENT_BYTES,
            command_prefixes=("/",),
            can_delete=False,
            voice_bubbles=False,
            links_not_audio=True,
            attaches_audio=attach,
            # While some sends talk to the relay, others read the outbox.
            sends_at_once=2 * settings.connections,
        )

    @property
    def platform(self) -> str:
        return "email"

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    async def connect(self, sink: InboundSink) -> None:
        # Nothing to receive, and a relay that is down must not hold the
        # start of the other platforms: each send connects when it needs to.
        return None

    async def send(self, message: OutboundMessage) -> Receipt:
        attachment = await self._attachment(message)
        now = datetime.now(UTC)
        composed = None if attachment else self.templates.compose(message, now)
        if composed is not None:
            await self.pool.send(composed.data, message.chat_id)
            return Receipt(composed.message_id)
        mail = mime.build(message, self.settings.sender, now, attachment)
        await self.pool.send(mail, message.chat_id)
        return Receipt(str(mail["Message-ID"]))

    async def _attachment(self, message: OutboundMessage) -> tuple[str, bytes] | None:
        audio = message.audio
        if not self.attach or audio is None or audio.compat.size >= mime.MAX_ATTACHMENT_BYTES:
            return None
        data = await audio.compat.load()
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in audio.title)[:60]
        return f"{name.strip() or 'enregistrement'}.mp3", data

    async def download(self, ref: str) -> bytes:
        raise AttachmentUnavailable("not_supported", "nothing is received by e-mail")

    async def delete(self, chat_id: str, message_id: str) -> bool:
        return False  # a sent e-mail cannot be taken back; its page link can

    async def join(self, chat_id: str) -> None:
        return None

    async def leave(self, chat_id: str) -> None:
        return None

    async def show_activity(self, chat_id: str, activity: Activity) -> None:
        return None

    async def disconnect(self) -> None:
        await self.pool.close()
