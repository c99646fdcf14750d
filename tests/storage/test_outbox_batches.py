"""Reading and marking several deliveries at once gives what one at a time
gives: the same rows, and 'sent' only from 'pending'."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import pytest

from bot.delivery.letters import Letters
from bot.delivery.sent_marks import SentMarks
from bot.service.context import Context
from storage.repos import Repositories
from tests.storage.test_repositories import NOW, _class, _family, _waiting_recording


async def _fan_out(repos: Repositories) -> tuple[list[int], dict[str, list[int]]]:
    """One recording naming Lina, to Lina's papa and maman and Noé's papa
    (the same one) and mamie: delivery ids, children of each user."""
    class_id = await _class(repos)
    lina = await _family(repos, class_id, "Lina", "papa", "maman")
    noe = await _family(repos, class_id, "Noé", "papa", "mamie")
    rec_id = await _waiting_recording(repos, class_id, "m1", tagged=(lina,))
    assert (await repos.deliveries.publish(rec_id, NOW, NOW)).deliveries == 3
    due = await repos.deliveries.due("t", NOW, 10)
    return [d.id for d in due], {"papa": [lina, noe], "maman": [lina], "mamie": [noe]}


async def test_outgoing_of_several_is_outgoing_of_each(repos: Repositories) -> None:
    ids, _ = await _fan_out(repos)
    together = await repos.deliveries.outgoing_many(ids, "t")
    assert set(together) == set(ids)
    for delivery_id in ids:
        assert together[delivery_id] == await repos.deliveries.outgoing(delivery_id, "t")
    assert await repos.deliveries.outgoing_many([], "t") == {}


async def test_outgoing_names_the_guardians_children_in_the_class(repos: Repositories) -> None:
    ids, children = await _fan_out(repos)
    together = await repos.deliveries.outgoing_many(ids, "t")
    seen = sorted(o.class_children for o in together.values())
    assert seen == sorted(tuple(c) for c in children.values())
    assert all(len(o.named_children) == 1 for o in together.values())


async def test_marks_together_only_change_pending_deliveries(repos: Repositories) -> None:
    ids, _ = await _fan_out(repos)
    first, second, third = ids
    assert await repos.deliveries.mark_failed(second, "server_error")
    changed = await repos.deliveries.mark_sent_many(
        [(first, "<a@x>"), (second, "<b@x>"), (third, "<c@x>")], NOW
    )
    assert changed == {first, third}
    states = {d: await repos.deliveries.get(d) for d in ids}
    assert [(s.state, s.platform_message_id) for s in states.values() if s] == [
        ("sent", "<a@x>"),
        ("failed", None),
        ("sent", "<c@x>"),
    ]
    assert await repos.deliveries.mark_sent_many([(first, "<a@x>")], NOW) == set()


async def test_concurrent_marks_each_get_their_own_answer(repos: Repositories) -> None:
    ids, _ = await _fan_out(repos)
    assert await repos.deliveries.mark_failed(ids[1], "server_error")
    marks = SentMarks(repos.deliveries)
    before = repos.db.queries
    answers = await asyncio.gather(*(marks.mark(d, f"<{d}@x>", NOW) for d in ids))
    assert answers == [True, False, True]
    assert repos.db.queries - before < len(ids)  # written together
    sent = [await repos.deliveries.get(d) for d in ids]
    assert [d.platform_message_id for d in sent if d] == [f"<{ids[0]}@x>", None, f"<{ids[2]}@x>"]


async def test_marks_finishing_a_few_ms_apart_go_in_one_write(repos: Repositories) -> None:
    ids, _ = await _fan_out(repos)
    marks = SentMarks(repos.deliveries, gather_s=0.5)
    before = repos.db.queries

    async def sent_after(n: int, delivery_id: int) -> bool:
        await asyncio.sleep(0.02 * n)  # each send finishing 20 ms after the one before
        return await marks.mark(delivery_id, f"<{delivery_id}@x>", NOW)

    answers = await asyncio.gather(*(sent_after(n, d) for n, d in enumerate(ids)))
    assert answers == [True, True, True]
    assert repos.db.queries - before == 1
    assert all(d and d.state == "sent" for d in [await repos.deliveries.get(i) for i in ids])


async def test_marks_gathering_when_the_writer_stops_are_not_left_waiting(
    repos: Repositories,
) -> None:
    ids, _ = await _fan_out(repos)
    marks = SentMarks(repos.deliveries, gather_s=10)
    waiting = asyncio.ensure_future(marks.mark(ids[0], "<a@x>", NOW))
    for _ in range(5):
        await asyncio.sleep(0)
    assert marks._writer is not None and not waiting.done()
    marks._writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 5)
    delivery = await repos.deliveries.get(ids[0])
    assert delivery and delivery.state == "pending"  # goes again after a restart


async def test_sends_starting_together_read_the_recording_names_once(
    repos: Repositories,
) -> None:
    class_id = await _class(repos)
    rec_id = await _waiting_recording(repos, class_id, "m1")
    rec = await repos.recordings.get(rec_id)
    assert rec is not None
    letters = Letters(cast(Context, SimpleNamespace(repos=repos, audience=None)))
    before = repos.db.queries
    names = await asyncio.gather(*(letters._names_of(rec) for _ in range(10)))
    assert repos.db.queries - before == 2  # the album and the class, once
    assert len(set(names)) == 1 and names[0].class_name
    await letters._names_of(rec)
    assert repos.db.queries - before == 2
