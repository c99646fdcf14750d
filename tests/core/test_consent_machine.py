"""A stateful property test of who may receive what.

Hypothesis drives the real core (dispatcher, publisher, delivery worker,
digests, SQLite) on the memory platform through random sequences: posts
with and without tags, tags after posting, consent from the teacher and
from families, frequencies, pauses, digests, withdrawals, a child leaving,
restarts. Every message the platform is asked to send is checked, as it is
sent, against a model of the rule: the named children (or, for a recording
naming nobody, every child of the class) have consent ``oui``; a private
recording reaches its child's family only; nothing withdrawn goes out.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import bot.digests.sender as digest_sender
from adapters.memory import MemoryAdapter
from bot.app import Service
from bot.clock import ManualClock
from bot.ports import ChatRef, OutboundMessage, Receipt, Sender, TextMessage
from storage.repos.recordings import NewRecording, ProcessedFiles
from tests.core.harness import GROUP, settings_for

CHILDREN = ("Lina", "Tom", "Zoé")
# Mostly yes: the sequences must reach sends often to test who receives them.
mostly_yes = st.sampled_from([True, True, True, False])
TEACHER = "maitresse"
# Audio messages checked against the model, over every example.
CHECKED = {"sends": 0}
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris


@dataclass
class Rec:
    id: int
    message_id: str
    named: frozenset[str] = frozenset()
    private: str | None = None
    withdrawn: bool = False


@dataclass
class Model:
    teacher: dict[str, bool] = field(default_factory=dict)
    family: dict[str, bool] = field(default_factory=dict)
    present: set[str] = field(default_factory=lambda: set(CHILDREN))
    recs: dict[int, Rec] = field(default_factory=dict)
    by_voice: dict[str, int] = field(default_factory=dict)

    def agreed(self, child: str) -> bool:
        if child not in self.present:
            return False
        if child in self.family:
            return self.family[child]
        return self.teacher.get(child) is True

    def may_receive(self, rec: Rec, child: str) -> bool:
        if rec.withdrawn or (rec.private is not None and rec.private != child):
            return False
        concerned = rec.named or frozenset(self.present)
        return all(self.agreed(c) for c in concerned)


class CheckedAdapter(MemoryAdapter):
    """The memory platform, checking each audio message against the model."""

    model: Model | None = None

    async def send(self, message: OutboundMessage) -> Receipt:
        if message.audio is not None and self.model is not None:
            rec_id = self.model.by_voice[message.audio.voice.ref]
            child = message.chat_id.removeprefix("parent_")
            rec = self.model.recs[rec_id]
            assert self.model.may_receive(rec, child), (rec, child, self.model)
            CHECKED["sends"] += 1
        return await super().send(message)


class ConsentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="pv-machine-"))
        self.model = Model()
        self.adapter = CheckedAdapter()
        self.adapter.model = self.model
        self.clock = ManualClock(START)
        self.ids = itertools.count(1)
        self.service: Service | None = None

    def run(self, coro: object) -> object:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]

    @property
    def svc(self) -> Service:
        assert self.service is not None
        return self.service

    async def _open(self) -> None:
        self.service = await Service.create(
            settings_for(self.tmp / "data"), {"memory": self.adapter}, self.clock
        )

    @initialize(forms_signed=mostly_yes)
    def setup(self, forms_signed: bool) -> None:
        async def go() -> None:
            await self._open()
            repos, now = self.svc.ctx.repos, self.clock.now()
            school = await repos.schools.ensure_school("École du Lac", now)
            klass = await repos.schools.ensure_class(school.id, "MS", "4 16:30", now)
            await repos.staff.add_teacher(klass.id, "memory", TEACHER, TEACHER, "", "teacher", now)
            await repos.staff.bind_channel(klass.id, "memory", GROUP, now)
            for name in CHILDREN:
                child, _ = await repos.families.ensure_child(klass.id, name, name.lower(), now)
                parent = f"parent_{name}"
                guardian = await repos.families.upsert_guardian("memory", parent, parent, now)
                await repos.families.subscribe(guardian.id, child.id, klass.id, now)
            await repos.albums.make_current(klass.id, "Le loup", "le loup", now)

        self.run(go())
        if forms_signed:  # the paper forms came back in September
            self.teacher_consent_all(True)

    # -- what people do ----------------------------------------------------

    async def _say(self, user: str, text: str, *, group: bool, reply_to: str | None = None) -> None:
        chat = GROUP if group else user
        await self.svc.dispatcher.handle(
            "memory",
            TextMessage(
                f"t{next(self.ids)}", ChatRef(chat, not group), Sender(user), text, reply_to
            ),
        )

    @rule(
        named=st.sets(st.sampled_from(CHILDREN), max_size=2),
        private=st.booleans(),
    )
    def post(self, named: set[str], private: bool) -> None:
        private_child = sorted(named)[0] if private and len(named) == 1 else None

        async def go() -> None:
            repos, now = self.svc.ctx.repos, self.clock.now()
            kids = {c.first_name: c.id for c in await repos.families.children_of_class(1)}
            if any(n not in kids for n in named):
                return  # a child who left cannot be named any more
            album = await repos.albums.current(1)
            assert album is not None
            message_id = f"m{next(self.ids)}"
            rec = await repos.recordings.create(
                NewRecording(
                    album.id,
                    1,
                    f"R{message_id}",
                    "memory",
                    GROUP,
                    message_id,
                    "x",
                    "voice",
                    f"memory:{TEACHER}",
                    private_child is not None,
                    kids[private_child] if private_child else None,
                    tuple(kids[n] for n in sorted(named)),
                ),
                now,
            )
            assert rec is not None
            voice = await self.svc.ctx.media.put_bytes(b"OggS" + os.urandom(64))
            compat = await self.svc.ctx.media.put_bytes(os.urandom(64))
            files = ProcessedFiles(voice, voice, compat, "audio/mpeg", 3.0, ())
            self.model.recs[rec.id] = Rec(rec.id, message_id, frozenset(named), private_child)
            self.model.by_voice[voice] = rec.id
            assert await repos.recordings.set_processed(rec.id, files, "waiting", now)

        self.run(go())

    def _open_recs(self) -> list[Rec]:
        return [r for r in self.model.recs.values() if not r.withdrawn]

    @precondition(lambda self: bool(self._open_recs()))
    @rule(
        data=st.data(), named=st.sets(st.sampled_from(CHILDREN), max_size=2), private=st.booleans()
    )
    def tag_after_posting(self, data: st.DataObject, named: set[str], private: bool) -> None:
        rec = data.draw(st.sampled_from(self._open_recs()))
        tags = " ".join(f"#{n}" for n in sorted(named)) or "#classe"
        if private and len(named) == 1:
            tags = "#prive " + tags

        async def go() -> None:
            await self._say(TEACHER, tags, group=True, reply_to=rec.message_id)
            repos = self.svc.ctx.repos
            stored = await repos.recordings.get(rec.id)
            assert stored is not None
            kids = {c.id: c.first_name for c in await repos.families.children_of_class(1)}
            tagged = await repos.recordings.tagged_children(rec.id)
            rec.named = frozenset(kids.get(c, "?") for c in tagged)
            rec.private = kids.get(stored.private_child_id or -1) if stored.is_private else None
            if stored.is_private and rec.private is None:
                rec.private = "?"

        self.run(go())

    @rule(child=st.sampled_from(CHILDREN), yes=mostly_yes)
    def teacher_consent(self, child: str, yes: bool) -> None:
        if child not in self.model.present:
            return
        self.model.teacher[child] = yes
        self.run(self._say(TEACHER, f"/consentement {child} {'oui' if yes else 'non'}", group=True))

    @rule(yes=mostly_yes)
    def teacher_consent_all(self, yes: bool) -> None:
        for child in self.model.present:
            self.model.teacher[child] = yes
        self.run(self._say(TEACHER, f"/consentement tous {'oui' if yes else 'non'}", group=True))

    @rule(child=st.sampled_from(CHILDREN), yes=mostly_yes)
    def family_consent(self, child: str, yes: bool) -> None:
        if child not in self.model.present:
            return
        self.model.family[child] = yes
        self.run(
            self._say(f"parent_{child}", f"/consentement {'oui' if yes else 'non'}", group=False)
        )

    @rule(
        child=st.sampled_from(CHILDREN),
        frequency=st.sampled_from(["immediat", "quotidien", "hebdomadaire"]),
    )
    def frequency(self, child: str, frequency: str) -> None:
        self.run(self._say(f"parent_{child}", f"/frequence {frequency}", group=False))

    @rule(child=st.sampled_from(CHILDREN), pause=st.booleans())
    def pause(self, child: str, pause: bool) -> None:
        self.run(self._say(f"parent_{child}", "/pause" if pause else "/reprendre", group=False))

    @precondition(lambda self: bool(self._open_recs()))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        rec = data.draw(st.sampled_from(self._open_recs()))
        rec.withdrawn = True
        self.run(self._say(TEACHER, "/retirer", group=True, reply_to=rec.message_id))

    @rule(child=st.sampled_from(CHILDREN))
    def departure(self, child: str) -> None:
        if child not in self.model.present:
            return
        self.model.present.discard(child)
        for rec in self.model.recs.values():
            if child in rec.named:  # its voice: withdrawn with it
                rec.withdrawn = True
        self.run(self._say(TEACHER, f"/depart {child}", group=True))

    @rule(hours=st.sampled_from([0, 1, 9, 30]))
    def time_passes(self, hours: int) -> None:
        """The undo window ends, digests fall due, the outbox drains."""
        self.clock.advance(hours * 3600 + 301)

        async def go() -> None:
            await self.svc.publisher.publish_due()
            await self.svc.digests.planner.plan()
            worker = self.svc.workers[0]
            stopping = asyncio.Event()
            for _ in range(20):
                await worker._launch_due(stopping)
                await worker.drain()
                if not await self.svc.ctx.repos.deliveries.due(
                    "memory", self.clock.now(), 1
                ) and not await self.svc.ctx.repos.digests.due("memory", self.clock.now(), 1):
                    break

        self.run(go())

    @rule(named=st.sets(st.sampled_from(CHILDREN), max_size=2))
    def post_then_time_passes(self, named: set[str]) -> None:
        self.post(named, False)
        self.time_passes(0)

    @rule()
    def restart(self) -> None:
        async def go() -> None:
            await self.svc.ctx.repos.db.close()
            await self._open()

        self.run(go())

    @invariant()
    def nothing_in_flight(self) -> None:
        if self.service is not None:
            assert not self.svc.workers[0]._in_flight

    def teardown(self) -> None:
        if self.service is not None:
            self.run(self.svc.ctx.repos.db.close())
        self.loop.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def separate_digest_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each recording of a digest as its own message, so that each is checked.
    monkeypatch.setattr(digest_sender, "MAX_SEPARATE", 1000)


def test_who_receives_what_under_random_sequences(separate_digest_messages: None) -> None:
    ConsentMachine.TestCase.settings = settings(
        max_examples=int(os.environ.get("PV_MACHINE_EXAMPLES", "300")),
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    ConsentMachine.TestCase().runTest()
    # The sequences did make the service send (the rule was met many times).
    assert CHECKED["sends"] >= 20, CHECKED
    print(f"{CHECKED['sends']} sends checked")
