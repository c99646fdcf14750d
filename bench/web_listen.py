"""Family pages under load: audio by Range through the family route against
a bare ``aiohttp.web.FileResponse`` of the same file, in the same run.

    python -m bench.web_listen

Figures:
- 200 concurrent listeners, each of its own family (its own link), each
  fetch a 3-minute MP3 as an iPhone does (``bytes=0-1`` to probe,
  ``bytes=0-`` to play, then one seek: 256 KB from the middle): time to
  first byte of every
  request (p50, p95; goal p95 under 100 ms) and total throughput through the
  family route (token lookup, consent rule) against the bare file server
  (goal: at least 0.8 of it).
- a family page with 10 albums of 20 recordings: render time, p95 of 100
  sequential requests (goal under 50 ms), against a constant page of the
  same size.

The server runs in its own process (``--serve``), as in production, so the
listeners' client work does not share its interpreter.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import imageio_ffmpeg

from bench.signals import speech_file

LISTENERS = 200
CHUNK = 256 * 1024
PAGE_REQUESTS = 100
ALBUMS, PER_ALBUM = 10, 20
TTFB_GOAL_MS = 100.0
THROUGHPUT_GOAL = 0.8
RENDER_GOAL_MS = 50.0


# -- the server process ---------------------------------------------------------


async def _serve(data_dir: Path, mp3: Path) -> None:
    from aiohttp import web

    from bot.app import open_context
    from bot.config import Settings, WebSettings
    from bot.media_store import media_key
    from bot.web.server import WebServer, build_app
    from bot.web.services import WebServices
    from storage.repos.recordings import NewRecording, ProcessedFiles

    settings = Settings(data_dir=data_dir, web=WebSettings("https://voix.example.org", "", 0))
    ctx = await open_context(settings, {})
    repos, now = ctx.repos, ctx.clock.now()
    school = await repos.schools.ensure_school("École du Lac", now)
    klass = await repos.schools.ensure_class(school.id, "MS-GS", "4 16:30", now)
    children = []
    for n in range(LISTENERS):
        child, _ = await repos.families.ensure_child(klass.id, f"Enfant {n}", f"enfant {n}", now)
        await repos.families.set_consent(child.id, True, now)
        children.append(child.id)
    compat = await ctx.media.put_file(mp3)
    first = 0
    for a in range(ALBUMS):
        album, _ = await repos.albums.make_current(klass.id, f"Album {a + 1}", f"album {a}", now)
        for r in range(PER_ALBUM):
            rec = await repos.recordings.create(
                NewRecording(album.id, klass.id, f"Groupe {r + 1}", "bench", "-1",
                             f"{a}-{r}", "x", "audio", "bench", False, None, ()),
                now,
            )  # fmt: skip
            assert rec is not None
            files = ProcessedFiles(compat, compat, compat, "audio/mpeg", 180.0, ())
            await repos.recordings.set_processed(rec.id, files, "waiting", now)
            await repos.deliveries.publish(rec.id, now, now)
            first = first or rec.id
    services = WebServices.build(ctx)
    tokens = [await services.pages.token_for(child_id) for child_id in children]
    token = tokens[0]
    path = data_dir / "media" / media_key(compat)  # the local store's file, for the bare server
    page_bytes: list[bytes] = []

    def bare(app: web.Application, _: WebServices) -> None:
        async def file(request: web.Request) -> web.FileResponse:
            return web.FileResponse(path, headers={"Content-Type": "audio/mpeg"})

        async def page(request: web.Request) -> web.Response:
            return web.Response(body=page_bytes[0], content_type="text/html")

        app.router.add_get("/bare.mp3", file)
        app.router.add_get("/bare.html", page)

    server = WebServer(build_app(services, extra=(bare,)), "127.0.0.1", 0)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/f/{token}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        page_bytes.append(await resp.read())
    print(
        json.dumps(
            {
                "port": server.port,
                "audio": [f"/f/{t}/audio/{first}.mp3" for t in tokens],
                "page": f"/f/{token}",
                "size": path.stat().st_size,
                "page_bytes": len(page_bytes[0]),
            }
        ),
        flush=True,
    )
    await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes our stdin
    await server.stop()
    await ctx.repos.db.close()


# -- the listeners ----------------------------------------------------------------


async def _listener(http: aiohttp.ClientSession, url: str, size: int, ttfb: list[float]) -> int:
    middle = size // 2
    ranges = ["0-1", "0-", f"{middle}-{middle + CHUNK - 1}"]
    got = 0
    for wanted in ranges:
        start = time.perf_counter()
        async with http.get(url, headers={"Range": f"bytes={wanted}"}) as resp:
            assert resp.status == 206, resp.status
            chunk = await resp.content.read(1)
            ttfb.append(time.perf_counter() - start)
            got += len(chunk) + len(await resp.read())
    return got


async def _crowd(base: str, paths: list[str], size: int) -> tuple[float, list[float]]:
    ttfb: list[float] = []
    connector = aiohttp.TCPConnector(limit=LISTENERS, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        done = await asyncio.gather(*(_listener(http, base + path, size, ttfb) for path in paths))
        wall = time.perf_counter() - start
    assert all(n == size + 2 + CHUNK for n in done)
    return sum(done) / wall, ttfb


async def _pages(base: str, path: str) -> list[float]:
    times = []
    async with aiohttp.ClientSession() as http:
        for _ in range(PAGE_REQUESTS):
            start = time.perf_counter()
            async with http.get(base + path) as resp:
                assert resp.status == 200
                await resp.read()
            times.append(time.perf_counter() - start)
    return times


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


async def _measure(info: dict[str, Any]) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{info['port']}"
    size = int(info["size"])
    runs: dict[str, list[tuple[float, list[float]]]] = {"family": [], "bare": []}
    for _ in range(2):  # alternate, keep the better of two for each
        runs["bare"].append(await _crowd(base, ["/bare.mp3"] * LISTENERS, size))
        runs["family"].append(await _crowd(base, info["audio"], size))
    family = max(runs["family"], key=lambda r: r[0])
    bare = max(runs["bare"], key=lambda r: r[0])
    await _pages(base, info["page"])  # warm up
    page = await _pages(base, info["page"])
    constant = await _pages(base, "/bare.html")
    mb = 1024 * 1024
    return [
        {
            "figure": f"first byte p50, {LISTENERS} listeners (ms)",
            "goal": "",
            "measured": _p(family[1], 50),
            "baseline": _p(bare[1], 50),
            "ratio": _p(family[1], 50) / _p(bare[1], 50),
        },
        {
            "figure": f"first byte p95, {LISTENERS} listeners (ms)",
            "goal": f"< {TTFB_GOAL_MS:g}",
            "measured": _p(family[1], 95),
            "baseline": _p(bare[1], 95),
            "ratio": _p(family[1], 95) / _p(bare[1], 95),
        },
        {
            "figure": "throughput (MB/s)",
            "goal": f">= {THROUGHPUT_GOAL:g} x bare",
            "measured": family[0] / mb,
            "baseline": bare[0] / mb,
            "ratio": family[0] / bare[0],
        },
        {
            "figure": f"page render p50, {ALBUMS}x{PER_ALBUM} recordings (ms)",
            "goal": "",
            "measured": _p(page, 50),
            "baseline": _p(constant, 50),
            "ratio": _p(page, 50) / _p(constant, 50),
        },
        {
            "figure": f"page render p95, {ALBUMS}x{PER_ALBUM} recordings (ms)",
            "goal": f"< {RENDER_GOAL_MS:g}",
            "measured": _p(page, 95),
            "baseline": _p(constant, 95),
            "ratio": _p(page, 95) / _p(constant, 95),
        },
    ]


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="pv-bench-web-") as tmp:
        work = Path(tmp)
        mp3 = speech_file(
            imageio_ffmpeg.get_ffmpeg_exe(),
            work / "trois-minutes.mp3",
            180,
            ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k"],
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.web_listen", "--serve", str(work / "data"), str(mp3)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            return asyncio.run(_measure(info))
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=30)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        asyncio.run(_serve(Path(sys.argv[2]), Path(sys.argv[3])))
        return 0
    for row in run():
        print(
            f"{row['figure']}: {row['measured']:.3g} (goal {row['goal'] or '-'}; "
            f"bare {row['baseline']:.3g}; ratio {row['ratio']:.3g})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
