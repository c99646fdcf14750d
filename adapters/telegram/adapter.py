"""TelegramAdapter: bot.ports.ChatAdapter on python-telegram-bot 22.

The PTB ``Application`` runs inside the caller's event loop (initialize,
start, then the updater's polling or webhook); it never paces nor retries
sends: the core's delivery workers pace by :attr:`capabilities` and get
``RateLimited`` on a 429.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
)
from telegram import Update as TgUpdate
from telegram import error as tg
from telegram.ext import Application, ContextTypes, TypeHandler

from adapters.telegram import logsafe
from adapters.telegram.errors import is_too_big, map_error
from adapters.telegram.inbound import translate
from adapters.telegram.outbound import Outbound
from adapters.telegram.polling import Poller
from bot.ports import (
    Activity,
    AttachmentUnavailable,
    BotProfile,
    Capabilities,
    CommandMenu,
    InboundRetry,
    InboundSink,
    MediaMessage,
    OutboundMessage,
    PermanentFailure,
    Receipt,
    TransientFailure,
    hand_over,
)

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

_App = Application[Any, Any, Any, Any, Any, Any]


def _command_name(command: str) -> str:
    """``/fréquence`` -> ``frequence``: Telegram allows [a-z0-9_]{1,32}."""
    plain = unicodedata.normalize("NFKD", command.lstrip("/!").lower())
    name = "".join(c for c in plain if c.isascii() and (c.isalnum() or c == "_"))
    return name[:32]


class TelegramAdapter:
    def __init__(
        self,
        token: str,
        api_url: str = "https://api.telegram.org",
        *,
        menu: CommandMenu | None = None,
        profile: BotProfile | None = None,
        webhook_url: str | None = None,
        webhook_listen: str = "127.0.0.1",
        webhook_port: int = 8443,
        webhook_secret: str | None = None,
        global_rate_per_s: float = 25.0,
        poll_timeout: float = 10.0,
        state_dir: Path | None = None,
        inbound_retry: InboundRetry | None = None,
    ) -> None:
        self._token = token
        self._api_url = api_url.rstrip("/")
        self._menu = menu
        self._profile = profile
        self._webhook_url = webhook_url
        self._webhook_listen = webhook_listen
        self._webhook_port = webhook_port
        # A webhook always checks a secret: one is made up when none is set.
        self._webhook_secret = webhook_secret or (
            secrets.token_urlsafe(32) if webhook_url else None
        )
        self._global_rate = global_rate_per_s
        self._poll_timeout = poll_timeout
        # Where the last handled update is remembered across restarts.
        self._state_dir = state_dir
        self._retry = inbound_retry or InboundRetry()
        self._poller: Poller | None = None
        self._app: _App | None = None
        self._outbound: Outbound | None = None
        self._sink: InboundSink | None = None
        self._username: str | None = None
        self._sees_all = False
        self._known_sizes: dict[str, int] = {}
        self._log_filter: logsafe.RedactToken | None = None

    # ------------------------------------------------------------------
    # What the core reads
    # ------------------------------------------------------------------

    @property
    def platform(self) -> str:
        return "telegram"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            max_text_length=4096,
            global_rate_per_s=self._global_rate,
            per_chat_interval_s=1.0,
            per_group_per_min=20,
            max_upload_bytes=50 * 1024 * 1024,
            max_download_bytes=MAX_DOWNLOAD,
            command_prefixes=("/",),
            can_delete=True,
            invite_link_template=(
                f"https://t.me/{self._username}?start={{code}}" if self._username else None
            ),
            has_buttons=True,
            sees_group_media=self._sees_all,
            # As an administrator the bot sees every voice note of the group,
            # whatever its privacy mode.
            add_to_group_link=(
                f"https://t.me/{self._username}?startgroup=classe&admin=delete_messages"
                if self._username
                else None
            ),
        )

    @property
    def sees_all_group_messages(self) -> bool:
        """False while the bot's privacy mode is on (the default): in a group
        it then only gets commands, replies to it and mentions, not the
        teacher's plain voice notes. Known after ``connect``."""
        return self._sees_all

    @property
    def connected(self) -> bool:
        """Started, and (when polling) the last getUpdates succeeded."""
        if self._app is None:
            return False
        return self._poller is None or self._poller.healthy

    @property
    def username(self) -> str | None:
        return self._username

    # ------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------

    def _build(self) -> _App:
        return (
            Application.builder()
            .token(self._token)
            .base_url(f"{self._api_url}/bot")
            .base_file_url(f"{self._api_url}/file/bot")
            .connection_pool_size(64)
            .pool_timeout(10.0)
            .media_write_timeout(120.0)
            .job_queue(None)
            .concurrent_updates(False)
            .build()
        )

    async def learn_username(self) -> str:
        """The bot's @name from ``getMe``, without receiving anything: what
        the operator's commands need for ``t.me`` links while the service
        runs (only one process may poll). Raises a DeliveryError."""
        if self._username:
            return self._username
        flt = logsafe.install(self._token)
        try:
            bot = Bot(
                self._token,
                base_url=f"{self._api_url}/bot",
                base_file_url=f"{self._api_url}/file/bot",
            )
            async with bot:  # initialize() calls getMe
                me = bot.bot
        except tg.TelegramError as exc:
            raise map_error(exc) from exc
        finally:
            logsafe.uninstall(flt)
        if not me.username:
            raise PermanentFailure("no_username")
        self._username = me.username
        return me.username

    async def connect(self, sink: InboundSink) -> None:
        if self._app is not None:
            raise RuntimeError("already connected")
        self._log_filter = logsafe.install(self._token)
        self._sink = sink
        app = self._build()
        try:
            await app.initialize()  # getMe
            me = app.bot.bot
            self._username = me.username
            self._sees_all = bool(me.can_read_all_group_messages)
            self._outbound = Outbound(app.bot)
            app.add_handler(TypeHandler(TgUpdate, self._on_update))
            app.add_error_handler(self._on_error)
            self._app = app
            if self._menu is not None:
                await self.set_menu(self._menu)
            if self._profile is not None:
                await self._present(self._profile)
            await app.start()
            if self._webhook_url:
                updater = app.updater
                assert updater is not None
                await updater.start_webhook(
                    listen=self._webhook_listen,
                    port=self._webhook_port,
                    url_path=urlsplit(self._webhook_url).path.lstrip("/"),
                    webhook_url=self._webhook_url,
                    secret_token=self._webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
            else:
                # Our own loop, not the updater's: an update is confirmed to
                # Telegram only once the core has it (see polling.py).
                self._poller = Poller(
                    app.bot,
                    app.process_update,
                    timeout=self._poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    state_dir=self._state_dir,
                )
                await self._poller.start()
        except tg.TelegramError as exc:
            await self._teardown(app)
            raise map_error(exc) from exc
        except BaseException:
            await self._teardown(app)
            raise

    async def disconnect(self) -> None:
        app = self._app
        if app is None:
            return
        await self._teardown(app)

    async def _teardown(self, app: _App) -> None:
        """Stop fetching, finish the updates already fetched, close HTTP."""
        try:
            if self._poller is not None:
                poller, self._poller = self._poller, None
                await poller.stop()
            if app.updater is not None and app.updater.running:
                try:
                    await app.updater.stop()
                except tg.TelegramError as exc:
                    # The last offset could not be confirmed: Telegram sends
                    # those updates again on the next start.
                    log.warning("updater stopped uncleanly: %s", type(exc).__name__)
            if app.running:
                await app.stop()
            await app.shutdown()
        finally:
            self._app = None
            self._outbound = None
            if self._log_filter is not None:
                logsafe.uninstall(self._log_filter)
                self._log_filter = None

    async def _on_update(self, update: TgUpdate, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            try:
                await query.answer()  # stops the spinner on the button
            except tg.TelegramError:
                log.warning("could not answer a callback query", exc_info=True)
        event = translate(update)
        if isinstance(event, MediaMessage) and event.attachment.size is not None:
            self._known_sizes[event.attachment.ref] = event.attachment.size
        if event is not None and self._sink is not None:
            # Returns once handled, or given up with the sender told: only
            # then does the poller confirm the update (polling.py).
            await hand_over(self._sink, event, self._retry)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("update handling failed", exc_info=context.error)

    # ------------------------------------------------------------------
    # Outbound
    # ------------------------------------------------------------------

    def _bot_app(self) -> _App:
        if self._app is None:
            raise TransientFailure("not_connected")
        return self._app

    async def send(self, message: OutboundMessage) -> Receipt:
        if self._outbound is None:
            raise TransientFailure("not_connected")
        return await self._outbound.send(message)

    async def download(self, ref: str) -> bytes:
        """Bytes of an attachment (its file_id); ``AttachmentUnavailable``
        ("too_big" over 20 MB, "unavailable" when Telegram no longer knows it)."""
        bot = self._bot_app().bot
        known = self._known_sizes.get(ref)
        if known is not None and known > MAX_DOWNLOAD:
            raise AttachmentUnavailable("too_big", f"{known} bytes")
        try:
            file = await bot.get_file(ref)
            if file.file_size is not None and file.file_size > MAX_DOWNLOAD:
                raise AttachmentUnavailable("too_big", f"{file.file_size} bytes")
            return bytes(await file.download_as_bytearray())
        except tg.TelegramError as exc:
            if is_too_big(exc):
                raise AttachmentUnavailable("too_big") from exc
            if isinstance(exc, tg.BadRequest):
                raise AttachmentUnavailable("unavailable", exc.message) from exc
            raise map_error(exc) from exc

    async def delete(self, chat_id: str, message_id: str) -> bool:
        """Delete every message of a receipt; False when Telegram refuses
        (older than 48 h, already gone, no rights)."""
        bot = self._bot_app().bot
        done = True
        for part in message_id.split(","):
            if not part.isdigit():
                done = False
                continue
            try:
                done = await bot.delete_message(chat_id, int(part)) and done
            except (tg.BadRequest, tg.Forbidden):
                done = False
            except tg.TelegramError as exc:
                raise map_error(exc, chat_id) from exc
        return done

    async def join(self, chat_id: str) -> None:
        """Telegram bots are added to groups by people: nothing to do."""

    async def leave(self, chat_id: str) -> None:
        bot = self._bot_app().bot
        try:
            await bot.leave_chat(chat_id)
        except (tg.BadRequest, tg.Forbidden):
            log.info("leave: already out of the chat")
        except tg.TelegramError as exc:
            raise map_error(exc, chat_id) from exc

    async def show_activity(self, chat_id: str, activity: Activity) -> None:
        """Best effort: a failed chat action is only logged."""
        bot = self._bot_app().bot
        try:
            await bot.send_chat_action(chat_id, activity.value)
        except tg.TelegramError as exc:
            log.debug("chat action failed: %s", type(exc).__name__)

    async def _present(self, profile: BotProfile) -> None:
        """The French description a parent reads before pressing Start.
        Best effort: a refusal (e.g. Telegram's own rate limit on these
        calls) must not keep the bot from starting."""
        bot = self._bot_app().bot
        try:
            await bot.set_my_description(profile.description[:512])
            await bot.set_my_short_description(profile.short_description[:120])
        except tg.TelegramError as exc:
            log.warning("bot description not set: %s", type(exc).__name__)

    async def set_menu(self, menu: CommandMenu) -> None:
        """The French command menus: one for private chats, one for groups;
        the private one also explained for apps set to another language."""
        bot = self._bot_app().bot
        scopes: list[tuple[tuple[tuple[str, str], ...], BotCommandScope, str | None]] = [
            (menu.private, BotCommandScopeAllPrivateChats(), None),
            (menu.group, BotCommandScopeAllGroupChats(), None),
        ]
        scopes += [
            (entries, BotCommandScopeAllPrivateChats(), code)
            for code, entries in menu.private_translated
        ]
        try:
            for entries, scope, language_code in scopes:
                commands = [
                    BotCommand(_command_name(name), description[:256])
                    for name, description in entries
                    if _command_name(name)
                ]
                await bot.set_my_commands(commands, scope=scope, language_code=language_code)
        except tg.TelegramError as exc:
            raise map_error(exc) from exc
