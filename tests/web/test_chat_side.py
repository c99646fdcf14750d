"""The web side seen from the chats, through the whole service on the memory
platform with [web] set (a real listener on a free port): invitation links,
/page, listen beacons, read receipts and /ecoutes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import aiohttp

from bot import admin
from bot.config import PrivacySettings, WebSettings
from bot.ports import ReadReceipt, Sender
from tests.core.harness import GROUP, Stage, eventually, sample, settings_for
from tests.web.kit import PUBLIC_URL

TEACHER = "maitresse"
LINK = re.compile(rf"^{re.escape(PUBLIC_URL)}(/\S+)$", re.M)


def _stage(tmp_path: Path, listen_details: bool = False) -> Stage:
    stage = Stage(tmp_path / "data")
    stage.settings = replace(
        settings_for(stage.data_dir),
        web=WebSettings(PUBLIC_URL, "127.0.0.1", 0),
        privacy=PrivacySettings(listen_details=listen_details),
    )
    return stage


async def _published_class(stage: Stage) -> None:
    await stage.start()
    await stage.setup_class(TEACHER)
    await stage.invite_parent(TEACHER, "Lina", "papa_lina")
    await stage.invite_parent(TEACHER, "Tom", "maman_tom")
    await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 1")
    await stage.publish()
    await eventually(lambda: all(stage.adapter.audio_to(p) for p in ("papa_lina", "maman_tom")))


async def _get(stage: Stage, path: str, method: str = "GET") -> tuple[int, str]:
    assert stage.svc.web is not None
    url = f"http://127.0.0.1:{stage.svc.web.port}{path}"
    async with aiohttp.ClientSession() as http, http.request(method, url) as resp:
        return resp.status, await resp.text()


async def test_invitations_show_the_web_link_beside_the_code(tmp_path: Path) -> None:
    stage = _stage(tmp_path)
    try:
        await stage.start()
        result = await admin.invite_teacher(stage.svc.ctx, "École du Lac", "MS-GS")
        assert result["web_link"] == f"{PUBLIC_URL}/i/{result['code']}"
        await stage.say(TEACHER, f"/start {result['code']}")
        await stage.say(TEACHER, "/classe", chat=GROUP)
        await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
        text = stage.adapter.texts_to(TEACHER)[-1]
        code = re.search(r"^[A-Za-z0-9_-]{20,64}$", text, re.M)
        assert code is not None
        assert f"\n{PUBLIC_URL}/i/{code.group(0)}" in text
        status, html = await _get(stage, f"/i/{code.group(0)}")
        assert status == 200 and "Lina" in html and "MS-GS" in html
        # The invitation never shows in the class group.
        assert not any(code.group(0) in t for t in stage.adapter.texts_to(GROUP))
    finally:
        await stage.stop()


async def test_page_gives_the_family_link_and_the_page_counts_a_listen(tmp_path: Path) -> None:
    stage = _stage(tmp_path)
    try:
        await _published_class(stage)
        await stage.say("papa_lina", "/page")
        answer = stage.adapter.texts_to("papa_lina")[-1]
        match = LINK.search(answer)
        assert match, answer
        page = match.group(1)
        status, html = await _get(stage, page)
        assert status == 200 and "Groupe 1" in html
        beacon = re.search(r'data-ecoute="([^"]+)"', html)
        assert beacon is not None

        await stage.say(TEACHER, "/ecoutes", chat=GROUP)
        before = stage.adapter.texts_to(GROUP)[-1]
        assert "« Groupe 1 » : écouté par 0 famille sur 2" in before

        assert (await _get(stage, beacon.group(1), "POST"))[0] == 204
        assert (await _get(stage, beacon.group(1), "POST"))[0] == 204  # counted once
        await stage.say(TEACHER, "/ecoutes 1", chat=GROUP)
        after = stage.adapter.texts_to(GROUP)[-1]
        assert "« Groupe 1 » : écouté par 1 famille sur 2" in after
        assert "Lina" not in after and "Tom" not in after  # counts, never names

        # An access request returns the page and what was heard, never the link.
        ctx = stage.svc.ctx
        export = await admin.export_family(
            ctx, admin.FamilyTarget(platform="memory", user="papa_lina")
        )
        (child,) = export["children"]
        assert child["child"] == "Lina" and child["page"]["created_at"]
        assert [(x["recording"], x["kind"]) for x in child["listens"]] == [("Groupe 1", "listened")]
        token = page.rsplit("/", 1)[-1]
        assert token not in str(export)
        tom = await admin.export_family(
            ctx, admin.FamilyTarget(platform="memory", user="maman_tom")
        )
        assert tom["children"][0]["listens"] == []
    finally:
        await stage.stop()


async def test_a_read_receipt_counts_as_seen_and_details_name_families(tmp_path: Path) -> None:
    stage = _stage(tmp_path, listen_details=True)
    try:
        await _published_class(stage)
        delivered = stage.adapter.audio_to("maman_tom")[-1].message_id
        # Someone else's receipt in that chat, or one on an unknown message: nothing.
        await stage.adapter.push(ReadReceipt("maman_tom", Sender("papa_lina"), delivered))
        await stage.adapter.push(ReadReceipt("maman_tom", Sender("maman_tom"), "inconnu"))
        await stage.say(TEACHER, "/ecoutes", chat=GROUP)
        assert "vu" not in stage.adapter.texts_to(GROUP)[-1].split("\n")[1]

        await stage.adapter.push(ReadReceipt("maman_tom", Sender("maman_tom"), delivered))
        await stage.say("papa_lina", "/page")
        match = LINK.search(stage.adapter.texts_to("papa_lina")[-1])
        assert match
        _, html = await _get(stage, match.group(1))
        beacon = re.search(r'data-ecoute="([^"]+)"', html)
        assert beacon is not None
        await _get(stage, beacon.group(1), "POST")
        await stage.say(TEACHER, "/ecoutes", chat=GROUP)
        line = stage.adapter.texts_to(GROUP)[-1].split("\n")[1]
        assert line == (
            "« Groupe 1 » : écouté par 1 famille sur 2 "
            "(et vu dans la messagerie par 1 famille) : Lina"
        )
    finally:
        await stage.stop()


async def test_page_without_web_says_there_is_none(tmp_path: Path) -> None:
    stage = Stage(tmp_path / "data")
    try:
        await stage.start()
        await stage.setup_class(TEACHER)
        await stage.invite_parent(TEACHER, "Lina", "papa_lina")
        await stage.say("papa_lina", "/page")
        assert "pas de pages web" in stage.adapter.texts_to("papa_lina")[-1]
        assert stage.svc.web is None
    finally:
        await stage.stop()


async def test_the_slips_qr_codes_open_the_invitation_pages(tmp_path: Path) -> None:
    from bot.service.invitations import InvitationService
    from bot.service.slips_service import class_slips
    from tests.test_slips import _pages

    stage = _stage(tmp_path)
    try:
        await stage.start()
        await stage.setup_class(TEACHER)
        await stage.say(TEACHER, "/invitation Lina", chat=GROUP)
        ctx = stage.svc.ctx
        (klass,) = await ctx.repos.schools.find_classes("MS-GS")
        pdf = await class_slips(ctx, InvitationService(ctx), klass, "memory")
        ((lines, _, qrs),) = _pages(pdf)
        (qr,) = qrs
        assert qr.startswith(f"{PUBLIC_URL}/i/")
        assert qr.removeprefix(f"{PUBLIC_URL}/i/") in lines  # the code printed under it
        status, html = await _get(stage, qr.removeprefix(PUBLIC_URL))
        assert status == 200 and "Lina" in html
    finally:
        await stage.stop()


async def test_the_language_chosen_on_the_page_is_the_one_the_chat_speaks(
    tmp_path: Path,
) -> None:
    from babel.messages.pofile import read_po

    from bot.i18n import po_path

    stage = _stage(tmp_path)
    try:
        await _published_class(stage)
        await stage.say("papa_lina", "/page")
        match = LINK.search(stage.adapter.texts_to("papa_lina")[-1])
        assert match
        page = match.group(1)
        assert stage.svc.web is not None
        url = f"http://127.0.0.1:{stage.svc.web.port}{page}/langue"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data={"langue": "tr"}, allow_redirects=False) as resp,
        ):
            assert resp.status == 303
        status, html = await _get(stage, page)
        assert status == 200 and 'lang="tr"' in html
        # The same answer to both families: Lina's in Turkish, Tom's in French.
        await stage.say("papa_lina", "/pause")
        await stage.say("maman_tom", "/pause")
        turkish = stage.adapter.texts_to("papa_lina")[-1]
        french = stage.adapter.texts_to("maman_tom")[-1]
        with po_path("tr").open("rb") as f:
            catalog = read_po(f)
        texts = {
            m.id: m.string
            for m in catalog
            if isinstance(m.id, str) and set(re.findall(r"{(\w*)}", m.id)) == {"p"}
        }
        [expected] = [t.format(p="/") for m, t in texts.items() if m.format(p="/") == french]
        assert turkish == expected and turkish != french
    finally:
        await stage.stop()
