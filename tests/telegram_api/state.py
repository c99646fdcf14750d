"""State and behaviour of the fake Bot API: chats, files, updates, limits, faults."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

SEND_METHODS = frozenset({"sendMessage", "sendVoice", "sendAudio", "sendDocument"})
MEDIA_FIELD = {"sendVoice": "voice", "sendAudio": "audio", "sendDocument": "document"}
DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


@dataclass
class Limits:
    """Telegram's flood limits, as the server enforces them."""

    enforce: bool = True
    global_per_s: int = 30
    per_private_interval_s: float = 1.0
    # Real Telegram lets a few quick replies through in one private chat;
    # 1 = strictly one message per interval.
    per_private_burst: int = 1
    per_group_per_min: int = 20
    # Clock jitter forgiven on the per-chat interval.
    slack_s: float = 0.02


@dataclass
class Call:
    method: str
    chat_id: str | None
    at: float
    upload_bytes: int
    status: int
    params: JSON


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    kind: str  # "voice", "audio", "document"
    data: bytes
    size: int
    mime: str | None = None
    file_name: str | None = None
    path: str = ""


@dataclass
class SentMessage:
    chat_id: str
    message_id: int
    method: str
    params: JSON
    deletable: bool = True


def chat_type(chat_id: str) -> str:
    n = int(chat_id)
    if n > 0:
        return "private"
    return "supergroup" if chat_id.startswith("-100") else "group"


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token_abc"
    bot_id: int = 123456
    username: str = "petitesvoixbot"
    first_name: str = "Petites Voix"
    can_read_all_group_messages: bool = False
    limits: Limits = field(default_factory=Limits)
    url: str = ""  # server root, set once listening

    calls: list[Call] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    sent: dict[tuple[str, int], SentMessage] = field(default_factory=dict)
    deleted: list[tuple[str, int]] = field(default_factory=list)
    commands: dict[str, list[JSON]] = field(default_factory=dict)
    # (description | short_description, language_code) -> text
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    chat_actions: list[tuple[str, str]] = field(default_factory=list)
    answered_callbacks: list[str] = field(default_factory=list)
    left_chats: list[str] = field(default_factory=list)
    webhook: JSON | None = None

    # Faults.
    blocked_chats: set[str] = field(default_factory=set)
    kicked_chats: set[str] = field(default_factory=set)
    vanished_chats: set[str] = field(default_factory=set)
    migrated_chats: dict[str, int] = field(default_factory=dict)
    voice_forbidden_chats: set[str] = field(default_factory=set)
    refused_file_ids: set[str] = field(default_factory=set)
    _faults: deque[tuple[int, frozenset[str] | None, int | None, str | None]] = field(
        default_factory=deque
    )

    _updates: list[JSON] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _file_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: bool = False
    # Flood control bookkeeping: times of accepted sends.
    _global_sends: deque[float] = field(default_factory=deque)
    _chat_bucket: dict[str, tuple[float, float]] = field(default_factory=dict)
    _group_sends: dict[str, deque[float]] = field(default_factory=dict)

    # ------------------------------------------------------------------
    # What tests read
    # ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def upload_count(self) -> int:
        return sum(1 for c in self.calls if c.upload_bytes > 0)

    @property
    def upload_bytes(self) -> int:
        return sum(c.upload_bytes for c in self.calls)

    @property
    def rate_limited_count(self) -> int:
        return sum(1 for c in self.calls if c.status == 429)

    def messages_to(self, chat_id: str | int) -> list[SentMessage]:
        return [m for m in self.sent.values() if m.chat_id == str(chat_id)]

    # ------------------------------------------------------------------
    # Faults
    # ------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int = 429,
        *,
        methods: set[str] | None = None,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``count`` calls (of ``methods``; by default every method
        but getUpdates) answer ``status``."""
        key = frozenset(methods) if methods is not None else None
        for _ in range(count):
            self._faults.append((status, key, retry_after, description))

    def _take_fault(self, method: str) -> ApiError | None:
        if not self._faults:
            return None
        status, methods, retry_after, description = self._faults[0]
        if methods is None and method == "getUpdates":
            return None
        if methods is not None and method not in methods:
            return None
        self._faults.popleft()
        if status == 429:
            return too_many_requests(retry_after or 3)
        if description is not None:
            return ApiError(status, description)
        if status == 502:
            return ApiError(502, "Bad Gateway")
        return ApiError(status, "Internal Server Error")

    # ------------------------------------------------------------------
    # Files
    # ------------------------------------------------------------------

    def store_file(
        self,
        data: bytes,
        kind: str,
        *,
        mime: str | None = None,
        file_name: str | None = None,
        declared_size: int | None = None,
    ) -> StoredFile:
        n = next(self._file_ids)
        ext = {"voice": "oga", "audio": "mp3"}.get(kind, "bin")
        f = StoredFile(
            file_id=f"{kind[:2].upper()}AgAD{n:06d}xYz_file-id",
            unique_id=f"AgAD{n:06d}",
            kind=kind,
            data=data,
            size=declared_size if declared_size is not None else len(data),
            mime=mime,
            file_name=file_name,
            path=f"{kind}s/file_{n}.{ext}",
        )
        self.files[f.file_id] = f
        return f

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.path == path), None)

    @staticmethod
    def file_json(f: StoredFile) -> JSON:
        out: JSON = {"file_id": f.file_id, "file_unique_id": f.unique_id, "file_size": f.size}
        if f.mime:
            out["mime_type"] = f.mime
        if f.file_name:
            out["file_name"] = f.file_name
        return out

    # ------------------------------------------------------------------
    # Inbound updates (what users do)
    # ------------------------------------------------------------------

    @staticmethod
    def user(user_id: int, first_name: str = "Léa", last_name: str | None = None) -> JSON:
        u: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            u["last_name"] = last_name
        return u

    @staticmethod
    def chat(chat_id: int, title: str | None = None) -> JSON:
        t = chat_type(str(chat_id))
        c: JSON = {"id": chat_id, "type": t}
        if t == "private":
            c["first_name"] = "Léa"
        else:
            c["title"] = title or "Classe des moyens"
        return c

    def push_update(self, body: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._new_update.set()
        return update

    def _message(self, chat: JSON, sender: JSON | None, reply_to: int | None) -> JSON:
        msg: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
        }
        if sender is not None:
            msg["from"] = sender
        if reply_to is not None:
            msg["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()) - 60,
                "chat": chat,
            }
        return msg

    def push_text(
        self, chat: JSON, sender: JSON, text: str, *, reply_to: int | None = None
    ) -> JSON:
        msg = self._message(chat, sender, reply_to)
        msg["text"] = text
        return self.push_update({"message": msg})

    def push_media(
        self,
        chat: JSON,
        sender: JSON,
        kind: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime: str | None = None,
        file_name: str | None = None,
        duration: int | None = None,
        declared_size: int | None = None,
        reply_to: int | None = None,
        include_size: bool = True,
    ) -> tuple[JSON, StoredFile]:
        f = self.store_file(data, kind, mime=mime, file_name=file_name, declared_size=declared_size)
        media = self.file_json(f)
        if not include_size:
            media.pop("file_size")
        if kind in ("voice", "audio"):
            media["duration"] = duration if duration is not None else 3
        msg = self._message(chat, sender, reply_to)
        msg[kind] = media
        if caption:
            msg["caption"] = caption
        return self.push_update({"message": msg}), f

    def push_my_chat_member(self, chat: JSON, by: JSON, old: str, new: str) -> JSON:
        me = self.me()
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": by,
                    "date": int(time.time()),
                    "old_chat_member": self._member(old, me),
                    "new_chat_member": self._member(new, me),
                }
            }
        )

    @staticmethod
    def _member(status: str, user: JSON) -> JSON:
        member: JSON = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "administrator":
            member.update(
                {
                    key: key in ("can_delete_messages", "can_invite_users")
                    for key in (
                        "can_be_edited",
                        "is_anonymous",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    )
                }
            )
        return member

    def push_migration(self, chat: JSON, new_chat_id: int) -> JSON:
        msg = self._message(chat, None, None)
        msg["migrate_to_chat_id"] = new_chat_id
        msg["sender_chat"] = chat
        return self.push_update({"message": msg})

    def push_callback(self, chat: JSON, sender: JSON, data: str, message_id: int) -> JSON:
        msg = {
            "message_id": message_id,
            "date": int(time.time()) - 10,
            "chat": chat,
            "from": self.me(),
            "text": "Choisissez :",
        }
        qid = f"{next(self._update_ids)}77"
        return self.push_update(
            {
                "callback_query": {
                    "id": qid,
                    "from": sender,
                    "chat_instance": "42",
                    "message": msg,
                    "data": data,
                }
            }
        )

    def pending_updates(self) -> list[JSON]:
        return list(self._updates)

    def take_updates(self) -> list[JSON]:
        out, self._updates = self._updates, []
        return out

    async def get_updates(self, offset: int | None, limit: int, wait_s: float) -> list[JSON]:
        if offset is not None:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + wait_s
        while not self._updates and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                break
        return self._updates[:limit]

    def close(self) -> None:
        self._closing = True
        self._new_update.set()

    # ------------------------------------------------------------------
    # Bot API methods
    # ------------------------------------------------------------------

    def me(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
        }

    def check_chat(self, chat_id: str) -> None:
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.kicked_chats:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if chat_id in self.vanished_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.migrated_chats:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated_chats[chat_id]},
            )

    def check_flood(self, chat_id: str, now: float) -> None:
        lim = self.limits
        if not lim.enforce:
            return
        window = self._global_sends
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= lim.global_per_s:
            raise too_many_requests(max(1, math.ceil(1.0 - (now - window[0]))))
        kind = chat_type(chat_id)
        if kind == "private":
            tokens = self._chat_tokens(chat_id, now)
            if tokens < 1.0 - lim.slack_s / lim.per_private_interval_s:
                raise too_many_requests(
                    max(1, math.ceil((1.0 - tokens) * lim.per_private_interval_s))
                )
        else:
            sends = self._group_sends.setdefault(chat_id, deque())
            while sends and now - sends[0] >= 60.0:
                sends.popleft()
            if len(sends) >= lim.per_group_per_min:
                raise too_many_requests(max(1, math.ceil(60.0 - (now - sends[0]))))

    def _chat_tokens(self, chat_id: str, now: float) -> float:
        """Messages this private chat may take now (a bucket refilled one per interval)."""
        lim = self.limits
        tokens, at = self._chat_bucket.get(chat_id, (float(lim.per_private_burst), now))
        return min(float(lim.per_private_burst), tokens + (now - at) / lim.per_private_interval_s)

    def note_send(self, chat_id: str, now: float) -> None:
        self._global_sends.append(now)
        self._chat_bucket[chat_id] = (self._chat_tokens(chat_id, now) - 1.0, now)
        if chat_type(chat_id) != "private":
            self._group_sends.setdefault(chat_id, deque()).append(now)

    def new_message(self, chat_id: str, method: str, params: JSON) -> JSON:
        mid = next(self._message_ids)
        self.sent[(chat_id, mid)] = SentMessage(chat_id, mid, method, params)
        chat: JSON = {"id": int(chat_id), "type": chat_type(chat_id)}
        if chat["type"] != "private":
            chat["title"] = "Classe"
        else:
            chat["first_name"] = "Parent"
        return {"message_id": mid, "date": int(time.time()), "chat": chat, "from": self.me()}
