"""What a platform that carries links instead of audio (e-mail) receives:
one short French message per delivery or digest, each recording a link to
the family's page, with a subject, the settings link and the one-click
unsubscribe address. The adapter turns it into its own format (MIME).

The consent rule is asked here, at the moment the message is composed: a
recording the family may no longer hear is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digests.compose import heading
from bot.ports import Link, OutboundAudio, OutboundMessage
from bot.service import texts
from bot.service.context import Context
from storage.records import Delivery, Digest, Recording, Subscription

# Names of a recording's class and album, the same for each of its families.
_NAMES_KEPT = 1000


@dataclass(frozen=True)
class _Names:
    class_name: str
    school_name: str
    album_title: str


@dataclass(frozen=True)
class _Item:
    rec: Recording
    names: _Names
    link: Link


@dataclass(frozen=True)
class _Footer:
    settings_url: str | None = None
    unsubscribe_url: str | None = None


class Letters:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.audience = ctx.audience
        self._names: dict[int, _Names] = {}

    async def for_delivery(
        self, delivery: Delivery, rec: Recording, audio: OutboundAudio | None
    ) -> OutboundMessage | None:
        """None when the family may not hear it (any more)."""
        subs = await self.ctx.repos.families.subscriptions_of_guardian(delivery.guardian_id)
        item = await self._item(subs, rec)
        if item is None:
            return None
        footer = await self._footer(delivery.guardian_id, delivery.chat_id, subs, rec.class_id)
        names = item.names
        return OutboundMessage(
            chat_id=delivery.chat_id,
            text=(
                "Bonjour,\n\n"
                f"La classe {names.class_name} ({names.school_name}) a publié un nouvel "
                f"enregistrement dans l'album « {names.album_title} ». Il s'écoute sur la page "
                "de votre famille :"
            ),
            audio=audio,
            idempotency_key=f"pv-delivery-{delivery.id}",
            subject=f"{names.class_name} : nouvel enregistrement, « {item.link.label} »",
            links=(item.link,),
            settings_url=footer.settings_url,
            unsubscribe_url=footer.unsubscribe_url,
        )

    async def for_digest(self, digest: Digest, recording_ids: list[int]) -> OutboundMessage | None:
        """None when none of them may be heard any more."""
        subs = await self.ctx.repos.families.subscriptions_of_guardian(digest.guardian_id)
        items: list[_Item] = []
        for rec_id in recording_ids:
            rec = await self.ctx.repos.recordings.get(rec_id)
            if rec is None:
                continue
            item = await self._item(subs, rec)
            if item is not None:
                items.append(item)
        if not items:
            return None
        classes = ", ".join(dict.fromkeys(i.names.class_name for i in items))
        footer = await self._footer(digest.guardian_id, digest.chat_id, subs, items[0].rec.class_id)
        if len(items) == 1:
            where = "Il s'écoute sur la page de votre famille :"
            subject = f"{classes} : 1 nouvel enregistrement, « {items[0].link.label} »"
        else:
            where = "Ils s'écoutent sur la page de votre famille :"
            subject = f"{classes} : {len(items)} nouveaux enregistrements"
        return OutboundMessage(
            chat_id=digest.chat_id,
            text=f"Bonjour,\n\n{heading(digest.period_key, len(items))}\n{where}",
            idempotency_key=f"pv-digest-{digest.id}-0",
            subject=subject,
            links=tuple(
                Link(f"{i.names.album_title} : {i.link.label}", i.link.url, i.link.detail)
                for i in items
            ),
            settings_url=footer.settings_url,
            unsubscribe_url=footer.unsubscribe_url,
        )

    @staticmethod
    def _child_for(subs: list[Subscription], rec: Recording) -> int | None:
        """The child through whom this guardian hears ``rec``."""
        children = [s.child_id for s in subs if s.class_id == rec.class_id]
        if rec.is_private:
            return rec.private_child_id if rec.private_child_id in children else None
        return children[0] if children else None

    async def _item(self, subs: list[Subscription], rec: Recording) -> _Item | None:
        child_id = self._child_for(subs, rec)
        if child_id is None or not await self.audience.may_hear(rec, child_id):
            return None
        links = self.ctx.links
        page = await links.page(child_id) if links else None
        title = rec.title or f"Enregistrement n°{rec.position}"
        return _Item(
            rec=rec,
            names=await self._names_of(rec),
            link=Link(title, f"{page}#r{rec.id}" if page else "", texts.duration(rec.duration_s)),
        )

    async def _names_of(self, rec: Recording) -> _Names:
        names = self._names.get(rec.id)
        if names is None:
            album = await self.ctx.repos.albums.get(rec.album_id)
            klass = await self.ctx.repos.schools.get_class(rec.class_id)
            names = _Names(
                klass.name if klass else "",
                klass.school_name if klass else "",
                album.title if album else "",
            )
            if len(self._names) >= _NAMES_KEPT:
                self._names.clear()
            self._names[rec.id] = names
        return names

    async def _footer(
        self, guardian_id: int, address: str, subs: list[Subscription], class_id: int
    ) -> _Footer:
        """The settings link and the one-click unsubscribe address (an e-mail
        guardian's chat is its address)."""
        links = self.ctx.links
        if links is None:
            return _Footer()
        child = next((s.child_id for s in subs if s.class_id == class_id), None)
        page = await links.page(child) if child is not None else None
        return _Footer(
            f"{page}#reglages" if page else None, links.unsubscribe(guardian_id, address)
        )
