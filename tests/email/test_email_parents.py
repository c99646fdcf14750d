"""/parents for the teacher: how each family is reached (Telegram, e-mail
only, its web page only), addresses never shown, refused ones with the
server's code."""

from __future__ import annotations

from adapters.email.devkit import SmtpServer
from bot.service.family_pages import FamilyPages
from bot.service.texts import family_reach
from storage.repos.families import FamilyLine
from tests.core.harness import GROUP, Stage, sample
from tests.email.kit import TEACHER, settle, subscribe_by_email


async def parents_answer(stage: Stage) -> str:
    before = len(stage.adapter.texts_to(GROUP))
    await stage.say(TEACHER, "/parents", chat=GROUP)
    [answer] = stage.adapter.texts_to(GROUP)[before:]
    return answer


async def test_parents_counts_and_lists_each_way_families_are_reached(
    stage: Stage, smtp: SmtpServer
) -> None:
    await stage.invite_parent(TEACHER, "Tom", "papa_tom")  # a chat platform (the memory one)
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org")
    await subscribe_by_email(stage, smtp, "Noé", "noe@example.org", "gone@example.org")
    repos = stage.svc.ctx.repos
    zoe, _ = await repos.families.ensure_child(1, "Zoé", "zoe", stage.clock.now())
    await FamilyPages(stage.svc.ctx).token_for(zoe.id)  # chose "only our page"
    await repos.families.ensure_child(1, "Adam", "adam", stage.clock.now())

    answer = await parents_answer(stage)
    lines = answer.splitlines()
    assert "4 familles inscrites sur 5 enfants." in lines
    assert (
        "Elles reçoivent : 1 memory, 2 par e-mail seulement, "
        "1 avec leur page web seulement." in lines
    )
    assert "• Lina : 1 parent (1 par e-mail), 1 en résumé" in lines
    assert "• Zoé : sa page web seulement" in lines
    assert "• Adam : pas encore inscrite" in lines
    assert "@" not in answer

    # A permanent refusal: shown with the server's code, the address never.
    for address in ("noe@example.org", "gone@example.org"):
        g = await repos.families.guardian_by_user("email", address)
        assert g is not None
        await repos.families.set_frequency(g.id, "immediat")
    smtp.relay.refuse.add("gone@example.org")
    await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 1")
    await stage.publish()
    await settle(stage)
    answer = await parents_answer(stage)
    [noe] = [line for line in answer.splitlines() if line.startswith("• Noé")]
    assert "1 adresse e-mail refusée par le serveur (code 550)" in noe
    assert "@" not in answer


def test_each_way_is_counted_once_per_family() -> None:
    def line(child: int, *ways: tuple[str, int], page: bool = False) -> FamilyLine:
        guardians = sum(count for _, count in ways)
        return FamilyLine(child, f"E{child}", True, guardians, 0, 0, 0, 0, ways, has_page=page)

    lines = [
        line(1, ("matrix", 1), ("telegram", 2)),
        line(2, ("email", 1), ("telegram", 1)),  # not "e-mail only"
        line(3, ("email", 2)),
        line(4, page=True),
        line(5),
    ]
    assert family_reach(lines) == (
        "Elles reçoivent : 2 sur Telegram, 1 sur Element, 1 par e-mail seulement, "
        "1 avec leur page web seulement."
    )
    assert family_reach([line(5)]) == ""
