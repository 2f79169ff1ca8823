"""A citizen logs in to the municipal app with a real browser, at phone width.

Debian's Chromium is driven by Playwright (never ``playwright install``); every page is saved to
``test-artifacts/browser/`` so that a person can look at what the citizen saw.
"""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from live import demo_person, free_port, read_otp, serve, write_config
from walker import Landed, Submit, Walk, answers

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
MUNICIPAL_NAME = "سامانه حساب شهروندی شهرداری"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@contextmanager
def launch_chromium() -> Iterator:
    """Debian's Chromium under Playwright, as every browser test runs it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"])
        try:
            yield browser
        finally:
            browser.close()


def fa(text: str) -> str:
    return text.translate(PERSIAN)


@pytest.fixture
def sites(tmp_path):
    """The provider and the municipal app, each on its own port, as a browser sees them."""
    from clients.demo import DEMO_APPS
    from idp import create_app
    from idp.settings import load_settings

    provider_port, municipal_port = free_port(), free_port()
    municipal_url = f"http://127.0.0.1:{municipal_port}"
    secret = secrets.token_urlsafe(24)
    app = next(app for app in DEMO_APPS if app.name == "municipal")
    # Not first-party here, so that the consent page is part of the journey.
    registration = {**app.registration(municipal_url, secret), "first_party": False,
                    "name": MUNICIPAL_NAME}
    config = write_config(tmp_path, port=provider_port, clients=[registration])
    settings = load_settings(config, environ={})
    provider = create_app(settings)
    issuer = settings.server.issuer
    municipal = app.create(issuer, secret, municipal_url, f"sqlite:///{tmp_path / 'm.sqlite'}")
    with serve(provider, provider_port), serve(municipal, municipal_port):
        yield {"issuer": issuer, "municipal": municipal_url,
               "outbox": settings.path(settings.sms.outbox_path)}
    provider.extensions["idp"].db.engine.dispose()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots of this run only: the folder is emptied once, at the start."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture
def browser_page(artifacts):
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      device_scale_factor=2, is_mobile=True, has_touch=True,
                                      locale="fa-IR")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


class Recorder:
    """Numbered full-page screenshots, and what went wrong on the way (console, HTTP)."""

    def __init__(self, page, prefix: str = "") -> None:
        self.page = page
        self.prefix = prefix
        self.count = 0
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error" and "favicon.ico" not in message.text:
            self.problems.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.wait_for_load_state("load")
        self.page.evaluate("document.fonts.ready.then(() => true)")
        self.page.screenshot(path=ARTIFACTS / f"{self.prefix}{self.count:02d}-{name}.png",
                             full_page=True)


def assert_provider_page(page, issuer: str, heading: str) -> None:
    """A journey page: right to left, Persian, set in Vazirmatn, with the expected heading."""
    assert page.url.startswith(issuer), page.url
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "fa"
    assert page.locator("h1").first.inner_text().strip() == heading
    page.evaluate("document.fonts.ready.then(() => true)")
    loaded = page.evaluate("""() => [...document.fonts].some(
        face => face.family.replace(/["']/g, '') === 'Vazirmatn' && face.status === 'loaded')""")
    assert loaded, "the Vazirmatn web font was not loaded"
    assert page.evaluate("document.fonts.check('16px Vazirmatn')")
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.replace('"', "").startswith("Vazirmatn"), family


def fill_and_submit(page, action: Submit, before_submit=None) -> None:
    """Type the walker's answers into the step's form by field name, as a thumb would, and
    press its button (the one named by the answers, else the form's main button)."""
    form = page.locator(f'main form[action*="/login/{action.step}"]').first
    button = form.locator("button[type=submit]").first
    for name, value in action.typed.items():
        field = form.locator(f'[name="{name}"]').first
        tag, kind = field.evaluate("e => [e.tagName.toLowerCase(), e.type]")
        if tag == "button":
            button = form.locator(f'button[name="{name}"][value="{value}"]')
        elif tag == "select":
            field.select_option(value)
        elif kind == "hidden":
            assert field.input_value() == value, (name, field.input_value())
        else:
            # Typed key by key in Persian digits, as a Persian phone keyboard sends them.
            field.press_sequentially(fa(value))
    if before_submit:
        before_submit()
    with page.expect_navigation():
        button.click()


def check_mobile(page, sites, person) -> None:
    assert_provider_page(page, sites["issuer"], "ورود به سامانه از طریق رمز یکبار مصرف")
    assert MUNICIPAL_NAME in page.locator("main").inner_text()


def check_otp(page, sites, person) -> None:
    assert_provider_page(page, sites["issuer"], "ورود رمز یکبار مصرف")
    notice = page.locator("main").inner_text()
    assert fa(person["mobile"]) in notice or person["mobile"] in notice
    assert "*4*40#" in notice  # seed 002: the USSD fallback


def check_identity(page, sites, person) -> None:
    assert_provider_page(page, sites["issuer"], "احراز هویت")
    tabs = page.locator("main .tabs").inner_text()
    assert "ایرانی" in tabs and "اتباع" in tabs


def check_postal(page, sites, person) -> None:
    assert_provider_page(page, sites["issuer"], "تایید کد پستی")
    assert "آخرین نشانی ثبت شده" in page.locator("main").inner_text()  # seed 002 §4.1
    shown = page.locator("#postal_code").input_value().translate(ASCII)
    assert shown == person["postal_code"]


def check_consent(page, sites, person) -> None:
    assert_provider_page(page, sites["issuer"], "اجازه دسترسی")
    assert MUNICIPAL_NAME in page.locator("main").inner_text()


CHECKS = {"mobile": check_mobile, "otp": check_otp, "identity": check_identity,
          "postal": check_postal, "consent": check_consent}
# Pages photographed again once the answers are typed in.
FILLED_SHOTS = {"mobile": "mobile-typed", "identity": "identity-filled"}


def walk_to_consent(page, sites, record: Recorder, person: dict = demo_person) -> None:
    """From the municipal home page through every journey step up to the consent page, driven
    by the shared walker (tests/walker.py) with the answers it gives for each step."""
    page.goto(sites["municipal"] + "/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    login = page.get_by_role("link", name="ورود با پنجره ملی")
    assert login.is_visible()
    record.shot("municipal-home")

    login.click()
    page.wait_for_url(re.compile(r".*/login/mobile(\?.*)?$"))
    table = answers({**person, "consent": None},  # stop on the consent page
                    lambda mobile: read_otp(sites["outbox"], mobile))
    walk = Walk(table, provider=sites["issuer"])
    while True:
        page.wait_for_load_state("load")
        action = walk.step(page.url, 200, page.content())
        if isinstance(action, Landed) and action.step == "consent":
            break
        assert isinstance(action, Submit), action
        CHECKS[action.step](page, sites, person)
        record.shot(action.step)
        filled = FILLED_SHOTS.get(action.step)
        fill_and_submit(page, action, before_submit=filled and (lambda f=filled: record.shot(f)))
    check_consent(page, sites, person)
    record.shot("consent")
    assert walk.steps == ["mobile", "otp", "identity", "postal"]


def test_citizen_logs_in_to_the_municipal_app_on_a_phone(sites, browser_page):
    page, issuer, person = browser_page, sites["issuer"], demo_person
    record = Recorder(page)
    walk_to_consent(page, sites, record, person)
    page.get_by_role("button", name="اجازه می‌دهم").click()

    # The service asks only what the provider does not release: the e-mail (seed 000).
    page.wait_for_url(sites["municipal"] + "/email")
    record.shot("municipal-email")
    page.get_by_label("پست الکترونیک").fill("ali@example.ir")
    page.get_by_role("button", name="ثبت").click()
    page.wait_for_url(sites["municipal"] + "/")
    name = page.locator("#citizen-name").inner_text()
    assert person["given_name"] in name and person["family_name"] in name
    record.shot("municipal-services")
    page.get_by_role("link", name="اطلاعات شهروندی").click()
    table = page.locator("main").inner_text()
    assert fa(person["national_code"]) in table
    assert fa(person["postal_code"]) in table
    assert fa(person["mobile"]) in table
    record.shot("municipal-profile")
    cookie = next(c for c in page.context.cookies() if c["name"] == "municipal_session")
    assert len(cookie["value"]) < 3500  # browsers drop cookies over 4096 bytes

    page.get_by_role("button", name="خروج").click()
    page.wait_for_load_state("load")
    if page.url.startswith(issuer):
        # The provider may ask before ending the single sign-on session.
        assert_provider_page(page, issuer, "خروج از سامانه")
        record.shot("logout-confirm")
        page.locator("button[name=confirm]").click()
    page.wait_for_url(re.compile(re.escape(sites["municipal"]) + r"/(\?.*)?$"))
    assert "خارج شدید" in page.locator("main").inner_text()
    assert page.locator("#citizen-name").count() == 0
    record.shot("municipal-logged-out")

    # The provider's session ended too: logging in again starts at the mobile page.
    page.get_by_role("link", name="ورود با پنجره ملی").click()
    page.wait_for_url(re.compile(r".*/login/mobile(\?.*)?$"))
    record.shot("mobile-after-logout")

    assert record.problems == []


def test_citizen_who_refuses_consent_is_told_so_by_the_municipal_app(sites, browser_page):
    page = browser_page
    record = Recorder(page, prefix="deny-")
    walk_to_consent(page, sites, record)
    page.get_by_role("button", name="اجازه نمی‌دهم").click()

    # OIDC Core §3.1.2.6: access_denied goes back to the client, which explains it in Persian.
    page.wait_for_url(re.compile(re.escape(sites["municipal"]) + r"/callback\?.*"))
    assert "error=access_denied" in page.url
    assert "اجازه دسترسی به اطلاعات شما داده نشد" in page.locator("main").inner_text()
    assert page.locator("#citizen-name").count() == 0
    record.shot("municipal-refused")
    # The refusal page itself is a 400 (and Chromium logs it); nothing else may fail.
    assert f"HTTP 400: {page.url}" in record.problems
    assert [problem for problem in record.problems if "400" not in problem] == []
