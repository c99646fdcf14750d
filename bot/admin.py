"""Operator commands (`petites-voix admin ...`): each returns a JSON-able dict."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.children import child_key, tidy_child_name
from bot.config import Settings
from bot.digests.periods import next_daily, next_weekly
from bot.leadership import HEARTBEAT_S, account_name
from bot.roster import RosterChild, parse_onde_csv
from bot.roster_contacts import is_responsables, parse_responsables
from bot.schedule_words import WeeklySlot
from bot.service.context import Context
from bot.service.email_invitations import email_invitations
from bot.service.erasure import Erasure
from bot.service.invitations import InvitationService
from bot.service.slips_service import class_slips
from bot.text_norm import fold, name_key
from storage.records import Child, Class


class AdminError(Exception):
    """A French, one-line explanation for the operator."""


async def find_class(ctx: Context, name: str, school: str | None) -> Class:
    """The class named so (accents and case folded); an unknown name is
    answered with the names the service knows."""
    schools = ctx.repos.schools
    classes = await schools.find_classes(name, school or None)
    if not classes:
        names = await schools.school_names()
        if school and name_key(school) not in {name_key(n) for n in names}:
            known = ", ".join(names) or "aucune"
            raise AdminError(f"école inconnue : « {school} ». Écoles connues : {known}")
        raise AdminError(f"classe inconnue : « {name} ». {await known_classes(ctx)}")
    if len(classes) > 1:
        # Two spellings kept from before names were folded ("Ecole", "École"):
        # the exact spelling decides, never a guess.
        exact = [c for c in classes if c.name == name.strip() and school in (None, c.school_name)]
        if len(exact) == 1:
            return exact[0]
        where = ", ".join(f"{c.name} ({c.school_name})" for c in classes)
        hint = "précisez --school" if school is None else "écrivez les noms exactement"
        raise AdminError(f"plusieurs classes « {name} » : {where} ; {hint}")
    return classes[0]


async def known_classes(ctx: Context) -> str:
    classes = await ctx.repos.schools.all_classes()
    if not classes:
        return "Aucune classe pour l'instant : admin invite-teacher la crée."
    names = ", ".join(f"{c.name} ({c.school_name})" for c in classes[:40])
    more = f" et {len(classes) - 40} autres" if len(classes) > 40 else ""
    return f"Classes connues : {names}{more}"


async def invite_teacher(ctx: Context, school: str, class_name: str) -> dict[str, Any]:
    now = ctx.clock.now()
    school, class_name = " ".join(school.split()), " ".join(class_name.split())
    if not school or not class_name:
        raise AdminError("--school et --class ne peuvent pas être vides")
    s = await ctx.repos.schools.ensure_school(school, now)
    klass = await ctx.repos.schools.ensure_class(
        s.id, class_name, ctx.settings.schedule.weekly_digest.storage(), now
    )
    invitations = InvitationService(ctx)
    invite = await invitations.create("teacher", klass.id)
    await ctx.repos.audit.record("operator", "teacher_invitation", now, class_id=klass.id)
    return {
        "code": invite.code,
        "telegram_link": telegram_link(ctx.settings, invite.code),
        **({"web_link": invitations.web_link(invite.code)} if ctx.settings.web else {}),
        "expires_at": invite.expires_at.isoformat(),
        "school": s.name,
        "class": klass.name,
    }


def telegram_link(settings: Settings, code: str) -> str | None:
    """The deep link needs the bot's username, which only getMe knows: it is
    read from the config (``[telegram] username``) when the operator set it."""
    username = settings.telegram.username if settings.telegram else None
    return f"https://t.me/{username}?start={code}" if username else None


# Three missed heartbeats (bot/leadership.py).
HOLDER_SILENT = timedelta(seconds=3 * HEARTBEAT_S)


async def status(ctx: Context) -> dict[str, Any]:
    deliveries = await ctx.repos.deliveries.counts_by_state()
    return {
        **await _counts(ctx, deliveries),
        "digests": await ctx.repos.digests.counts_by_state(),
        "next_digests": await next_digests(ctx),
        "accounts": await account_holders(ctx),
        "preparing": [
            {"recording": rec_id, "process": who or "en attente"}
            for rec_id, who in await ctx.repos.recordings.in_preparation()
        ],
    }


async def account_holders(ctx: Context) -> list[dict[str, Any]]:
    """Which process runs each platform account, since when, and whether it
    still says so (a holder silent for HOLDER_SILENT is gone: another
    process takes the account over)."""
    settings, now = ctx.settings, ctx.clock.now()
    platforms = [
        name
        for name, section in (
            ("telegram", settings.telegram),
            ("matrix", settings.matrix),
            ("email", settings.email),
        )
        if section is not None
    ]
    configured = {account_name(settings, p) for p in platforms}
    configured = {a for a in configured if not a.endswith(":")}  # no token given here
    rows = {h.account: h for h in await ctx.repos.holders.all()}
    accounts: list[dict[str, Any]] = []
    for name in sorted(configured | set(rows)):
        held = rows.get(name)
        if held is None:
            accounts.append({"account": name, "holder": None, "host": None, "pid": None})
            continue
        host, _, pid = held.holder.rpartition(":")
        accounts.append(
            {
                "account": name,
                "holder": held.holder,
                "host": host,
                "pid": int(pid) if pid.isdigit() else None,
                "since": held.since.isoformat(),
                "seen_at": held.seen_at.isoformat(),
                "alive": now - held.seen_at <= HOLDER_SILENT,
            }
        )
    return accounts


async def next_digests(ctx: Context) -> dict[str, Any]:
    """When the next daily digest goes, and each class's next weekly one."""
    now, schedule = ctx.clock.now(), ctx.settings.schedule
    # Sorted on (time, class id): two classes often share a time (the default),
    # and classes themselves have no order.
    weekly = sorted(
        (
            (next_weekly(now, WeeklySlot.from_storage(c.weekly_digest), schedule.timezone), c)
            for c in await ctx.repos.schools.all_classes()
        ),
        key=lambda pair: (pair[0], pair[1].id),
    )
    return {
        "daily": next_daily(now, schedule.daily_digest, schedule.timezone).isoformat(),
        "weekly": [
            {"school": c.school_name, "class": c.name, "at": at.isoformat()}
            for at, c in weekly[:50]
        ],
    }


async def _counts(ctx: Context, deliveries: dict[str, int]) -> dict[str, Any]:
    db = ctx.repos.db

    async def count(sql: str) -> int:
        return int(await db.fetchval(sql))

    return {
        "schools": await count("SELECT COUNT(*) FROM schools"),
        "classes": await count("SELECT COUNT(*) FROM classes"),
        "albums": await count("SELECT COUNT(*) FROM albums"),
        "recordings": await count(
            "SELECT COUNT(*) FROM recordings WHERE state NOT IN ('withdrawn', 'cancelled')"
        ),
        "families": await count("SELECT COUNT(DISTINCT child_id) FROM subscriptions"),
        "guardians": await count("SELECT COUNT(*) FROM guardians"),
        "subscriptions": await count("SELECT COUNT(*) FROM subscriptions"),
        "deliveries": deliveries,
        "waiting": deliveries["pending"] + deliveries["digest"] + deliveries["held"],
        "failed_by_reason": await ctx.repos.deliveries.failures_by_reason(),
        "adapters": await ctx.repos.adapter_status.all(),
        "recordings_by_state": {
            r[0]: int(r[1])
            for r in await db.fetch("SELECT state, COUNT(*) FROM recordings GROUP BY state")
        },
    }


async def invitations_pdf(
    ctx: Context, class_name: str, school: str | None, target: Path, language: str | None = None
) -> dict[str, Any]:
    """The class's slips; ``language``: each slip in French and in that language."""
    klass = await find_class(ctx, class_name, school)
    children = await ctx.repos.families.children_of_class(klass.id)
    if not children:
        raise AdminError(
            f"la classe {klass.name!r} n'a encore aucun enfant : importez la liste ONDE "
            "(admin import-onde) ou faites /invitation Prénom"
        )
    pdf = await class_slips(ctx, InvitationService(ctx), klass, None, language)
    await asyncio.to_thread(target.write_bytes, pdf)
    await ctx.repos.audit.record(
        "operator", "printable_invitations", ctx.clock.now(), class_id=klass.id
    )
    return {"class": klass.name, "slips": len(children), "pdf": str(target)}


async def invitations_email(
    ctx: Context, class_name: str, school: str | None, dry_run: bool
) -> dict[str, Any]:
    klass = await find_class(ctx, class_name, school)
    if await ctx.repos.email_contacts.count_in_class(klass.id) == 0:
        raise AdminError(
            f"aucune adresse e-mail connue pour la classe {klass.name!r} : importez d'abord "
            "l'export des responsables d'ONDE (admin import-onde)"
        )
    if not dry_run and (ctx.links is None or "email" not in ctx.adapters):
        raise AdminError("il faut les sections [web] et [email] dans la configuration")
    done = await email_invitations(ctx, klass, dry_run)
    return {
        "class": klass.name,
        "school": klass.school_name,
        "dry_run": dry_run,
        "emails": done.emails,
        "children": done.children,
        "sent": done.sent,
        "failed": done.failed,
    }


async def import_onde(
    ctx: Context,
    csv_path: Path,
    class_name: str,
    school: str | None,
    dry_run: bool,
    progress: bool = False,
) -> dict[str, Any]:
    klass = await find_class(ctx, class_name, school)
    data = await asyncio.to_thread(csv_path.read_bytes)
    if is_responsables(data):
        return await import_responsables(ctx, data, klass, dry_run)
    roster = parse_onde_csv(data, class_label=None)
    labels = {c.class_label for c in roster.children if c.class_label}
    if len(labels) > 1:
        # A school-wide export: keep the children of the class named like ours.
        wanted = [label for label in labels if fold(label) == fold(klass.name)]
        if not wanted:
            raise AdminError(
                f"le fichier contient plusieurs classes ({', '.join(sorted(labels))}) et "
                f"aucune ne s'appelle {klass.name!r}"
            )
        roster = parse_onde_csv(data, class_label=wanted[0])
    known = await ctx.repos.families.children_of_class(klass.id)
    existing = {child_key(c.first_name) for c in known}
    new = [n for n in roster_names(roster.children) if child_key(n) not in existing]
    new = list(dict.fromkeys(new))
    if not dry_run:
        now = ctx.clock.now()
        for name in tqdm(new, desc="Import", unit=" enfant", disable=not progress, leave=False):
            await ctx.repos.families.ensure_child(klass.id, name, child_key(name), now)
        await ctx.repos.audit.record(
            "operator", "import_onde", now, class_id=klass.id, detail=f"{len(new)} children"
        )
    return {
        "class": klass.name,
        "dry_run": dry_run,
        "in_file": len(roster.children),
        "already_known": len(roster.children) - len(new),
        "added" if not dry_run else "would_add": new,
        "warnings": list(roster.warnings),
    }


def roster_names(children: Sequence[RosterChild]) -> list[str]:
    """The names to file: two children with the same first name get the
    initial of their family name (« Léa B. », « Léa M. »), never one child."""
    by_first: dict[str, int] = {}
    for child in children:
        key = child_key(child.first_name)
        by_first[key] = by_first.get(key, 0) + 1
    names = []
    for child in children:
        name = tidy_child_name(child.first_name)
        if by_first[child_key(name)] > 1 and child.surname_initial:
            name = f"{name} {child.surname_initial}."
        names.append(name)
    return names


async def import_responsables(
    ctx: Context, data: bytes, klass: Class, dry_run: bool
) -> dict[str, Any]:
    """The guardians' export: each guardian's e-mail address linked to each
    of its children in this class, kept until the invitation e-mailed to it
    is used or expires. Nothing else of the file is kept."""
    found = parse_responsables(data)
    labels = {label for _, label in found.children if label}
    wanted: set[str | None] = {None, *labels}
    if len(labels) > 1:
        wanted = {label for label in labels if fold(label) == fold(klass.name)}
        if not wanted:
            raise AdminError(
                f"le fichier contient plusieurs classes ({', '.join(sorted(labels))}) et "
                f"aucune ne s'appelle {klass.name!r}"
            )
    children = list(
        dict.fromkeys(tidy_child_name(n) for n, label in found.children if label in wanted)
    )
    links = [link for link in found.links if link.class_label in wanted]
    repos, now = ctx.repos, ctx.clock.now()
    existing = {
        child_key(c.first_name): c for c in await repos.families.children_of_class(klass.id)
    }
    new = [name for name in children if child_key(name) not in existing]
    added_contacts = 0
    if not dry_run:
        for name in new:
            child, _ = await repos.families.ensure_child(klass.id, name, child_key(name), now)
            existing[child_key(name)] = child
        expires = now + timedelta(days=ctx.settings.invitations.parent_days)
        for link in links:
            child = existing[child_key(link.first_name)]
            added_contacts += await repos.email_contacts.add(child.id, link.address, expires, now)
        await repos.audit.record(
            "operator",
            "import_onde_responsables",
            now,
            class_id=klass.id,
            detail=f"{len(new)} children, {len(links)} addresses",
        )
    return {
        "class": klass.name,
        "dry_run": dry_run,
        "format": "responsables",
        "guardians_in_file": found.guardians,
        "without_email": found.without_email,
        "children_in_file": len(children),
        "addresses": len({link.address for link in links}),
        "children_with_address": len({child_key(link.first_name) for link in links}),
        "added" if not dry_run else "would_add": new,
        "new_addresses": added_contacts if not dry_run else len(links),
        "warnings": list(found.warnings),
    }


@dataclass(frozen=True)
class FamilyTarget:
    """Whose data an access or erasure request is about: one guardian by
    their platform identity, or every guardian of a child."""

    platform: str | None = None
    user: str | None = None
    class_name: str | None = None
    child: str | None = None
    school: str | None = None


async def _guardians(ctx: Context, target: FamilyTarget) -> list[int]:
    if target.platform and target.user:
        guardian = await ctx.repos.families.guardian_by_user(target.platform, target.user)
        return [guardian.id] if guardian else []
    if target.class_name and target.child:
        klass = await find_class(ctx, target.class_name, target.school)
        kid = await ctx.repos.families.find_child(klass.id, child_key(target.child))
        if kid is None:
            raise AdminError(f"aucun enfant {target.child!r} dans la classe {klass.name!r}")
        return await ctx.repos.families.guardians_of_child(kid.id)
    raise AdminError("précisez --platform et --user, ou --class et --child")


async def export_family(ctx: Context, target: FamilyTarget) -> dict[str, Any]:
    """Everything kept about these guardians (access request, RGPD art. 15)."""
    ids = await _guardians(ctx, target)
    repos = ctx.repos
    families = [await repos.families.export_guardian(g) for g in ids]
    # The family's page and its listens belong to the child (a family with
    # only its page has no guardian row).
    kids: dict[int, Child] = {}
    if target.class_name and target.child:
        klass = await find_class(ctx, target.class_name, target.school)
        kid = await repos.families.find_child(klass.id, child_key(target.child))
        if kid is not None:
            kids[kid.id] = kid
    for guardian_id in ids:
        for kid in await repos.families.subscribed_children(guardian_id):
            kids[kid.id] = kid
    children = [
        {
            "child": kid.first_name,
            "page": await repos.pages.export(kid.id),
            "listens": await repos.listens.of_child(kid.id),
        }
        for kid in kids.values()
    ]
    await repos.audit.record(
        "operator", "export_family", ctx.clock.now(), detail=f"{len(ids)} guardian(s)"
    )
    return {"guardians": families, "children": children}


async def erase_family(ctx: Context, target: FamilyTarget) -> dict[str, Any]:
    """Erase these guardians (erasure request, RGPD art. 17); by ``--class``
    and ``--child``, the whole family: the child's name, consent,
    invitations and private recordings go too."""
    ids = await _guardians(ctx, target)
    erasure = Erasure(ctx)
    for guardian_id in ids:
        await erasure.guardian(guardian_id)
    child = None
    if target.class_name and target.child:
        klass = await find_class(ctx, target.class_name, target.school)
        kid = await ctx.repos.families.find_child(klass.id, fold(target.child))
        if kid is not None:
            child = await erasure.child(kid.id)
    await ctx.repos.audit.record(
        "operator",
        "erase_family",
        ctx.clock.now(),
        detail=f"{len(ids)} guardian(s)" + (", 1 child" if child else ""),
    )
    return {"erased_guardians": len(ids), "erased_child": child is not None}
