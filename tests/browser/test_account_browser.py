"""The citizen's account page in a real browser (issue 12): revoking a service, ending a session
from another browser, verifying an e-mail, switching language; screenshots of every tab in
Persian and English at phone and desktop size in ``test-artifacts/account/``; and axe-core on
every provider page the journey and the account page reach.

Debian's Chromium through Playwright (never ``playwright install``). axe-core comes from npm
into ``tests/browser/.cache/`` (ignored by git), as the benchmark installs its Node packages;
without npm or the registry the accessibility test is skipped.
"""

import json
import re
import secrets
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
from live import free_port, read_otp, serve, write_config
from test_journey_browser import CHROMIUM, launch_chromium
from walker import DEMO_PERSON, Landed, Submit, Walk, answers

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "account"
AXE_CACHE = Path(__file__).resolve().parent / ".cache"
SERVICE_NAME = "سامانه آزمایشی شهروندی"
MARYAM = {"mobile": "09350000002", "national_code": "1214792235", "birth": (1365, 5, 20)}
HOSSEIN = {"mobile": "09350000005", "national_code": "1371522200", "birth": (1340, 3, 30)}
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}
TABS = {"profile": ("مشخصات", "Profile"), "services": ("سامانه‌ها", "Services"),
        "sessions": ("نشست‌ها", "Sessions"), "history": ("سوابق ورود", "History")}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


class Service:
    """A relying party reduced to what the account page touches: a redirect URI that greets the
    citizen, and a back-channel logout endpoint that keeps the tokens it receives."""

    def __init__(self) -> None:
        self.logout_tokens: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/backchannel-logout":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = parse_qs(environ["wsgi.input"].read(size).decode())
            with self.lock:
                self.logout_tokens += body.get("logout_token", [])
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return ['<!doctype html><html lang="fa" dir="rtl"><title>سامانه</title>'
                '<main><h1>خوش آمدید</h1></main></html>'.encode()]


@pytest.fixture
def sites(tmp_path):
    from idp import create_app
    from idp.settings import load_settings

    service = Service()
    provider_port, service_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    config = write_config(tmp_path, port=provider_port, clients=[{
        "client_id": "citizen-svc", "client_secret": secrets.token_urlsafe(24),
        "name": SERVICE_NAME, "redirect_uris": [service_url + "/callback"],
        "backchannel_logout_uri": service_url + "/backchannel-logout",
        "scope": "openid profile phone email national_id"}])
    settings = load_settings(config, environ={})
    provider = create_app(settings)
    with serve(provider, provider_port), serve(service, service_port):
        yield {"issuer": settings.server.issuer, "service": service_url, "app": provider,
               "service_app": service, "sms": settings.path(settings.sms.outbox_path),
               "mail": settings.path(settings.email.outbox_path)}
    provider.extensions["idp"].db.engine.dispose()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture
def browser(artifacts):
    with launch_chromium() as chromium:
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser, size: str = "phone", **options):
    context = browser.new_context(viewport=SIZES[size], locale="fa-IR", **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def shot(page, name: str, size: str | None = None) -> None:
    if size:
        page.set_viewport_size(SIZES[size])
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def cool_down_over(sites, person) -> None:
    sites["app"].extensions["idp"].store.delete(f"otp-cooldown:+98{person['mobile'][1:]}")


def walk(page, sites, person, *, until_consent: bool = False, visit=None) -> None:
    """Answer each journey page as the shared walker says, typing into the fields by name.
    ``visit(page, step)`` is called on each step's page before it is filled."""
    cool_down_over(sites, person)
    table = answers({**person, "consent": None if until_consent else "allow"},
                    lambda mobile: read_otp(sites["sms"], mobile))
    walker = Walk(table, provider=sites["issuer"])
    while True:
        page.wait_for_load_state("load")
        action = walker.step(page.url, 200, page.content())
        if isinstance(action, Landed):
            return
        assert isinstance(action, Submit), action
        if visit:
            visit(page, action.step)
        form = page.locator(f'main form[action*="/login/{action.step}"]').first
        button = form.locator("button[type=submit]").first
        for name, value in action.typed.items():
            field = form.locator(f'[name="{name}"]').first
            tag, kind = field.evaluate("e => [e.tagName.toLowerCase(), e.type]")
            if tag == "button":
                button = form.locator(f'button[name="{name}"][value="{value}"]')
            elif tag == "select":
                field.select_option(value)
            elif kind != "hidden":
                field.fill(value)
        with page.expect_navigation():
            button.click()


def authorize_url(sites) -> str:
    return sites["issuer"] + "/authorize?" + urlencode({
        "response_type": "code", "client_id": "citizen-svc",
        "redirect_uri": sites["service"] + "/callback", "scope": "openid profile phone",
        "state": secrets.token_hex(8), "nonce": secrets.token_hex(8),
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})


def log_in_at_service(page, sites, person) -> None:
    page.goto(authorize_url(sites))
    walk(page, sites, person)
    assert re.match(re.escape(sites["service"]) + r"/callback\?.*\bcode=", page.url), (
        page.url, page.locator("main").inner_text())


def log_in_at_account_page(page, sites, person) -> None:
    page.goto(sites["issuer"] + "/account")
    page.get_by_role("button", name="ورود به حساب کاربری").click()
    walk(page, sites, person)
    page.wait_for_url(sites["issuer"] + "/account")


def open_tab(page, label: str) -> None:
    page.get_by_role("navigation", name=re.compile("بخش‌های حساب کاربری|account", re.I)) \
        .get_by_role("link", name=label).click()
    page.wait_for_load_state("load")
    assert page.locator('a[aria-current="page"]', has_text=label).count() == 1


def test_account_page_revokes_a_service_ends_a_session_and_verifies_an_email(sites, browser):
    person = DEMO_PERSON
    page = new_page(browser, "phone")
    log_in_at_service(page, sites, person)
    page.goto(sites["issuer"] + "/account")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text().strip() == "حساب کاربری"

    # Every tab, Persian and English, phone and desktop: the screenshots a person looks at.
    for language, switch in (("fa", None), ("en", "English")):
        if switch:
            page.get_by_role("link", name=switch).click()
            page.wait_for_load_state("load")
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.locator("html").get_attribute("dir") == "ltr"
        for key, labels in TABS.items():
            open_tab(page, labels[0 if language == "fa" else 1])
            for size in SIZES:
                shot(page, f"{key}-{language}-{size}", size)
    page.get_by_role("link", name="فا").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "fa"
    page.set_viewport_size(SIZES["phone"])

    # The e-mail: added on the profile tab, verified by the code sent to it.
    open_tab(page, "مشخصات")
    page.get_by_label("افزودن ایمیل شخصی").fill("ali.mohammadi@example.ir")
    page.get_by_role("button", name="ارسال رمز تایید").click()
    page.wait_for_load_state("load")
    mail = json.loads(Path(sites["mail"]).read_text(encoding="utf-8").splitlines()[-1])
    assert mail["to"] == "ali.mohammadi@example.ir" and mail["purpose"] == "email_verify"
    shot(page, "email-code-fa-phone")
    page.get_by_label("رمز تایید ایمیل").fill(mail["code"])
    page.get_by_role("button", name="تایید ایمیل").click()
    page.wait_for_load_state("load")
    assert "ایمیل شما تایید شد" in page.locator("main").inner_text()
    assert "ali.mohammadi@example.ir" in page.locator("main").inner_text()
    shot(page, "email-verified-fa-phone")

    # Revoking the service: gone from the list, and the service was told (back-channel).
    open_tab(page, "سامانه‌ها")
    assert SERVICE_NAME in page.locator("main").inner_text()
    page.get_by_role("button", name=f"لغو دسترسی {SERVICE_NAME}").click()
    page.wait_for_load_state("load")
    assert "لغو شد" in page.locator("main").inner_text()
    assert page.get_by_role("button", name=f"لغو دسترسی {SERVICE_NAME}").count() == 0
    assert len(sites["service_app"].logout_tokens) == 1
    shot(page, "services-revoked-fa-phone")

    # A second browser (a desktop) logs in; the phone ends that session.
    desktop = new_page(browser, "desktop")
    log_in_at_account_page(desktop, sites, person)
    open_tab(page, "نشست‌ها")
    page.reload()
    items = page.locator("main li.item")
    assert items.count() == 2
    shot(page, "sessions-two-fa-phone")
    other = page.locator("main li.item:not(.current)")
    other.get_by_role("button", name=re.compile("پایان نشست")).click()
    page.wait_for_load_state("load")
    assert "نشست پایان یافت" in page.locator("main").inner_text()
    assert page.locator("main li.item").count() == 1
    desktop.reload()
    assert desktop.get_by_role("button", name="ورود به حساب کاربری").is_visible()
    shot(desktop, "session-ended-elsewhere-fa-desktop")
    desktop.context.close()

    # Log out everywhere: this browser too.
    page.get_by_role("button", name="خروج از همه نشست‌ها").click()
    page.wait_for_url(sites["issuer"] + "/account")
    assert page.get_by_role("button", name="ورود به حساب کاربری").is_visible()
    page.context.close()


# --- axe-core ----------------------------------------------------------------------------------

def axe_source() -> str:
    """axe.min.js from npm, installed once into tests/browser/.cache/."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: axe-core unavailable")
        AXE_CACHE.mkdir(exist_ok=True)
        (AXE_CACHE / "package.json").write_text(
            '{"private": true, "dependencies": {"axe-core": "4"}}\n', encoding="utf-8")
        try:
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=AXE_CACHE, check=True, capture_output=True, timeout=300)
        except (subprocess.SubprocessError, OSError):
            pytest.skip("axe-core could not be installed from npm")
    return script.read_text(encoding="utf-8")


def serious_violations(page, source: str) -> list[str]:
    page.add_script_tag(content=source)
    result = page.evaluate("""() => axe.run(document, {resultTypes: ['violations']})""")
    return [f"{page.url} [{v['impact']}] {v['id']}: "
            + "; ".join(str(node["target"][0]) for node in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_no_serious_accessibility_violations_on_provider_pages(sites, browser):
    source = axe_source()
    found: list[str] = []
    seen: set[str] = set()
    page = new_page(browser, "phone", bypass_csp=True)  # axe is injected as an inline script

    def check(current, label: str) -> None:
        key = f"{label}:{current.locator('html').get_attribute('lang')}"
        if key not in seen:
            seen.add(key)
            found.extend(serious_violations(current, source))
        if label == "returning-otp":
            # The code page of a citizen with a national e-mail: «ارسال ایمیل», address masked.
            assert current.get_by_role("button", name="ارسال ایمیل").is_visible()
            assert "m•••@example.ir" in current.locator("main").inner_text()
            shot(current, "otp-with-email-fa-phone")

    for language in ("fa", "en"):
        page.goto(f"{sites['issuer']}/language/{language}?next=/account")
        check(page, "welcome")
        for path in ("/faq", "/contact", "/guide", "/no-such-page"):
            page.goto(sites["issuer"] + path)
            check(page, path)

    # Every journey step and account tab, in both languages; then a returning citizen with a
    # national e-mail, whose code page offers «ارسال ایمیل».
    for language, person, prefix in (("fa", MARYAM, ""), ("en", HOSSEIN, ""),
                                     ("fa", MARYAM, "returning-")):
        page.goto(f"{sites['issuer']}/language/{language}?next=/account")
        page.goto(authorize_url(sites))
        walk(page, sites, person, until_consent=True,
             visit=lambda current, step, prefix=prefix: check(current, prefix + step))
        if "/login/consent" in page.url:
            check(page, "consent")
            page.get_by_role("button", name=re.compile("اجازه می‌دهم|Allow")).click()
        page.wait_for_url(re.compile(re.escape(sites["service"]) + ".*"))
        for key in TABS:
            page.goto(f"{sites['issuer']}/account/{key}")
            check(page, key)
        page.goto(sites["issuer"] + "/logout")
        check(page, "logout")
        page.get_by_role("button", name=re.compile("^(خروج|Log out)$")).first.click()
        page.wait_for_load_state("load")
        check(page, "logged-out")

    assert {"mobile:fa", "otp:en", "identity:en", "consent:en", "returning-otp:fa",
            "history:en"} <= seen
    assert found == [], "\n".join(found)
    page.context.close()
