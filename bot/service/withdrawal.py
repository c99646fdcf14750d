"""/annuler before a recording goes out, /retirer after."""

from __future__ import annotations

import logging

from bot.service import texts
from bot.service.context import Context

log = logging.getLogger("petites_voix.withdrawal")

_BEFORE_PUBLISHING = ("received", "processing", "waiting", "held")


class Withdrawal:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def cancel(self, recording_id: int, actor: str) -> str:
        repos = self.ctx.repos
        rec = await repos.recordings.get(recording_id)
        if rec is None:
            return "Je ne trouve pas cet enregistrement."
        label = texts.recording_label(rec.title, rec.position)
        p = self.ctx.adapters[rec.platform].capabilities.command_prefixes[0]
        if await repos.recordings.set_state(
            rec.id, "cancelled", reason="cancelled_by_teacher", only_from=_BEFORE_PUBLISHING
        ):
            await repos.audit.record(
                actor,
                "recording_cancelled",
                self.ctx.clock.now(),
                class_id=rec.class_id,
                detail=str(rec.id),
            )
            return f"Annulé : {label} ne sera pas envoyé aux familles."
        if rec.state == "published":
            return (
                f"{label} est déjà parti vers les familles. Pour le leur retirer, "
                f"répondez-lui avec {p}retirer."
            )
        return f"{label} était déjà annulé ou retiré."

    async def withdraw(self, recording_id: int, actor: str) -> str:
        repos = self.ctx.repos
        rec = await repos.recordings.get(recording_id)
        if rec is None:
            return "Je ne trouve pas cet enregistrement."
        label = texts.recording_label(rec.title, rec.position)
        if rec.state in ("withdrawn", "cancelled", "failed"):
            return f"{label} n'est déjà plus proposé aux familles."
        await repos.recordings.set_state(rec.id, "withdrawn", reason="withdrawn_by_teacher")
        stopped = await repos.deliveries.cancel_open_of_recording(rec.id)
        await repos.audit.record(
            actor,
            "recording_withdrawn",
            self.ctx.clock.now(),
            class_id=rec.class_id,
            detail=str(rec.id),
        )
        sent = await repos.deliveries.sent_of_recording(rec.id)
        deleted = 0
        for delivery in sent:
            adapter = self.ctx.adapters.get(delivery.platform)
            if adapter is None or delivery.platform_message_id is None:
                continue
            try:
                if await adapter.delete(delivery.chat_id, delivery.platform_message_id):
                    deleted += 1
            except Exception as exc:
                log.info("could not remove a delivered message: %s", type(exc).__name__)
        text = f"Retiré : {label} n'est plus proposé aux familles."
        if sent:
            text += f" Effacé chez {deleted} famille(s) sur {len(sent)} qui l'avaient reçu"
            text += "." if deleted == len(sent) else " (la messagerie ne permet plus les autres)."
        if stopped:
            text += f" {stopped} envoi(s) en attente arrêté(s)."
        return text
