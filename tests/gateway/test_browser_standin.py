"""Headless Chromium uploads a picture on the gateway's page (TF Serving STAND-IN).

Needs Debian's chromium and chromium-driver (hack/make-rules/install-browser.sh); skips
without them unless REQUIRE_BROWSER=1 (set by .ci/run), where it fails. The
screenshot is kept as out/gateway/upload-page.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.standin_fixtures import REPO_ROOT

pytestmark = pytest.mark.standin

ARTIFACTS = REPO_ROOT / "out" / "gateway"
WAIT_S = 30


def browser_binaries() -> tuple[str, str]:
    """(chromium, chromedriver) paths; skips or fails when missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = "chromium/chromedriver missing: run hack/make-rules/install-browser.sh"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def browser():
    """Headless Chromium driven by selenium; quits at the end."""
    chromium, driver_path = browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=900,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def test_upload_shows_the_picture_and_its_label(
    browser, gateway_url: str, sample_png: bytes, expected_label: str, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    picture = tmp_path / "sample.png"
    picture.write_bytes(sample_png)
    browser.get(gateway_url + "/")
    wait = WebDriverWait(browser, WAIT_S)
    wait.until(ec.text_to_be_present_in_element((By.ID, "model"), "fashion_mnist"))
    browser.find_element(By.ID, "file").send_keys(str(picture))
    browser.find_element(By.ID, "submit").click()
    first = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#labels li.label"))
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "upload-page.png"))
    assert first.get_attribute("data-label") == expected_label
    assert len(browser.find_elements(By.CSS_SELECTOR, "#labels li.label")) == 3
    preview = browser.find_element(By.ID, "preview")
    assert preview.is_displayed()
    assert browser.execute_script("return arguments[0].naturalWidth", preview) == 28
    assert browser.find_element(By.ID, "error").text == ""
