"""MatrixAdapter: the :class:`bot.ports.ChatAdapter` for Matrix (matrix-nio)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    ContentRepositoryConfigResponse,
    ErrorResponse,
    Event,
    JoinedRoomsResponse,
    JoinError,
    MatrixRoom,
    ProfileGetDisplayNameResponse,
    ReceiptEvent,
    RoomGetStateResponse,
    RoomInfo,
    RoomLeaveError,
    RoomRedactResponse,
    RoomSendResponse,
    Timeline,
)
from nio.exceptions import LocalProtocolError, OlmTrustError, OlmUnverifiedDeviceError

from adapters.matrix import media, outbound
from adapters.matrix.errors import NETWORK_ERRORS, raise_for
from adapters.matrix.membership import is_private_with, present_members
from adapters.matrix.receipts import receipt_callback
from adapters.matrix.session import open_session
from adapters.matrix.state import SyncState
from adapters.matrix.sync import UNDECRYPTABLE_WAIT_S, SyncLoop
from bot.ports import (
    ROOM_NOT_PRIVATE,
    Activity,
    BotProfile,
    Capabilities,
    CommandMenu,
    InboundRetry,
    InboundSink,
    MediaFile,
    OutboundMessage,
    PermanentFailure,
    Receipt,
    RecipientGone,
    TransientFailure,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
# How long a stop waits for the sync being handled.
STOP_PATIENCE_S = 10.0
# How long a send waits for a room just joined to come through the sync.
ROOM_WAIT_S = 10.0


class MatrixAdapter:
    """One bot account on one homeserver, one device for its whole life.

    ``store_dir`` keeps the session (token, device id), nio's encryption
    store and the sync state; it must survive restarts.
    """

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        *,
        store_dir: Path,
        password: str | None = None,
        access_token: str | None = None,
        device_name: str = "Petites Voix",
        menu: CommandMenu | None = None,
        profile: BotProfile | None = None,
        inbound_retry: InboundRetry | None = None,
        undecryptable_wait_s: float = UNDECRYPTABLE_WAIT_S,
    ) -> None:
        self._retry = inbound_retry
        self._undecryptable_wait_s = undecryptable_wait_s
        self._homeserver = homeserver.rstrip("/")
        self._user_id = user_id
        self._store_dir = store_dir
        self._password = password
        self._access_token = access_token
        self._device_name = device_name
        # Matrix has no command menu a bot can register: kept for symmetry.
        self._menu = menu
        self._profile = profile
        self._max_upload = DEFAULT_MAX_UPLOAD
        self._client: AsyncClient | None = None
        self._state: SyncState | None = None
        self._loop: SyncLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._keys_lock = asyncio.Lock()
        self._removed: set[str] = set()

    # -- what the core reads -------------------------------------------------

    @property
    def platform(self) -> str:
        return "matrix"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            # Synapse refuses events over 64 KiB; 30,000 characters of French
            # text stay well under it, twice (body and formatted body).
            max_text_length=30_000,
            # Synapse's own limit for the bot is lifted by the operator; 10/s
            # keeps one homeserver responsive for its human users while a
            # class's 30 families are served within a few seconds.
            global_rate_per_s=10.0,
            per_chat_interval_s=0.2,
            per_group_per_min=60,
            max_upload_bytes=self._max_upload,
            max_download_bytes=DEFAULT_MAX_UPLOAD,
            command_prefixes=("!", "/"),
            can_delete=True,
            invite_link_template=None,
            bare_code_in_direct=True,
            has_buttons=False,
            leaves_direct_chats=True,
            # Matrix does not say which language a person reads.
            asks_language=True,
        )

    @property
    def connected(self) -> bool:
        """Logged in, and the last sync succeeded."""
        task, loop = self._task, self._loop
        return task is not None and not task.done() and loop is not None and loop.healthy

    @property
    def user_id(self) -> str:
        return self._user_id

    @property
    def device_id(self) -> str | None:
        return self._client.device_id if self._client else None

    def _require(self) -> AsyncClient:
        if self._client is None:
            raise TransientFailure("not_connected")
        return self._client

    # -- life cycle ------------------------------------------------------------

    async def connect(self, sink: InboundSink) -> None:
        client = await open_session(
            self._homeserver,
            self._user_id,
            self._store_dir,
            password=self._password,
            access_token=self._access_token,
            device_name=self._device_name,
        )
        self._client = client
        if self._profile is not None:
            await self._present(client, self._profile.name)
        self._state = await SyncState.open(self._store_dir / "sync.sqlite")
        config = await client.content_repository_config()
        if isinstance(config, ContentRepositoryConfigResponse) and config.upload_size:
            self._max_upload = int(config.upload_size)
        client.add_ephemeral_callback(receipt_callback(client.user_id, sink), ReceiptEvent)
        self._loop = SyncLoop(
            client,
            self._state,
            sink,
            self._keys_lock,
            self._removed_from,
            self._retry,
            self._undecryptable_wait_s,
        )
        await self._loop.start()
        self._task = asyncio.create_task(self._loop.run(), name="matrix-sync")

    async def _present(self, client: AsyncClient, name: str) -> None:
        """The display name people see in their rooms; set only when it
        differs (each change is an event in every room the bot is in)."""
        try:
            current = await client.get_displayname(self._user_id)
            if isinstance(current, ProfileGetDisplayNameResponse) and current.displayname == name:
                return
            resp = await client.set_displayname(name)
        except NETWORK_ERRORS as err:
            log.warning("matrix: display name not set (%s)", type(err).__name__)
            return
        if isinstance(resp, ErrorResponse):
            log.warning("matrix: display name refused (%s)", resp.status_code)

    async def disconnect(self) -> None:
        """Stop after the sync being handled (a pending long poll is dropped:
        its events come again on the next start)."""
        if self._loop is not None:
            self._loop.stop()
        task, self._task = self._task, None
        if task is not None:
            if self._loop is not None and self._loop.polling:
                task.cancel()
            else:
                # An event the core keeps failing on is not waited for: left
                # unhandled, it comes again on the next start.
                await asyncio.wait({task}, timeout=STOP_PATIENCE_S)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._state is not None:
            await self._state.close()
            self._state = None

    async def _removed_from(self, room_id: str) -> None:
        self._removed.add(room_id)

    # -- rooms -------------------------------------------------------------------

    async def join(self, chat_id: str) -> None:
        client = self._require()
        try:
            resp = await client.join(chat_id)
        except NETWORK_ERRORS as err:
            raise TransientFailure("network", type(err).__name__) from err
        if isinstance(resp, JoinError):
            raise_for(resp, in_room=False)
        self._removed.discard(chat_id)
        await self._load_room(chat_id)

    async def _load_room(self, room_id: str) -> None:
        """Make a room just joined known to nio at once, so that the core may
        answer in it before the next sync (which brings the same state)."""
        client = self._require()
        if room_id in client.rooms:
            return
        try:
            resp = await client.room_get_state(room_id)
        except NETWORK_ERRORS:
            return  # the next sync brings it
        if not isinstance(resp, RoomGetStateResponse):
            return
        info = RoomInfo(
            timeline=Timeline([], False, None),
            state=[Event.parse_event(e) for e in resp.events],
            ephemeral=[],
            account_data=[],
        )
        encrypted: set[str] = set()
        # nio 0.26's own handler for the state of a joined room in a sync.
        client._handle_joined_state(room_id, info, encrypted)
        client.encrypted_rooms.update(encrypted)
        if client.store:
            client.store.save_encrypted_rooms(encrypted)
        room = client.rooms[room_id]
        if room.encrypted and client.olm is not None:
            client.olm.update_tracked_users(room)

    async def leave(self, chat_id: str) -> None:
        client = self._require()
        try:
            resp = await client.room_leave(chat_id)
        except NETWORK_ERRORS as err:
            raise TransientFailure("network", type(err).__name__) from err
        if isinstance(resp, RoomLeaveError):
            raise_for(resp, in_room=chat_id in client.rooms)
        if self._state is not None:
            await self._state.forget_room(chat_id)
        if self._loop is not None:
            self._loop.forget_room(chat_id)

    async def show_activity(self, chat_id: str, activity: Activity) -> None:
        client = self._require()
        with contextlib.suppress(*NETWORK_ERRORS):
            await client.room_typing(chat_id, typing_state=True, timeout=10_000)

    async def delete(self, chat_id: str, message_id: str) -> bool:
        client = self._require()
        try:
            resp = await client.room_redact(chat_id, message_id)
        except NETWORK_ERRORS:
            return False
        return isinstance(resp, RoomRedactResponse)

    # -- media -------------------------------------------------------------------

    async def download(self, ref: str) -> bytes:
        return await media.download(self._require(), ref, self.capabilities.max_download_bytes)

    async def _media(
        self,
        file: MediaFile | None,
        load: Callable[[], Awaitable[bytes]],
        mime: str,
        filename: str,
        encrypted: bool,
    ) -> tuple[media.Uploaded, int]:
        cached = file.cached_ref if file is not None else None
        if not encrypted and cached and cached.startswith("mxc://"):
            size = file.size if file is not None else 0
            return media.plain_url(cached), size
        data = await load()
        if len(data) > self._max_upload:
            raise PermanentFailure("too_large", f"{len(data)} bytes")
        uploaded = await media.upload(
            self._require(), data, mime=mime, filename=filename, encrypt=encrypted
        )
        return uploaded, len(data)

    # -- sending -----------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> Receipt:
        self._require()
        room_id = message.chat_id
        room = await self._room(room_id)
        private_to = message.private_to
        if private_to is not None:
            await self._check_private(room_id, private_to)
        encrypted = bool(room.encrypted)
        caption = outbound.render_text(message.text, message.choices, message.choices_prompt)
        refs: dict[str, str] = {}
        contents: list[dict[str, Any]] = []
        if message.audio is not None:
            voice = message.audio.voice
            uploaded, size = await self._media(voice, voice.load, voice.mime, voice.ref, encrypted)
            contents.append(outbound.audio_content(message.audio, caption, size, uploaded.fields))
            if not encrypted:
                refs[voice.variant] = uploaded.mxc
            caption = ""
        if message.document is not None:
            doc = message.document
            uploaded, size = await self._media(
                None,
                partial(asyncio.to_thread, doc.path.read_bytes),
                doc.mime,
                doc.filename,
                encrypted,
            )
            contents.append(
                outbound.document_content(doc.filename, doc.mime, size, caption, uploaded.fields)
            )
            caption = ""
        if not contents:
            contents.append(outbound.text_content(message))
        outbound.with_reply(contents[0], message.reply_to)
        # A family's room: only the devices of the bot and that parent get
        # the keys; elsewhere (a class room) every member's devices do.
        readers = {self._user_id, private_to} if private_to is not None else None
        if encrypted:
            await self._trust_members(room_id, readers)
        event_ids = [
            await self._send_event(
                room_id, content, outbound.txn_id(message.idempotency_key, i), readers is not None
            )
            for i, content in enumerate(contents)
        ]
        return Receipt(message_id=event_ids[0], media_refs=refs)

    async def _room(self, room_id: str) -> MatrixRoom:
        client = self._require()
        if room_id in self._removed:
            raise RecipientGone("kicked")
        room = client.rooms.get(room_id)
        if room is not None:
            return room
        if self._task is not None and asyncio.current_task() is self._task:
            # Called from the sink: the sync that would bring the room waits
            # for us. The core tries again later.
            raise TransientFailure("room_not_synced")
        try:
            joined = await client.joined_rooms()
        except NETWORK_ERRORS as err:
            raise TransientFailure("network", type(err).__name__) from err
        if not isinstance(joined, JoinedRoomsResponse):
            raise TransientFailure("joined_rooms", str(joined.status_code))
        if room_id not in joined.rooms:
            raise RecipientGone("chat_not_found")
        if self._loop is not None and await self._loop.wait_for_room(room_id, ROOM_WAIT_S):
            room = client.rooms.get(room_id)
            if room is not None:
                return room
        raise TransientFailure("room_not_synced")

    async def _check_private(self, room_id: str, person: str) -> None:
        """A family's room must hold the bot and that parent only (joined or
        invited), as the server says now, not as the last sync said."""
        client = self._require()
        try:
            resp = await client.room_get_state(room_id)
        except NETWORK_ERRORS as err:
            raise TransientFailure("network", type(err).__name__) from err
        if not isinstance(resp, RoomGetStateResponse):
            assert isinstance(resp, ErrorResponse)
            raise_for(resp, in_room=room_id in client.rooms)
        members = present_members(resp.events)
        if not is_private_with(members, self._user_id, person):
            raise RecipientGone(ROOM_NOT_PRIVATE, f"{len(members)} members")

    async def _trust_members(self, room_id: str, readers: set[str] | None) -> None:
        """Trust on first use: every device of the intended readers (all the
        members when ``readers`` is None) may read the bot."""
        client = self._require()
        async with self._keys_lock:
            try:
                if client.should_query_keys:
                    await client.keys_query()
            except LocalProtocolError:
                pass
            except NETWORK_ERRORS as err:
                raise TransientFailure("network", type(err).__name__) from err
        room = client.rooms.get(room_id)
        if room is None:
            return
        for user_id in room.users if readers is None else readers:
            for device in client.device_store.active_user_devices(user_id):
                if not device.verified and not device.blacklisted:
                    client.verify_device(device)

    async def _send_event(
        self, room_id: str, content: dict[str, Any], tx_id: str | None, private: bool
    ) -> str:
        client = self._require()
        try:
            resp = await client.room_send(
                room_id,
                "m.room.message",
                content,
                tx_id=tx_id,
                # A family's room: a device nobody trusted (someone who came in
                # since the check) stops the send rather than getting the keys.
                ignore_unverified_devices=not private,
            )
        except NETWORK_ERRORS as err:
            raise TransientFailure("network", type(err).__name__) from err
        except OlmUnverifiedDeviceError as err:
            # The server said the room was private a moment ago: the members
            # are changing; the next try checks again.
            raise TransientFailure("room_members_changing", type(err).__name__) from err
        except (LocalProtocolError, OlmTrustError) as err:
            raise TransientFailure("encryption", type(err).__name__) from err
        if isinstance(resp, ErrorResponse):
            raise_for(resp, in_room=room_id in client.rooms)
        assert isinstance(resp, RoomSendResponse)
        event_id: str = resp.event_id
        return event_id
