"""E-mail on the web side: the address typed on an invitation page, the
confirmation link, and one-click unsubscribe (RFC 8058).

Links in e-mails are opened by scanners before any person does: a GET only
ever shows a page with a button; only the POST of that button (or the
mail client's one-click POST) changes anything.
"""

from __future__ import annotations

import html

from aiohttp import web

from bot.i18n import N_, _, language, speaking, supported, text_direction
from bot.service.context import Context
from bot.service.email_signup import EmailSignup, Subscribed


def register(app: web.Application, ctx: Context) -> None:
    signup = EmailSignup(ctx)

    async def ask(request: web.Request) -> web.Response:
        form = await request.post()
        address = str(form.get("adresse", ""))
        # The invitation page's language, carried by its form, then by the
        # confirmation link: the new e-mail guardian reads it.
        with speaking(supported(str(form.get("langue", ""))) or language()) as lang:
            outcome = await signup.ask(
                request.match_info["code"], address, request.remote or "", language=lang
            )
            if outcome == "sent":
                return page(
                    _("Vérifiez votre messagerie"),
                    _(
                        "Un message vient de partir vers l'adresse indiquée. Ouvrez le lien "
                        "qu'il contient pour confirmer (il reste valable 3 jours). Rien ne vous "
                        "sera envoyé avant."
                    ),
                )
            problem = ASK_PROBLEMS.get(outcome, UNKNOWN)
            return page(_("Adresse non enregistrée"), _(problem), status=400)

    async def confirm_page(request: web.Request) -> web.Response:
        return page(
            _("Recevoir les enregistrements par e-mail"),
            _("Pour confirmer votre adresse, appuyez sur le bouton."),
            button=_("Oui, je confirme"),
        )

    async def confirm(request: web.Request) -> web.Response:
        done = await signup.confirm(request.match_info["token"])
        if not isinstance(done, Subscribed):
            return page(_("Lien périmé"), _(CONFIRM_PROBLEMS.get(done, UNKNOWN)), status=410)
        link = await ctx.links.page(done.child.id) if ctx.links else None
        child = done.child.first_name
        with speaking(done.language or language()):
            text = _(
                "Vous recevrez par e-mail les enregistrements de la classe {class_name} "
                "({school}), pour {child} : un message par jour au plus, en fin de journée. "
                "Chaque message a un lien pour changer de rythme ou ne plus rien recevoir."
            ).format(class_name=done.klass.name, school=done.klass.school_name, child=child)
            return page(
                _("C'est fait !"), text, link=link, link_label=_("La page de votre famille")
            )

    async def unsubscribe_page(request: web.Request) -> web.Response:
        if not await signup.knows_unsubscribe(request.match_info["token"]):
            return page(_("Déjà fait"), _(GONE))
        return page(
            _("Ne plus recevoir d'e-mails"),
            _("Vous ne recevrez plus rien à cette adresse et elle sera effacée."),
            button=_("Me désinscrire"),
        )

    async def unsubscribe(request: web.Request) -> web.Response:
        # RFC 8058: the mail client posts "List-Unsubscribe=One-Click"; the
        # page's button posts an empty form. Either way the answer is 200.
        await signup.unsubscribe(request.match_info["token"])
        return page(_("C'est fait"), _(GONE))

    app.router.add_post("/i/{code}/email", ask)
    app.router.add_get("/e/confirmer/{token}", confirm_page)
    app.router.add_post("/e/confirmer/{token}", confirm)
    app.router.add_get("/e/desinscription/{token}", unsubscribe_page)
    app.router.add_post("/e/desinscription/{token}", unsubscribe)


# Marked here, translated when shown (in the visitor's language).
UNKNOWN = N_("Ce lien ne marche pas. Demandez une nouvelle invitation à l'enseignant(e).")
ASK_PROBLEMS = {
    "address": N_("Cette adresse e-mail semble incomplète. Revenez en arrière pour la corriger."),
    "expired": N_("Cette invitation a expiré. Demandez-en une nouvelle à l'enseignant(e)."),
    "used": N_("Cette invitation a déjà servi autant de fois que prévu. Demandez-en une nouvelle."),
    "too_many": N_("Trop d'essais depuis cette connexion. Réessayez dans un quart d'heure."),
    "not_sent": N_("Le message n'a pas pu partir. Réessayez dans un moment."),
}
CONFIRM_PROBLEMS = {
    "invalid": N_(
        "Ce lien de confirmation a expiré ou ne marche pas. Recommencez depuis l'invitation."
    ),
    "expired": N_("L'invitation a expiré. Demandez-en une nouvelle à l'enseignant(e)."),
    "used": N_("L'invitation a déjà servi autant de fois que prévu. Demandez-en une nouvelle."),
}
GONE = N_("Cette adresse ne recevra plus rien de Petites Voix ; elle est effacée.")


def page(
    title: str,
    message: str,
    *,
    button: str | None = None,
    link: str | None = None,
    link_label: str = "",
    status: int = 200,
) -> web.Response:
    """A small page in the family pages' style, in the language spoken now;
    its button posts to the same address."""
    e = html.escape
    lang = language()
    parts = [f"<h1>{e(title)}</h1>", f"<p>{e(message)}</p>"]
    if button:
        parts.append(
            f'<form method="post"><button class="bouton" type="submit">{e(button)}</button></form>'
        )
    if link:
        parts.append(f'<p><a class="bouton" href="{e(link)}">{e(link_label)}</a></p>')
    body = (
        f'<!doctype html><html lang="{lang}" dir="{text_direction(lang)}"><head>'
        '<meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{e(title)} · Petites Voix</title>"
        '<link rel="stylesheet" href="/static/style.css"></head><body>'
        '<header class="bandeau"><span class="marque">Petites Voix</span></header>'
        f"<main>{''.join(parts)}</main></body></html>"
    )
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store"},
    )
