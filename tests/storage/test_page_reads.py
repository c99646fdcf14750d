"""The family page's reads in one trip give what the reads one by one give."""

from __future__ import annotations

from storage.repos import Repositories
from tests.storage.test_repositories import NOW, _class, _family, _waiting_recording


async def _published(repos: Repositories, class_id: int, msg: str, tagged: tuple[int, ...]) -> int:
    rec_id = await _waiting_recording(repos, class_id, msg, tagged=tagged)
    assert (await repos.deliveries.publish(rec_id, NOW, NOW)).published
    return rec_id


async def test_a_recording_behind_a_link_comes_with_its_child_and_tags(
    repos: Repositories,
) -> None:
    class_id = await _class(repos)
    lina = await _family(repos, class_id, "Lina", "papa")
    tom = await _family(repos, class_id, "Tom", "maman")
    both = await _published(repos, class_id, "m1", (lina, tom))
    nobody = await _published(repos, class_id, "m2", ())
    await repos.pages.create(lina, "sel", "empreinte", NOW)

    linked = await repos.pages.recording_behind("empreinte", both)
    assert linked is not None and linked.child_id == lina
    assert linked.recording == await repos.recordings.get(both)
    assert sorted(linked.tagged) == sorted(await repos.recordings.tagged_children(both))
    untagged = await repos.pages.recording_behind("empreinte", nobody)
    assert untagged is not None and untagged.tagged == ()
    missing = await repos.pages.recording_behind("empreinte", nobody + 100)
    assert missing is not None and missing.child_id == lina and missing.recording is None
    assert await repos.pages.recording_behind("inconnue", both) is None


async def test_the_published_recordings_of_a_class_come_with_their_tags(
    repos: Repositories,
) -> None:
    class_id = await _class(repos)
    other_class = await _class(repos, name="GS")
    lina = await _family(repos, class_id, "Lina", "papa")
    tom = await _family(repos, class_id, "Tom", "maman")
    ids = [
        await _published(repos, class_id, "m1", (lina, tom)),
        await _published(repos, class_id, "m2", ()),
        await _published(repos, class_id, "m3", (tom,)),
    ]
    await _waiting_recording(repos, class_id, "m4")  # not published: not listed
    await _published(repos, other_class, "m5", ())

    together = await repos.recordings.published_in_class(class_id)
    assert [rec.id for rec, _ in together] == ids
    for rec, tagged in together:
        assert rec == await repos.recordings.get(rec.id)
        assert sorted(tagged) == sorted(await repos.recordings.tagged_children(rec.id))
