"""A unit of work commits every change made through it, or none; outbox
transitions apply only from the state they expect."""

from __future__ import annotations

import pytest

from storage.repos import Repositories
from tests.storage.test_repositories import NOW, _class, _family, _waiting_recording


class Boom(Exception):
    pass


async def _published(repos: Repositories) -> tuple[int, int]:
    """A recording published to one family: (recording id, delivery id)."""
    class_id = await _class(repos)
    await _family(repos, class_id, "Lina", "papa")
    rec_id = await _waiting_recording(repos, class_id, "m1")
    assert (await repos.deliveries.publish(rec_id, NOW, NOW)).deliveries == 1
    (delivery,) = await repos.deliveries.due("t", NOW, 10)
    return rec_id, delivery.id


async def test_a_unit_of_work_commits_all_its_changes_together(repos: Repositories) -> None:
    rec_id, delivery_id = await _published(repos)
    async with repos.unit_of_work() as uow:
        assert await uow.recordings.set_state(rec_id, "withdrawn", only_from=("published",))
        assert await uow.deliveries.cancel_open_of_recording(rec_id) == 1
        await uow.audit.record("t:maitresse", "recording_withdrawn", NOW, detail=str(rec_id))
    rec = await repos.recordings.get(rec_id)
    delivery = await repos.deliveries.get(delivery_id)
    assert rec is not None and rec.state == "withdrawn"
    assert delivery is not None and delivery.state == "cancelled"
    assert len(await repos.audit.recent()) == 1


async def test_a_failure_inside_a_unit_of_work_changes_nothing(repos: Repositories) -> None:
    rec_id, delivery_id = await _published(repos)
    with pytest.raises(Boom):
        async with repos.unit_of_work() as uow:
            await uow.recordings.set_state(rec_id, "withdrawn")
            await uow.deliveries.cancel_open_of_recording(rec_id)
            # A repository's own transaction nests inside (a savepoint).
            await uow.digests.fail_open_of_guardian(1, "blocked")
            raise Boom
    rec = await repos.recordings.get(rec_id)
    delivery = await repos.deliveries.get(delivery_id)
    assert rec is not None and rec.state == "published"
    assert delivery is not None and delivery.state == "pending"
    # The handle is usable again afterwards.
    assert await repos.recordings.set_state(rec_id, "withdrawn")


async def test_a_send_cannot_be_marked_sent_or_failed_once_withdrawn(
    repos: Repositories,
) -> None:
    rec_id, delivery_id = await _published(repos)
    assert await repos.deliveries.cancel_open_of_recording(rec_id) == 1
    assert not await repos.deliveries.mark_sent(delivery_id, "77", NOW)
    assert not await repos.deliveries.mark_failed(delivery_id, "server_error")
    # The late send is recorded for taking it back, and stays cancelled.
    assert await repos.deliveries.settle_late_send(delivery_id, "77", NOW) == "cancelled"
    delivery = await repos.deliveries.get(delivery_id)
    assert delivery is not None
    assert delivery.state == "cancelled" and delivery.platform_message_id == "77"
    assert await repos.deliveries.failures_by_reason() == {}


async def test_a_send_finishing_after_a_pause_counts_as_sent(repos: Repositories) -> None:
    _, delivery_id = await _published(repos)
    delivery = await repos.deliveries.get(delivery_id)
    assert delivery is not None
    await repos.families.set_paused(delivery.guardian_id, True)
    assert await repos.digests.hold_for_pause(delivery.guardian_id) == 1
    assert not await repos.deliveries.mark_sent(delivery_id, "78", NOW)
    assert await repos.deliveries.settle_late_send(delivery_id, "78", NOW) == "sent"
    after = await repos.deliveries.get(delivery_id)
    assert after is not None and after.state == "sent"
    # Nothing of it is left for /reprendre to send again.
    await repos.families.set_paused(delivery.guardian_id, False)
    assert await repos.digests.resume(delivery.guardian_id, "reprise:x", NOW, NOW) == 0
