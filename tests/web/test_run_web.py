"""``petites-voix run`` with [web]: the pages answer from the service's own
process, the operator's admin gives the web link, SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import aiohttp

from tests.service_process import ServiceProcess, admin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class WebProcess(ServiceProcess):
    def _ready(self, mark: int) -> bool:
        return "web pages listening" in (self.log.read_text() if self.log.exists() else "")


async def test_run_serves_the_pages_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "petites-voix.toml"
    config.write_text(
        f'[storage]\ndata_dir = "data"\n\n[web]\npublic_url = "https://voix.example.org"\n'
        f'listen = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    invite = json.loads(await admin(config, "invite-teacher", "--school", "École", "--class", "PS"))
    assert invite["web_link"] == f"https://voix.example.org/i/{invite['code']}"
    service = WebProcess(config, tmp_path / "service.log")
    await service.start()
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/i/{invite['code']}") as resp:
                assert resp.status == 200
                assert "Invitation pour la classe « PS »" in await resp.text()
            async with http.get(f"{base}/f/{'z' * 43}") as resp:
                assert resp.status == 404
            # The proxy may check /healthz here; /metrics stays off the families' side.
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{base}/metrics") as resp:
                assert resp.status == 404
    finally:
        proc = service.proc
        await service.stop()
    assert proc is not None and proc.returncode == 0
    log = service.log.read_text()
    assert invite["code"] not in log and "/f/" not in log  # no code, no link in the log
    assert "Traceback" not in log
