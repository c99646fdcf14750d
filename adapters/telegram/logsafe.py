"""Keep the bot token out of the logs (httpx logs every request URL)."""

from __future__ import annotations

import logging

_LOGGERS = (
    "httpx",
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Updater",
    "telegram.ext.Application",
    "telegram.request.BaseRequest",
)


class RedactToken(logging.Filter):
    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._token:
            return True
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = None
        return True


def install(token: str) -> RedactToken:
    flt = RedactToken(token)
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(flt)
    return flt


def uninstall(flt: RedactToken) -> None:
    for name in _LOGGERS:
        logging.getLogger(name).removeFilter(flt)
