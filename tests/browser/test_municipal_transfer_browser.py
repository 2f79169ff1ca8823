"""«درخواست انتقال» in Chromium, JavaScript on and off (issue 10): «گام بعدی» of «تعهدات» waits
for the tick with JavaScript and is refused by the server without it; «+» adds a file input
only where JavaScript runs. Screenshots at 390×844 in test-artifacts/browser/municipal-transfer/.
"""

from pathlib import Path

import pytest
import requests
from relying_parties import csrf_of, give_email, log_in, running_services
from test_journey_browser import CHROMIUM, launch_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / \
    "municipal-transfer"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture
def sites(tmp_path, monkeypatch):
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    with running_services(tmp_path, names=("municipal",)) as running:
        yield running


@pytest.fixture
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as browser:
        try:
            yield browser
        finally:
            browser.close()


def logged_in_page(browser, sites, javascript: bool):
    """A browser page carrying the login a ``requests`` walk through the provider made."""
    http = requests.Session()
    log_in(http, sites)
    give_email(http, sites)
    listing = http.get(sites["municipal"] + "/transfer", timeout=10)
    first = http.post(sites["municipal"] + "/transfer/new", timeout=10, allow_redirects=False,
                      data={"csrf_token": csrf_of(listing)}).headers["Location"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fa-IR",
                                  java_script_enabled=javascript)
    context.add_cookies([{"name": "municipal_session", "value": http.cookies["municipal_session"],
                          "url": sites["municipal"]}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page, sites["municipal"] + first


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_commitments_step_with_and_without_javascript(browser, sites, javascript):
    page, first = logged_in_page(browser, sites, javascript)
    page.goto(first)
    assert page.locator("html").get_attribute("dir") == "rtl"
    next_step = page.get_by_role("button", name="گام بعدی")
    page.screenshot(path=str(ARTIFACTS / f"step1-{'js' if javascript else 'no-js'}.png"),
                    full_page=True)
    if javascript:
        assert next_step.is_disabled()
        page.get_by_label("تمامی موارد فوق مورد تأیید است").check()
        assert next_step.is_enabled()
        next_step.click()
        page.wait_for_url("**/2")
    else:
        assert next_step.is_enabled()
        next_step.click()
        assert "تأیید تعهدات الزامی است" in page.content()
        page.get_by_label("تمامی موارد فوق مورد تأیید است").check()
        page.get_by_role("button", name="گام بعدی").click()
        page.wait_for_url("**/2")
    page.get_by_label("کدنوسازی").fill("۱۰-۱۲۳-۴۵۶-۷")
    page.get_by_label("شماره درخواست یا گواهی").fill("1401-55871")
    page.get_by_role("button", name="جستجو").click()
    assert "شماره درخواست معتبر می باشد" in page.content()
    page.screenshot(path=str(ARTIFACTS / f"step2-{'js' if javascript else 'no-js'}.png"),
                    full_page=True)
    page.get_by_role("button", name="گام بعدی").click()
    page.wait_for_url("**/3")
    plus = page.locator("#add-file")
    assert plus.is_visible() is javascript
    if javascript:
        plus.click()
        assert page.locator("input[type=file]").count() == 2
    page.screenshot(path=str(ARTIFACTS / f"step3-{'js' if javascript else 'no-js'}.png"),
                    full_page=True)
