"""The service's Prometheus metrics, one registry per service (never the
library's global default one: two services in one process, as in the tests,
must not mix their figures).

Counters and histograms are updated where things happen; the outbox
figures are read from the database when /metrics is scraped.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage.db import Database
from storage.records import from_db_time, to_db_time

# Seconds: a text answer, a cached voice note, an upload of a long file.
SEND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
# Seconds of ffmpeg work for a recording of a few seconds to twenty minutes.
PREPARATION_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.deliveries = Gauge(
            "petitesvoix_deliveries",
            "Envois de recordings par messagerie et état",
            ["platform", "state"],
            registry=r,
        )
        self.outbox_due = Gauge(
            "petitesvoix_outbox_due",
            "Envois dus maintenant (en attente, heure passée)",
            ["platform"],
            registry=r,
        )
        self.outbox_oldest_due_age = Gauge(
            "petitesvoix_outbox_oldest_due_age_seconds",
            "Âge du plus ancien envoi dû (0 : aucun)",
            ["platform"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "petitesvoix_send_seconds",
            "Durée d'un envoi accepté par la messagerie",
            ["platform"],
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter(
            "petitesvoix_rate_limited",
            "Refus 429 de la messagerie",
            ["platform"],
            registry=r,
        )
        self.retry_after = Counter(
            "petitesvoix_retry_after_seconds",
            "Secondes d'attente demandées par les refus 429",
            ["platform"],
            registry=r,
        )
        self.prepared = Counter(
            "petitesvoix_recordings_prepared",
            "Enregistrements préparés (ok, refusés, en erreur)",
            ["outcome"],
            registry=r,
        )
        self.preparation_seconds = Histogram(
            "petitesvoix_preparation_seconds",
            "Durée de préparation d'un enregistrement (ffmpeg)",
            buckets=PREPARATION_BUCKETS,
            registry=r,
        )
        self.digests_sent = Counter(
            "petitesvoix_digests_sent",
            "Résumés quotidiens et hebdomadaires envoyés",
            ["platform"],
            registry=r,
        )
        self.adapter_connected = Gauge(
            "petitesvoix_adapter_connected",
            "1 quand la messagerie est connectée",
            ["platform"],
            registry=r,
        )

    def declare(self, platforms: list[str]) -> None:
        """Series exist from the start at 0, so that alerts on rates work
        before the first 429 or digest."""
        for platform in platforms:
            for family in (self.rate_limited, self.retry_after, self.digests_sent):
                family.labels(platform)
            self.send_seconds.labels(platform)
            self.adapter_connected.labels(platform).set(0)
        for outcome in ("ok", "rejected", "error"):
            self.prepared.labels(outcome)

    # -- where things happen ---------------------------------------------------

    def sent(self, platform: str, seconds: float) -> None:
        self.send_seconds.labels(platform).observe(seconds)

    def refused(self, platform: str, retry_after: float) -> None:
        self.rate_limited.labels(platform).inc()
        self.retry_after.labels(platform).inc(max(0.0, retry_after))

    def preparation(self, outcome: str, seconds: float) -> None:
        self.prepared.labels(outcome).inc()
        self.preparation_seconds.observe(seconds)

    def connected(self, platform: str, up: bool) -> None:
        self.adapter_connected.labels(platform).set(1 if up else 0)

    # -- at scrape time ----------------------------------------------------------

    async def refresh(self, db: Database, now: datetime, platforms: list[str]) -> None:
        """Outbox figures from the database (where the truth is, whichever
        process wrote it)."""
        by_state = await db.fetch(
            "SELECT platform, state, COUNT(*) FROM deliveries GROUP BY platform, state"
        )
        due = await db.fetch(
            """SELECT platform, COUNT(*), MIN(next_try_at) FROM deliveries
               WHERE state = 'pending' AND next_try_at <= $1 GROUP BY platform""",
            to_db_time(now),
        )
        self.deliveries.clear()
        for platform, state, count in by_state:
            self.deliveries.labels(platform, state).set(count)
        figures = {p: (0, 0.0) for p in platforms}
        for platform, count, oldest in due:
            moment = from_db_time(oldest)
            age = (now - moment).total_seconds() if moment else 0.0
            figures[platform] = (int(count), max(0.0, age))
        for platform, (count, age) in figures.items():
            self.outbox_due.labels(platform).set(count)
            self.outbox_oldest_due_age.labels(platform).set(age)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
