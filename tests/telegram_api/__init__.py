"""A local HTTP server that speaks the Telegram Bot API the way PTB uses it.

Tests and the benchmarks point the adapter at it (``api_url``): it records
every call, enforces Telegram's flood limits and can inject the failures a
real bot meets (429, 5xx, a parent who blocked the bot, a vanished chat, a
refused ``file_id``...).
"""

from tests.telegram_api.server import post_to_webhook, running_fake_api, start_fake_api
from tests.telegram_api.state import Call, FakeTelegram, Limits, StoredFile

__all__ = [
    "Call",
    "FakeTelegram",
    "Limits",
    "StoredFile",
    "post_to_webhook",
    "running_fake_api",
    "start_fake_api",
]
