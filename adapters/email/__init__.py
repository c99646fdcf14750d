"""The e-mail adapter (aiosmtplib): families who receive by e-mail."""

from adapters.email.adapter import EmailAdapter
from adapters.email.smtp import SmtpSettings

__all__ = ["EmailAdapter", "SmtpSettings"]
