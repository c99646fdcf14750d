"""The French chat commands: parsing what people type.

``/Fréquence@petitesvoixbot quotidien`` and ``!frequence quotidien`` are the
same command: prefix per platform, accents and case ignored, bot suffix cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import LANGUAGES, N_, SOURCE, _, speaking
from bot.text_norm import fold

TEACHER_COMMANDS = (
    ("classe", "faire de ce groupe le groupe de la classe"),
    ("album", "choisir l'album en cours : {p}album Titre"),
    ("albums", "la liste des albums"),
    ("invitation", "inviter la famille d'un enfant : {p}invitation Prénom"),
    ("invitations", "les invitations à imprimer (PDF) ; {p}invitations ar : aussi en arabe"),
    ("revoquer", "annuler les invitations d'un enfant : {p}revoquer Prénom"),
    ("coenseignant", "inviter un(e) collègue ou l'ATSEM à gérer la classe"),
    ("annuler", "en réponse à un enregistrement : ne pas l'envoyer"),
    ("retirer", "en réponse à un enregistrement : le retirer"),
    ("resume", "jour et heure du résumé : {p}resume vendredi 16:30"),
    ("parents", "les familles inscrites"),
    ("consentement", "accord des parents : {p}consentement Prénom oui|non, ou tous oui"),
    ("enfants", "les enfants de la classe et leur accord"),
    ("renommer", "corriger un prénom : {p}renommer Lea Léa B."),
    ("depart", "un enfant qui quitte la classe : {p}depart Prénom"),
    ("ecoutes", "combien de familles ont écouté : {p}ecoutes (ou {p}ecoutes 2 pour l'album 2)"),
    ("aide", "l'aide"),
)

PARENT_COMMANDS = (
    ("frequence", N_("immediat, quotidien ou hebdomadaire")),
    ("pause", N_("ne plus rien recevoir pour l'instant")),
    ("reprendre", N_("recevoir à nouveau")),
    ("albums", N_("les albums de la classe")),
    ("consentement", N_("votre accord pour la voix de votre enfant : {p}consentement oui|non")),
    ("ecouter", N_("écouter un album en entier : {p}ecouter 2")),
    ("page", N_("le lien de la page privée de votre famille")),
    ("langue", N_("la langue de mes messages : {p}langue ar, en, es, fr, pt ou tr")),
    ("arreter", N_("se désinscrire et effacer ses données")),
    ("aide", N_("l'aide")),
)


def menu(commands: tuple[tuple[str, str], ...], prefix: str) -> tuple[tuple[str, str], ...]:
    """Command descriptions with the platform's prefix in their examples."""
    return tuple((name, what.format(p=prefix)) for name, what in commands)


def translated_menus(
    commands: tuple[tuple[str, str], ...], prefix: str
) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The same menu explained in each family language but French."""
    menus = []
    for code in LANGUAGES:
        if code == SOURCE:
            continue
        with speaking(code):
            menus.append((code, tuple((n, _(what).format(p=prefix)) for n, what in commands)))
    return tuple(menus)


KNOWN = {name for name, _ in TEACHER_COMMANDS + PARENT_COMMANDS} | {"start"}


@dataclass(frozen=True)
class Command:
    name: str  # folded: "frequence"
    args: str  # the rest, as typed
    typed: str  # the command word as typed, for error messages

    @property
    def argv(self) -> list[str]:
        return self.args.split()


def parse_command(text: str, prefixes: tuple[str, ...]) -> Command | None:
    """A command, or None when the text is not one (plain chat)."""
    stripped = text.strip()
    if not stripped or stripped[0] not in prefixes:
        return None
    head, _, rest = stripped[1:].partition(" ")
    if not head:
        return None
    word = head.split("@", 1)[0]
    name = fold(word)
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return Command(name=name, args=rest.strip(), typed=stripped[0] + word)
