"""Operator commands for the school year: names folded, lists, a teacher
who leaves, status with many classes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot import admin, admin_people
from bot.app import open_context
from bot.service.context import Context
from tests.core.harness import GROUP, Stage, code_in, settings_for


async def _ctx(data_dir: Path) -> Context:
    return await open_context(settings_for(data_dir), {})


async def test_status_with_classes_sharing_a_weekly_digest_time(tmp_path: Path) -> None:
    ctx = await _ctx(tmp_path / "data")
    try:
        for name in ("PS", "MS", "GS"):  # all on the default Friday 16:30
            await admin.invite_teacher(ctx, "École du Lac", name)
        status = await admin.status(ctx)
    finally:
        await ctx.repos.db.close()
    weekly = status["next_digests"]["weekly"]
    assert [w["class"] for w in weekly] == ["PS", "MS", "GS"]
    assert len({w["at"] for w in weekly}) == 1


async def test_school_and_class_names_match_with_accents_and_case_folded(tmp_path: Path) -> None:
    ctx = await _ctx(tmp_path / "data")
    try:
        first = await admin.invite_teacher(ctx, "École du Lac", "Moyens-Grands")
        again = await admin.invite_teacher(ctx, "  ECOLE  du lac ", "moyens-grands")
        assert (again["school"], again["class"]) == ("École du Lac", "Moyens-Grands")
        assert first["code"] != again["code"]
        status = await admin.status(ctx)
        assert (status["schools"], status["classes"]) == (1, 1)
        klass = await admin.find_class(ctx, "MOYENS-grands", "ecole du lac")
        assert klass.name == "Moyens-Grands"

        with pytest.raises(admin.AdminError) as unknown_class:
            await admin.find_class(ctx, "Petits", None)
        assert "Classes connues : Moyens-Grands (École du Lac)" in str(unknown_class.value)
        with pytest.raises(admin.AdminError) as unknown_school:
            await admin.find_class(ctx, "Moyens-Grands", "École des Pins")
        assert "Écoles connues : École du Lac" in str(unknown_school.value)
    finally:
        await ctx.repos.db.close()


async def test_two_spellings_kept_from_an_older_database_are_one_school(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ctx = await _ctx(data)
    await ctx.repos.db.close()
    # As a database from before migration 0006 holds them: two spellings, no keys.
    with sqlite3.connect(data / "petites-voix.sqlite3") as raw:
        raw.execute("INSERT INTO schools (id, name, created_at) VALUES (1, 'Ecole', 'x')")
        raw.execute("INSERT INTO schools (id, name, created_at) VALUES (2, 'École', 'x')")
        for school in (1, 2):
            raw.execute(
                "INSERT INTO classes (school_id, name, weekly_digest, created_at) "
                "VALUES (?, 'PS', '4 16:30', 'x')",
                (school,),
            )
    ctx = await _ctx(data)
    try:
        # New invitations reuse the oldest spelling: no third school.
        made = await admin.invite_teacher(ctx, "ÉCOLE", "Grands")
        assert made["school"] == "Ecole"
        assert (await admin.status(ctx))["schools"] == 2
        # Both "PS" answer to the folded names: the exact spelling decides.
        assert (await admin.find_class(ctx, "PS", "École")).school_name == "École"
        with pytest.raises(admin.AdminError, match="plusieurs classes"):
            await admin.find_class(ctx, "ps", "ecole")
        listed = await admin_people.classes(ctx)
        assert listed["same_school_names"] == [["Ecole", "École"]]
    finally:
        await ctx.repos.db.close()


async def test_classes_teachers_and_a_teacher_who_leaves(stage: Stage) -> None:
    await stage.setup_class("maitresse")
    await stage.invite_parent("maitresse", "Lina", "papa_lina")
    await stage.say("maitresse", "/coenseignant", chat=GROUP)
    await stage.say("atsem", f"/start {code_in(stage.adapter.texts_to('maitresse')[-1])}")
    ctx = stage.svc.ctx
    await admin.invite_teacher(ctx, "École du Lac", "PS")  # a class with nobody yet

    listed = {c["class"]: c for c in (await admin_people.classes(ctx))["classes"]}
    ms = listed["MS-GS"]
    assert ms["channels"] == ["memory"]
    assert (ms["children"], ms["families"], ms["recordings"]) == (1, 1, 0)
    assert [(t["name"], t["role"]) for t in ms["teachers"]] == [
        ("Maitresse", "teacher"),
        ("Atsem", "coteacher"),
    ]
    assert listed["PS"]["channels"] == [] and listed["PS"]["teachers"] == []

    teachers = (await admin_people.teachers(ctx))["teachers"]
    assert {(t["user"], t["class"], t["role"]) for t in teachers} == {
        ("maitresse", "MS-GS", "teacher"),
        ("atsem", "MS-GS", "coteacher"),
    }

    removed = await admin_people.remove_teacher(ctx, "memory", "maitresse")
    assert removed == {
        "removed": [{"school": "École du Lac", "class": "MS-GS", "role": "teacher"}],
        "classes_without_teacher": [],
    }
    # She no longer runs the class; the co-teacher still does.
    before = len(stage.adapter.texts_to(GROUP))
    await stage.say("maitresse", "/album Trois petits cochons", chat=GROUP)
    await stage.say("atsem", "/album Roule galette", chat=GROUP)
    answers = stage.adapter.texts_to(GROUP)[before:]
    assert len(answers) == 2
    assert "Trois petits cochons" not in answers[0]
    assert "Roule galette" in answers[1]
    albums = await ctx.repos.albums.of_class((await admin.find_class(ctx, "ms-gs", None)).id)
    assert [a.title for a in albums][-1] == "Roule galette"
    assert "Trois petits cochons" not in [a.title for a in albums]

    last = await admin_people.remove_teacher(ctx, "memory", "atsem", "MS-GS", "école du lac")
    assert last["classes_without_teacher"] == [{"school": "École du Lac", "class": "MS-GS"}]
    with pytest.raises(admin.AdminError, match="admin teachers"):
        await admin_people.remove_teacher(ctx, "memory", "atsem")
