"""Nothing a teacher sends is lost: a busy database or a full disk while a
recording is filed or prepared ends with it filed later, or with the teacher
told in French what to do; the platform is told the event was handled only
after that."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter, plain
from bot.ports import ChatRef, Sender, Unreadable
from bot.service import filing, texts
from storage.records import Recording
from tests.core.faults import Fault, disk_full, inject_async, locked
from tests.core.harness import GROUP, Stage, eventually, sample

TEACHER = "maitresse"
CLIP = "loup_groupe3_voice.ogg"


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filing, "PREPARE_RETRY_S", 0.01)


async def _ready(stage: Stage) -> None:
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa")


async def _recording(stage: Stage, message_id: str) -> Recording | None:
    return await stage.svc.ctx.repos.recordings.by_message("memory", GROUP, message_id)


def _not_confirmed_yet(adapter: MemoryAdapter) -> Callable[[], None]:
    """Checked at each injected failure: the media message being handled
    has not been confirmed to the platform."""
    before = len(adapter.confirmed)

    def check() -> None:
        assert len(adapter.confirmed) == before, "confirmed before it was handled"

    return check


async def test_database_locked_while_filing_files_it_on_a_later_try(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _ready(stage)
    repos = stage.svc.ctx.repos
    fault = inject_async(
        monkeypatch,
        repos.recordings,
        "create",
        Fault(locked, times=2, seen=_not_confirmed_yet(stage.adapter)),
    )
    message_id = await stage.post_audio(TEACHER, sample(CLIP), caption="Groupe 1")

    assert fault.raised == 2 and len(fault.calls) == 3
    rec = await _recording(stage, message_id)
    assert rec is not None and rec.state == "waiting"
    assert [e for e in stage.adapter.confirmed if getattr(e, "message_id", "") == message_id]
    answers = stage.adapter.texts_to(GROUP)
    assert any("Rangé dans l'album" in t for t in answers)
    assert not any("Je n'ai pas pu" in t for t in answers)
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 1)


async def test_database_locked_for_good_the_teacher_is_told_then_it_is_confirmed(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _ready(stage)
    fault = inject_async(
        monkeypatch,
        stage.svc.ctx.repos.recordings,
        "create",
        Fault(locked, seen=_not_confirmed_yet(stage.adapter)),
    )
    message_id = await stage.post_audio(TEACHER, sample(CLIP), caption="Perdu ?")

    assert fault.raised == stage.adapter.retry.attempts
    told = [s for s in stage.adapter.sent if plain(s.message.text) == texts.media_not_recorded()]
    assert len(told) == 1
    assert told[0].message.chat_id == GROUP and told[0].message.reply_to == message_id
    assert "Renvoyez-le dans quelques minutes" in told[0].message.text
    assert getattr(stage.adapter.confirmed[-1], "message_id", None) == message_id
    assert await _recording(stage, message_id) is None


async def test_a_parent_command_that_keeps_failing_is_answered(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _ready(stage)
    inject_async(monkeypatch, stage.svc.ctx.repos.families, "set_paused", Fault(locked))
    await stage.say("papa", "/pause")
    assert stage.adapter.texts_to("papa")[-1] == texts.message_not_handled()


# Where preparing meets trouble: (object of the service, method, error).
PREPARATION_FAULTS: dict[str, tuple[str, str, Callable[[], Exception]]] = {
    "disk full while storing the prepared files": ("media", "put_file", disk_full),
    "database locked while storing the result": ("recordings", "set_processed", locked),
    "an unexpected error in the audio pipeline": (
        "pipeline",
        "prepare",
        lambda: RuntimeError("boom"),
    ),
}


def _inject(stage: Stage, monkeypatch: pytest.MonkeyPatch, where: str, fault: Fault) -> Fault:
    ctx = stage.svc.ctx
    target, name, _ = PREPARATION_FAULTS[where]
    owner = {"media": ctx.media, "recordings": ctx.repos.recordings}.get(target, ctx.pipeline)
    return inject_async(monkeypatch, owner, name, fault)


@pytest.mark.parametrize("where", list(PREPARATION_FAULTS))
async def test_every_preparation_failure_ends_failed_and_answered(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    await _ready(stage)
    error = PREPARATION_FAULTS[where][2]
    fault = _inject(stage, monkeypatch, where, Fault(error))
    message_id = await stage.post_audio(TEACHER, sample(CLIP), caption="Groupe 2")

    assert fault.raised == filing.PREPARE_TRIES
    rec = await _recording(stage, message_id)
    assert rec is not None and rec.state == "failed" and rec.failure_reason == "prepare:error"
    answer = stage.adapter.texts_to(GROUP)[-1]
    assert answer.startswith(texts.preparation_failed())
    assert "Rien n'a été envoyé aux familles" in answer
    # Failed is final: nothing is published from it, and the event was confirmed.
    assert getattr(stage.adapter.confirmed[-1], "message_id", None) == message_id
    await stage.publish()
    counts = await stage.svc.ctx.repos.deliveries.counts_by_state()
    assert sum(counts.values()) == 0


@pytest.mark.parametrize("where", list(PREPARATION_FAULTS))
async def test_a_passing_preparation_failure_is_retried(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    await _ready(stage)
    error = PREPARATION_FAULTS[where][2]
    fault = _inject(stage, monkeypatch, where, Fault(error, times=1))
    message_id = await stage.post_audio(TEACHER, sample(CLIP), caption="Groupe 3")

    assert fault.raised == 1
    rec = await _recording(stage, message_id)
    assert rec is not None and rec.state == "waiting"
    await stage.publish()
    await eventually(lambda: len(stage.adapter.audio_to("papa")) == 1)


async def test_preparation_resumes_only_once_the_adapter_is_connected(tmp_path: Path) -> None:
    first = Stage(tmp_path / "data")
    await first.start()
    await first.setup_class(TEACHER)
    first.svc.filing.start = lambda rec: None  # type: ignore[method-assign]
    message_id = await first.post_audio(TEACHER, sample(CLIP), caption="Interrompu")
    await first.stop()

    # The memory platform, like the real ones, downloads only when connected,
    # and connecting takes a moment.
    first.adapter.connect_s = 0.2
    second = Stage(tmp_path / "data", adapter=first.adapter, clock=first.clock)
    await second.start()
    try:
        await second.svc.filing.wait_idle()
        rec = await _recording(second, message_id)
        assert rec is not None and rec.state == "waiting", rec
        assert first.adapter.refused_downloads == 0
    finally:
        await second.stop()


async def test_an_undecryptable_message_gets_an_answer_asking_to_post_it_again(
    stage: Stage,
) -> None:
    await _ready(stage)
    await stage.adapter.push(Unreadable("$chiffre1", ChatRef(GROUP, False), Sender(TEACHER)))
    await stage.adapter.push(Unreadable("$chiffre2", ChatRef("papa", True), Sender("papa")))
    for chat, message_id in ((GROUP, "$chiffre1"), ("papa", "$chiffre2")):
        last = [s for s in stage.adapter.sent if s.message.chat_id == chat][-1].message
        assert plain(last.text) == texts.unreadable() and last.reply_to == message_id
        assert "envoyer à nouveau" in last.text
