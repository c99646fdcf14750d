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
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.core.harness import eventually
from tests.web.kit import school_online
from tests.web.test_languages import ALBUM as TITLE
from tests.web.test_languages import in_keepsake_window, with_a_family
from tests.web.visible_text import left_in_french

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


DOWNLOAD = """
const done = arguments[arguments.length - 1];
const link = document.querySelector('#souvenir a[download]');
fetch(link.href).then(async (r) => done({
  status: r.status,
  type: r.headers.get('content-type'),
  disposition: r.headers.get('content-disposition'),
  size: (await r.arrayBuffer()).byteLength,
  name: link.getAttribute('download'),
}), (err) => done({error: String(err)}));
"""


async def test_a_family_reads_its_page_in_arabic_right_to_left(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    """#15: the family chooses Arabic on its page, in the browser, without
    JavaScript; the page is then right to left with no French left but
    names; #14: its keepsake download gives the audio."""
    async with school_online(tmp_path / "data", in_keepsake_window(tmp_path / "data")) as (
        school,
        client,
    ):
        guardian = await with_a_family(school, "fr")
        page = str(client.make_url(await school.page("Lina")))

        def read(url: str | None) -> dict[str, object]:
            if url:
                browser.get(url)
            return {
                "dir": browser.execute_script("return document.documentElement.dir"),
                "direction": browser.execute_script(
                    "return getComputedStyle(document.querySelector('main')).direction"
                ),
                "lines": [
                    line.strip()
                    for line in str(
                        browser.execute_script("return document.body.innerText")
                    ).splitlines()
                    if line.strip()
                ]
                + [browser.title.removesuffix(" · Petites Voix")],
            }

        def choose_arabic() -> None:
            old = browser.find_element(By.TAG_NAME, "html")
            browser.find_element(By.CSS_SELECTOR, 'button.langue[value="ar"]').click()
            WebDriverWait(browser, 20).until(expected_conditions.staleness_of(old))
            WebDriverWait(browser, 20).until(
                lambda b: b.execute_script("return document.readyState") == "complete"
            )

        french = await asyncio.to_thread(read, page)
        assert french["dir"] == "ltr" and french["direction"] == "ltr"
        await asyncio.to_thread(choose_arabic)  # a plain form: no script needed
        arabic = await asyncio.to_thread(read, None)
        assert arabic["dir"] == "rtl" and arabic["direction"] == "rtl"
        stored = await school.ctx.repos.families.get_guardian(guardian)
        assert stored is not None and stored.language == "ar"

        names = {"Lina", "MS-GS", "École du Lac", TITLE, "Groupe 1", page.split("?")[0],
                 f"{page}/podcast.xml", "Petites Voix"}  # fmt: skip
        public = {n.replace(str(client.make_url("")).rstrip("/"), "https://voix.example.org")
                  for n in names}  # fmt: skip
        lines_ar, lines_fr = arabic["lines"], french["lines"]
        assert isinstance(lines_ar, list) and isinstance(lines_fr, list)
        left = left_in_french(lines_ar, lines_fr, names | public, latin_script=False)
        assert not left, left
        assert len(lines_ar) > 20  # the whole page was read, not an error page

        def download() -> dict[str, object]:
            browser.set_script_timeout(30)
            return dict(browser.execute_async_script(DOWNLOAD))

        got = await asyncio.to_thread(download)
        assert got.get("status") == 200, got
        assert got["type"] == "audio/mpeg" and int(str(got["size"])) > 1000
        assert str(got["disposition"]).startswith("attachment;")
        assert got["name"] == f"Lina - {TITLE}.mp3"

        def screenshot() -> Path:
            shot = tmp_path / "page-famille-arabe-360px.png"
            assert browser.save_screenshot(str(shot))
            return shot

        assert (await asyncio.to_thread(screenshot)).stat().st_size > 1000
