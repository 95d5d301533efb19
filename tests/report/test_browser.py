"""The report in a real headless browser: Debian's chromium and chromium-driver, driven by selenium.

Skipped when any of them is missing. CI installs them with
``apt-get install -y chromium chromium-driver`` and ``pip install -e '.[test]'``
(selenium). The driver is always given by path: selenium never downloads a browser.
"""

import shutil
import time

import pytest
import soundfile

from vismic.report import write_report

pytest.importorskip("matplotlib", reason="the HTML report draws with matplotlib (pip install 'vismic[plot]')")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1000,2400", "--mute-audio"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, script, *, timeout_seconds=30.0):
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = driver.execute_script(script)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_report_renders_in_chromium(browser, tmp_path, recovery):
    rec, pipeline = recovery
    wav = rec.to_wav(tmp_path / "out.wav")
    page = write_report(tmp_path / "report.html", rec, wav_path=wav.path, params=pipeline)
    browser.get_log("browser")  # forget anything from before this page
    browser.get(page.resolve().as_uri())
    assert _wait(browser, "return document.readyState === 'complete'")

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) == 3
    for alt, complete, width, height in images:
        assert complete and width > 0 and height > 0, alt

    assert _wait(browser, "const a = document.querySelector('audio'); return a.readyState >= 1 || a.error !== null")
    state = browser.execute_script(
        "const a = document.querySelector('audio'); return [a.readyState, a.duration, a.error && a.error.code]")
    assert state[2] is None, f"the audio element failed to load (MediaError code {state[2]})"
    duration = soundfile.info(str(wav.path)).duration
    assert abs(state[1] - duration) <= 1 / wav.sr + 1e-3, (state[1], duration)

    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
