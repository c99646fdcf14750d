"""Who may fetch a recording's audio, remembered for a moment.

A phone asks for one recording several times in a row (two bytes to probe,
then the play, then every seek), and so does a podcast app for each
enclosure: each request would otherwise read the link, the recording and
its children from the database before the first byte. A yes is kept for
``PASS_S`` at most, and forgotten at once when this process changes who may
hear what (a consent, a new link, a family leaving, a withdrawn recording,
an erased child: the audience's generation). A change made by another
process sharing the database reaches this one within ``PASS_S``, as the
audience's own cache does (bot/service/audience.py). A no is never kept:
every unknown link counts against its caller.
"""

from __future__ import annotations

from dataclasses import dataclass

PASS_S = 1.0
_LIMIT = 10_000


@dataclass(frozen=True)
class AudioPass:
    child_id: int
    ref: str  # the media store's reference of the MP3
    filename: str
    generation: int
    until: float


class AudioPasses:
    def __init__(self) -> None:
        self._passes: dict[tuple[str, int], AudioPass] = {}

    def get(self, token: str, recording_id: int, generation: int, now: float) -> AudioPass | None:
        known = self._passes.get((token, recording_id))
        if known is None or known.generation != generation or known.until <= now:
            return None
        return known

    def put(self, token: str, recording_id: int, granted: AudioPass, now: float) -> None:
        if len(self._passes) >= _LIMIT:
            self._passes = {k: p for k, p in self._passes.items() if p.until > now}
            if len(self._passes) >= _LIMIT:
                self._passes.clear()
        self._passes[(token, recording_id)] = granted
