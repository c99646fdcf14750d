"""The family web side through aiohttp's test server: pages, tokens, Range,
HEAD, 404s and the headers every answer carries."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from bot.codes import hash_code
from bot.config import Settings
from bot.service.family_pages import token_hash
from bot.web.security import CSP
from tests.s3_standin import MotoS3StandIn
from tests.web.kit import MP3, school_online, web_settings

SIZE = MP3.stat().st_size


@pytest.fixture(params=["local directory", "s3 (moto stand-in)"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The audio served from either media store (the bucket: moto's server,
    a stand-in for a real S3-compatible store)."""
    settings = web_settings(tmp_path)
    if request.param == "local directory":
        return settings
    moto_s3: MotoS3StandIn = request.getfixturevalue("moto_s3")
    return replace(settings, s3=moto_s3.new_bucket())


async def _lina_class(school):  # type: ignore[no-untyped-def]
    await school.klass("MS-GS")
    await school.child("MS-GS", "Lina")
    await school.child("MS-GS", "Tom")
    await school.album("MS-GS", "Le loup qui voulait changer de couleur")
    first = await school.recording("Le loup qui voulait changer de couleur", "Groupe 1")
    second = await school.recording("Le loup qui voulait changer de couleur", "Groupe 2")
    return first, second


async def test_the_family_page_lists_recordings_newest_first_with_players(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        first, second = await _lina_class(school)
        page = await school.page("Lina")
        resp = await client.get(page)
        assert resp.status == 200
        html = await resp.text()
        assert "La classe de Lina" in html and "MS-GS" in html and "École du Lac" in html
        assert html.index("Groupe 2") < html.index("Groupe 1")
        assert f'src="{page}/audio/{second}.mp3"' in html
        assert f'src="{page}/audio/{first}.mp3"' in html
        # Anchors that messages link to: a recording, the settings.
        assert f'id="r{first}"' in html and 'id="reglages"' in html
        assert "24 novembre 2026" in html and "6 s" in html
        assert f"https://voix.example.org{page}/podcast.xml" in html
        assert "Apple Podcasts" in html and "AntennaPod" in html
        # Usable without JavaScript: plain forms, the script only counts listens.
        assert 'method="post"' in html and '<script src="/static/ecoute.js" defer>' in html


async def test_every_answer_carries_the_privacy_headers(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        first, _ = await _lina_class(school)
        page = await school.page("Lina")
        for path in (page, f"{page}/audio/{first}.mp3", f"{page}/podcast.xml", "/f/" + "x" * 43):
            resp = await client.get(path)
            assert resp.headers["Content-Security-Policy"] == CSP, path
            assert "default-src 'none'" in CSP and "script-src 'self'" in CSP
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert resp.headers["X-Robots-Tag"].startswith("noindex")
        assert (await client.get(page)).headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("header", "status", "first", "last"),
    [
        ("bytes=0-1", 206, 0, 1),
        ("bytes=100-", 206, 100, SIZE - 1),
        ("bytes=-100", 206, SIZE - 100, SIZE - 1),
    ],
)
async def test_audio_answers_range_requests_as_phones_send_them(
    tmp_path: Path, store_settings: Settings, header: str, status: int, first: int, last: int
) -> None:
    async with school_online(tmp_path, store_settings) as (school, client):
        rec, _ = await _lina_class(school)
        url = f"{await school.page('Lina')}/audio/{rec}.mp3"
        resp = await client.get(url, headers={"Range": header})
        assert resp.status == status
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
        assert resp.headers["Content-Type"] == "audio/mpeg"
        assert await resp.read() == MP3.read_bytes()[first : last + 1]


async def test_audio_whole_head_and_past_the_end(tmp_path: Path, store_settings: Settings) -> None:
    async with school_online(tmp_path, store_settings) as (school, client):
        rec, _ = await _lina_class(school)
        url = f"{await school.page('Lina')}/audio/{rec}.mp3"
        whole = await client.get(url)
        assert whole.status == 200 and await whole.read() == MP3.read_bytes()
        assert whole.headers["Accept-Ranges"] == "bytes"
        head = await client.head(url)
        assert head.status == 200
        assert int(head.headers["Content-Length"]) == SIZE
        assert await head.read() == b""
        past = await client.get(url, headers={"Range": f"bytes={SIZE + 10}-"})
        assert past.status == 416


async def test_unknown_and_revoked_tokens_get_the_same_404_naming_nothing(
    tmp_path: Path,
) -> None:
    async with school_online(tmp_path) as (school, client):
        rec, _ = await _lina_class(school)
        old = await school.page("Lina")
        assert (await client.get(old)).status == 200
        new = await client.post(f"{old}/nouveau-lien", allow_redirects=False)
        assert new.status == 303
        fresh = new.headers["Location"].split("?")[0]
        assert fresh != old
        assert (await client.get(fresh)).status == 200
        bodies = set()
        for path in (
            old,
            f"{old}/audio/{rec}.mp3",
            f"{old}/podcast.xml",
            "/f/" + "A" * 43,
            "/f/court",
            "/i/" + "B" * 32,
        ):
            resp = await client.get(path)
            assert resp.status == 404, path
            body = await resp.text()
            bodies.add(body)
            for word in ("Lina", "MS-GS", "École", "loup", "Groupe"):
                assert word not in body
        assert len(bodies) == 1
        # A recording of the family, reached through another family's link: 404 too.
        tom = await school.page("Tom")
        assert (await client.get(f"{tom}/audio/{rec}.mp3")).status == 200
        assert (await client.get(f"{tom}/audio/999.mp3")).status == 404


async def test_tokens_carry_enough_randomness_and_only_their_hash_is_stored(
    tmp_path: Path,
) -> None:
    async with school_online(tmp_path) as (school, _):
        await _lina_class(school)
        token = (await school.page("Lina")).removeprefix("/f/")
        assert len(token) >= 43  # 256 bits, base64url
        rows = await school.ctx.repos.db.fetch("SELECT * FROM family_pages")
        stored = " ".join(str(v) for row in rows for v in tuple(row))
        assert token not in stored and token_hash(token) in stored
        assert (tmp_path / "web.key").stat().st_mode & 0o077 == 0
        # The same family gets the same link again (guardians share the page).
        assert await school.page("Lina") == f"/f/{token}"
        assert await school.page("Tom") != f"/f/{token}"


async def test_failed_lookups_are_limited_per_address(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await _lina_class(school)
        good = await school.page("Lina")
        limit = school.services.lookups.limit
        for i in range(limit):
            assert (await client.get(f"/f/{'x' * 42}{i % 10}")).status == 404
        assert (await client.get("/f/" + "y" * 43)).status == 429
        # Even a good link gets no answer from that address for a while...
        assert (await client.get(good)).status == 429
        # ...while another address behind the proxy is not held back.
        other = await client.get(good, headers={"X-Forwarded-For": "203.0.113.7"})
        assert other.status == 200


async def test_invitation_page_offers_each_way_and_just_this_page(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await _lina_class(school)
        invite = await school.services.invitations.create(
            "parent", school.classes["MS-GS"], school.children["Lina"]
        )
        resp = await client.get(f"/i/{invite.code}")
        assert resp.status == 200
        html = await resp.text()
        assert "Lina" in html and "MS-GS" in html and "École du Lac" in html
        assert "Juste une page web" in html
        made = await client.post(f"/i/{invite.code}/page", allow_redirects=False)
        assert made.status == 303
        page = made.headers["Location"]
        assert page.startswith("/f/") and page.endswith("?bienvenue=1")
        shown = await (await client.get(page)).text()
        assert "Gardez ce lien" in shown and "https://voix.example.org/f/" in shown
        assert "Groupe 1" in shown
        # Used once; a second parent opening the same invitation gets the same page.
        again = await client.post(f"/i/{invite.code}/page", allow_redirects=False)
        assert again.headers["Location"] == page
        found = await school.ctx.repos.invitations.find(hash_code(invite.code))
        assert found is not None and found.uses == 1


async def test_settings_forms_work_without_javascript(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await _lina_class(school)
        page = await school.page("Tom")
        resp = await client.post(
            f"{page}/reglages", data={"action": "consentement", "reponse": "non"}
        )
        assert resp.status == 200 and "Votre réponse est enregistrée" in await resp.text()
        html = await resp.text()
        assert "Accord en ce moment : non (famille)" in html
        assert 'value="non" checked' in html
        # The family's answer passes before the teacher's paper record (oui).
        consents = await school.ctx.audience.class_consents(school.classes["MS-GS"])
        assert consents[school.children["Tom"]].state.value == "non"
        left = await client.post(f"{page}/quitter", data={"confirmer": "oui"})
        assert left.status == 200 and "effacés" in await left.text()
        assert (await client.get(page)).status == 404


async def test_frequency_and_pause_change_every_guardian_of_the_family(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await _lina_class(school)
        repos, now = school.ctx.repos, school.clock.now()
        lina, tom = school.children["Lina"], school.children["Tom"]
        for user, child in (("papa", lina), ("maman", lina), ("tata", tom)):
            guardian = await repos.families.upsert_guardian("memory", user, user, now)
            await repos.families.subscribe(guardian.id, child, school.classes["MS-GS"], now)
        page = await school.page("Lina")
        html = await (await client.get(page)).text()
        assert 'value="immediat" checked' in html and "Mettre les envois en pause" in html

        await client.post(
            f"{page}/reglages", data={"action": "frequence", "frequence": "quotidien"}
        )
        await client.post(f"{page}/reglages", data={"action": "pause"})
        subs = {
            s.guardian_id: s
            for c in (lina, tom)
            for s in await repos.families.subscriptions_of_child(c)
        }
        by_child = {}
        for sub in subs.values():
            by_child.setdefault(sub.child_id, set()).add((sub.frequency, sub.paused))
        assert by_child == {lina: {("quotidien", True)}, tom: {("immediat", False)}}
        html = await (await client.get(page)).text()
        assert 'value="quotidien" checked' in html and "Reprendre les envois" in html

        resumed = await client.post(f"{page}/reglages", data={"action": "reprendre"})
        assert "les envois reprennent" in await resumed.text()
        assert not any(s.paused for s in await repos.families.subscriptions_of_child(lina))
        await school.child("MS-GS", "Sami")  # a family with its page only
        alone = await (await client.get(await school.page("Sami"))).text()
        assert "Recevoir les messages" not in alone and "Réglages" in alone


async def test_two_guardians_asking_at_once_share_one_link(tmp_path: Path) -> None:
    async with school_online(tmp_path) as (school, client):
        await _lina_class(school)
        lina = school.children["Lina"]
        tokens = await asyncio.gather(*(school.services.pages.token_for(lina) for _ in range(8)))
        assert len(set(tokens)) == 1
        assert (await client.get(f"/f/{tokens[0]}")).status == 200
