"""The e-mail routes over HTTP: the address typed on the invitation page,
the confirmation link, and RFC 8058 one-click unsubscribe (a GET never
changes anything: scanners follow links)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.email.devkit import SmtpServer
from bot.web.email_routes import register
from tests.core.harness import Stage, sample
from tests.email.kit import URL, invitation_code, new_mails, settle, subscribe_by_email


@pytest.fixture
async def client(stage: Stage) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    register(app, stage.svc.ctx)
    async with TestClient(TestServer(app)) as c:
        yield c


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_typed_address_confirmed_by_a_click(
    stage: Stage, smtp: SmtpServer, client: TestClient[web.Request, web.Application]
) -> None:
    code = await invitation_code(stage, "Lina")
    answer = await client.post(f"/i/{code}/email", data={"adresse": "lea@example.org"})
    assert answer.status == 200 and "Vérifiez" in await answer.text()
    [mail] = smtp.relay.to("lea@example.org")
    [link] = [u for u in URL.findall(mail.text()) if "/e/confirmer/" in u]
    families = stage.svc.ctx.repos.families
    shown = await client.get(path_of(link))  # what a link scanner does
    assert shown.status == 200 and 'method="post"' in await shown.text()
    assert await families.guardian_by_user("email", "lea@example.org") is None
    done = await client.post(path_of(link))
    assert done.status == 200 and "est fait" in await done.text()
    assert await families.guardian_by_user("email", "lea@example.org") is not None

    bad = await client.post(f"/i/{code}/email", data={"adresse": "pas une adresse"})
    assert bad.status == 400


async def test_the_form_says_which_language_the_page_was_read_in(
    stage: Stage, smtp: SmtpServer, client: TestClient[web.Request, web.Application]
) -> None:
    code = await invitation_code(stage, "Lina")
    form = {"adresse": "ana@example.org", "langue": "es"}
    answer = await client.post(f"/i/{code}/email", data=form)
    assert answer.status == 200
    [mail] = smtp.relay.to("ana@example.org")
    assert str(mail.mail["Subject"]) == (
        "MS-GS: confirme su dirección para recibir las grabaciones"
    )
    [link] = [u for u in URL.findall(mail.text()) if "/e/confirmer/" in u]
    assert (await client.post(path_of(link))).status == 200
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", "ana@example.org")
    assert guardian is not None and guardian.language == "es"


async def test_one_click_unsubscribe_by_post_only(
    stage: Stage, smtp: SmtpServer, client: TestClient[web.Request, web.Application]
) -> None:
    await subscribe_by_email(stage, smtp, "Lina", "lea@example.org", "tom@example.org")
    families = stage.svc.ctx.repos.families
    for address in ("lea@example.org", "tom@example.org"):
        g = await families.guardian_by_user("email", address)
        assert g is not None
        await families.set_frequency(g.id, "immediat")
    await stage.post_audio("maitresse", sample("loup_groupe3_voice.ogg"))
    await stage.publish()
    await settle(stage)
    [mail] = new_mails(smtp, "lea@example.org")
    header = str(mail.mail["List-Unsubscribe"]).strip()
    target = path_of(header.strip("<>"))
    looked = await client.get(target)
    assert looked.status == 200 and "Me désinscrire" in await looked.text()
    assert await families.guardian_by_user("email", "lea@example.org") is not None
    clicked = await client.post(
        target,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clicked.status == 200
    assert await families.guardian_by_user("email", "lea@example.org") is None
    assert await families.guardian_by_user("email", "tom@example.org") is not None


async def test_the_service_serves_the_email_choice_and_its_links(
    stage: Stage, smtp: SmtpServer
) -> None:
    """The running service's own web server (not a test app) offers e-mail on
    the invitation page and answers the confirmation and unsubscribe links."""
    import aiohttp

    server = stage.svc.web
    assert server is not None
    base = f"http://{server.host}:{server.port}"
    code = await invitation_code(stage, "Lina")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/i/{code}") as page:
            html = await page.text()
        assert f'action="/i/{code}/email"' in html and 'type="email"' in html
        async with http.post(f"{base}/i/{code}/email", data={"adresse": "lea@example.org"}) as r:
            assert r.status == 200
        [mail] = smtp.relay.to("lea@example.org")
        [link] = [u for u in URL.findall(mail.text()) if "/e/confirmer/" in u]
        async with http.post(base + path_of(link)) as done:
            assert done.status == 200 and "est fait" in await done.text()
    families = stage.svc.ctx.repos.families
    assert await families.guardian_by_user("email", "lea@example.org") is not None


async def test_the_language_of_the_invitation_page_is_the_new_email_familys(
    stage: Stage, smtp: SmtpServer, client: TestClient[web.Request, web.Application]
) -> None:
    code = await invitation_code(stage, "Lina")
    answer = await client.post(
        f"/i/{code}/email", data={"adresse": "lea@example.org", "langue": "ar"}
    )
    text = await answer.text()
    assert answer.status == 200 and 'lang="ar" dir="rtl"' in text
    [mail] = smtp.relay.to("lea@example.org")
    [link] = [u for u in URL.findall(mail.text()) if "/e/confirmer/" in u]
    done = await client.post(path_of(link))
    assert done.status == 200 and 'lang="ar"' in await done.text()
    guardian = await stage.svc.ctx.repos.families.guardian_by_user("email", "lea@example.org")
    assert guardian is not None and guardian.language == "ar"
