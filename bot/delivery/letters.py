"""What a platform that carries links instead of audio (e-mail) receives:
one short message per delivery or digest, in the family's language (the
caller speaks it: ``bot.i18n.speaking``), each recording a link to
the family's page, with a subject, the settings link and the one-click
unsubscribe address. The adapter turns it into its own format (MIME).

The consent rule is asked here, at the moment the message is composed: a
recording the family may no longer hear is left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.digests.compose import heading
from bot.i18n import _, is_rtl, language, ngettext
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
        self._names: dict[int, asyncio.Future[_Names]] = {}

    async def for_delivery(
        self,
        delivery: Delivery,
        rec: Recording,
        audio: OutboundAudio | None,
        named: Collection[int] | None = None,
        class_children: Sequence[int] | None = None,
    ) -> OutboundMessage | None:
        """None when the family may not hear it (any more). ``named``: the
        children tagged in ``rec``, ``class_children``: the guardian's
        children in its class (subscription order), when the caller read
        them already."""
        if class_children is None:
            subs = await self.ctx.repos.families.subscriptions_of_guardian(delivery.guardian_id)
            class_children = _in_class(subs, rec.class_id)
        pages: dict[int, str | None] = {}
        item = await self._item(class_children, rec, pages, named)
        if item is None:
            return None
        footer = await self._footer(delivery.guardian_id, delivery.chat_id, class_children, pages)
        names = item.names
        text = _(
            "La classe {class_name} ({school}) a publié un nouvel enregistrement dans "
            "l'album « {album} ». Il s'écoute sur la page de votre famille :"
        ).format(class_name=names.class_name, school=names.school_name, album=names.album_title)
        return _message(
            chat_id=delivery.chat_id,
            text=_("Bonjour,") + f"\n\n{text}",
            audio=audio,
            idempotency_key=f"pv-delivery-{delivery.id}",
            subject=_("{class_name} : nouvel enregistrement, « {title} »").format(
                class_name=names.class_name, title=item.link.label
            ),
            links=(item.link,),
            footer=footer,
        )

    async def for_digest(self, digest: Digest, recording_ids: list[int]) -> OutboundMessage | None:
        """None when none of them may be heard any more."""
        subs = await self.ctx.repos.families.subscriptions_of_guardian(digest.guardian_id)
        items: list[_Item] = []
        pages: dict[int, str | None] = {}
        for rec_id in recording_ids:
            rec = await self.ctx.repos.recordings.get(rec_id)
            if rec is None:
                continue
            item = await self._item(_in_class(subs, rec.class_id), rec, pages)
            if item is not None:
                items.append(item)
        if not items:
            return None
        classes = ", ".join(dict.fromkeys(i.names.class_name for i in items))
        footer = await self._footer(
            digest.guardian_id, digest.chat_id, _in_class(subs, items[0].rec.class_id), pages
        )
        count = len(items)
        where = ngettext(
            "Il s'écoute sur la page de votre famille :",
            "Ils s'écoutent sur la page de votre famille :",
            count,
        )
        if count == 1:
            subject = _("{classes} : 1 nouvel enregistrement, « {title} »").format(
                classes=classes, title=items[0].link.label
            )
        else:
            subject = ngettext(
                "{classes} : {count} nouvel enregistrement",
                "{classes} : {count} nouveaux enregistrements",
                count,
            ).format(classes=classes, count=count)
        return _message(
            chat_id=digest.chat_id,
            text=_("Bonjour,") + f"\n\n{heading(digest.period_key, count)}\n{where}",
            idempotency_key=f"pv-digest-{digest.id}-0",
            subject=subject,
            links=tuple(
                Link(
                    _("{album} : {title}").format(album=i.names.album_title, title=i.link.label),
                    i.link.url,
                    i.link.detail,
                )
                for i in items
            ),
            footer=footer,
        )

    @staticmethod
    def _child_for(children: Sequence[int], rec: Recording) -> int | None:
        """The child through whom this guardian hears ``rec`` (``children``:
        the guardian's in its class)."""
        if rec.is_private:
            return rec.private_child_id if rec.private_child_id in children else None
        return children[0] if children else None

    async def _item(
        self,
        children: Sequence[int],
        rec: Recording,
        pages: dict[int, str | None],
        named: Collection[int] | None = None,
    ) -> _Item | None:
        child_id = self._child_for(children, rec)
        if child_id is None or not await self.audience.may_hear(rec, child_id, named):
            return None
        page = await self._page(child_id, pages)
        title = rec.title or _("Enregistrement n°{position}").format(position=rec.position)
        return _Item(
            rec=rec,
            names=await self._names_of(rec),
            link=Link(title, f"{page}#r{rec.id}" if page else "", texts.duration(rec.duration_s)),
        )

    async def _names_of(self, rec: Recording) -> _Names:
        # The sends of a fan-out start together: the first one reads the
        # names, the others wait for that reading instead of each reading.
        names = self._names.get(rec.id)
        if names is None:
            if len(self._names) >= _NAMES_KEPT:
                self._names.clear()
            names = self._names[rec.id] = asyncio.ensure_future(self._read_names(rec))
        try:
            return await asyncio.shield(names)
        except Exception:
            if self._names.get(rec.id) is names:
                del self._names[rec.id]  # read again next time
            raise

    async def _read_names(self, rec: Recording) -> _Names:
        album = await self.ctx.repos.albums.get(rec.album_id)
        klass = await self.ctx.repos.schools.get_class(rec.class_id)
        return _Names(
            klass.name if klass else "",
            klass.school_name if klass else "",
            album.title if album else "",
        )

    async def _page(self, child_id: int, pages: dict[int, str | None]) -> str | None:
        """The family's page address, looked up once per message."""
        if child_id not in pages:
            links = self.ctx.links
            pages[child_id] = await links.page(child_id) if links else None
        return pages[child_id]

    async def _footer(
        self,
        guardian_id: int,
        address: str,
        children: Sequence[int],
        pages: dict[int, str | None],
    ) -> _Footer:
        """The settings link (the page of the guardian's first child in the
        class) and the one-click unsubscribe address (an e-mail guardian's
        chat is its address)."""
        links = self.ctx.links
        if links is None:
            return _Footer()
        page = await self._page(children[0], pages) if children else None
        return _Footer(
            f"{page}#reglages" if page else None, links.unsubscribe(guardian_id, address)
        )


def _in_class(subs: list[Subscription], class_id: int) -> list[int]:
    return [s.child_id for s in subs if s.class_id == class_id]


def _message(
    *,
    chat_id: str,
    text: str,
    idempotency_key: str,
    subject: str,
    links: tuple[Link, ...],
    footer: _Footer,
    audio: OutboundAudio | None = None,
) -> OutboundMessage:
    """A letter in the language being spoken, with its footer's words."""
    return OutboundMessage(
        chat_id=chat_id,
        text=text,
        audio=audio,
        idempotency_key=idempotency_key,
        subject=subject,
        links=links,
        settings_url=footer.settings_url,
        unsubscribe_url=footer.unsubscribe_url,
        settings_label=_("Vos réglages (fréquence, pause)"),
        unsubscribe_label=_("Ne plus recevoir ces messages"),
        language=language(),
        right_to_left=is_rtl(),
    )
