"""`petites-voix run` and `petites-voix admin ...`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot import admin, admin_backup, admin_people
from bot.cli_output import human
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import LANGUAGES
from bot.ports import ChatAdapter, DeliveryError
from bot.roster import RosterError
from bot.service.context import Context
from bot.service.year_end import YearEnd
from bot.single_run import AlreadyRunning, only_run_on
from storage.db import DatabaseUnavailable

log = logging.getLogger("petites_voix")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="petites-voix",
        description="Les enregistrements de la classe, livrés aux familles.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", help="fichier TOML (défaut : $PETITES_VOIX_CONFIG ou ./petites-voix.toml)"
    )
    common.add_argument("--json", action="store_true", help="une sortie JSON sur stdout")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="lancer le service")
    run.add_argument("-v", "--verbose", action="store_true")

    adm = sub.add_parser("admin", help="commandes de l'exploitant")
    asub = adm.add_subparsers(dest="action", required=True)
    p = asub.add_parser("invite-teacher", parents=[common], help="inviter un(e) enseignant(e)")
    p.add_argument("--school", required=True)
    p.add_argument("--class", dest="class_name", required=True)
    asub.add_parser("status", parents=[common], help="l'état du service")
    p = asub.add_parser(
        "invitations", parents=[common], help="invitations à imprimer (PDF) ou par e-mail"
    )
    p.add_argument("--class", dest="class_name", required=True)
    p.add_argument("--school")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--pdf", type=Path)
    how.add_argument(
        "--email", action="store_true", help="aux adresses de l'export des responsables"
    )
    p.add_argument("--dry-run", action="store_true", help="compter sans rien envoyer")
    p.add_argument(
        "--lang",
        choices=[code for code in LANGUAGES if code != "fr"],
        help="chaque fiche aussi dans cette langue (ar, en, es, pt, tr)",
    )
    p = asub.add_parser("import-onde", parents=[common], help="importer une liste ONDE")
    p.add_argument("file", type=Path)
    p.add_argument("--class", dest="class_name", required=True)
    p.add_argument("--school")
    p.add_argument("--dry-run", action="store_true")
    for name, what in (
        ("export-family", "les données d'une famille"),
        ("erase-family", "effacer une famille"),
    ):
        p = asub.add_parser(name, parents=[common], help=what)
        p.add_argument("--platform", choices=("telegram", "matrix", "email"))
        p.add_argument("--user", help="identifiant du parent sur la plateforme")
        p.add_argument("--class", dest="class_name")
        p.add_argument("--child", help="prénom de l'enfant : toute sa famille")
        p.add_argument("--school")
    asub.add_parser(
        "classes", parents=[common], help="les classes, leurs groupes et leurs chiffres"
    )
    asub.add_parser("teachers", parents=[common], help="les enseignant(e)s et leurs classes")
    p = asub.add_parser(
        "remove-teacher", parents=[common], help="retirer un(e) enseignant(e) qui part"
    )
    p.add_argument("--platform", required=True, choices=("telegram", "matrix"))
    p.add_argument("--user", required=True, help="son identifiant (voir admin teachers)")
    p.add_argument("--class", dest="class_name", help="d'une seule classe (défaut : toutes)")
    p.add_argument("--school")
    p = asub.add_parser(
        "close-year", parents=[common], help="fin d'année : souvenirs, puis effacement"
    )
    p.add_argument("--dry-run", action="store_true", help="dire ce qui se passerait")
    p = asub.add_parser("backup", parents=[common], help="copie de la base pendant le service")
    p.add_argument("file", type=Path)
    p = asub.add_parser(
        "copy-storage", parents=[common], help="copier l'installation SQLite dans PostgreSQL"
    )
    p.add_argument("--to", required=True, help="postgresql://utilisateur@hôte/base")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config, require_secrets=args.command == "run")
    except ConfigError as exc:
        print(f"petites-voix: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        _logging(verbose=args.verbose)
        try:
            return asyncio.run(run_service(settings))
        except (ConfigError, DatabaseUnavailable) as exc:
            print(f"petites-voix: {exc}", file=sys.stderr)
            return 2
    _logging(verbose=False, quiet=True)
    try:
        return asyncio.run(run_admin(settings, args))
    except DatabaseUnavailable as exc:
        print(f"petites-voix: {exc}", file=sys.stderr)
        return 1


def _logging(verbose: bool, quiet: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Library loggers may print request URLs, which carry the bot token.
    for noisy in ("httpx", "httpcore", "telegram", "nio", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def make_adapters(settings: Settings) -> dict[str, ChatAdapter]:
    from bot.commands import PARENT_COMMANDS, TEACHER_COMMANDS, translated_menus
    from bot.commands import menu as described
    from bot.ports import CommandMenu
    from bot.profile import bot_profile

    # Telegram shows these menus; its commands start with "/".
    menu = CommandMenu(
        private=described(PARENT_COMMANDS, "/"),
        group=described(TEACHER_COMMANDS, "/"),
        private_translated=translated_menus(PARENT_COMMANDS, "/"),
    )
    adapters: dict[str, ChatAdapter] = {}
    if settings.telegram:
        from adapters.telegram import TelegramAdapter

        t = settings.telegram
        adapters["telegram"] = TelegramAdapter(
            t.token,
            t.api_url,
            menu=menu,
            profile=bot_profile(),
            webhook_url=t.webhook_url,
            webhook_listen=t.webhook_listen,
            webhook_port=t.webhook_port,
            webhook_secret=t.webhook_secret,
            global_rate_per_s=t.global_rate_per_s,
            state_dir=settings.data_dir / "telegram",
        )
    if settings.matrix:
        from adapters.matrix import MatrixAdapter

        m = settings.matrix
        adapters["matrix"] = MatrixAdapter(
            m.homeserver,
            m.user_id,
            store_dir=settings.data_dir / "matrix",
            password=m.password,
            access_token=m.access_token,
            menu=menu,
            profile=bot_profile(),
        )
    if settings.email:
        adapters["email"] = email_adapter(settings)
    return adapters


def email_adapter(settings: Settings) -> ChatAdapter:
    from adapters.email import EmailAdapter, SmtpSettings

    e = settings.email
    assert e is not None
    return EmailAdapter(
        SmtpSettings(
            host=e.smtp_host,
            port=e.smtp_port,
            sender=e.sender,
            starttls=e.starttls,
            implicit_tls=e.implicit_tls,
            ca_file=e.ca_file,
            username=e.username,
            password=e.password,
            timeout_s=e.timeout_s,
        ),
        rate_per_minute=e.rate_per_minute,
        attach=e.attach,
    )


async def run_service(settings: Settings) -> int:
    if settings.database is not None:  # processes share PostgreSQL: bot/leadership.py
        return await _run_service(settings)
    try:
        with only_run_on(settings.data_dir):
            return await _run_service(settings)
    except AlreadyRunning as exc:
        print(f"petites-voix: {exc}", file=sys.stderr)
        return 2


async def _run_service(settings: Settings) -> int:
    from bot.app import Service, StartupError

    adapters = make_adapters(settings)
    if not adapters and settings.web is None:
        raise ConfigError(
            "[telegram] / [matrix] / [email] / [web]",
            "aucune messagerie ni page web configurée",
        )
    try:
        service = await Service.create(settings, adapters)
    except StartupError as exc:  # the media store cannot be reached
        print(f"petites-voix: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        stop.set()
        service.stopping.set()  # also ends a start still waiting for a platform

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        try:
            await service.start()
        except StartupError as exc:
            print(f"petites-voix: {exc}", file=sys.stderr)
            return 2
        if not stop.is_set():
            log.info("Petites Voix is running (data in %s)", settings.data_dir)
        await stop.wait()
        log.info("stopping: finishing what is under way")
    finally:
        await service.stop()
    return 0


async def run_admin(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_context

    if args.action == "copy-storage":  # two databases, not the service's context
        return await _copy_storage(settings, args)
    if args.action == "backup":
        try:
            admin_backup.refuse_postgresql(settings)
        except admin.AdminError as exc:
            print(f"petites-voix: {exc}", file=sys.stderr)
            return 1
    if args.action in ("invitations", "invite-teacher"):
        settings = await with_telegram_username(settings)
    # E-mail needs no connection until something is sent (invitations --email),
    # and it tells an erasure that there is no chat to leave.
    ctx = await open_context(settings, {"email": email_adapter(settings)} if settings.email else {})
    actions: dict[str, Callable[[Context], Awaitable[dict[str, Any]]]] = {
        "invite-teacher": lambda c: admin.invite_teacher(c, args.school, args.class_name),
        "status": admin.status,
        "invitations": lambda c: (
            admin.invitations_email(c, args.class_name, args.school, args.dry_run)
            if args.email
            else admin.invitations_pdf(c, args.class_name, args.school, args.pdf, args.lang)
        ),
        "import-onde": lambda c: admin.import_onde(
            c,
            args.file,
            args.class_name,
            args.school,
            args.dry_run,
            progress=not args.json and sys.stderr.isatty(),
        ),
        "export-family": lambda c: admin.export_family(c, _family_target(args)),
        "erase-family": lambda c: admin.erase_family(c, _family_target(args)),
        "classes": admin_people.classes,
        "teachers": admin_people.teachers,
        "remove-teacher": lambda c: admin_people.remove_teacher(
            c, args.platform, args.user, args.class_name, args.school
        ),
        "backup": lambda c: admin_backup.backup(c, args.file),
        "close-year": lambda c: YearEnd(c).close(dry_run=args.dry_run),
    }
    try:
        result = await actions[args.action](ctx)
    except (admin.AdminError, RosterError, OSError) as exc:
        message = getattr(exc, "message_fr", None) or str(exc)
        print(f"petites-voix: {message}", file=sys.stderr)
        return 1
    finally:
        for adapter in ctx.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.disconnect()
        with contextlib.suppress(Exception):
            await ctx.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(human(args.action, result))
    return 0


async def with_telegram_username(settings: Settings) -> Settings:
    """The bot's Telegram @name for ``t.me`` links: from the configuration,
    else asked of Telegram (``getMe``); on failure the operator is warned
    and the slips say what is missing."""
    t = settings.telegram
    if t is None or t.username:
        return settings
    from adapters.telegram import TelegramAdapter

    try:
        username = await TelegramAdapter(t.token, t.api_url).learn_username()
    except (DeliveryError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", type(exc).__name__)
        print(
            "petites-voix: attention : impossible de demander son nom au robot Telegram "
            f"({reason}) ; les invitations n'auront pas de lien t.me et le diront. "
            'Indiquez-le dans la configuration : [telegram] username = "..."',
            file=sys.stderr,
        )
        return settings
    return replace(settings, telegram=replace(t, username=username))


async def _copy_storage(settings: Settings, args: argparse.Namespace) -> int:
    from bot.moving_up import copy_to_postgres, explain

    try:
        result = await copy_to_postgres(settings, args.to)
    except admin.AdminError as exc:
        print(f"petites-voix: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False) if args.json else explain(result))
    return 0


def _family_target(args: argparse.Namespace) -> admin.FamilyTarget:
    return admin.FamilyTarget(
        platform=getattr(args, "platform", None),
        user=getattr(args, "user", None),
        class_name=getattr(args, "class_name", None),
        child=getattr(args, "child", None),
        school=getattr(args, "school", None),
    )
