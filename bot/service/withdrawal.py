"""/annuler before a recording goes out, /retirer after."""

from __future__ import annotations

import logging

from bot.service import texts
from bot.service.context import Context

log = logging.getLogger("petites_voix.withdrawal")

_BEFORE_PUBLISHING = ("received", "processing", "waiting", "held")
_WITHDRAWABLE = (*_BEFORE_PUBLISHING, "published")
_GONE = ("withdrawn", "cancelled", "failed")


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
        if rec.state in _GONE:
            return f"{label} n'est déjà plus proposé aux familles."
        # The recording, its deliveries and the audit line change together.
        async with repos.unit_of_work() as uow:
            if not await uow.recordings.set_state(
                rec.id, "withdrawn", reason="withdrawn_by_teacher", only_from=_WITHDRAWABLE
            ):
                return f"{label} n'est déjà plus proposé aux familles."
            delivered = await uow.deliveries.sent_of_recording(rec.id)
            in_mixes = await uow.deliveries.in_compilations(rec.id)
            cancelled = await uow.deliveries.cancel_open_of_recording(rec.id)
            await uow.audit.record(
                actor,
                "recording_withdrawn",
                self.ctx.clock.now(),
                class_id=rec.class_id,
                detail=str(rec.id),
            )
        self.ctx.audience.changed()
        # Messages of a digest still being sent were cancelled too: not "waiting".
        stopped = cancelled - sum(1 for d in delivered if d.state == "digest")
        deleted = 0
        for delivery in delivered:
            adapter = self.ctx.adapters.get(delivery.platform)
            if adapter is None or delivery.platform_message_id is None:
                continue
            try:
                if await adapter.delete(delivery.chat_id, delivery.platform_message_id):
                    deleted += 1
            except Exception as exc:
                log.info("could not remove a delivered message: %s", type(exc).__name__)
        return _withdrawn_text(label, len(delivered), deleted, in_mixes, stopped)


def _withdrawn_text(label: str, delivered: int, deleted: int, in_mixes: int, stopped: int) -> str:
    text = f"Retiré : {label} n'est plus proposé aux familles."
    if delivered:
        had = "qui l'avait reçu" if delivered < 2 else "qui l'avaient reçu"
        text += f" Effacé chez {texts.families(deleted)} sur {delivered} {had}"
        text += "." if deleted == delivered else " (la messagerie ne permet plus les autres)."
    if in_mixes:
        got = "l'a reçu" if in_mixes < 2 else "l'ont reçu"
        text += (
            f" {texts.families(in_mixes)} {got} dans un résumé regroupant plusieurs "
            "enregistrements en un seul : je ne peux pas l'en retirer sans effacer tout le résumé."
        )
    if stopped:
        stopped_word = "arrêté" if stopped < 2 else "arrêtés"
        text += f" {texts.plural(stopped, 'envoi')} en attente {stopped_word}."
    return text
