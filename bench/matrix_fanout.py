"""One recording to 200 parents' direct chats on a local Synapse.

``python -m bench.matrix_fanout [--parents N]``

The same voice message goes to N unencrypted direct chats, then to N
encrypted ones, once through ``MatrixAdapter.send`` and once through plain
nio ``room_send`` of the same events (the baseline, another device of the
same bot, in the same run). Sends are sequential in both cases, as the
service's delivery worker does them. Figures: wall time and uploads per
fan-out; then the idle RSS of the service (``python -m bot run``) against a
bare nio client synced on the same account.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from nio import AsyncClient, LoginResponse, RoomSendResponse, UploadResponse

from adapters.matrix import MatrixAdapter
from adapters.matrix.devkit.audio import make_tone
from adapters.matrix.devkit.client import ScriptedClient
from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from adapters.matrix.outbound import audio_content
from adapters.matrix.session import client_config
from bot.ports import ChatInvite, InboundEvent, OutboundAudio, OutboundMessage
from tests.media_files import media_file

Row = dict[str, Any]


def _row(figure: str, goal: str, measured: float, baseline: float) -> Row:
    ratio = round(measured / baseline, 2) if baseline else None
    return {
        "figure": figure,
        "goal": goal,
        "measured": round(measured, 3),
        "baseline": round(baseline, 3),
        "ratio": ratio,
    }


def _count_uploads(client: AsyncClient) -> list[int]:
    counter = [0]
    original = client.upload

    async def counting(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return await original(*args, **kwargs)

    client.upload = counting
    return counter


async def _timed(work: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


async def _gather_in_batches(jobs: list[Callable[[], Awaitable[Any]]], size: int = 10) -> list[Any]:
    results: list[Any] = []
    for i in range(0, len(jobs), size):
        results += await asyncio.gather(*(job() for job in jobs[i : i + size]))
    return results


class JoinDirect:
    def __init__(self) -> None:
        self.adapter: MatrixAdapter | None = None

    async def __call__(self, event: InboundEvent) -> None:
        if isinstance(event, ChatInvite) and self.adapter is not None:
            await self.adapter.join(event.chat.chat_id)


async def _rooms(server: SynapseServer, bot: RegisteredUser, parents: int, tmp: Path) -> Any:
    async def parent(i: int) -> tuple[str, str]:
        client = await ScriptedClient.create(server, f"parent{i:03d}", tmp / "parents")
        try:
            plain = await client.create_dm(bot.user_id, encrypted=False)
            secret = await client.create_dm(bot.user_id, encrypted=True)
            return plain, secret
        finally:
            await client.close()

    pairs = await _gather_in_batches([lambda i=i: parent(i) for i in range(parents)])
    return [p for p, _ in pairs], [s for _, s in pairs]


async def _baseline_client(server: SynapseServer, bot: RegisteredUser, store: Path) -> AsyncClient:
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    client = AsyncClient(server.url, bot.user_id, store_path=str(store), config=client_config())
    resp = await client.login(bot.password, device_name="bench baseline")
    assert isinstance(resp, LoginResponse), resp
    await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    if client.should_query_keys:
        await client.keys_query()
    for room in client.rooms.values():
        for user_id in room.users:
            for device in client.device_store.active_user_devices(user_id):
                client.verify_device(device)
    return client


async def _plain_nio_fanout(
    client: AsyncClient, rooms: list[str], audio: OutboundAudio, *, encrypted: bool
) -> None:
    data = await audio.voice.load()
    fields: dict[str, Any] = {}
    for room_id in rooms:
        if encrypted or not fields:
            up, keys = await client.upload(
                io.BytesIO(data),
                content_type="application/octet-stream" if encrypted else audio.voice.mime,
                filename="voice.ogg",
                encrypt=encrypted,
                filesize=len(data),
            )
            assert isinstance(up, UploadResponse), up
            fields = (
                {"file": {**(keys or {}), "url": up.content_uri, "mimetype": audio.voice.mime}}
                if encrypted
                else {"url": up.content_uri}
            )
        content = audio_content(audio, "", len(data), fields)
        resp = await client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(resp, RoomSendResponse), resp


async def _adapter_fanout(adapter: MatrixAdapter, rooms: list[str], audio: OutboundAudio) -> None:
    voice = audio.voice
    for room_id in rooms:
        receipt = await adapter.send(OutboundMessage(room_id, audio=audio))
        ref = receipt.media_refs.get(voice.variant)
        if ref and ref != voice.cached_ref:
            voice = replace(voice, cached_ref=ref)
            audio = OutboundAudio(
                voice, audio.compat, audio.duration_s, audio.title, audio.waveform
            )


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _idle_rss(cmd: list[str], env: dict[str, str], settle_s: float, log: Path) -> float:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        time.sleep(settle_s)
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited: {log.read_text()[-2000:]}")
        return _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


_BARE_NIO = """
import asyncio, os, sys
from nio import AsyncClient, AsyncClientConfig
async def main():
    c = AsyncClient(sys.argv[1], sys.argv[2], store_path=sys.argv[4],
                    config=AsyncClientConfig(encryption_enabled=True))
    await c.login(sys.argv[3], device_name="bench bare")
    await c.sync(timeout=0, full_state=True)
    print("ready", flush=True)
    await c.sync_forever(timeout=30000)
asyncio.run(main())
"""


def _rss_rows(server: SynapseServer, bot: RegisteredUser, tmp: Path, data_dir: Path) -> Row:
    config = tmp / "petites-voix.toml"
    config.write_text(
        "[storage]\n"
        f"data_dir = {json.dumps(str(data_dir))}\n"
        "[matrix]\n"
        f"homeserver = {json.dumps(server.url)}\n"
        f"user_id = {json.dumps(bot.user_id)}\n"
    )
    env = {**os.environ, "MATRIX_PASSWORD": bot.password}
    service = _idle_rss(
        [sys.executable, "-m", "bot", "run", "--config", str(config)], env, 8.0, tmp / "svc.log"
    )
    (tmp / "bare").mkdir(exist_ok=True)
    bare = _idle_rss(
        [sys.executable, "-c", _BARE_NIO, server.url, bot.user_id, bot.password, str(tmp / "bare")],
        env,
        8.0,
        tmp / "bare.log",
    )
    return _row(
        "idle RSS of the service, MB (baseline: a bare nio client)", "< 120 MB", service, bare
    )


async def _run(parents: int, tmp: Path) -> list[Row]:
    server = SynapseServer.start(tmp / "synapse", log_level="WARNING")
    rows: list[Row] = []
    adapter: MatrixAdapter | None = None
    baseline: AsyncClient | None = None
    try:
        bot = server.register("petitesvoix")
        server.lift_rate_limit(bot.user_id)
        sink = JoinDirect()
        data_dir = tmp / "data"
        adapter = MatrixAdapter(
            server.url, bot.user_id, store_dir=data_dir / "matrix", password=bot.password
        )
        sink.adapter = adapter
        await adapter.connect(sink)
        t0 = time.perf_counter()
        plain_rooms, secret_rooms = await _rooms(server, bot, parents, tmp)
        loop = adapter._loop
        assert loop is not None
        for room_id in plain_rooms + secret_rooms:
            assert await loop.wait_for_room(room_id, 60), room_id
        print(f"set-up: {parents} parents, {2 * parents} rooms in {time.perf_counter() - t0:.1f}s")

        ogg = make_tone(tmp / "voice.ogg", seconds=20)
        mp3 = make_tone(tmp / "compat.mp3", seconds=2)
        audio = OutboundAudio(
            voice=media_file(ogg, "audio/ogg", "voice"),
            compat=media_file(mp3, "audio/mpeg", "compat"),
            duration_s=20.0,
            title="Le loup, groupe 1",
            waveform=tuple((i * 37) % 1024 for i in range(100)),
        )
        baseline = await _baseline_client(server, bot, tmp / "baseline")
        assert adapter._client is not None
        adapter_uploads = _count_uploads(adapter._client)
        base_uploads = _count_uploads(baseline)

        for label, rooms, encrypted in (
            ("unencrypted", plain_rooms, False),
            ("encrypted", secret_rooms, True),
        ):
            before_a, before_b = adapter_uploads[0], base_uploads[0]
            t_base = await _timed(
                lambda r=rooms, e=encrypted: _plain_nio_fanout(baseline, r, audio, encrypted=e)
            )
            t_adapter = await _timed(lambda r=rooms: _adapter_fanout(adapter, r, audio))
            goal = "throughput ≥ 0.8x plain nio (time ratio ≤ 1.25)"
            rows.append(_row(f"{label} fan-out to {parents} DMs, s", goal, t_adapter, t_base))
            rows.append(
                _row(
                    f"{label} fan-out uploads",
                    "1 (reused mxc)" if not encrypted else "1 per room (per-upload keys)",
                    adapter_uploads[0] - before_a,
                    base_uploads[0] - before_b,
                )
            )
        await baseline.close()
        baseline = None
        await adapter.disconnect()
        adapter = None
        rows.append(await asyncio.to_thread(_rss_rows, server, bot, tmp, data_dir))
        return rows
    finally:
        if baseline is not None:
            await baseline.close()
        if adapter is not None:
            await adapter.disconnect()
        server.stop()


def run(parents: int = 200) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="pv-bench-") as tmp:
        return asyncio.run(_run(parents, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matrix_fanout")
    parser.add_argument("--parents", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rows = run(args.parents)
    for row in rows:
        print(
            f"{row['figure']:<42} measured {row['measured']:>9} baseline {row['baseline']:>9}"
            f"  ratio {row['ratio']}  (goal: {row['goal']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
