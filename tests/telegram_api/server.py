"""The aiohttp application serving :class:`FakeTelegram` on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientSession, web

from tests.telegram_api.state import (
    DOWNLOAD_LIMIT,
    JSON,
    MEDIA_FIELD,
    SEND_METHODS,
    UPLOAD_LIMIT,
    ApiError,
    Call,
    FakeTelegram,
    StoredFile,
)

_FAKE_KEY: web.AppKey[FakeTelegram] = web.AppKey("fake", FakeTelegram)

# Parameters PTB sends JSON-encoded inside form fields.
_JSON_FIELDS = frozenset(
    {"reply_markup", "reply_parameters", "commands", "scope", "allowed_updates", "entities"}
)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(err: ApiError) -> web.Response:
    return web.json_response(err.body(), status=err.code)


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, tuple[bytes, str | None]]]:
    """Form fields, JSON body or query string -> (params, uploaded files)."""
    params: JSON = dict(request.query)
    files: dict[str, tuple[bytes, str | None]] = {}
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.file.read(), value.filename)
            else:
                params[key] = value
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params, files


class _Handler:
    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    async def method(self, request: web.Request) -> web.Response:
        fake = self.fake
        token = request.match_info["token"]
        name = request.match_info["method"]
        params, files = await _read_params(request)
        chat_id = str(params["chat_id"]) if "chat_id" in params else None
        upload = sum(len(data) for data, _ in files.values())
        call = Call(name, chat_id, time.monotonic(), upload, 200, params)
        fake.calls.append(call)
        try:
            if token != fake.token:
                raise ApiError(401, "Unauthorized")
            fault = fake._take_fault(name)
            if fault is not None:
                raise fault
            result = await self.dispatch(name, params, files, chat_id)
        except ApiError as err:
            call.status = err.code
            return _error(err)
        return _ok(result)

    async def dispatch(
        self,
        name: str,
        params: JSON,
        files: dict[str, tuple[bytes, str | None]],
        chat_id: str | None,
    ) -> Any:
        fake = self.fake
        if name == "getMe":
            return fake.me()
        if name == "getUpdates":
            if fake.webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            offset = int(params["offset"]) if "offset" in params else None
            return await fake.get_updates(
                offset, int(params.get("limit", 100)), float(params.get("timeout", 0))
            )
        if name == "setWebhook":
            fake.webhook = {
                "url": params["url"],
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
            }
            return True
        if name == "deleteWebhook":
            fake.webhook = None
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                fake.take_updates()
            return True
        if name == "getWebhookInfo":
            return {"url": (fake.webhook or {}).get("url", ""), "pending_update_count": 0}
        if name == "setMyCommands":
            scope = params.get("scope") or {"type": "default"}
            language = params.get("language_code")
            key = f"{scope['type']}:{language}" if language else scope["type"]
            fake.commands[key] = list(params["commands"])
            return True
        if name in ("setMyDescription", "setMyShortDescription"):
            key = "description" if name == "setMyDescription" else "short_description"
            limit = 512 if key == "description" else 120
            text = str(params.get(key, ""))
            if len(text) > limit:
                raise ApiError(400, f"Bad Request: bot {key.replace('_', ' ')} is too long")
            fake.descriptions[(key, str(params.get("language_code", "")))] = text
            return True
        if name == "answerCallbackQuery":
            fake.answered_callbacks.append(str(params["callback_query_id"]))
            return True
        if name == "getFile":
            return self.get_file(str(params["file_id"]))
        if chat_id is None:
            raise ApiError(404, "Not Found")
        if name == "sendChatAction":
            fake.check_chat(chat_id)
            fake.chat_actions.append((chat_id, str(params["action"])))
            return True
        if name == "leaveChat":
            fake.check_chat(chat_id)
            fake.left_chats.append(chat_id)
            return True
        if name == "deleteMessage":
            return self.delete_message(chat_id, int(params["message_id"]))
        if name in SEND_METHODS:
            return self.send(name, params, files, chat_id)
        raise ApiError(404, "Not Found")

    def get_file(self, file_id: str) -> JSON:
        fake = self.fake
        f = fake.files.get(file_id)
        if f is None or file_id in fake.refused_file_ids:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if f.size > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {**fake.file_json(f), "file_path": f.path}

    def delete_message(self, chat_id: str, message_id: int) -> bool:
        fake = self.fake
        msg = fake.sent.get((chat_id, message_id))
        if msg is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if not msg.deletable:
            raise ApiError(400, "Bad Request: message can't be deleted for everyone")
        del fake.sent[(chat_id, message_id)]
        fake.deleted.append((chat_id, message_id))
        return True

    def _media(
        self, name: str, params: JSON, files: dict[str, tuple[bytes, str | None]]
    ) -> StoredFile:
        fake = self.fake
        field = MEDIA_FIELD[name]
        kind = field
        value = params.get(field)
        upload: tuple[bytes, str | None] | None = files.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            data, filename = upload
            if len(data) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            mime = {"voice": "audio/ogg", "audio": "audio/mpeg"}.get(kind)
            return fake.store_file(data, kind, mime=mime, file_name=filename)
        if not isinstance(value, str):
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        f = fake.files.get(value)
        if f is None or value in fake.refused_file_ids:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if f.kind != kind:
            raise ApiError(
                400,
                f"Bad Request: can't use file of type {f.kind.title()} as {kind.title()}",
            )
        return f

    def send(
        self,
        name: str,
        params: JSON,
        files: dict[str, tuple[bytes, str | None]],
        chat_id: str,
    ) -> JSON:
        fake = self.fake
        fake.check_chat(chat_id)
        now = time.monotonic()
        fake.check_flood(chat_id, now)
        media: StoredFile | None = None
        if name in MEDIA_FIELD:
            if name == "sendVoice" and chat_id in fake.voice_forbidden_chats:
                raise ApiError(400, "Bad Request: VOICE_MESSAGES_FORBIDDEN")
            media = self._media(name, params, files)
        elif not str(params.get("text", "")):
            raise ApiError(400, "Bad Request: message text is empty")
        elif len(str(params["text"]).encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        caption = params.get("caption")
        if caption is not None and len(str(caption).encode("utf-16-le")) // 2 > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        fake.note_send(chat_id, now)
        msg = fake.new_message(chat_id, name, params)
        if "text" in params:
            msg["text"] = params["text"]
        if caption:
            msg["caption"] = caption
        if "reply_markup" in params:
            msg["reply_markup"] = params["reply_markup"]
        if media is not None:
            body = fake.file_json(media)
            if media.kind in ("voice", "audio"):
                body["duration"] = int(float(params.get("duration", 0) or 0))
            if media.kind == "audio":
                for key in ("title", "performer"):
                    if key in params:
                        body[key] = params[key]
            msg[media.kind] = body
        return msg

    async def download(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        fake.calls.append(
            Call("download", None, time.monotonic(), 0, 200, {"path": request.match_info["path"]})
        )
        if request.match_info["token"] != fake.token:
            raise web.HTTPUnauthorized()
        f = fake.file_by_path(request.match_info["path"])
        if f is None:
            raise web.HTTPNotFound()
        return web.Response(body=f.data, content_type="application/octet-stream")


def make_app(fake: FakeTelegram) -> web.Application:
    app = web.Application(client_max_size=60 * 1024 * 1024)
    app[_FAKE_KEY] = fake
    handler = _Handler(fake)
    app.router.add_route("*", "/bot{token}/{method}", handler.method)
    app.router.add_get("/file/bot{token}/{path:.+}", handler.download)
    return app


async def start_fake_api(fake: FakeTelegram | None = None) -> tuple[FakeTelegram, web.AppRunner]:
    """Start the server on 127.0.0.1, a free port; ``fake.url`` is its root."""
    fake = fake or FakeTelegram()
    runner = web.AppRunner(make_app(fake), shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    return fake, runner


@asynccontextmanager
async def running_fake_api(fake: FakeTelegram | None = None) -> AsyncIterator[FakeTelegram]:
    fake, runner = await start_fake_api(fake)
    try:
        yield fake
    finally:
        fake.close()
        await runner.cleanup()


async def post_to_webhook(fake: FakeTelegram, update: JSON, secret: str | None) -> int:
    """Deliver one update to the registered webhook as Telegram does; the HTTP status."""
    assert fake.webhook is not None, "no webhook set"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with (
        ClientSession() as session,
        session.post(fake.webhook["url"], json=update, headers=headers) as resp,
    ):
        return resp.status
