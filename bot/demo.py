"""``make demo``: the whole story on a throwaway Matrix homeserver.

A Synapse on 127.0.0.1, the real service (Matrix adapter, storage, audio,
delivery), a scripted teacher and two scripted parents on Element-like
clients with end-to-end encryption, and a family that chose e-mail, whose
messages land in a local SMTP server (aiosmtpd) the demo starts. It prints,
in French, what each person sees, saves the recordings the parents received
in a folder it names, and stops everything at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html import unescape
from pathlib import Path

from adapters.email.devkit import Received as Received_
from adapters.email.devkit import SmtpServer
from adapters.matrix.devkit.audio import make_tone
from adapters.matrix.devkit.client import Received, ScriptedClient
from adapters.matrix.devkit.synapse import SynapseServer
from bot import admin
from bot.app import Service
from bot.cli import make_adapters
from bot.config import (
    DeliverySettings,
    EmailSettings,
    MatrixSettings,
    ScheduleSettings,
    Settings,
    WebSettings,
)

CODE_LINE = re.compile(r"^[A-Za-z0-9_-]{20,64}$", re.M)
URL = re.compile(r"https?://\S+")
EMAIL_FAMILY = "maman.zoe@example.org"
ALBUM = "Le loup qui voulait changer de couleur"
GRACE_S = 2
WAIT_S = 60.0

Say = Callable[[str], None]


@dataclass
class Person:
    """A scripted person and what they have already been shown."""

    name: str
    client: ScriptedClient
    bot_id: str
    say: Say
    shown: set[str] = field(default_factory=set)

    async def bot_says(self, room_id: str, where: str, count: int = 1) -> list[Received]:
        """Wait for ``count`` new messages of the bot in ``room_id``; print them."""
        got: list[Received] = []
        while len(got) < count:
            item = await self.client.wait_for(
                lambda r: (
                    r.room_id == room_id
                    and r.sender == self.bot_id
                    and r.type == "m.room.message"
                    and r.event_id not in self.shown
                ),
                WAIT_S,
            )
            self.shown.add(item.event_id)
            got.append(item)
            self.show(item, where)
        return got

    def show(self, item: Received, where: str) -> None:
        if item.msgtype == "m.audio":
            seconds = item.content.get("info", {}).get("duration", 0) / 1000
            bubble = "message vocal" if "org.matrix.msc3245.voice" in item.content else "audio"
            text = f"🔊 {bubble} de {seconds:.0f} s : {item.body}"
        elif item.msgtype == "m.file":
            text = f"📎 fichier {item.content.get('filename', item.body)}"
        else:
            text = item.body
        indented = text.replace("\n", "\n      ")
        self.say(f"  [{self.name} · {where}] le robot : {indented}")

    def typed(self, where: str, text: str) -> None:
        self.say(f"  [{self.name} · {where}] {self.name} écrit : {text}")


def _code(messages: list[Received]) -> str:
    for message in messages:
        match = CODE_LINE.search(message.body)
        if match:
            return match.group(0)
    raise RuntimeError("aucun code dans la réponse du robot")


@dataclass(frozen=True)
class DemoResult:
    received_dir: Path
    saved: dict[str, list[Path]]
    teacher_saw: list[str]
    page_url: str = ""
    page_titles: tuple[str, ...] = ()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def family_with_only_a_page(base: str, code: str, say: Say) -> tuple[str, list[str]]:
    """A family without Telegram or Element: the invitation link, then
    "just this page"; returns the page's address and the titles it shows."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/i/{code}") as resp:
            html = await resp.text()
        heading = re.search(r"<h1>(.*?)</h1>", html)
        say(f"  [Maman de Sami · navigateur] la page dit : {heading.group(1) if heading else '?'}")
        say("  [Maman de Sami · navigateur] elle choisit « Juste une page web ».")
        async with http.post(f"{base}/i/{code}/page", allow_redirects=False) as resp:
            location = resp.headers["Location"]
        page_url = base + location.split("?")[0]
        async with http.get(page_url) as resp:
            page = await resp.text()
            status = resp.status
    titles = re.findall(r"<h3>(?:<bdi>)?(.*?)(?:</bdi>)?</h3>", page)
    say(f"  La page de la famille de Sami (à garder dans ses favoris) : {page_url}")
    count = f"{len(titles)} enregistrement" + ("" if len(titles) == 1 else "s")
    say(f"  Ouverte ({status}) : {count} à écouter : {', '.join(titles)}")
    return page_url, titles


async def run_demo(workdir: Path, say: Say = print) -> DemoResult:
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    say("Démarrage d'un serveur Matrix de démonstration (Synapse, sur cette machine)…")
    server = SynapseServer.start(workdir / "synapse")
    smtp = SmtpServer()
    smtp.start()
    clients: list[ScriptedClient] = []
    service: Service | None = None
    try:
        bot = server.register("petitesvoix")
        server.lift_rate_limit(bot.user_id)
        port = free_port()
        settings = Settings(
            data_dir=workdir / "donnees",
            matrix=MatrixSettings(server.url, bot.user_id, password=bot.password),
            schedule=replace(ScheduleSettings(), quiet_hours=None),
            delivery=DeliverySettings(grace_seconds=GRACE_S),
            web=WebSettings(f"http://127.0.0.1:{port}", "127.0.0.1", port),
            email=EmailSettings(
                sender="Petites Voix <voix@example.org>",
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
            ),
        )
        service = await Service.create(settings, make_adapters(settings))
        await service.start()
        say(f"Le service Petites Voix tourne ; le robot est {bot.user_id}.\n")

        async def person(name: str, localpart: str) -> Person:
            client = await ScriptedClient.create(server, localpart, workdir / "clients")
            clients.append(client)
            return Person(name, client, bot.user_id, say)

        teacher = await person("Maîtresse", "maitresse")
        lina = await person("Papa de Lina", "papa-lina")
        tom = await person("Maman de Tom", "maman-tom")

        say("1. L'administrateur invite l'enseignante.")
        invitation = await admin.invite_teacher(service.ctx, "École du Lac", "MS-GS")
        say("   (code remis à l'enseignante en main propre)\n")

        say("2. L'enseignante ouvre une conversation privée avec le robot.")
        dm = await teacher.client.create_dm(bot.user_id)
        await teacher.client.wait_joined(dm, bot.user_id, WAIT_S)
        teacher.typed("privé", "!start <code>")
        await teacher.client.send_text(dm, f"!start {invitation['code']}")
        await teacher.bot_says(dm, "privé")

        say("\n3. Elle crée le salon de la classe (chiffré) et y invite le robot.")
        room = await teacher.client.create_room(
            [bot.user_id], encrypted=True, direct=False, name="Classe MS-GS"
        )
        await teacher.bot_says(room, "salon")
        for command in ("!classe", f"!album {ALBUM}"):
            teacher.typed("salon", command)
            await teacher.client.send_text(room, command)
            await teacher.bot_says(room, "salon")

        say("\n4. Elle prépare les invitations des familles de Lina, Tom, Zoé et Sami.")
        codes = {}
        for child in ("Lina", "Tom", "Zoé", "Sami"):
            teacher.typed("salon", f"!invitation {child}")
            await teacher.client.send_text(room, f"!invitation {child}")
            await teacher.bot_says(room, "salon")
            codes[child] = _code(await teacher.bot_says(dm, "privé"))
        say("   Les autorisations signées sont revenues : elle le note.")
        teacher.typed("salon", "!consentement tous oui")
        await teacher.client.send_text(room, "!consentement tous oui")
        await teacher.bot_says(room, "salon")

        say("\n5. Les parents écrivent au robot (conversations privées chiffrées).")
        lina_dm = await lina.client.create_dm(bot.user_id)
        await lina.client.wait_joined(lina_dm, bot.user_id, WAIT_S)
        lina.typed("privé", "<le code collé seul>")
        await lina.client.send_text(lina_dm, codes["Lina"])
        await lina.bot_says(lina_dm, "privé", count=2)  # welcome, then the consent question
        lina.typed("privé", "!consentement oui")
        await lina.client.send_text(lina_dm, "!consentement oui")
        await lina.bot_says(lina_dm, "privé")
        tom_dm = await tom.client.create_dm(bot.user_id)
        await tom.client.wait_joined(tom_dm, bot.user_id, WAIT_S)
        tom.typed("privé", "!start <code>")
        await tom.client.send_text(tom_dm, f"!start {codes['Tom']}")
        await tom.bot_says(tom_dm, "privé", count=2)

        say("\n   La famille de Zoé choisit l'e-mail sur sa page d'invitation.")
        await family_by_email(
            settings.web.public_url if settings.web else "", codes["Zoé"], smtp, say
        )

        say("\n6. L'enseignante dépose deux enregistrements dans le salon.")
        rec_dir = workdir / "enregistrements"
        rec_dir.mkdir(exist_ok=True)
        voice = make_tone(rec_dir / "Message vocal.ogg", seconds=4, freq=392)
        wav = make_tone(rec_dir / "loup_groupe2.wav", seconds=6, freq=330)
        teacher.typed("salon", "🎤 message vocal (sans légende, depuis son téléphone)")
        note = await teacher.client.send_audio(
            room, voice, mime="audio/ogg", voice=True, duration_ms=4000
        )
        await teacher.bot_says(room, "salon")
        teacher.typed("salon", "(en réponse au message vocal) #Lina #Tom")
        await teacher.client.send_text(room, "#Lina #Tom", reply_to=note)
        await teacher.bot_says(room, "salon")
        teacher.typed("salon", "📎 loup_groupe2.wav (export Audacity) « Groupe 2 »")
        await teacher.client.send_audio(
            room, wav, mime="audio/x-wav", caption="Groupe 2", msgtype="m.file"
        )
        await teacher.bot_says(room, "salon")

        say(f"\n7. Après le délai d'annulation ({GRACE_S} s), les familles reçoivent :")
        received_dir = workdir / "recus"
        saved: dict[str, list[Path]] = {}
        for parent, dm_id in ((lina, lina_dm), (tom, tom_dm)):
            folder = received_dir / parent.client.user_id.split(":")[0].lstrip("@")
            folder.mkdir(parents=True, exist_ok=True)
            saved[parent.name] = []
            while len(saved[parent.name]) < 2:
                (item,) = await parent.bot_says(dm_id, "privé")
                if item.msgtype != "m.audio":
                    continue
                data = await parent.client.download(item)
                path = folder / f"{len(saved[parent.name]) + 1}-{item.content['filename']}"
                path.write_bytes(data)
                saved[parent.name].append(path)
        say(f"  [{EMAIL_FAMILY}] par e-mail :")
        for n in (2, 3):
            mail = await _mail_to(smtp, n)
            links = [u for u in URL.findall(mail.text()) if "/e/desinscription/" not in u]
            say(f"      « {mail.mail['Subject']} »")
            for url in links[:1]:
                say(f"      lien : {url}")
        say(f"\nEnregistrements reçus par les familles, déchiffrés : {received_dir}")

        say(
            "\n8. La famille de Sami n'a ni Telegram ni Element : elle ouvre le lien de "
            "l'invitation dans son navigateur."
        )
        page_url, titles = await family_with_only_a_page(
            settings.web.public_url if settings.web else "", codes["Sami"], say
        )
        teacher_saw = [
            r.body for r in teacher.client.received if r.sender == bot.user_id and r.body
        ]
        return DemoResult(received_dir, saved, teacher_saw, page_url, tuple(titles))
    finally:
        for client in clients:
            await client.close()
        if service is not None:
            await service.stop()
        server.stop()
        smtp.stop()
        say("Service, serveur Matrix et serveur de messagerie arrêtés.")


async def family_by_email(base: str, code: str, smtp: SmtpServer, say: Say) -> str:
    """Through the service's own pages, as a browser would: the address
    typed on the invitation page, the link of the confirmation e-mail opened
    (GET shows a button, its POST subscribes), then on the family's page
    each recording asked for as soon as it is out. Returns the page."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        who = "  [Maman de Zoé · navigateur]"
        say(f"{who} elle tape son adresse, {EMAIL_FAMILY}, sur la page d'invitation.")
        form = {"adresse": EMAIL_FAMILY}
        async with http.post(f"{base}/i/{code}/email", data=form) as resp:
            say(f"{who} la page répond : {_heading(await resp.text())}")
            if resp.status != 200:
                raise RuntimeError(f"adresse refusée ({resp.status})")
        confirmation = await _mail_to(smtp, 1)
        say(f"  [{EMAIL_FAMILY}] reçoit : « {confirmation.mail['Subject']} »")
        link = next(u for u in URL.findall(confirmation.text()) if "/e/confirmer/" in u)
        async with http.get(link) as resp:
            say(f"{who} elle ouvre le lien : {_heading(await resp.text())}")
        async with http.post(link) as resp:
            done = await resp.text()
            if resp.status != 200:
                raise RuntimeError(f"confirmation refusée ({resp.status})")
        say(f"{who} elle appuie sur le bouton : {_heading(done)}")
        page = re.search(r'<a class="bouton" href="([^"]+/f/[^"]+)"', done)
        if page is None:
            raise RuntimeError("pas de lien vers la page de la famille")
        say(f"{who} sur la page de sa famille, elle choisit « dès qu'il y a du nouveau ».")
        settings = {"action": "frequence", "frequence": "immediat"}
        async with http.post(f"{page.group(1)}/reglages", data=settings) as resp:
            if resp.status != 200:
                raise RuntimeError(f"réglage refusé ({resp.status})")
    return page.group(1)


def _heading(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html)
    return unescape(found.group(1)) if found else "?"


async def _mail_to(smtp: SmtpServer, count: int) -> Received_:
    """The ``count``-th e-mail the family received (waits for it)."""
    for _ in range(int(WAIT_S * 10)):
        got = smtp.relay.to(EMAIL_FAMILY)
        if len(got) >= count:
            return got[count - 1]
        await asyncio.sleep(0.1)
    raise RuntimeError("l'e-mail attendu n'est pas arrivé")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.demo", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, default=Path(".demo"), help="dossier de la démo (vidé au départ)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    workdir: Path = args.dir
    if workdir.exists():
        shutil.rmtree(workdir)
    try:
        asyncio.run(run_demo(workdir.resolve()))
    except Exception as err:
        print(f"La démo a échoué : {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
