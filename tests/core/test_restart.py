"""Stopping in the middle of a fan-out, then starting again on the same
data directory, loses no delivery and sends none twice."""

from __future__ import annotations

from pathlib import Path

from adapters.memory import MemoryAdapter
from tests.core.harness import Stage, eventually, sample

TEACHER = "maitresse"


async def test_restart_mid_fan_out_loses_nothing(tmp_path: Path, database: str | None) -> None:
    parents = [f"parent{i}" for i in range(12)]
    first = Stage(tmp_path / "data", database=database)
    await first.start()
    first.svc.drain_timeout = 0.5
    await first.setup_class(TEACHER)
    for i, parent in enumerate(parents):
        await first.invite_parent(TEACHER, f"Enfant{i}", parent)
    await first.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 3")
    first.adapter.send_budget = 5  # then the platform stops answering
    await first.publish()
    await eventually(lambda: first.adapter.send_budget == 0)
    await first.stop()
    delivered_before = {s.message.chat_id for s in first.adapter.audio_to_any()}
    assert len(delivered_before) == 5

    second = Stage(tmp_path / "data", database=database, adapter=MemoryAdapter(), clock=first.clock)
    await second.start()
    try:

        async def all_sent() -> bool:
            counts = await second.svc.ctx.repos.deliveries.counts_by_state()
            return counts["sent"] == len(parents) and counts["pending"] == 0

        await eventually(all_sent)
        delivered_after = [s.message.chat_id for s in second.adapter.audio_to_any()]
        assert sorted(delivered_after + sorted(delivered_before)) == sorted(parents)
        assert not set(delivered_after) & delivered_before
    finally:
        await second.stop()


async def test_restart_while_a_recording_is_being_prepared(
    tmp_path: Path, database: str | None
) -> None:
    first = Stage(tmp_path / "data", database=database)
    await first.start()
    await first.setup_class(TEACHER)
    await first.invite_parent(TEACHER, "Lina", "papa_lina")
    # The file is received but the service stops before it is prepared.
    first.svc.filing.start = lambda rec: None  # type: ignore[method-assign]
    await first.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Interrompu")
    await first.stop()

    second = Stage(tmp_path / "data", database=database, adapter=first.adapter, clock=first.clock)
    await second.start()
    try:
        await second.svc.filing.wait_idle()
        assert any("Interrompu" in t for t in second.adapter.texts_to("-100500"))
        await second.publish()
        await eventually(lambda: len(second.adapter.audio_to("papa_lina")) == 1)
    finally:
        await second.stop()
