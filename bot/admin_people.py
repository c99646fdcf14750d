"""Who and what is there: `admin classes`, `admin teachers`, and
`admin remove-teacher` for a teacher who leaves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.admin import AdminError, find_class
from bot.service.context import Context
from bot.text_norm import name_key

ROLES = {"teacher": "enseignant(e)", "coteacher": "co-enseignant(e)"}


async def classes(ctx: Context) -> dict[str, Any]:
    overview = await ctx.repos.schools.overview()
    return {
        # Spellings of one school kept from before names were folded
        # ("Ecole", "École"): shown, so that the operator knows why an exact
        # --school is sometimes asked for.
        "same_school_names": same_names(c.school for c in overview),
        "classes": [
            {
                "school": c.school,
                "class": c.name,
                "channels": list(c.channels),  # platforms; empty: no group bound yet
                "children": c.children,
                "families": c.families,
                "recordings": c.recordings,
                "teachers": [
                    {"name": name, "platform": platform, "role": role}
                    for name, platform, role in c.teachers
                ],
            }
            for c in overview
        ],
    }


def same_names(names: Iterable[str]) -> list[list[str]]:
    spellings: dict[str, set[str]] = {}
    for name in names:
        spellings.setdefault(name_key(name), set()).add(name)
    return [sorted(group) for group in spellings.values() if len(group) > 1]


async def teachers(ctx: Context) -> dict[str, Any]:
    return {
        "teachers": [
            {
                "name": t.display_name,
                "platform": t.platform,
                "user": t.user_id,
                "school": school,
                "class": class_name,
                "role": t.role,
            }
            for t, school, class_name in await ctx.repos.staff.all_posts()
        ]
    }


async def remove_teacher(
    ctx: Context,
    platform: str,
    user: str,
    class_name: str | None = None,
    school: str | None = None,
) -> dict[str, Any]:
    """Unlink a teacher's identity from all her classes, or from one
    (``--class``). Her recordings stay with the class; the other teachers
    and co-teachers keep it."""
    user = user.strip()
    class_id = None
    if class_name:
        class_id = (await find_class(ctx, class_name, school)).id
    removed = await ctx.repos.staff.remove_teacher(platform, user, class_id)
    if not removed:
        raise AdminError(
            f"aucun(e) enseignant(e) {user!r} sur {platform}"
            + (" dans cette classe" if class_id else "")
            + " : voir admin teachers"
        )
    now = ctx.clock.now()
    left: list[dict[str, str]] = []
    out: list[dict[str, str]] = []
    for t in removed:
        klass = await ctx.repos.schools.get_class(t.class_id)
        assert klass is not None
        out.append({"school": klass.school_name, "class": klass.name, "role": t.role})
        await ctx.repos.audit.record("operator", "remove_teacher", now, class_id=t.class_id)
        if not await ctx.repos.staff.teachers_of_class(t.class_id):
            left.append({"school": klass.school_name, "class": klass.name})
    return {"removed": out, "classes_without_teacher": left}
