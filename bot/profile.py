"""What the bot says about itself before anyone talks to it."""

from __future__ import annotations

from bot.ports import BotProfile


def bot_profile() -> BotProfile:
    return BotProfile(
        name="Petites Voix",
        description=(
            "Petites Voix apporte aux familles les enregistrements de la classe de leur "
            "enfant : les histoires racontées par les élèves de maternelle.\n\n"
            "Parents : appuyez sur Démarrer avec le lien ou le code reçu de l'école "
            "(fiche dans le cahier de liaison).\n"
            "Enseignant(e)s : utilisez le code d'invitation donné par l'école.\n\n"
            "Rien n'est envoyé sans l'accord des familles ; /arreter efface vos données."
        ),
        short_description="Les enregistrements de la classe de maternelle, livrés aux familles.",
    )
