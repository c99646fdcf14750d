"""The sync loop: Matrix events in, port events out, each exactly once.

One sync response is handled in order: invites, then every joined room's
timeline (with the gap filled when the server says it was cut), then rooms
the bot was removed from. Each event is handed to the sink and awaited; its id
is then recorded as handled; only when the whole response is done is its
``next_batch`` token saved. A crash anywhere replays that response from the
previous token, and the handled ids make the replay hand nothing twice.

The first start ever takes the current token and hands no history (pending
invitations are handed: they are waiting for an answer, not history).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nio import (
    AsyncClient,
    Event,
    InviteMemberEvent,
    MegolmEvent,
    MessageDirection,
    RoomMemberEvent,
    RoomMessagesResponse,
    SyncError,
    SyncResponse,
)
from nio.exceptions import EncryptionError, LocalProtocolError

from adapters.matrix.errors import NETWORK_ERRORS
from adapters.matrix.inbound import message_event
from adapters.matrix.state import SyncState
from bot.ports import (
    BotRemovedFromChat,
    ChatInvite,
    ChatRef,
    InboundEvent,
    InboundRetry,
    InboundSink,
    Sender,
    Unreadable,
    hand_over,
)

log = logging.getLogger(__name__)

TIMELINE_LIMIT = 50
# Most events fetched back to fill one room's gap after a long downtime.
BACKFILL_MAX = 1000
POLL_MS = 30_000
# How long an encrypted event may wait for its room key before its sender is
# asked to post it again.
UNDECRYPTABLE_WAIT_S = 300.0

FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": TIMELINE_LIMIT}},
    "presence": {"types": []},
}
FIRST_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 1}},
    "presence": {"types": []},
}


class SyncLoop:
    def __init__(
        self,
        client: AsyncClient,
        state: SyncState,
        sink: InboundSink,
        keys_lock: asyncio.Lock,
        on_removed: Callable[[str], Awaitable[None]],
        retry: InboundRetry | None = None,
        undecryptable_wait_s: float = UNDECRYPTABLE_WAIT_S,
    ) -> None:
        self._client = client
        self._state = state
        self._sink = sink
        self._keys_lock = keys_lock
        self._on_removed = on_removed
        self._token: str | None = None
        self._direct: dict[str, bool] = {}
        self._retry = retry or InboundRetry()
        self._undecryptable_wait_s = undecryptable_wait_s
        self._stopping = False
        self._synced = asyncio.Event()
        self.polling = False
        # False while syncs fail: what the service's /healthz reports.
        self.healthy = True

    @property
    def own_id(self) -> str:
        user_id: str = self._client.user_id
        return user_id

    # -- start ----------------------------------------------------------------

    async def start(self) -> None:
        """The first sync, done before ``connect`` returns."""
        self._direct = await self._state.direct_flags()
        self._token = await self._state.token()
        while True:
            first = self._token is None
            resp = await self._client.sync(
                timeout=0,
                since=self._token,
                full_state=True,
                sync_filter=FIRST_FILTER if first else FILTER,
            )
            if isinstance(resp, SyncResponse):
                break
            log.warning("matrix: first sync failed (%s), retrying", resp.status_code)
            await asyncio.sleep(1)
        await self.handle(resp, history=not first)

    # -- loop -----------------------------------------------------------------

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        backoff = 1.0
        while not self._stopping:
            try:
                self.polling = True
                resp = await self._client.sync(
                    timeout=POLL_MS, since=self._token, sync_filter=FILTER
                )
            except NETWORK_ERRORS as err:
                self.healthy = False
                log.warning("matrix: sync failed (%s)", type(err).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            finally:
                self.polling = False
            self.healthy = not isinstance(resp, SyncError)
            if isinstance(resp, SyncError):
                log.warning("matrix: sync refused (%s)", resp.status_code)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            try:
                await self.handle(resp, history=True)
                backoff = 1.0
            except asyncio.CancelledError:
                raise
            except Exception:
                # The token was not saved: the same events come again.
                log.exception("matrix: handling a sync failed; it will be replayed")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)

    # -- one response ---------------------------------------------------------

    async def handle(self, resp: SyncResponse, *, history: bool) -> None:
        await self.maintain_keys()
        for room_id, invite in resp.rooms.invite.items():
            await self._invite(room_id, invite.invite_state)
        if history:
            await self._retry_pending()
            for room_id, info in resp.rooms.join.items():
                events = list(info.timeline.events)
                if info.timeline.limited and self._token and info.timeline.prev_batch:
                    events = await self._backfill(room_id, info.timeline.prev_batch) + events
                for event in events:
                    await self._timeline_event(room_id, event)
        for room_id, info in resp.rooms.leave.items():
            for event in [*info.state, *info.timeline.events]:
                await self._left(room_id, event)
        self._token = resp.next_batch
        await self._state.save_token(resp.next_batch)
        self._synced.set()
        self._synced = asyncio.Event()

    async def wait_for_room(self, room_id: str, timeout_s: float) -> bool:
        """Whether ``room_id`` became known to the client within ``timeout_s``
        (a room just joined is known after the next sync)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while room_id not in self._client.rooms:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stopping:
                return False
            try:
                await asyncio.wait_for(self._synced.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def maintain_keys(self) -> None:
        client = self._client
        async with self._keys_lock:
            try:
                if client.should_upload_keys:
                    await client.keys_upload()
                if client.should_query_keys:
                    await client.keys_query()
                if client.should_claim_keys:
                    await client.keys_claim(client.get_users_for_key_claiming())
                await client.send_to_device_messages()
            except LocalProtocolError as err:
                log.debug("matrix: key maintenance skipped: %s", err)

    # -- handing over ---------------------------------------------------------

    async def _hand_over(self, key: str, event: InboundEvent | None) -> None:
        if event is None or await self._state.is_handled(key):
            return
        # Handed again while the core fails on it; marked handled only once
        # handled, or given up with its sender told (a stop meanwhile leaves
        # it unmarked, and the sync token unsaved: it comes again).
        if not await hand_over(self._sink, event, self._retry):
            log.warning("matrix: an event was given up after %d tries", self._retry.attempts)
        await self._state.mark_handled(key)

    def forget_room(self, room_id: str) -> None:
        self._direct.pop(room_id, None)

    def chat(self, room_id: str) -> ChatRef:
        room = self._client.rooms.get(room_id)
        is_direct = self._direct.get(room_id)
        if is_direct is None:
            # No invite seen: a two-person room without a name is a direct chat.
            is_direct = room is not None and not room.name
        # Checked at every event, not once: a room where a third person joined
        # or was invited is no private chat any more, whatever it started as.
        is_direct = is_direct and room is not None and room.member_count <= 2
        title = None if is_direct or room is None else room.display_name
        return ChatRef(room_id, is_direct=is_direct, title=title)

    def sender(self, room_id: str, user_id: str) -> Sender:
        room = self._client.rooms.get(room_id)
        name = room.user_name(user_id) if room is not None else None
        return Sender(user_id, name or "")

    async def _timeline_event(self, room_id: str, event: Event) -> None:
        if isinstance(event, MegolmEvent):
            # Its room key has not come yet: kept, retried after later syncs.
            if not await self._state.is_handled(event.event_id):
                await self._state.add_pending(event.event_id, room_id, json.dumps(event.source))
                with contextlib.suppress(LocalProtocolError):  # already requested
                    await self._client.request_room_key(event)
            return
        await self._deliver(room_id, event.source)

    async def _deliver(self, room_id: str, source: dict[str, Any]) -> None:
        sender_id = source.get("sender")
        event_id = source.get("event_id")
        if not isinstance(sender_id, str) or not isinstance(event_id, str):
            return
        if sender_id == self.own_id:
            return
        inbound = message_event(source, self.chat(room_id), self.sender(room_id, sender_id))
        await self._hand_over(event_id, inbound)

    async def _retry_pending(self) -> None:
        now = time.time()
        for event_id, room_id, raw, since in await self._state.pending():
            parsed = Event.parse_event(json.loads(raw))
            if not isinstance(parsed, MegolmEvent):
                continue
            parsed.room_id = room_id
            try:
                decrypted = self._client.decrypt_event(parsed)
            except EncryptionError:
                if now - since >= self._undecryptable_wait_s:
                    await self._unreadable(event_id, room_id, parsed.sender)
                continue
            await self._deliver(room_id, decrypted.source)
            await self._state.mark_handled(event_id)

    async def _unreadable(self, event_id: str, room_id: str, sender_id: str) -> None:
        """Its key never came: the sender is asked to post it again."""
        if sender_id == self.own_id:
            await self._state.mark_handled(event_id)
            return
        event = Unreadable(event_id, self.chat(room_id), self.sender(room_id, sender_id))
        await self._hand_over(event_id, event)

    async def _backfill(self, room_id: str, prev_batch: str) -> list[Event]:
        """The events between our token and the cut timeline, oldest first."""
        found: list[Event] = []
        start = prev_batch
        while len(found) < BACKFILL_MAX:
            resp = await self._client.room_messages(
                room_id, start=start, end=self._token, direction=MessageDirection.back, limit=100
            )
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                break
            for event in resp.chunk:
                if isinstance(event, MegolmEvent):
                    event.room_id = room_id
                    with contextlib.suppress(EncryptionError):
                        event = self._client.decrypt_event(event)
                found.append(event)
            if not resp.end or resp.end == start:
                break
            start = resp.end
        found.reverse()
        return found

    async def _invite(self, room_id: str, invite_state: list[Any]) -> None:
        own = self.own_id
        invite = next(
            (
                e
                for e in invite_state
                if isinstance(e, InviteMemberEvent)
                and e.state_key == own
                and e.membership == "invite"
            ),
            None,
        )
        if invite is None:
            return
        is_direct = bool(invite.content.get("is_direct"))
        inviter_name = ""
        title = None
        for e in invite_state:
            if isinstance(e, InviteMemberEvent) and e.state_key == invite.sender:
                inviter_name = str(e.content.get("displayname") or "")
            source = getattr(e, "source", {})
            if source.get("type") == "m.room.name":
                title = source.get("content", {}).get("name")
        if self._direct.get(room_id) != is_direct:
            self._direct[room_id] = is_direct
            await self._state.set_direct(room_id, is_direct)
        key = invite.source.get("event_id") or f"invite:{room_id}:{invite.sender}"
        event = ChatInvite(
            chat=ChatRef(room_id, is_direct=is_direct, title=title),
            inviter=Sender(invite.sender, inviter_name),
        )
        await self._hand_over(str(key), event)

    async def _left(self, room_id: str, event: Any) -> None:
        if not isinstance(event, RoomMemberEvent) or event.state_key != self.own_id:
            return
        if event.membership not in ("leave", "ban") or event.sender == self.own_id:
            return  # our own leave (a declined invite, or leave())
        await self._on_removed(room_id)
        await self._hand_over(
            event.event_id, BotRemovedFromChat(ChatRef(room_id, self._direct.get(room_id, False)))
        )
