"""The municipal and insurance services in a real browser, as `idp demo` runs them: the whole
journey from the municipal service, single sign-on into the insurance service with no form,
logout at one ending the other (back-channel), and every service page photographed in Persian
and English at phone (390×844) and desktop (1366×768) size, in ``test-artifacts/browser/services/``.
"""

import re
from pathlib import Path

import pytest
from live import demo_person, read_otp
from relying_parties import FATEMEH, running_services
from test_journey_browser import CHROMIUM, Recorder, fa, fill_and_submit, launch_chromium
from walker import Submit, Walk, answers

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / "services"
VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 768)}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


@pytest.fixture(scope="module")
def shots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture
def sites(tmp_path):
    with running_services(tmp_path) as running:
        yield running


@pytest.fixture
def browser(shots):
    with launch_chromium() as browser:
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, viewport: str = "phone"):
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=2 if phone else 1, is_mobile=phone,
                                  has_touch=phone, locale="fa-IR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def shoot(page, name: str) -> None:
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def assert_service_page(page, origin: str, lang: str = "fa") -> None:
    """A service page: its language and direction, Vazirmatn served by the service itself,
    and nothing wider than the window (readable on a phone without sideways scrolling)."""
    assert page.url.startswith(origin), page.url
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "fa" else "ltr")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.evaluate("document.fonts.check('16px Vazirmatn')")
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.replace('"', "").startswith("Vazirmatn"), family
    fonts = page.evaluate("""() => performance.getEntriesByType('resource')
        .map(entry => entry.name).filter(name => name.includes('Vazirmatn'))""")
    assert fonts and all(font.startswith(origin + "/") for font in fonts), fonts
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def journey(page, sites, person: dict, record: Recorder | None = None) -> list[str]:
    """Answer the provider's journey pages (the shared walker's answers) until the browser is
    back at a service; returns the steps walked."""
    walk = Walk(answers(person, lambda mobile: read_otp(sites.outbox, mobile)),
                provider=sites.issuer)
    while page.url.startswith(sites.issuer):
        page.wait_for_load_state("load")
        action = walk.step(page.url, 200, page.content())
        assert isinstance(action, Submit), action
        if record:
            record.shot(f"provider-{action.step}")
        fill_and_submit(page, action)
    return walk.steps


def test_municipal_journey_single_sign_on_into_insurance_and_back_channel_logout(sites, browser):
    page = new_page(browser)
    record = Recorder(page, prefix="services/journey-")
    municipal, insurance = sites["municipal"], sites["insurance"]

    page.goto(municipal + "/")
    assert_service_page(page, municipal)
    record.shot("municipal-home")
    page.get_by_role("link", name="ورود با پنجره ملی").click()
    assert journey(page, sites, demo_person, record) == ["mobile", "otp", "identity", "postal"]

    # The only question the service asks itself: the e-mail its registration required.
    page.wait_for_url(municipal + "/email")
    assert_service_page(page, municipal)
    page.get_by_label("پست الکترونیک").fill("ali@example")
    page.get_by_role("button", name="ثبت").click()
    assert "پست الکترونیک وارد شده معتبر نیست" in page.locator("#email-error").inner_text()
    record.shot("municipal-email-refused")
    page.get_by_label("پست الکترونیک").fill("ali@example.ir")
    page.get_by_role("button", name="ثبت").click()
    page.wait_for_url(municipal + "/")
    assert demo_person["family_name"] in page.locator("#citizen-name").inner_text()
    for service in ("اطلاعات شهروندی", "پست الکترونیک", "پاسخگویی به مشکلات"):
        assert page.get_by_role("link", name=service).is_visible()
    record.shot("municipal-services")
    page.get_by_role("link", name="اطلاعات شهروندی").click()
    profile = page.locator("main").inner_text()
    for value in (fa(demo_person["national_code"]), fa("1360/01/01"),
                  fa(demo_person["postal_code"]), fa(demo_person["mobile"]), "ali@example.ir"):
        assert value in profile, value
    record.shot("municipal-profile")

    # Single sign-on: the provider answers at once, no page of its own is shown.
    page.goto(insurance + "/")
    record.shot("insurance-home")
    shown: list[str] = []
    page.on("framenavigated", lambda frame: shown.append(frame.url))
    page.get_by_role("link", name="ورود با پنجره ملی").click()
    page.wait_for_url(insurance + "/")
    assert not [url for url in shown if url.startswith(sites.issuer)], shown
    assert_service_page(page, insurance)
    assert fa("1234567890") in page.locator("#insurance-number").inner_text()
    record.shot("insurance-dashboard")
    page.get_by_role("link", name="سوابق بیمه").click()
    assert "شرکت داده‌پردازان آزمایشی" in page.locator("#employers").inner_text()
    record.shot("insurance-history")
    page.get_by_role("link", name="دفترچه بیمه").first.click()
    page.get_by_role("button", name="ثبت درخواست دفترچه بیمه").click()
    assert "با موفقیت ثبت گردید" in page.locator("main").inner_text()
    assert "ثبت شده، در انتظار بررسی" in page.locator("#booklet-requests").inner_text()
    record.shot("insurance-booklet-requested")

    # Logging out at the insurance service ends the municipal session too (back-channel).
    page.get_by_role("button", name="خروج").click()
    page.wait_for_url(re.compile(re.escape(insurance) + r"/(\?.*)?$"))
    assert "خارج شدید" in page.locator("main").inner_text()
    record.shot("insurance-logged-out")
    page.goto(municipal + "/profile")
    page.wait_for_url(re.compile(r".*/login/mobile(\?.*)?$"))  # asked to log in again
    page.goto(municipal + "/")
    assert page.locator("#citizen-name").count() == 0
    assert page.get_by_role("link", name="ورود با پنجره ملی").is_visible()
    record.shot("municipal-logged-out-by-back-channel")
    # The e-mail refusal is a 400 (and Chromium logs it); nothing else may fail.
    assert [p for p in record.problems if "400" not in p] == [], record.problems


MUNICIPAL_PAGES = [("services", "/"), ("profile", "/profile"), ("email", "/email"),
                   ("support", "/support"), ("not-found", "/no-such-page")]
INSURANCE_PAGES = [("dashboard", "/"), ("history", "/history"), ("booklet", "/booklet")]


def switch_language(page, origin: str, lang: str) -> None:
    page.goto(f"{origin}/lang/{lang}?next=/")


def photograph(page, viewport: str, origin: str, app: str, pages, *, logged_in: bool) -> None:
    for lang in ("fa", "en"):
        switch_language(page, origin, lang)
        for name, path in pages:
            page.goto(origin + path)
            assert_service_page(page, origin, lang)
            assert (page.locator("#citizen-name").count() == 1) == logged_in, page.url
            shoot(page, f"{viewport}-{app}-{name}-{lang}")
        switch_language(page, origin, "fa")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_service_page_in_persian_and_english(sites, browser, viewport):
    page = new_page(browser, viewport)
    municipal, insurance = sites["municipal"], sites["insurance"]
    photograph(page, viewport, municipal, "municipal", [("home", "/")], logged_in=False)
    photograph(page, viewport, insurance, "insurance", [("home", "/")], logged_in=False)

    page.goto(municipal + "/login")
    journey(page, sites, demo_person)
    page.wait_for_url(municipal + "/email")
    for lang in ("fa", "en"):
        switch_language(page, municipal, lang)
        page.goto(municipal + "/email")
        assert_service_page(page, municipal, lang)
        shoot(page, f"{viewport}-municipal-email-first-{lang}")
    switch_language(page, municipal, "fa")
    page.get_by_label("پست الکترونیک").fill("ali@example.ir")
    page.get_by_role("button", name="ثبت").click()
    page.wait_for_url(municipal + "/")
    photograph(page, viewport, municipal, "municipal", MUNICIPAL_PAGES, logged_in=True)

    page.goto(insurance + "/login")
    page.wait_for_url(insurance + "/")
    photograph(page, viewport, insurance, "insurance", INSURANCE_PAGES, logged_in=True)
    switch_language(page, insurance, "en")
    page.goto(insurance + "/")
    assert "Insurance number" in page.locator("main").inner_text()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(re.escape(insurance) + r"/(\?.*)?$"))
    assert "You have logged out" in page.locator("main").inner_text()
    shoot(page, f"{viewport}-insurance-logged-out-en")

    # A citizen the insurer has no record of.
    other = new_page(browser, viewport)
    other.goto(insurance + "/login")
    journey(other, sites, FATEMEH)
    other.wait_for_url(insurance + "/")
    photograph(other, viewport, insurance, "insurance", [("no-record", "/")], logged_in=True)
