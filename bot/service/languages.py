"""A family's language: /langue CODE, the offer at subscription, and the
question asked once, in the welcome, where the platform does not tell (Matrix)."""

from __future__ import annotations

from bot.i18n import LANGUAGES, SOURCE, _, speaking, supported
from bot.ports import Choice
from bot.service.context import Context
from storage.records import Guardian

# Left in French on purpose: it speaks to whoever wants French back.
KEEP_FRENCH = Choice("Continuer en français", "/langue fr")


def chooser_choices() -> tuple[Choice, ...]:
    return tuple(Choice(name, f"/langue {code}") for code, name in LANGUAGES.items())


def every_language_line(p: str) -> str:
    """One line per language, each written in its own language."""
    lines = []
    for code in LANGUAGES:
        with speaking(code):
            lines.append(
                _("Pour lire mes messages en français : {p}langue {code}").format(p=p, code=code)
            )
    return "\n".join(lines)


class Languages:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _p(self, platform: str) -> str:
        return self.ctx.adapters[platform].capabilities.command_prefixes[0]

    async def choose(self, platform: str, chat: str, guardian: Guardian, args: str) -> None:
        p = self._p(platform)
        wanted = supported(args.strip())
        if wanted is None:
            text = _("Dans quelle langue voulez-vous lire mes messages ?") + "\n"
            await self.ctx.say(
                platform, chat, text + every_language_line(p), choices=self._buttons(platform)
            )
            return
        await self.ctx.repos.families.set_language(guardian.id, wanted)
        for child in await self.ctx.repos.families.subscribed_children(guardian.id):
            await self.ctx.repos.pages.set_language(child.id, wanted)  # its page agrees
        with speaking(wanted):
            await self.ctx.say(
                platform,
                chat,
                _(
                    "C'est noté : je vous écris maintenant en français. Les commandes gardent "
                    "leur nom français (par exemple {p}aide)."
                ).format(p=p),
            )

    def _buttons(self, platform: str) -> tuple[Choice, ...]:
        # Without buttons the lines of the text already say what to type.
        return chooser_choices() if self.ctx.adapters[platform].capabilities.has_buttons else ()

    def question(self, platform: str) -> str:
        """Asked once, in the welcome of a new family, where the platform does
        not tell its language: a line in each language."""
        with speaking(SOURCE):
            head = _("Dans quelle langue voulez-vous lire mes messages ?")
        return f"{head}\n{every_language_line(self._p(platform))}"
