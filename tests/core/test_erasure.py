"""Erasure leaves nothing of the person: after each kind of erasure, every
table of the SQLite database is read and no row may still point at the
erased parent or child (by id, user id, chat id or first name)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter
from bot import admin
from bot.ports import Capabilities
from bot.service.erasure import Erasure
from bot.service.retention import Retention
from tests.core.digests_kit import paris, plan_at, settle
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"
# Lina's family: two guardians, one on immediate delivery, one on a daily digest.
LINA_1, LINA_2, TOM = "parent-lina-un", "parent-lina-deux", "parent-tom"
CLIP = "loup_groupe3_voice.ogg"


@dataclass
class Person:
    """What may identify an erased person in a row."""

    guardian_ids: set[int] = field(default_factory=set)
    child_ids: set[int] = field(default_factory=set)
    words: set[str] = field(default_factory=set)  # user ids, chat ids, first names


def leftovers(db_path: Path, person: Person) -> list[str]:
    """Every cell of every table that still refers to ``person``."""
    found = []
    words = [re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.I) for w in person.words]
    with sqlite3.connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert {"guardians", "children", "audit_log", "code_attempts"} <= set(tables)
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            points_to = {r[3]: r[2] for r in conn.execute(f"PRAGMA foreign_key_list({table})")}
            points_to.update({"id": table} if table in ("guardians", "children") else {})
            for column in columns:
                if column in ("guardian_id",):
                    points_to.setdefault(column, "guardians")
                if column in ("child_id", "private_child_id"):
                    points_to.setdefault(column, "children")
            for row in conn.execute(f"SELECT * FROM {table}"):
                for column, value in zip(columns, row, strict=True):
                    target = points_to.get(column)
                    if (target == "guardians" and value in person.guardian_ids) or (
                        target == "children" and value in person.child_ids
                    ):
                        found.append(f"{table}.{column} = {value!r}")
                    if isinstance(value, str) and any(w.search(value) for w in words):
                        found.append(f"{table}.{column} = {value!r}")
    return found


def db_path(stage: Stage) -> Path:
    return stage.data_dir / "petites-voix.sqlite3"


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    """A platform whose private chats are rooms the bot can leave (Matrix-like)."""
    adapter = MemoryAdapter(
        caps=Capabilities(
            global_rate_per_s=1000.0, per_chat_interval_s=0.0, leaves_direct_chats=True
        )
    )
    s = Stage(tmp_path / "data", adapter=adapter)
    await s.start()
    yield s
    await s.stop()


async def lived_in(stage: Stage) -> None:
    """A term of school life that leaves Lina's family in every table: a wrong
    code, invitations, consent, tags, a private recording, deliveries, a
    daily digest compiled into one recording, an album listened to whole."""
    await stage.setup_class(TEACHER)
    await stage.say(LINA_1, "/start CeCodeNExistePasDuTout123")
    await stage.invite_parent(TEACHER, "Lina", LINA_1, LINA_2)
    await stage.invite_parent(TEACHER, "Tom", TOM)
    await stage.say(TEACHER, "/invitation Lina", chat=GROUP)  # one left unused
    await stage.say(TEACHER, "/consentement Lina oui", chat=GROUP)
    await stage.say(TEACHER, "/consentement Tom oui", chat=GROUP)
    await stage.say(LINA_2, "/frequence quotidien")
    # A family's own action, as the audit log keeps it (actor = its platform identity).
    klass = (await stage.svc.ctx.repos.schools.find_classes("MS-GS", None))[0]
    await stage.svc.ctx.repos.audit.record(
        f"memory:{LINA_1}", "family_consent", stage.clock.now(), klass.id, detail="Lina=oui"
    )
    await stage.post_audio(TEACHER, sample(CLIP), caption="Le début #Lina #Tom")
    await stage.post_audio(
        TEACHER, sample("loup_groupe2.mp3"), caption="Pour la maison #prive #Lina"
    )
    await stage.post_audio(TEACHER, sample(CLIP), caption="La fin")
    await stage.post_audio(TEACHER, sample(CLIP), caption="Le bonus #Tom")
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to(LINA_1)) == 4)
    await stage.say(LINA_1, "/ecouter 1")
    assert (
        "album complet, 4 enregistrements" in stage.adapter.audio_to(LINA_1)[-1].message.audio.title
    )  # type: ignore[union-attr]
    assert await plan_at(stage, paris(2026, 11, 24, 18)) >= 1
    await settle(stage)
    assert any(s.message.audio for s in stage.adapter.audio_to(LINA_2))
    person = await family(stage, LINA_1, LINA_2)
    assert leftovers(db_path(stage), person), "the walk must see the family before erasure"
    assert await stage.svc.ctx.repos.mixes.get(await _digest_mix(stage)) is not None


async def _digest_mix(stage: Stage) -> str:
    key = await stage.svc.ctx.repos.db.fetchval(
        "SELECT mix_key FROM digests WHERE mix_key IS NOT NULL"
    )
    assert isinstance(key, str)
    return key


async def family(stage: Stage, *users: str, child: str | None = None) -> Person:
    repos = stage.svc.ctx.repos
    person = Person()
    for user in users:
        guardian = await repos.families.guardian_by_user("memory", user)
        assert guardian is not None
        person.guardian_ids.add(guardian.id)
        person.words |= {guardian.user_id, guardian.chat_id}
    if child is not None:
        klass = (await repos.schools.find_classes("MS-GS", None))[0]
        kid = await repos.families.find_child(klass.id, child.lower())
        assert kid is not None
        person.child_ids.add(kid.id)
        person.words.add(kid.first_name)
    return person


async def private_files(stage: Stage) -> set[str]:
    rows = await stage.svc.ctx.repos.db.fetch(
        "SELECT original_sha, voice_sha, compat_sha FROM recordings WHERE is_private = 1"
    )
    return {sha for r in rows for sha in r if sha}


async def test_a_parent_who_stops_leaves_nothing(stage: Stage) -> None:
    await lived_in(stage)
    person = await family(stage, LINA_1)
    await stage.say(LINA_1, "/arreter oui")
    assert "effacé" in stage.adapter.texts_to(LINA_1)[-1]
    assert leftovers(db_path(stage), person) == []
    assert stage.adapter.left == [LINA_1]  # their room is left, after the goodbye
    # The other guardian and the child are untouched.
    assert await stage.svc.ctx.repos.families.guardian_by_user("memory", LINA_2) is not None


async def test_an_operator_erasing_one_parent_leaves_nothing(stage: Stage) -> None:
    await lived_in(stage)
    person = await family(stage, LINA_2)
    target = admin.FamilyTarget(platform="memory", user=LINA_2)
    assert (await admin.erase_family(stage.svc.ctx, target))["erased_guardians"] == 1
    assert leftovers(db_path(stage), person) == []
    assert stage.adapter.left == [LINA_2]


async def test_an_operator_erasing_a_whole_family_leaves_nothing(stage: Stage) -> None:
    await lived_in(stage)
    person = await family(stage, LINA_1, LINA_2, child="Lina")
    files = await private_files(stage)
    mix = await _digest_mix(stage)
    target = admin.FamilyTarget(class_name="MS-GS", child="lina")
    assert await admin.erase_family(stage.svc.ctx, target) == {
        "erased_guardians": 2,
        "erased_child": True,
    }
    assert leftovers(db_path(stage), person) == []
    assert sorted(stage.adapter.left) == sorted([LINA_1, LINA_2])
    assert files and not [sha for sha in files if await stage.svc.ctx.media.exists(sha)]
    assert await stage.svc.ctx.repos.mixes.get(mix) is None  # it held the private one
    # Tom's family still has its recordings, Tom his consent.
    tom = await family(stage, TOM, child="Tom")
    assert leftovers(db_path(stage), tom)


async def test_a_child_who_leaves_the_class_leaves_nothing(stage: Stage) -> None:
    """What /depart calls: the child goes, and its guardians with it since
    they have no other child here."""
    await lived_in(stage)
    person = await family(stage, LINA_1, LINA_2, child="Lina")
    (child_id,) = person.child_ids
    erased = await Erasure(stage.svc.ctx).child(child_id)
    assert erased is not None and erased.first_name == "Lina"
    assert leftovers(db_path(stage), person) == []
    assert sorted(stage.adapter.left) == sorted([LINA_1, LINA_2])
    assert await Erasure(stage.svc.ctx).child(child_id) is None


async def test_the_retention_sweep_erases_guardians_left_without_a_child(stage: Stage) -> None:
    await lived_in(stage)
    person = await family(stage, LINA_1, LINA_2, child="Lina")
    (child_id,) = person.child_ids
    # The storage-level erasure alone leaves the guardians for the sweep.
    await stage.svc.ctx.repos.families.erase_child(child_id)
    assert leftovers(db_path(stage), person) != []
    await Retention(stage.svc.ctx).sweep()
    assert leftovers(db_path(stage), person) == []
    assert sorted(stage.adapter.left) == sorted([LINA_1, LINA_2])


async def test_an_erasure_without_a_connection_leaves_the_room_later(stage: Stage) -> None:
    """The operator's command has no platform connection: the running
    service leaves the room at its next look."""
    await lived_in(stage)
    offline = Erasure(replace(stage.svc.ctx, adapters={}))
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("memory", LINA_1)
    assert guardian is not None
    await offline.guardian(guardian.id)
    assert stage.adapter.left == []
    assert await stage.svc.ctx.repos.leaving.of_platform("memory") == [LINA_1]
    assert await Erasure(stage.svc.ctx).leave_pending() == 1
    assert stage.adapter.left == [LINA_1]
    assert leftovers(db_path(stage), await _as_person(guardian.id, LINA_1)) == []


async def _as_person(guardian_id: int, user: str) -> Person:
    return Person(guardian_ids={guardian_id}, words={user})
