"""The Telegram adapter (python-telegram-bot 22)."""

from adapters.telegram.adapter import TelegramAdapter

__all__ = ["TelegramAdapter"]
