"""A real browser (Debian's chromium through chromium-driver) against the local runtime: log in through
the control plane's picker, see the end-of-maintenance banner on the dashboard, open the Runtime
page from Airflow's navigation, dismiss the banner. Screenshots go to .local/test-artifacts/ui/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from astronomer_runtime import paths
from tests.astronomer_plugins.ui.conftest import PrefixedDeployment, near_end_of_maintenance_catalog
from tests.support.control_plane import create_user
from tests.support.servers import LocalRuntime, poll

pytestmark = pytest.mark.integration

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = paths.LOCAL_DIR / "test-artifacts" / "ui"
NEWEST = "3.3-2"  # what `astro-runtime dev` runs: the catalog's newest stable release
VIEWER = "Vera Viewer"  # seeded WORKSPACE_MEMBER
LIGHT_BACKGROUND, DARK_BACKGROUND = "rgb(255, 255, 255)", "rgb(17, 19, 23)"  # runtime.css
BANNER_TEXT = """
const host = document.querySelector('astro-eom-banner');
const box = host && host.shadowRoot && host.shadowRoot.querySelector('[data-testid="astro-eom-banner"]');
return box ? box.textContent : null;
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    base = tmp_path_factory.mktemp("browser")
    catalog = near_end_of_maintenance_catalog(base / "versions.yaml", NEWEST, 12)
    runtime = LocalRuntime(root=base / "runtime", project=paths.REPO_ROOT, catalog_file=catalog)
    try:
        yield runtime.start()
    finally:
        runtime.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: apt-get install chromium chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver, name: str) -> Path:  # noqa: ANN001 - selenium WebDriver
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def _element_with_text(driver, css: str, text: str):  # noqa: ANN001, ANN202
    from selenium.webdriver.common.by import By

    return next((e for e in driver.find_elements(By.CSS_SELECTOR, css) if text in e.text), None)


def _open_runtime_page(driver, runtime: LocalRuntime) -> None:  # noqa: ANN001
    """Airflow's route for our nav entry (external view with url_route), then into its frame."""
    from selenium.webdriver.common.by import By

    driver.get(runtime.url + "/plugin/astronomer-runtime")
    frame = poll(lambda: driver.find_elements(By.CSS_SELECTOR, "iframe[src*='astronomer/runtime']"), timeout=60,
                 interval=0.5, what="the Runtime page frame in Airflow's UI")[0]  # fmt: skip
    driver.switch_to.frame(frame)
    poll(lambda: driver.find_elements(By.TAG_NAME, "h1"), timeout=30, interval=0.5, what="the Runtime page heading")


def _theme(driver) -> tuple[str, str]:  # noqa: ANN001
    theme, background = driver.execute_script(
        "return [document.documentElement.getAttribute('data-theme'), getComputedStyle(document.body).backgroundColor]"
    )
    return theme, background


def _fetch_json(driver, path: str):  # noqa: ANN001, ANN202 - the browser's own cookies authenticate it
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.json()).then(done, e => done('error: ' + e));",
        path,
    )


def test_login_banner_runtime_page_and_dismissal(runtime: LocalRuntime, browser) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    browser.get(runtime.url + "/")
    viewer = poll(lambda: _element_with_text(browser, "button", VIEWER), timeout=60, interval=0.5,
                  what="the control plane's user picker")  # fmt: skip
    _screenshot(browser, "1-control-plane-login")
    viewer.click()

    banner = poll(lambda: browser.execute_script(BANNER_TEXT), timeout=90, interval=0.5, what="the dashboard banner")
    assert f"Astronomer Runtime {NEWEST} reaches its end of maintenance in 12 days" in banner
    _screenshot(browser, "2-dashboard-banner")

    _open_runtime_page(browser, runtime)
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Astronomer Runtime {NEWEST}"
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "maintained until" in text and "Providers" in text and "Control-plane connection" in text
    assert "reaches its end of maintenance in 12 days" in text
    assert _theme(browser) == ("light", LIGHT_BACKGROUND)
    browser.switch_to.default_content()
    _screenshot(browser, "3-runtime-page-in-airflow")

    browser.execute_script("localStorage.setItem('theme', 'dark')")  # Airflow's own colour-mode switch
    _open_runtime_page(browser, runtime)
    assert _theme(browser) == ("dark", DARK_BACKGROUND)
    browser.switch_to.default_content()
    _screenshot(browser, "4-runtime-page-in-airflow-dark")
    browser.execute_script("localStorage.setItem('theme', 'light')")

    browser.get(runtime.url + "/")
    poll(lambda: browser.execute_script(BANNER_TEXT), timeout=60, interval=0.5, what="the banner again")
    browser.execute_script(
        "document.querySelector('astro-eom-banner').shadowRoot.querySelector('[data-testid=\"astro-eom-dismiss\"]').click()"
    )
    poll(lambda: browser.execute_script(BANNER_TEXT) is None, timeout=20, interval=0.3, what="the banner to close")
    assert _fetch_json(browser, "/astronomer/api/notice") is None  # dismissed for this user, kept across pages
    _screenshot(browser, "5-dashboard-dismissed")


def _all_cookies(driver) -> dict[str, dict]:  # noqa: ANN001 - every cookie of the browser, with its path
    return {cookie["name"]: cookie for cookie in driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]}


def test_login_and_logout_behind_a_path_prefix(prefixed_deployment: PrefixedDeployment, browser) -> None:  # noqa: ANN001
    """Hosted deployments live under a path (`[api] base_url = https://host/some/prefix`) behind a proxy
    that forwards only that path: the whole login, its cookies and the logout must keep to it."""
    from selenium.webdriver.common.by import By

    deployment, home = prefixed_deployment, prefixed_deployment.proxy.url
    tree = deployment.tree
    create_user(deployment.control_plane, tree, "pia@example.com",
                [{"scope": "workspace", "scope_id": tree.workspace_id, "role": "WORKSPACE_MEMBER"}])  # fmt: skip
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})  # cookies ignore ports: start clean

    browser.get(home + "/")
    pia = poll(lambda: _element_with_text(browser, "button", "pia@example.com"), timeout=60, interval=0.5,
               what="the control plane's user picker")  # fmt: skip
    pia.click()
    dags = poll(lambda: browser.current_url == home + "/" and _fetch_json(browser, "/some/prefix/api/v2/dags"),
                timeout=60, interval=0.5, what="Airflow's UI under the prefix, logged in")  # fmt: skip
    assert dags == {"dags": [], "total_entries": 0}
    cookies = _all_cookies(browser)
    assert cookies["_token"]["path"] == "/some/prefix/" and cookies["_token"]["httpOnly"]
    assert "_astro_login" not in cookies  # the login cookie lived under /some/prefix/auth and was deleted there
    _screenshot(browser, "6-prefixed-dashboard")

    browser.get(home + "/api/v2/auth/logout")
    signed_out = f"{deployment.control_plane.url}/logout?client_id={tree.deployment_id}"
    poll(lambda: browser.current_url == signed_out, timeout=30, interval=0.3, what="the control plane's logout page")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You are signed out"
    back = browser.find_element(By.PARTIAL_LINK_TEXT, "Back to")
    assert back.get_attribute("href") == home
    assert "_token" not in _all_cookies(browser)
    _screenshot(browser, "7-prefixed-signed-out")

    back.click()  # back to the deployment: no session, so the picker again
    poll(lambda: _element_with_text(browser, "button", "pia@example.com"), timeout=60, interval=0.5,
         what="the picker after logging out")  # fmt: skip
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})
