"""What `petites-voix admin ...` prints without ``--json``: French lines and
aligned tables, never a raw dict."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from bot.service.year_end import french_day
from bot.tables import table

LABELS = {
    "schools": "écoles",
    "classes": "classes",
    "albums": "albums",
    "recordings": "enregistrements",
    "families": "familles",
    "guardians": "parents",
    "subscriptions": "abonnements",
    "waiting": "envois en attente",
    "deliveries": "Envois par état",
    "failed_by_reason": "Échecs par raison",
    "recordings_by_state": "Enregistrements par état",
    "digests": "Résumés par état",
    "adapters": "Messageries",
    "next_digests": "Prochains résumés",
    "accounts": "Comptes des messageries (quel processus les fait tourner)",
    "preparing": "Enregistrements en préparation (quel processus les convertit)",
}


def human(action: str, result: dict[str, Any]) -> str:
    render: Callable[[dict[str, Any]], str] = {
        "invite-teacher": _invitation,
        "classes": _classes,
        "teachers": _teachers,
        "remove-teacher": _removed,
        "erase-family": lambda r: f"{r['erased_guardians']} parent(s) effacé(s).",
        "export-family": lambda r: json.dumps(r, ensure_ascii=False, indent=2),
        "backup": lambda r: f"Copie de la base écrite : {r['file']} ({r['bytes']} octets).",
        "invitations": lambda r: f"{r['slips']} fiche(s) pour {r['class']} : {r['pdf']}",
        "close-year": _close_year,
    }.get(action, generic)
    return render(result)


def _invitation(result: dict[str, Any]) -> str:
    lines = [
        f"Invitation pour l'enseignant(e) de {result['class']} ({result['school']}),",
        f"valable jusqu'au {result['expires_at'][:10]} :",
        result["code"],
    ]
    if result["telegram_link"]:
        lines.append(result["telegram_link"])
    if result.get("web_link"):
        lines.append(result["web_link"])
    lines.append("À envoyer au robot en privé : /start CODE (Telegram) ou le code seul (Matrix).")
    return "\n".join(lines)


def _classes(result: dict[str, Any]) -> str:
    rows = [
        [
            c["school"],
            c["class"],
            ", ".join(c["channels"]) or "non lié",
            c["children"],
            c["families"],
            c["recordings"],
            ", ".join(_who(t) for t in c["teachers"]) or "aucun(e)",
        ]
        for c in result["classes"]
    ]
    if not rows:
        return "Aucune classe : admin invite-teacher --school … --class … en crée une."
    lines = [
        table(
            ["école", "classe", "groupe", "enfants", "familles", "enreg.", "enseignant(e)s"], rows
        )
    ]
    for group in result.get("same_school_names", []):
        spelled = " et ".join(f"« {name} »" for name in group)
        lines.append(
            f"\nAttention : {spelled} sont la même école écrite autrement (d'avant la "
            "comparaison sans accents) ; les nouvelles invitations vont à la plus ancienne."
        )
    return "\n".join(lines)


def _who(teacher: dict[str, str]) -> str:
    co = " (co)" if teacher["role"] == "coteacher" else ""
    return f"{teacher['name'] or '?'}{co} [{teacher['platform']}]"


def _teachers(result: dict[str, Any]) -> str:
    rows = [
        [
            t["name"] or "?",
            t["platform"],
            t["user"],
            t["school"],
            t["class"],
            "co-enseignant(e)" if t["role"] == "coteacher" else "enseignant(e)",
        ]
        for t in result["teachers"]
    ]
    if not rows:
        return "Aucun(e) enseignant(e) inscrit(e) pour l'instant."
    return table(["nom", "messagerie", "identifiant", "école", "classe", "rôle"], rows)


def _removed(result: dict[str, Any]) -> str:
    lines = ["Retiré(e) de :"]
    lines += [f"  {r['class']} ({r['school']})" for r in result["removed"]]
    for c in result["classes_without_teacher"]:
        lines.append(
            f"Attention : {c['class']} ({c['school']}) n'a plus d'enseignant(e) : "
            f'admin invite-teacher --school "{c["school"]}" --class "{c["class"]}"'
        )
    return "\n".join(lines)


CLOSE_STATES = {
    "dry_run": "Simulation : rien n'a été envoyé ni effacé.",
    "waiting_for_keepsakes": (
        "Des souvenirs sont en cours d'envoi par le service : rien n'est effacé "
        "tant qu'ils ne sont pas partis. Relancez la commande plus tard (le service "
        "termine seul le dernier jour de l'année)."
    ),
    "closed": "L'année est close : les données des classes sont effacées.",
    "already_closed": "Cette année scolaire est déjà close.",
}
KEEPSAKE_LABELS = {
    "planned_now": "souvenirs prévus maintenant",
    "sent": "souvenirs envoyés",
    "empty": "familles sans enregistrement",
    "failed": "souvenirs abandonnés (échec)",
    "open": "souvenirs à envoyer",
}
ERASED_LABELS = {
    "children": "enfants",
    "recordings": "enregistrements",
    "files": "fichiers",
    "families": "familles",
    "subscriptions": "abonnements",
    "invitations": "invitations de familles",
    "channels": "groupes reliés",
}


def _close_year(result: dict[str, Any]) -> str:
    dry = result["dry_run"]
    last = french_day(date.fromisoformat(result["last_day"]))
    lines = [f"Fin de l'année scolaire {result['year']} (dernier jour : {last})."]
    if result["keepsakes"]:
        labels = (
            {**KEEPSAKE_LABELS, "planned_now": "souvenirs à prévoir"} if dry else KEEPSAKE_LABELS
        )
        lines += [
            "",
            table(["", "nombre"], [[labels[k], v] for k, v in result["keepsakes"].items()]),
        ]
    if result["erased"]:
        head = "à effacer" if result["state"] != "closed" else "effacés"
        rows = [[ERASED_LABELS[k], v] for k, v in result["erased"].items()]
        lines += ["", table(["", head], rows)]
        verb = "seraient prévenu(e)s" if dry else "seront prévenu(e)s"
        if result["state"] == "closed":
            verb = "sont prévenu(e)s"
        lines += ["", f"{result['teachers_told']} enseignant(e)(s) {verb} pour septembre."]
    lines += ["", CLOSE_STATES[result["state"]]]
    return "\n".join(lines)


def generic(result: dict[str, Any]) -> str:
    """Counts first as one table, then one table per nested part."""
    scalars = [[LABELS.get(k, k), v] for k, v in result.items() if not isinstance(v, dict | list)]
    blocks = [table(["", "nombre"], scalars)] if scalars else []
    for key, value in result.items():
        if isinstance(value, dict | list):
            blocks.append(f"{LABELS.get(key, key)} :\n{_nested(value)}")
    return "\n\n".join(blocks)


def _nested(value: dict[str, Any] | list[Any]) -> str:
    if isinstance(value, list):
        return _records(value)
    if not value:
        return "  (aucun)"
    if all(not isinstance(v, dict | list) for v in value.values()):
        return table(["", "valeur"], [[k, v] for k, v in value.items()])
    if all(isinstance(v, dict) for v in value.values()):
        return _records([{"": k, **v} for k, v in value.items()])
    parts = []
    for k, v in value.items():
        parts.append(f"{k} :\n{_nested(v)}" if isinstance(v, dict | list) else f"{k} : {v}")
    return "\n".join(parts)


def _records(items: list[Any]) -> str:
    if not items:
        return "  (aucun)"
    if not all(isinstance(i, dict) for i in items):
        return "\n".join(f"  {i}" for i in items)
    headers = list(dict.fromkeys(k for i in items for k in i))
    cells = [
        [
            i.get(h) if not isinstance(i.get(h), dict | list) else json.dumps(i.get(h))
            for h in headers
        ]
        for i in items
    ]
    return table(headers, cells)
