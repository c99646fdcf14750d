"""An outbound message as an e-mail: plain text and HTML in the family's language (no remote
image, no tracking), the links, one-click unsubscribe headers (RFC 8058), and
a Message-ID derived from the delivery so that a resend is recognisable."""

from __future__ import annotations

import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache

from bot.ports import Link, OutboundMessage

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


@cache  # one sender for the whole service
def sender_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id(key: str | None, domain: str) -> str:
    if key is None:
        return make_msgid(domain=domain)
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in key)
    return f"<{safe}@{domain}>"


def subject(message: OutboundMessage) -> str:
    return message.subject or message.text.strip().split("\n", 1)[0][:120]


def plain_text(message: OutboundMessage) -> str:
    parts = [message.text.strip()] if message.text.strip() else []
    if message.links:
        parts.append("\n\n".join(_plain_link(link) for link in message.links))
    footer = []
    if message.settings_url:
        footer.append(_plain_link(Link(message.settings_label, message.settings_url)))
    if message.unsubscribe_url:
        footer.append(_plain_link(Link(message.unsubscribe_label, message.unsubscribe_url)))
    if footer:
        parts.append("-- \n" + "\n".join(footer))
    return "\n\n".join(parts) + "\n"


def _plain_link(link: Link) -> str:
    detail = f" ({link.detail})" if link.detail else ""
    return f"• {link.label}{detail}" + (f"\n  {link.url}" if link.url else "")


def html_text(message: OutboundMessage) -> str:
    e = html.escape
    body = [
        f"<p>{e(paragraph).replace(chr(10), '<br>')}</p>"
        for paragraph in message.text.strip().split("\n\n")
        if paragraph.strip()
    ]
    if message.links:
        items = []
        for link in message.links:
            label = (
                f'<a href="{e(link.url)}" style="font-size:18px">{e(link.label)}</a>'
                if link.url
                else e(link.label)
            )
            detail = f" ({e(link.detail)})" if link.detail else ""
            items.append(f'<li style="margin:0 0 12px 0">{label}{detail}</li>')
        body.append("<ul>\n" + "\n".join(items) + "\n</ul>")
    footer = []
    if message.settings_url:
        footer.append(f'<a href="{e(message.settings_url)}">{e(message.settings_label)}</a>')
    if message.unsubscribe_url:
        footer.append(f'<a href="{e(message.unsubscribe_url)}">{e(message.unsubscribe_label)}</a>')
    if footer:
        body.append(f'<p style="font-size:13px;color:#555">{" · ".join(footer)}</p>')
    direction = "rtl" if message.right_to_left else "ltr"
    # One line per block: the lines holding a family's own links are then
    # the only ones encoded again for each family (letter_templates).
    return (
        f'<!DOCTYPE html><html lang="{e(message.language)}" dir="{direction}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>\n'
        f'<body dir="{direction}" style="font-family:sans-serif;font-size:16px;line-height:1.5">\n'
        + "".join(f"{block}\n" for block in body)
        + "</body></html>\n"
    )


def build(
    message: OutboundMessage,
    sender: str,
    now: datetime,
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """``attachment``: (file name, MP3 bytes), only when the operator asked."""
    mail = EmailMessage()
    mail["Subject"] = subject(message)
    mail["From"] = sender
    mail["To"] = message.chat_id
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(message.idempotency_key, sender_domain(sender))
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    if message.unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(plain_text(message))
    mail.add_alternative(html_text(message), subtype="html")
    if attachment is not None:
        name, data = attachment
        mail.add_attachment(data, maintype="audio", subtype="mpeg", filename=name)
    return mail
