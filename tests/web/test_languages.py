"""The pages and the feed in the family's language (#15): Arabic right to
left with no French left but names, the invitation page's choice kept by the
page it makes, the chooser stored for the family, the feed's texts; and the
year's keepsake offered for download during the end-of-year window (#14)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

from aiohttp.test_utils import TestClient

from bot.config import RetentionSettings, Settings
from bot.i18n import speaking
from bot.web.keepsake_routes import long_date
from tests.web.kit import PUBLIC_URL, School, school_online, web_settings
from tests.web.visible_text import left_in_french, visible_texts

ALBUM = "Le loup qui voulait changer de couleur"
HTML_TAG = re.compile(r"<html lang=\"(\w+)\" dir=\"(\w+)\">")


def in_keepsake_window(data_dir: Path) -> Settings:
    # The kit's clock is 24 November 2026: a year ending on the 30th is announced.
    return replace(web_settings(data_dir), retention=RetentionSettings(school_year_end=(11, 30)))


async def with_a_family(school: School, language: str = "fr") -> int:
    """Lina's class with two recordings, and one guardian of Lina's reading
    ``language`` (a chat family, so the page shows every setting)."""
    repos, now = school.ctx.repos, school.clock.now()
    class_id = await school.klass("MS-GS")
    lina = await school.child("MS-GS", "Lina")
    await school.child("MS-GS", "Tom")
    await school.album("MS-GS", ALBUM)
    await school.recording(ALBUM, "Groupe 1")
    await school.recording(ALBUM, "")  # untitled: the page names it itself
    guardian = await repos.families.upsert_guardian("memory", "papa", "papa", now)
    await repos.families.subscribe(guardian.id, lina, class_id, now, "immediat")
    await repos.families.set_language(guardian.id, language)
    return guardian.id


async def _text(client: TestClient[object, object], path: str, **headers: str) -> str:
    resp = await client.get(path, headers=headers)
    assert resp.status == 200, path
    return await resp.text()


async def test_the_family_page_in_arabic_is_right_to_left_with_no_french_but_names(
    tmp_path: Path,
) -> None:
    async with school_online(tmp_path, in_keepsake_window(tmp_path)) as (school, client):
        guardian = await with_a_family(school, "fr")
        page = await school.page("Lina")
        token = page.removeprefix("/f/")
        # Every part of the page drawn: the welcome, a notice, the keepsake.
        path = f"{page}?bienvenue=1&fait=frequence"
        french = await _text(client, path)
        await school.ctx.repos.families.set_language(guardian, "ar")
        arabic = await _text(client, path)

        assert HTML_TAG.search(french).groups() == ("fr", "ltr")  # type: ignore[union-attr]
        assert HTML_TAG.search(arabic).groups() == ("ar", "rtl")  # type: ignore[union-attr]
        assert "Télécharger" in french and "souvenir" in french  # the keepsake is on both
        names = {"Lina", "MS-GS", "École du Lac", ALBUM, "Groupe 1",
                 f"{PUBLIC_URL}/f/{token}", f"{PUBLIC_URL}/f/{token}/podcast.xml"}  # fmt: skip
        left = left_in_french(
            visible_texts(arabic), visible_texts(french), names, latin_script=False
        )
        assert not left, left
        # The same count of texts: nothing dropped instead of translated.
        assert len(visible_texts(arabic)) == len(visible_texts(french))
        with speaking("ar"):
            assert long_date(school.clock.now().date()) in arabic  # Babel's Arabic date


async def test_the_family_page_speaks_each_language_of_itswith_a_family(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        guardian = await with_a_family(school, "fr")
        page = await school.page("Lina")
        french = visible_texts(await _text(client, page))
        feed = f"{PUBLIC_URL}{page}/podcast.xml"
        names = {"Lina", "MS-GS", "École du Lac", ALBUM, "Groupe 1", feed}
        for lang in ("en", "es", "pt", "tr"):
            await school.ctx.repos.families.set_language(guardian, lang)
            html = await _text(client, page)
            assert HTML_TAG.search(html).groups() == (lang, "ltr")  # type: ignore[union-attr]
            left = left_in_french(visible_texts(html), french, names, latin_script=True)
            assert not left, (lang, left)
        # A visitor's browser does not change a family's page: the family's language does.
        html = await _text(client, page, **{"Accept-Language": "fr-FR,fr;q=0.9"})
        assert 'lang="tr"' in html


async def test_the_chooser_stores_the_language_for_the_page_and_every_guardian(
    tmp_path: Path,
) -> None:
    async with school_online(tmp_path) as (school, client):
        guardian = await with_a_family(school, "fr")
        page = await school.page("Lina")
        html = await _text(client, page)
        # Each language named in itself, a form that works without JavaScript.
        assert f'<form method="post" action="{page}/langue">' in html
        assert 'name="langue" value="ar" lang="ar"' in html and "العربية" in html
        answer = await client.post(f"{page}/langue", data={"langue": "pt"}, allow_redirects=False)
        assert answer.status == 303 and answer.headers["Location"] == f"{page}?fait=langue"
        stored = await school.ctx.repos.families.get_guardian(guardian)
        assert stored is not None and stored.language == "pt"
        shown = await _text(client, answer.headers["Location"])
        assert 'lang="pt"' in shown and "agora em português" in shown
        # An unknown code changes nothing.
        await client.post(f"{page}/langue", data={"langue": "de"}, allow_redirects=False)
        assert 'lang="pt"' in await _text(client, page)


async def test_the_invitation_page_follows_the_link_then_the_browser_then_french(
    tmp_path: Path,
) -> None:
    async with school_online(tmp_path) as (school, client):
        await with_a_family(school)
        invite = await school.services.invitations.create(
            "parent", school.classes["MS-GS"], school.children["Tom"]
        )
        path = f"/i/{invite.code}"
        assert 'lang="fr" dir="ltr"' in await _text(client, path)
        browser = {"Accept-Language": "de-DE,de;q=0.9,tr;q=0.8,fr;q=0.5"}
        assert 'lang="tr"' in await _text(client, path, **browser)
        chosen = await _text(client, f"{path}?lang=ar", **browser)
        assert 'lang="ar" dir="rtl"' in chosen
        assert '<a class="langue" href="?lang=es" lang="es" hreflang="es">Español</a>' in chosen
        # "Just this page" keeps the language the page was read in.
        assert '<input type="hidden" name="langue" value="ar">' in chosen
        made = await client.post(f"{path}/page", data={"langue": "ar"}, allow_redirects=False)
        assert made.status == 303
        family = await _text(client, made.headers["Location"])
        assert 'lang="ar" dir="rtl"' in family
        assert await school.ctx.repos.pages.language_of(school.children["Tom"]) == "ar"
        feed = await _text(client, made.headers["Location"].split("?")[0] + "/podcast.xml")
        assert "<language>ar</language>" in feed

        # And the invitation page itself keeps no French but names.
        names = {"Tom", "MS-GS", "École du Lac", invite.code}
        left = left_in_french(
            visible_texts(chosen),
            visible_texts(await _text(client, f"{path}?lang=fr")),
            names,
            latin_script=False,
        )
        assert not left, left


async def test_the_podcast_feed_speaks_the_familys_language(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        guardian = await with_a_family(school, "es")
        page = await school.page("Lina")
        feed = await _text(client, f"{page}/podcast.xml")
        assert "<language>es</language>" in feed
        assert "<title>La clase de Lina · Petites Voix</title>" in feed
        assert "Canal privado: no lo comparta." in feed
        assert "Grabación n.º 2" in feed and f"«{ALBUM}», Groupe 1." in feed
        await school.ctx.repos.families.set_language(guardian, "fr")
        french = await _text(client, f"{page}/podcast.xml")
        assert "<title>La classe de Lina · Petites Voix</title>" in french
        assert "Flux privé : ne le partagez pas." in french


async def test_error_pages_speak_the_visitors_language(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (_school, client):
        resp = await client.get("/f/" + "x" * 43, headers={"Accept-Language": "en-GB,en"})
        assert resp.status == 404
        html = await resp.text()
        assert 'lang="en"' in html and "This page does not exist" in html


async def test_the_keepsake_downloads_during_the_year_end_window_only(tmp_path: Path) -> None:
    async with school_online(tmp_path, in_keepsake_window(tmp_path)) as (school, client):
        await with_a_family(school)
        page = await school.page("Lina")
        html = await _text(client, page)
        album = school.albums[ALBUM]
        link = f"{page}/souvenir/{album}.mp3"
        assert f'href="{link}"' in html and "Le souvenir de l'année" in html
        assert "30 novembre 2026" in html  # the deletion day
        resp = await client.get(link)
        assert resp.status == 200 and resp.headers["Content-Type"] == "audio/mpeg"
        body = await resp.read()
        assert body[:3] == b"ID3" or body[0] == 0xFF  # an MP3
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="Lina - Le loup')
        assert unquote(disposition.split("UTF-8''")[1]) == f"Lina - {ALBUM}.mp3"
        # Range works, as for every recording (phones resume downloads).
        part = await client.get(link, headers={"Range": "bytes=0-1"})
        assert part.status == 206

        # The consent rule decides, as for everything else: Tom's family
        # hears the class recordings only while every child has consent.
        tom = await school.page("Tom")
        await client.post(f"{tom}/reglages", data={"action": "consentement", "reponse": "non"})
        assert "souvenir/" not in await _text(client, page)
        assert (await client.get(link)).status == 404
        await client.post(f"{tom}/reglages", data={"action": "consentement", "reponse": "oui"})
        assert (await client.get(link)).status == 200

        # A new link cuts the old one's downloads too.
        fresh = await school.services.pages.renew(school.children["Lina"])
        assert (await client.get(link)).status == 404
        assert (await client.get(f"/f/{fresh}/souvenir/{album}.mp3")).status == 200


async def test_no_keepsake_outside_the_year_end_window(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):  # the year ends on 31 July
        await with_a_family(school)
        page = await school.page("Lina")
        html = await _text(client, page)
        assert "Groupe 1" in html  # the page is drawn, its recordings there
        assert "souvenir/" not in html and "Le souvenir de l'année" not in html
        resp = await client.get(f"{page}/souvenir/{school.albums[ALBUM]}.mp3")
        assert resp.status == 404
