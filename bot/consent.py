"""The consent rule for children's voices, written once.

A child's voice may leave the service only with the consent of the family.
The family's own answers decide: ``non`` if any guardian of the child says
``non``, ``oui`` if one says ``oui`` and none ``non``. Without any answer
from the family, the teacher's record (the paper form) decides, and a child
with neither is ``pas encore``.

A recording goes out only if every child it names is ``oui``; a recording
naming no child is the whole class's, so every child of the class must be
``oui``. Everything here is pure: the callers fetch the facts, this module
decides.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from storage.records import ConsentRow


class Consent(Enum):
    OUI = "oui"
    NON = "non"
    PAS_ENCORE = "pas encore"


class SetBy(Enum):
    FAMILY = "famille"
    TEACHER = "enseignant(e)"


@dataclass(frozen=True)
class ChildConsent:
    child_id: int
    state: Consent
    set_by: SetBy | None
    at: datetime | None


def decide(facts: ConsentRow) -> ChildConsent:
    """The child's consent: the family's answers first, then the teacher's."""
    if facts.family:
        refusals = [at for answer, at in facts.family if not answer]
        if refusals:
            return ChildConsent(facts.child_id, Consent.NON, SetBy.FAMILY, max(refusals))
        latest = max(at for _, at in facts.family)
        return ChildConsent(facts.child_id, Consent.OUI, SetBy.FAMILY, latest)
    if facts.teacher is None:
        return ChildConsent(facts.child_id, Consent.PAS_ENCORE, None, None)
    state = Consent.OUI if facts.teacher else Consent.NON
    return ChildConsent(facts.child_id, state, SetBy.TEACHER, facts.teacher_at)


def blocking(named: Collection[int], class_consents: Mapping[int, Consent]) -> list[int]:
    """The children whose consent holds a recording back, in id order.

    ``named``: the children the recording names (empty: the whole class).
    ``class_consents``: every child now in the class. A named child that is
    no longer in the class (it left) blocks too: nobody can consent for it.
    """
    wanted: Iterable[int] = named if named else class_consents.keys()
    return sorted(c for c in set(wanted) if class_consents.get(c) is not Consent.OUI)


def may_leave(named: Collection[int], class_consents: Mapping[int, Consent]) -> bool:
    return not blocking(named, class_consents)
