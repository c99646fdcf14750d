"""Everything the bot says, in one place. French is the source; what a
family reads goes through the catalogs (bot/i18n.py), teachers keep French."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date as Date
from datetime import datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_day_names

from bot.commands import PARENT_COMMANDS, TEACHER_COMMANDS, menu
from bot.i18n import N_, _, language
from bot.ports import Capabilities, Choice
from bot.service.listens import RecordingListens
from bot.text_norm import fold
from storage.records import Album
from storage.repos.families import FamilyLine

PARENT_MENU = PARENT_COMMANDS
TEACHER_MENU = TEACHER_COMMANDS

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
    "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

# Marked here, translated where shown: frequency_words().
FREQUENCY_WORDS = {
    "immediat": N_("dès qu'ils sont publiés"),
    "quotidien": N_("une fois par jour, en fin de journée"),
    "hebdomadaire": N_("une fois par semaine, avec le résumé de la classe"),
}


def frequency_words(frequency: str) -> str:
    return _(FREQUENCY_WORDS[frequency])


# How a family receives, as the teacher reads it in /parents (never an address).
PLATFORM_WORDS = {
    "telegram": "sur Telegram",
    "matrix": "sur Element",
    "email": "par e-mail",
}


def family_reach(lines: Sequence[FamilyLine]) -> str:
    """For the teacher: how many families each way reaches, a family on
    several counted once per way; e-mail and page counted when they are
    all a family has."""
    chats: dict[str, int] = {}
    email_only = page_only = 0
    for line in lines:
        ways = {name for name, count in line.platforms if count}
        for name in sorted(ways - {"email"}):
            chats[name] = chats.get(name, 0) + 1
        if line.guardians and ways == {"email"}:
            email_only += 1
        elif not line.guardians and line.has_page:
            page_only += 1
    order = list(PLATFORM_WORDS)
    parts = [
        f"{chats[name]} {PLATFORM_WORDS.get(name, name)}"
        for name in sorted(chats, key=lambda n: (order.index(n) if n in order else len(order), n))
    ]
    if email_only:
        parts.append(f"{email_only} par e-mail seulement")
    if page_only:
        parts.append(f"{page_only} avec leur page web seulement")
    return f"Elles reçoivent : {', '.join(parts)}." if parts else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes == 0:
        return _("{seconds} s").format(seconds=secs)
    return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{secs:02d}")


def clock(t: time) -> str:
    """18h00 in French, the reader's usual form elsewhere (Babel)."""
    if language() == "fr":
        return f"{t.hour}h{t.minute:02d}"
    return format_time(t, "short", locale=language())


def weekday_and_clock(weekday: int, t: time) -> str:
    """« vendredi 16h30 » in the reader's language (0 = Monday)."""
    return f"{get_day_names('wide', locale=language())[weekday]} {clock(t)}"


def day_words(day: Date) -> str:
    """« lundi 2 mars » in the reader's language (CLDR names from Babel)."""
    # Translators: a CLDR date pattern (weekday, day, month), not words.
    return format_date(day, _("EEEE d MMMM"), locale=language())


def full_day(day: Date) -> str:
    """« lundi 6 juillet 2027 » in the reader's language; French says « 1er »."""
    if language() == "fr":
        number = "1er" if day.day == 1 else str(day.day)
        return f"{WEEKDAYS[day.weekday()]} {number} {MONTHS[day.month - 1]} {day.year}"
    # Translators: a CLDR date pattern (weekday, day, month, year), not words.
    return format_date(day, _("EEEE d MMMM y"), locale=language())


def moment(when: datetime, tz: ZoneInfo, now: datetime) -> str:
    local, today = when.astimezone(tz), now.astimezone(tz)
    clock = f"{local.hour}h{local.minute:02d}"
    if local.date() == today.date():
        return f"à {clock}"
    if (local.date() - today.date()).days == 1:
        return f"demain à {clock}"
    return f"le {WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} à {clock}"


def date(when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year}"


def stranger() -> str:
    return _(
        "Bonjour ! Je suis le robot qui partage les enregistrements d'une classe avec les "
        "familles. Pour vous inscrire, il faut l'invitation donnée par l'enseignant(e) "
        "(le lien ou le code sur le papier du cahier de liaison)."
    )


def unknown_command(typed: str, p: str) -> str:
    return _(
        "Je ne connais pas la commande {typed}. Tapez {p}aide pour voir ce que je sais faire."
    ).format(typed=typed, p=p)


def teacher_command_in_direct(p: str, groups: list[str]) -> str:
    """A group command typed in the teacher's private chat: where to type it,
    and how to set the group up only when there is none yet."""
    if groups:
        where = names_list([f"« {g} »" for g in groups])
        return f"Cette commande se tape dans le groupe de la classe ({where}), pas ici."
    return (
        "Cette commande se tape dans le groupe de la classe, pas ici. "
        f"Ajoutez-moi au groupe de la classe puis tapez {p}classe."
    )


def private_send_failed(what: str, again: str, several: bool = False) -> str:
    """What was meant for the teacher's private chat did not reach it: said
    as such (never « envoyée »), with what to do."""
    verb = "n'ont pas pu vous être envoyées" if several else "n'a pas pu vous être envoyée"
    return (
        f"{what} {verb} en privé : je ne peux pas encore vous écrire. Écrivez-moi d'abord "
        f"en privé (un simple bonjour), puis tapez à nouveau {again} ici."
    )


def recording_in_direct() -> str:
    return (
        "Merci ! Pour que je le range dans l'album, postez l'enregistrement dans le groupe "
        "de la classe, pas dans notre conversation privée."
    )


def teacher_help(p: str) -> str:
    lines = ["Commandes de l'enseignant(e), à taper dans le groupe de la classe :"]
    lines += [f"{p}{name} : {what}" for name, what in menu(TEACHER_COMMANDS, p)]
    lines.append(
        "Envoyez une note vocale ou un fichier audio (WAV, MP3…) dans le groupe : je le "
        "range dans l'album en cours. La légende devient son titre ; #Prénom nomme un enfant, "
        "#prive #Prénom l'envoie seulement à sa famille."
    )
    return "\n".join(lines)


def parent_help(p: str) -> str:
    lines = [_("Ce que vous pouvez me demander :")]
    lines += [f"{p}{name} : {_(what).format(p=p)}" for name, what in PARENT_COMMANDS]
    lines.append(_("Les commandes gardent leur nom français dans toutes les langues."))
    return "\n".join(lines)


def parent_settings(children: list[str], frequency: str, paused: bool, p: str) -> str:
    """What /aide shows a parent first: for whom, how often, paused or not."""
    who = names_list(children)
    if paused:
        return _(
            "Vos réglages : inscrit(e) pour {who}, en pause (rien n'est envoyé). "
            "Tapez {p}reprendre pour recevoir à nouveau."
        ).format(who=who, p=p)
    return _("Vos réglages : inscrit(e) pour {who}, enregistrements reçus {how}.").format(
        who=who, how=frequency_words(frequency)
    )


def code_block(code: str, link: str | None, web_link: str | None = None) -> str:
    """The code stands alone on its own line; the links too, when there are."""
    parts = ["Code :", code]
    if link:
        parts += ["Lien :", link]
    if web_link:
        parts += ["Page d'invitation (tous les choix, même sans application) :", web_link]
    return "\n".join(parts)


def recording_label(title: str, position: int) -> str:
    """« Groupe 2 », or n°3 for a recording without a caption."""
    return f"« {title} »" if title else f"n°{position}"


def names_list(names: list[str]) -> str:
    """'Lina', 'Lina et Tom', 'Lina, Tom et Léa B.'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + _(" et ") + names[-1]


def missing_consent(names: list[str]) -> str:
    """Why a recording waits: the children without their family's agreement."""
    if not names:
        return "l'accord des familles manque."
    if len(names) > 6:
        shown = names_list([*names[:5], f"{len(names) - 5} autres"])
        return f"l'accord des parents manque pour {len(names)} enfants ({shown})."
    return f"l'accord des parents manque pour {names_list(names)}."


def new_names(names: list[str]) -> str:
    word = "Nouveau prénom" if len(names) == 1 else "Nouveaux prénoms"
    return f"({word} dans la classe : {names_list(names)}. Vérifiez l'orthographe.)"


def who_speaks_question(p: str) -> str:
    return (
        "Qui parle ? Répondez à ce message par les prénoms (#Lina #Tom), #classe pour toute "
        f"la classe, ou #prive #Lina pour sa famille seulement. Pour l'arrêter : {p}annuler."
    )


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 enfant', '3 enfants', '0 enfant' (French: singular under 2)."""
    word = singular if count < 2 else (plural_form or singular + "s")
    return f"{count} {word}"


DEFAULT_CONSENT_TEXT = N_(
    "L'école enregistre les enfants de la classe quand ils racontent les albums lus en "
    "classe. Ces enregistrements sont partagés seulement avec les familles de la classe, "
    "par ce service, pour suivre les progrès des enfants et en parler à la maison. Ils sont "
    "effacés à la fin de l'année scolaire. Vous pouvez changer d'avis à tout moment."
)


CONSENT_STATES = {"oui": N_("oui"), "non": N_("non"), "pas encore": N_("pas encore")}


def consent_state(value: str) -> str:
    """A consent state as a family reads it (the typed answers stay oui/non)."""
    return _(CONSENT_STATES[value]) if value in CONSENT_STATES else value


def default_consent_text() -> str:
    return _(DEFAULT_CONSENT_TEXT)


def consent_question(consent_text: str, first_name: str, p: str, target: str) -> str:
    question = _(
        "Acceptez-vous que la voix de {name} soit enregistrée et entendue par les familles "
        "de la classe ?\nRépondez {p}consentement {target}oui ou {p}consentement {target}non."
    ).format(name=first_name, p=p, target=target)
    return f"{consent_text}\n\n{question}"


def teacher_welcome(class_name: str, school: str, caps: Capabilities) -> str:
    """After a teacher's /start CODE: the next steps, with the one-tap way
    to add the bot to the class group where the platform has one."""
    p = caps.command_prefixes[0]
    if caps.add_to_group_link:
        first = [
            "1. Touchez « Ajouter au groupe de la classe » ci-dessous, choisissez le groupe "
            "(ou créez-le) et gardez-moi comme administrateur : je verrai ainsi les notes "
            "vocales.",
            f"2. Dans le groupe, je me présente ; sinon tapez {p}classe.",
        ]
    else:
        first = [
            "1. Ajoutez-moi au groupe de la classe.",
            f"2. Dans ce groupe, tapez {p}classe.",
        ]
    return "\n".join(
        [
            f"Bienvenue ! Vous êtes enseignant(e) de la classe « {class_name} » ({school}).",
            *first,
            f"3. Tapez {p}album suivi du titre de l'album en cours.",
            "Ensuite, chaque note vocale ou fichier audio posté dans le groupe est rangé dans "
            f"l'album et envoyé aux familles. {p}aide pour tout le reste.",
        ]
    )


def broadcast_channel() -> str:
    return (
        "Ceci est une chaîne (un « canal » Telegram), pas un groupe : seuls ses "
        "administrateurs y écrivent, je ne peux pas y recevoir les enregistrements de la "
        "classe. Créez plutôt un groupe, ajoutez-m'y, puis tapez /classe. Je quitte cette "
        "chaîne."
    )


def add_to_group_button(caps: Capabilities) -> tuple[Choice, ...]:
    if not caps.add_to_group_link:
        return ()
    return (Choice("Ajouter au groupe de la classe", "", url=caps.add_to_group_link),)


# How parents say thank you (folded), in the families' common languages.
THANKS = ("merci", "thanks", "thank you", "thx", "gracias", "obrigad", "tesekkur", "شكرا")
# A message made of these alone says thank you too ("🙏", "❤️❤️").
THANKS_SIGNS = frozenset("🙏❤♥😊🥰😍💕💖💗💐🌸🤗👍👏")
# Invisible joiners and variation selectors inside emoji, and punctuation.
NOT_SIGNS = frozenset("\ufe0f\ufe0e\u200d!.")


def is_thanks(text: str) -> bool:
    """A short thank-you ("Merci !", "merci beaucoup 🙏", "❤️"), not a question."""
    signs = [c for c in text if not c.isspace() and c not in NOT_SIGNS]
    if signs and len(signs) <= 6 and all(c in THANKS_SIGNS for c in signs):
        return True
    words = "".join(c if c.isalnum() or c.isspace() else " " for c in fold(text)).split()
    if not words or len(words) > 6 or "?" in text:
        return False
    return " ".join(words).startswith(THANKS)


def thanks_answer() -> str:
    return _("Avec plaisir\u202f! Bonne écoute en famille.")


# -- when something failed on the bot's side (nothing a teacher sends is lost) --


def media_not_recorded() -> str:
    return (
        "Je n'ai pas pu enregistrer ce message à cause d'un problème de mon côté. "
        "Renvoyez-le dans quelques minutes. Rien n'a été envoyé aux familles."
    )


def message_not_handled() -> str:
    return _(
        "Je n'ai pas pu traiter ce message à cause d'un problème de mon côté. "
        "Renvoyez-le dans quelques minutes."
    )


def preparation_failed() -> str:
    return (
        "Je n'ai pas pu préparer cet enregistrement à cause d'un problème de mon côté. "
        "Renvoyez-le dans quelques minutes."
    )


def unreadable() -> str:
    return (
        "Je n'ai pas pu lire ce message : il est chiffré et sa clé ne m'est pas parvenue. "
        "Pouvez-vous l'envoyer à nouveau ?"
    )


def families(count: int) -> str:
    return f"{count} famille" if count <= 1 else f"{count} familles"  # « 0 famille »


def listen_report(album: Album, lines: list[RecordingListens]) -> str:
    """/ecoutes: one line per recording, counts (names only with listen_details)."""
    head = f"Écoutes de l'album n°{album.position} « {album.title} » :"
    if not lines:
        return f"{head}\npas encore d'enregistrement publié."
    out = [head]
    for line in lines:
        text = (
            f"{recording_label(line.title, line.position)} : écouté par "
            f"{families(line.listened)} sur {line.audience}"
        )
        if line.seen:
            text += f" (et vu dans la messagerie par {families(line.seen)})"
        if line.names:
            text += f" : {', '.join(line.names)}"
        out.append(text)
    out.append(
        "Écouté : joué au moins 5 secondes sur la page de la famille. Telegram ne dit pas "
        "aux robots qui a lu ; Matrix dit qui a vu le message."
    )
    return "\n".join(out)
