"""Why a recording was refused, in words a teacher understands."""

from __future__ import annotations

from typing import Literal

RejectCode = Literal["empty", "not_audio", "unreadable", "silent", "too_big", "too_long"]

_MESSAGES: dict[str, str] = {
    "empty": "Ce fichier est vide : rien n'a été enregistré. Pouvez-vous le renvoyer ?",
    "not_audio": (
        "Ce fichier n'est pas un enregistrement sonore. Envoyez une note vocale "
        "ou un fichier audio (WAV, MP3, M4A, OGG…)."
    ),
    "unreadable": (
        "Ce fichier audio est abîmé ou incomplet : je n'arrive pas à le lire. "
        "Pouvez-vous l'envoyer à nouveau ?"
    ),
    "silent": (
        "On n'entend rien dans cet enregistrement : il ne contient que du silence. "
        "Vérifiez le micro et réessayez."
    ),
    "too_big": ("Ce fichier est trop lourd. Pouvez-vous l'envoyer plus court ou en MP3 ?"),
    "too_long": ("Cet enregistrement est trop long. Pouvez-vous le couper en plusieurs parties ?"),
}


class AudioRejected(Exception):
    """A recording the pipeline refuses; ``message_fr`` is shown to the teacher."""

    def __init__(self, code: RejectCode, message_fr: str | None = None) -> None:
        self.code: RejectCode = code
        self.message_fr: str = message_fr or _MESSAGES[code]
        super().__init__(f"{code}: {self.message_fr}")

    @classmethod
    def too_big(cls, size: int, max_bytes: int) -> AudioRejected:
        return cls(
            "too_big",
            f"Ce fichier est trop lourd ({_mo(size)} Mo ; au plus {_mo(max_bytes)} Mo). "
            "Pouvez-vous l'envoyer plus court ou en MP3 ?",
        )

    @classmethod
    def too_long(cls, max_duration_s: float) -> AudioRejected:
        return cls(
            "too_long",
            f"Cet enregistrement dure plus de {_minutes(max_duration_s)}, la durée "
            "maximale. Pouvez-vous le couper en plusieurs parties ?",
        )


def _mo(size: int) -> str:
    value = size / (1024 * 1024)
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _minutes(seconds: float) -> str:
    if seconds >= 60:
        minutes = round(seconds / 60)
        return f"{minutes} minute" + ("s" if minutes > 1 else "")
    secs = round(seconds)
    return f"{secs} seconde" + ("s" if secs > 1 else "")
