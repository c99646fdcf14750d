"""/healthz and /metrics on the [metrics] listener, scraped as Prometheus
would and parsed with prometheus-client's own parser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from adapters.memory import rate_limited
from bot.app import open_context
from bot.clock import ManualClock
from bot.config import MetricsSettings
from bot.service.publisher import Publisher
from tests.core.harness import MORNING, Stage, eventually, sample, settings_for
from tests.seeding import class_with_held_recording

TEACHER = "maitresse"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    figures: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return figures[(name, frozenset(labels.items()))]


async def _get(stage: Stage, path: str) -> tuple[int, str]:
    assert stage.svc.health is not None
    url = f"http://127.0.0.1:{stage.svc.health.port}{path}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


async def _stage(tmp_path: Path) -> Stage:
    stage = Stage(tmp_path / "data")
    stage.settings = replace(settings_for(stage.data_dir), metrics=MetricsSettings("127.0.0.1", 0))
    await stage.start()
    return stage


async def test_metrics_after_a_recording_and_a_rate_limit(tmp_path: Path) -> None:
    stage = await _stage(tmp_path)
    try:
        await stage.setup_class(TEACHER)
        await stage.invite_parent(TEACHER, "Lina", "papa_lina")
        await stage.post_audio(TEACHER, sample("loup_groupe2.mp3"), caption="Groupe 1")
        await stage.publish()
        await eventually(lambda: len(stage.adapter.audio_to("papa_lina")) == 1)

        stage.adapter.failures["papa_lina"] = rate_limited(7, "papa_lina")
        await stage.post_audio(TEACHER, sample("loup_groupe3_voice.ogg"), caption="Groupe 2")
        await stage.publish()

        async def refused() -> bool:
            _, text = await _get(stage, "/metrics")
            key = ("petitesvoix_rate_limited_total", frozenset({("platform", "memory")}))
            return samples(text).get(key, 0) >= 1

        await eventually(refused)
        status, text = await _get(stage, "/metrics")
        assert status == 200
        m = samples(text)
        assert value(m, "petitesvoix_deliveries", platform="memory", state="sent") == 1
        assert value(m, "petitesvoix_deliveries", platform="memory", state="pending") == 1
        assert value(m, "petitesvoix_retry_after_seconds_total", platform="memory") >= 7
        assert value(m, "petitesvoix_send_seconds_count", platform="memory") >= 1
        assert value(m, "petitesvoix_recordings_prepared_total", outcome="ok") == 2
        assert value(m, "petitesvoix_preparation_seconds_count") == 2
        assert value(m, "petitesvoix_adapter_connected", platform="memory") == 1
        # Retried in 7 s of the service's clock, which has not moved: not due.
        assert value(m, "petitesvoix_outbox_due", platform="memory") == 0
        assert value(m, "petitesvoix_digests_sent_total", platform="memory") == 0
    finally:
        await stage.stop()


async def test_healthz_is_503_with_a_reason_when_a_platform_is_down(tmp_path: Path) -> None:
    stage = await _stage(tmp_path)
    try:
        status, body = await _get(stage, "/healthz")
        assert status == 200 and '"status": "ok"' in body
        stage.adapter.down = True
        status, body = await _get(stage, "/healthz")
        assert status == 503
        assert '"memory": false' in body and "memory n'est pas connecté" in body
        _, text = await _get(stage, "/metrics")
        assert value(samples(text), "petitesvoix_adapter_connected", platform="memory") == 0
        stage.adapter.down = False
        assert (await _get(stage, "/healthz"))[0] == 200
    finally:
        await stage.stop()


async def test_outbox_depth_and_age_of_the_oldest_due_delivery(tmp_path: Path) -> None:
    clock = ManualClock(MORNING)
    ctx = await open_context(settings_for(tmp_path / "data"), {}, clock)
    try:
        rec = await class_with_held_recording(ctx, ["1", "2", "3"])
        assert await ctx.repos.recordings.release_held(rec, clock.now())
        await Publisher(ctx).publish_due()
        clock.advance(90)  # no worker runs here: they stay due
        await ctx.metrics.refresh(ctx.repos.db, clock.now(), ["matrix", "telegram"])
        m = samples(ctx.metrics.exposition().decode())
        assert value(m, "petitesvoix_outbox_due", platform="telegram") == 3
        assert value(m, "petitesvoix_outbox_oldest_due_age_seconds", platform="telegram") == 90
        assert value(m, "petitesvoix_outbox_due", platform="matrix") == 0
        assert value(m, "petitesvoix_deliveries", platform="telegram", state="pending") == 3
    finally:
        await ctx.repos.db.close()
