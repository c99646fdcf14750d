"""A scripted Element-like Matrix client: a teacher or a parent in tests,
the demo and the benchmarks.

It does what Element does by default: encrypted direct chats, attachments
encrypted per upload in encrypted rooms, voice messages with the MSC3245
fields, and it trusts every device it sees (trust on first use).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    KeysQueryError,
    MegolmEvent,
    RoomCreateError,
    RoomPreset,
    RoomSendError,
    SyncError,
    UploadError,
)
from nio.crypto.attachments import decrypt_attachment

from adapters.matrix.devkit.synapse import SynapseServer

_PLAIN = str.maketrans({"\u202f": " ", "\u00a0": " ", "’": "'"})


@dataclass(frozen=True)
class Received:
    """One event seen by the client in a room (already decrypted)."""

    event_id: str
    room_id: str
    sender: str
    type: str
    content: dict[str, Any]
    encrypted: bool

    @property
    def msgtype(self) -> str:
        return str(self.content.get("msgtype", ""))

    @property
    def body(self) -> str:
        """The text read plain: French no-break spaces and ’ as the
        characters people type (``content`` keeps the event as sent)."""
        return str(self.content.get("body", "")).translate(_PLAIN)


@dataclass
class ScriptedClient:
    """Use :meth:`create`; then ``create_dm``, ``send_text``, ``send_audio``,
    ``wait_for`` and ``download``; ``close`` at the end."""

    client: AsyncClient
    password: str
    received: list[Received] = field(default_factory=list)
    undecryptable: list[str] = field(default_factory=list)
    auto_join: bool = True

    @classmethod
    async def create(
        cls, server: SynapseServer, localpart: str, store_dir: Path, *, lift_rate_limit: bool = True
    ) -> ScriptedClient:
        user = await server.aregister(localpart)
        if lift_rate_limit:
            await server.alift_rate_limit(user.user_id)
        store = store_dir / localpart
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True, store_sync_tokens=False, max_limit_exceeded=0
        )
        client = AsyncClient(server.url, user.user_id, store_path=str(store), config=config)
        client.restore_login(user.user_id, user.device_id, user.access_token)
        self = cls(client=client, password=user.password)
        await self.sync()
        return self

    @property
    def user_id(self) -> str:
        user_id: str = self.client.user_id
        return user_id

    @property
    def device_id(self) -> str:
        device_id: str = self.client.device_id
        return device_id

    async def close(self) -> None:
        await self.client.close()

    # -- sync ---------------------------------------------------------------

    async def sync(self, timeout_ms: int = 0) -> None:
        client = self.client
        resp = await client.sync(timeout=timeout_ms, full_state=client.next_batch is None)
        if isinstance(resp, SyncError):
            raise RuntimeError(f"sync: {resp.message}")
        for room_id, info in resp.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, MegolmEvent):
                    self.undecryptable.append(event.event_id)
                    continue
                source = event.source
                if "content" not in source or source.get("state_key") is not None:
                    continue
                self.received.append(
                    Received(
                        event_id=source.get("event_id", getattr(event, "event_id", "")),
                        room_id=room_id,
                        sender=source.get("sender", ""),
                        type=source.get("type", ""),
                        content=source["content"],
                        encrypted=bool(getattr(event, "decrypted", False)),
                    )
                )
        if self.auto_join:
            for room_id, invite in resp.rooms.invite.items():
                if any(isinstance(e, InviteMemberEvent) for e in invite.invite_state):
                    joined = await client.join(room_id)
                    if isinstance(joined, JoinError):
                        raise RuntimeError(f"join: {joined.message}")
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            keys = await client.keys_query()
            if isinstance(keys, KeysQueryError):
                raise RuntimeError(f"keys_query: {keys.message}")
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()
        self.trust_all()

    def trust_all(self) -> None:
        """Trust on first use: every device of every user we share a room with."""
        client = self.client
        for room in client.rooms.values():
            for user_id in room.users:
                for device in client.device_store.active_user_devices(user_id):
                    if device.device_id != client.device_id and not device.verified:
                        client.verify_device(device)

    async def wait_for(
        self, predicate: Callable[[Received], bool], timeout_s: float = 20.0
    ) -> Received:
        deadline = time.monotonic() + timeout_s
        seen = 0
        while True:
            for item in self.received[seen:]:
                if predicate(item):
                    return item
            seen = len(self.received)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user_id}: nothing matching after {timeout_s}s")
            await self.sync(timeout_ms=500)

    async def wait_joined(self, room_id: str, user_id: str, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users and user_id not in room.invited_users:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{user_id} did not join {room_id}")
            await self.sync(timeout_ms=500)

    # -- rooms --------------------------------------------------------------

    async def create_room(
        self, invite: list[str], *, encrypted: bool, direct: bool, name: str | None = None
    ) -> str:
        initial_state: list[dict[str, Any]] = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        resp = await self.client.room_create(
            name=name,
            is_direct=direct,
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
            invite=invite,
            initial_state=initial_state,
        )
        if isinstance(resp, RoomCreateError):
            raise RuntimeError(f"room_create: {resp.message}")
        room_id: str = resp.room_id
        await self.sync()
        return room_id

    async def create_dm(self, user_id: str, *, encrypted: bool = True) -> str:
        """A direct chat as Element opens it: ``is_direct``, encrypted."""
        return await self.create_room([user_id], encrypted=encrypted, direct=True)

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.client.room_invite(room_id, user_id)

    # -- sending ------------------------------------------------------------

    async def _send(self, room_id: str, content: dict[str, Any]) -> str:
        if self.client.should_query_keys:
            await self.client.keys_query()
        self.trust_all()
        resp = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        if isinstance(resp, RoomSendError):
            raise RuntimeError(f"room_send: {resp.message}")
        event_id: str = resp.event_id
        return event_id

    async def send_text(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self._send(room_id, content)

    async def upload(self, room_id: str, data: bytes, mime: str, filename: str) -> dict[str, Any]:
        """Upload ``data``; the content fields (``url`` or ``file``) to use."""
        room = self.client.rooms[room_id]
        resp, keys = await self.client.upload(
            io.BytesIO(data),
            content_type="application/octet-stream" if room.encrypted else mime,
            filename=filename,
            encrypt=room.encrypted,
            filesize=len(data),
        )
        if isinstance(resp, UploadError):
            raise RuntimeError(f"upload: {resp.message}")
        if room.encrypted:
            assert keys is not None
            return {"file": {**keys, "url": resp.content_uri, "mimetype": mime}}
        return {"url": resp.content_uri}

    async def send_audio(
        self,
        room_id: str,
        path: Path,
        *,
        mime: str,
        voice: bool = False,
        caption: str | None = None,
        duration_ms: int | None = None,
        msgtype: str = "m.audio",
    ) -> str:
        """An audio file (or a voice message) as Element sends it."""
        data = await asyncio.to_thread(path.read_bytes)
        content: dict[str, Any] = {
            "msgtype": msgtype,
            "body": caption or path.name,
            "info": {"mimetype": mime, "size": len(data)},
            **(await self.upload(room_id, data, mime, path.name)),
        }
        if caption:
            content["filename"] = path.name
        if duration_ms is not None:
            content["info"]["duration"] = duration_ms
        if voice:
            content["org.matrix.msc3245.voice"] = {}
            content["org.matrix.msc1767.audio"] = {"duration": duration_ms or 0, "waveform": []}
        return await self._send(room_id, content)

    # -- media --------------------------------------------------------------

    async def download(self, item: Received) -> bytes:
        """The bytes of an attachment the client received, decrypted."""
        content = item.content
        file_info = content.get("file")
        url = file_info["url"] if file_info else content["url"]
        resp = await self.client.download(mxc=url)
        body = getattr(resp, "body", None)
        if not isinstance(body, bytes):
            raise RuntimeError(f"download {url}: {resp}")
        if file_info:
            plain: bytes = decrypt_attachment(
                body, file_info["key"]["k"], file_info["hashes"]["sha256"], file_info["iv"]
            )
            return plain
        return body


async def settle(*clients: ScriptedClient, rounds: int = 2) -> None:
    """A few quick syncs of every client: keys and memberships propagate."""
    for _ in range(rounds):
        await asyncio.gather(*(c.sync() for c in clients))
