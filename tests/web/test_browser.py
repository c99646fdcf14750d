"""A real browser on a family page: Debian's chromium and chromium-driver,
driven by Selenium, headless. It plays a recording, the page reports the
listen, and a 360 px wide screenshot is kept under pytest's tmp dir."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService

from tests.core.harness import eventually
from tests.web.kit import school_online

ALBUM = "Le loup qui voulait changer de couleur"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=360,800",
)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian packages chromium and chromium-driver are needed"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in FLAGS:
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=DriverService(executable_path=driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


PLAY = """
const done = arguments[arguments.length - 1];
const audio = document.querySelector('audio');
audio.play().then(() => done('ok'), (err) => done('refused: ' + err));
"""


async def test_a_family_plays_a_recording_in_a_real_browser(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    async with school_online(tmp_path / "data") as (school, client):
        await school.klass("MS-GS")
        await school.child("MS-GS", "Lina")
        await school.album("MS-GS", ALBUM)
        rec = await school.recording(ALBUM, "Groupe 1")
        page = str(client.make_url(await school.page("Lina")))

        def open_and_play() -> str:
            browser.set_script_timeout(20)
            browser.get(page)
            assert "La classe de Lina" in browser.title
            return str(browser.execute_async_script(PLAY))

        assert await asyncio.to_thread(open_and_play) == "ok"

        async def advancing() -> bool:
            t = await asyncio.to_thread(
                browser.execute_script, "return document.querySelector('audio').currentTime"
            )
            return float(t) > 1.0

        await eventually(advancing, timeout=20)

        async def counted() -> bool:
            return school.children["Lina"] in await school.ctx.repos.listens.children(
                rec, "listened"
            )

        await eventually(counted, timeout=20)

        def screenshot() -> tuple[Path, int]:
            browser.set_window_size(360, 800)
            width = int(browser.execute_script("return document.documentElement.scrollWidth"))
            shot = tmp_path / "page-famille-360px.png"
            assert browser.save_screenshot(str(shot))
            return shot, width

        shot, width = await asyncio.to_thread(screenshot)
        assert shot.stat().st_size > 1000
        assert width <= 360  # nothing wider than a small phone's screen
        # The strict CSP refused nothing: the page needs nothing but our files.
        console = await asyncio.to_thread(browser.get_log, "browser")
        assert not [m for m in console if "Content Security Policy" in m["message"]], console
