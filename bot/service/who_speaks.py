"""Who speaks in a recording: the tags of its caption, or of a reply.

``#Lina #Tom`` names children, ``#prive #Lina`` keeps it for Lina's family,
``#classe`` says the whole class speaks. A phone voice note has no caption:
the teacher answers the recording (or the bot's answer about it) with tags
only, or presses the "Qui parle ?" buttons, as long as it has not gone out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.children import NameMatch, ambiguity_question, child_key, find_by_name, tidy_child_name
from bot.ports import Choice
from bot.service import texts
from bot.service.context import Context
from bot.text_norm import fold
from storage.records import Child, Recording

# Buttons under the bot's answer: beyond this many children, the reply alone.
MAX_CHILD_BUTTONS = 30
ADD = "+"  # a button's text: add to the tags instead of replacing them


@dataclass(frozen=True)
class Tags:
    title: str = ""
    names: tuple[str, ...] = ()
    private: bool = False
    whole_class: bool = False
    adding: bool = False  # a button press: added to what is there


def read_tags(text: str) -> Tags:
    """'Le loup #Lina #prive' -> title 'Le loup', names ('Lina',), private."""
    words, names = [], []
    private = whole_class = False
    body = text.strip()
    adding = body.startswith(ADD)
    if adding:
        body = body[len(ADD) :]
    for word in body.split():
        if word.startswith("#") and len(word) > 1:
            tag = word[1:].strip(",;:!?")
            if fold(tag) == "prive":
                private = True
            elif fold(tag) == "classe":
                whole_class = True
            elif tag.strip("."):
                names.append(tidy_child_name(tag))
        else:
            words.append(word)
    return Tags(" ".join(words)[:200], tuple(dict.fromkeys(names)), private, whole_class, adding)


def only_tags(text: str) -> bool:
    """A message made of tags alone: a reply that says who speaks."""
    body = text.strip().removeprefix(ADD)
    words = body.split()
    return bool(words) and all(w.startswith("#") and len(w) > 1 for w in words)


@dataclass
class Resolved:
    children: list[Child] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    ambiguous: list[tuple[str, tuple[Child, ...]]] = field(default_factory=list)


async def resolve(ctx: Context, class_id: int, names: Sequence[str]) -> Resolved:
    """The children the names mean. An unknown name becomes a new child of
    the class (the teacher is told to check it); an ambiguous one is never
    guessed."""
    out = Resolved()
    known = await ctx.repos.families.children_of_class(class_id)
    for name in names:
        match: NameMatch = find_by_name(name, known)
        if match.ambiguous:
            out.ambiguous.append((name, match.candidates))
            continue
        child = match.child
        if child is None:
            child, created = await ctx.repos.families.ensure_child(
                class_id, tidy_child_name(name), child_key(name), ctx.clock.now()
            )
            known.append(child)
            if created:
                out.created.append(child.first_name)
        if child.id not in {c.id for c in out.children}:
            out.children.append(child)
    return out


async def blocking_names(ctx: Context, rec: Recording) -> list[str]:
    """First names of the children whose consent holds ``rec`` back."""
    ids = await ctx.audience.blocking_children(rec)
    names = []
    for child_id in ids:
        child = await ctx.repos.families.get_child(child_id)
        names.append(child.first_name if child else "un enfant parti")
    return names


def who_choices(children: Sequence[Child], *, private_allowed: bool) -> tuple[Choice, ...]:
    """The "Qui parle ?" buttons: each child, the whole class, its family only."""
    if not children or len(children) > MAX_CHILD_BUTTONS:
        return ()
    choices = [Choice(c.first_name, f"{ADD}#{c.first_name.replace(' ', '_')}") for c in children]
    choices.append(Choice("Toute la classe", "#classe"))
    if private_allowed:
        choices.append(Choice("Seulement sa famille", f"{ADD}#prive"))
    return tuple(choices)


def speakers_words(children: Sequence[Child], private: bool) -> str:
    if not children:
        return "toute la classe"
    names = texts.names_list([c.first_name for c in children])
    return f"{names}, pour sa famille seulement" if private else names


class WhoSpeaks:
    """Sets who speaks in a recording that has not gone out yet."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def apply(self, rec: Recording, tags: Tags) -> str:
        """Apply the tags of a reply; returns the French answer."""
        repos = self.ctx.repos
        p = self.ctx.adapters[rec.platform].capabilities.command_prefixes[0]
        label = texts.recording_label(rec.title, rec.position)
        if rec.state not in ("received", "processing", "waiting", "held"):
            return (
                f"{label} est déjà parti (ou a été retiré) : trop tard pour dire qui parle. "
                f"Pour le retirer des familles, répondez-lui {p}retirer."
            )
        resolved = await resolve(self.ctx, rec.class_id, tags.names)
        if resolved.ambiguous:
            name, candidates = resolved.ambiguous[0]
            return ambiguity_question(name, candidates)
        children = list(resolved.children)
        private = tags.private
        if tags.adding:
            if tags.whole_class:
                children, private = [], False
            else:
                before = await repos.recordings.tagged_children(rec.id)
                kept = [c for cid in before if (c := await repos.families.get_child(cid))]
                children = kept + [c for c in children if c.id not in set(before)]
                private = private or rec.is_private
        elif tags.whole_class:
            children, private = [], False
        if private and len(children) != 1:
            return "Pour un envoi à une seule famille, nommez un seul enfant : « #prive #Prénom »."
        private_child = children[0].id if private else None
        if not await repos.recordings.set_tags(rec.id, [c.id for c in children], private_child):
            return f"{label} est déjà parti : trop tard pour dire qui parle."
        fresh = await repos.recordings.get(rec.id)
        assert fresh is not None
        who = speakers_words(children, private)
        lines = [f"C'est noté : dans l'enregistrement {label}, parle : {who}."]
        if resolved.created:
            lines.append(texts.new_names(resolved.created))
        lines.append(await self.reconsider(fresh))
        return "\n".join(line for line in lines if line)

    async def reconsider(self, rec: Recording) -> str:
        """After tags or a consent changed: waiting or held, and why, in French."""
        repos, now = self.ctx.repos, self.ctx.clock.now()
        if rec.voice_sha is None:
            return "Il partira une fois prêt."
        names = await blocking_names(self.ctx, rec)
        if names:
            if rec.state == "waiting":
                await repos.recordings.hold_for_consent(rec.id)
            return "Il attend : " + texts.missing_consent(names)
        if rec.state == "held":
            publish_at = now + timedelta(seconds=self.ctx.settings.delivery.grace_seconds)
            await repos.recordings.release_held(rec.id, publish_at)
            self.ctx.wake.publisher.set()
            tz = self.ctx.settings.schedule.timezone
            return f"Envoi aux familles {texts.moment(publish_at, tz, now)}."
        return ""
