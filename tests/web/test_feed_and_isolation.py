"""The private podcast feed read back by two real parsers, its enclosures
fetched with Range; and who sees what: other classes, private recordings,
a consent that becomes "non"."""

from __future__ import annotations

from pathlib import Path

import feedparser
import podcastparser

from tests.web.kit import MP3, PUBLIC_URL, school_online

ALBUM = "Le loup qui voulait changer de couleur"


async def test_the_feed_parses_with_stable_guids_and_mp3_enclosures(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await school.klass("MS-GS")
        await school.child("MS-GS", "Lina")
        await school.album("MS-GS", ALBUM)
        first = await school.recording(ALBUM, "Groupe 1")
        second = await school.recording(ALBUM, "Groupe 2")
        page = await school.page("Lina")
        resp = await client.get(f"{page}/podcast.xml")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/rss+xml")
        xml = await resp.read()
        assert b"<itunes:block>yes</itunes:block>" in xml
        assert b"<podcast:block>yes</podcast:block>" in xml

        parsed = feedparser.parse(xml)
        assert parsed.version == "rss20" and not parsed.bozo
        assert parsed.feed.title == "La classe de Lina · Petites Voix"
        titles = [e.title for e in parsed.entries]
        assert titles == [f"Groupe 2 · {ALBUM}", f"Groupe 1 · {ALBUM}"]
        guids = [e.id for e in parsed.entries]
        assert len(set(guids)) == 2

        import io

        podcast = podcastparser.parse(f"{PUBLIC_URL}{page}/podcast.xml", io.BytesIO(xml))
        episodes = podcast["episodes"]
        assert [e["guid"] for e in episodes] == guids[::-1] or sorted(
            e["guid"] for e in episodes
        ) == sorted(guids)
        for episode in episodes:
            (enclosure,) = episode["enclosures"]
            assert enclosure["mime_type"] == "audio/mpeg"
            assert enclosure["file_size"] == MP3.stat().st_size
            assert episode["total_time"] == 6
            url = enclosure["url"]
            assert url.startswith(f"{PUBLIC_URL}{page}/audio/")
            path = url.removeprefix(PUBLIC_URL)
            head = await client.head(path)
            assert head.status == 200 and head.headers["Accept-Ranges"] == "bytes"
            part = await client.get(path, headers={"Range": "bytes=0-1"})
            assert part.status == 206 and await part.read() == MP3.read_bytes()[:2]
        assert {f"/audio/{first}.mp3", f"/audio/{second}.mp3"} == {
            e["enclosures"][0]["url"].removeprefix(f"{PUBLIC_URL}{page}") for e in episodes
        }

        # Same GUIDs on the next fetch, and after a new link (new URLs, same episodes).
        again = feedparser.parse(await (await client.get(f"{page}/podcast.xml")).read())
        assert [e.id for e in again.entries] == guids
        new = await client.post(f"{page}/nouveau-lien", allow_redirects=False)
        fresh = new.headers["Location"].split("?")[0]
        renewed = feedparser.parse(await (await client.get(f"{fresh}/podcast.xml")).read())
        assert [e.id for e in renewed.entries] == guids
        assert (await client.get(f"{page}/podcast.xml")).status == 404


async def test_a_page_never_shows_another_class(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await school.klass("MS-GS")
        await school.klass("CP", school="École des Oliviers")
        await school.child("MS-GS", "Lina")
        await school.child("CP", "Zoé")
        await school.album("MS-GS", ALBUM)
        await school.album("CP", "Petit Ours Brun")
        ours = await school.recording(ALBUM, "Groupe 1")
        theirs = await school.recording("Petit Ours Brun", "Les oliviers chantent")
        lina = await school.page("Lina")
        html = await (await client.get(lina)).text()
        feed = await (await client.get(f"{lina}/podcast.xml")).text()
        for text in (html, feed):
            assert "Groupe 1" in text
            assert "Les oliviers chantent" not in text and "Petit Ours Brun" not in text
        assert (await client.get(f"{lina}/audio/{ours}.mp3")).status == 200
        assert (await client.get(f"{lina}/audio/{theirs}.mp3")).status == 404
        assert (await client.post(f"{lina}/ecoute/{theirs}")).status == 204
        assert await school.ctx.repos.listens.children(theirs, "listened") == set()


async def test_a_private_recording_shows_only_on_its_childs_page(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await school.klass("MS-GS")
        await school.child("MS-GS", "Lina")
        await school.child("MS-GS", "Tom")
        await school.album("MS-GS", ALBUM)
        private = await school.recording(ALBUM, "Lina raconte seule", private_for="Lina")
        await school.recording(ALBUM, "Groupe 1")
        lina, tom = await school.page("Lina"), await school.page("Tom")
        assert "Lina raconte seule" in await (await client.get(lina)).text()
        assert "Lina raconte seule" in await (await client.get(f"{lina}/podcast.xml")).text()
        for path in (tom, f"{tom}/podcast.xml"):
            text = await (await client.get(path)).text()
            assert "Groupe 1" in text and "Lina raconte seule" not in text
        assert (await client.get(f"{lina}/audio/{private}.mp3")).status == 200
        assert (await client.get(f"{tom}/audio/{private}.mp3")).status == 404


async def test_a_child_whose_consent_becomes_non_disappears_at_once(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await school.klass("MS-GS")
        await school.child("MS-GS", "Lina")
        await school.child("MS-GS", "Tom")
        await school.album("MS-GS", ALBUM)
        named = await school.recording(ALBUM, "Tom et Lina", names=("Tom", "Lina"))
        await school.recording(ALBUM, "Groupe 2", names=("Lina",))
        lina = await school.page("Lina")
        before = await (await client.get(lina)).text()
        assert "Tom et Lina" in before and "Groupe 2" in before
        assert (await client.get(f"{lina}/audio/{named}.mp3")).status == 200

        tom = await school.page("Tom")
        await client.post(f"{tom}/reglages", data={"action": "consentement", "reponse": "non"})

        after = await (await client.get(lina)).text()
        feed = await (await client.get(f"{lina}/podcast.xml")).text()
        for text in (after, feed):
            assert "Tom et Lina" not in text and "Groupe 2" in text
        assert (await client.get(f"{lina}/audio/{named}.mp3")).status == 404
        assert (await client.get(f"{tom}/audio/{named}.mp3")).status == 404


async def test_the_whole_album_is_one_mp3_of_what_the_family_may_hear(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await school.klass("MS-GS")
        await school.child("MS-GS", "Lina")
        await school.album("MS-GS", ALBUM)
        await school.recording(ALBUM, "Groupe 1")
        await school.recording(ALBUM, "Groupe 2")
        lina = await school.page("Lina")
        html = await (await client.get(lina)).text()
        album_url = f"{lina}/album/{school.albums[ALBUM]}.mp3"
        assert f'href="{album_url}"' in html
        resp = await client.get(album_url, headers={"Range": "bytes=0-1"})
        assert resp.status == 206 and resp.headers["Content-Type"] == "audio/mpeg"
        whole = await client.get(album_url)
        data = await whole.read()
        assert data[:3] == b"ID3" or data[0] == 0xFF
        assert (await client.get(f"{lina}/album/9999.mp3")).status == 404
