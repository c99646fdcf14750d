"""French typography for what the bot writes in chats, applied once on the
way out (``Context.say``, the delivery and digest senders) rather than in
hundreds of texts.

Only an ordinary space that already stands before a mark is replaced: a
narrow no-break space (U+202F) before ``; ! ?``, a no-break space (U+00A0)
before ``:`` and inside « », so that a phone never breaks the line before
the mark. A straight apostrophe between two letters becomes ’. Words that
people copy or tap (links, commands, tags, addresses, codes) are left
exactly as they are, and a text in another language is not touched.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.ports import OutboundMessage

NARROW = "\u202f"
NO_BREAK = "\u00a0"
# A space, then a lone mark: followed by the end, a space or other punctuation
# (so the Matrix command "!aide" after a space is not a mark).
_BEFORE_MARK = re.compile(r" (?=([;!?:])(?:$|[\s;!?:.,…)»\]]))")
_AFTER_OPENING = re.compile(r"« ")
_BEFORE_CLOSING = re.compile(r" »")
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
# Words left alone: links, commands (/aide, !aide), tags, addresses.
_UNTOUCHED = re.compile(r"\S*(?:://|www\.|@)\S*|(?<!\S)[/!#]\S+")


def _spaces(text: str) -> str:
    text = _BEFORE_MARK.sub(lambda m: NO_BREAK if m.group(1) == ":" else NARROW, text)
    text = _AFTER_OPENING.sub("«" + NO_BREAK, text)
    return _BEFORE_CLOSING.sub(NO_BREAK + "»", text)


def french(text: str) -> str:
    """The text with French spaces and apostrophes (idempotent)."""
    out, last = [], 0
    for word in _UNTOUCHED.finditer(text):
        out.append(_APOSTROPHE.sub("’", text[last : word.start()]))
        out.append(word.group(0))
        last = word.end()
    out.append(_APOSTROPHE.sub("’", text[last:]))
    return _spaces("".join(out))


def typeset(text: str, lang: str) -> str:
    """``text`` as it is shown to a reader of ``lang``: French typography for
    French, anything else unchanged."""
    return french(text) if lang == "fr" else text


def typeset_message(message: OutboundMessage, lang: str) -> OutboundMessage:
    """A message's text, button labels and prompt, typeset for ``lang``."""
    if lang != "fr":
        return message
    return replace(
        message,
        text=french(message.text),
        choices=tuple(replace(c, label=french(c.label)) for c in message.choices),
        choices_prompt=french(message.choices_prompt),
    )
