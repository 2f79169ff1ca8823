"""The employer portal (issue 8) in a real browser at phone width: the CEO logs in through the
provider's company step (refused first for a company they do not run), sees the company, sends
the monthly insurance list (one refusal on the way) and logs out through the provider. Every page
is saved to ``test-artifacts/browser/employer/``."""

import re
from pathlib import Path

import pytest
from live import demo_person, read_otp
from relying_parties import running_services
from test_journey_browser import (
    ARTIFACTS,
    CHROMIUM,
    Recorder,
    assert_provider_page,
    fa,
    fill_and_submit,
    launch_chromium,
)
from test_services_browser import assert_service_page, new_page
from walker import Landed, Submit, Walk, answers

from clients.employer.lists import last_month

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

CEO_OF, NOT_CEO_OF = "10408552260", "10085761056"
COMPANY_NAME = "شرکت نمونه‌سازان آزمایشی"


@pytest.fixture
def browser() -> Path:
    """Chromium, with this test's screenshot folder emptied first."""
    (ARTIFACTS / "employer").mkdir(parents=True, exist_ok=True)
    for old in (ARTIFACTS / "employer").glob("*.png"):
        old.unlink()
    with launch_chromium() as browser:
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def sites(tmp_path):
    with running_services(tmp_path, names=("employer",)) as running:
        yield running


def test_ceo_logs_in_and_sends_the_monthly_list(sites, browser):
    page = new_page(browser)
    record = Recorder(page, prefix="employer/")
    employer = sites["employer"]

    page.goto(employer + "/")
    assert_service_page(page, employer)
    record.shot("home")
    page.get_by_role("link", name="ورود با پنجره ملی").click()

    # The journey, with the company step answered by hand (the walker stops there).
    walk = Walk(answers({**demo_person, "company": None},
                        lambda mobile: read_otp(sites.outbox, mobile)), provider=sites.issuer)
    while True:
        page.wait_for_load_state("load")
        action = walk.step(page.url, 200, page.content())
        if isinstance(action, Landed):
            break
        assert isinstance(action, Submit), action
        record.shot(f"provider-{action.step}")
        fill_and_submit(page, action)
    assert action.step == "company" and walk.steps == ["mobile", "otp", "identity", "postal"]
    assert_provider_page(page, sites.issuer, "ورود حقوقی")
    record.shot("provider-company")

    field = page.get_by_label("شناسه ملی شرکت")
    field.press_sequentially(fa(NOT_CEO_OF))
    with page.expect_navigation():
        page.get_by_role("button", name="ثبت اطلاعات").click()
    refusal = page.locator("main .alert").inner_text()
    assert "فقط شخص مدیرعامل امکان ورود به صورت حقوقی را دارا می باشد" in refusal
    assert "irsherkat.ssaa.ir" in refusal
    record.shot("provider-company-refused")
    field = page.get_by_label("شناسه ملی شرکت")
    field.fill("")
    field.press_sequentially(fa(CEO_OF))
    with page.expect_navigation():
        page.get_by_role("button", name="ثبت اطلاعات").click()

    page.wait_for_url(employer + "/")
    assert_service_page(page, employer)
    assert page.locator("#company-name").inner_text() == COMPANY_NAME
    assert page.locator("#company-id").inner_text() == fa(CEO_OF)
    assert demo_person["family_name"] in page.locator("#ceo-name").inner_text()
    record.shot("dashboard")

    page.get_by_role("link", name="ارسال لیست بیمه").click()
    assert_service_page(page, employer)
    record.shot("new-list")
    rows = [("0499370899", "30", "120000000"), ("1214792235", "20", "95000000")]
    for index, (code, days, wage) in enumerate(rows):
        row = page.locator(f"#row-{index}")
        row.get_by_label("کد ملی").press_sequentially(fa(code))
        row.get_by_label("روزهای کارکرد").press_sequentially(fa(days))
        row.get_by_label("دستمزد ماهانه (ریال)").press_sequentially(fa(wage))
    # A mistyped national code in a third row: the list is not sent, the row says why.
    third = page.locator("#row-2")
    third.get_by_label("کد ملی").press_sequentially(fa("0499370898"))
    third.get_by_label("روزهای کارکرد").press_sequentially(fa("10"))
    third.get_by_label("دستمزد ماهانه (ریال)").press_sequentially(fa("50000000"))
    with page.expect_navigation():
        page.get_by_role("button", name="ثبت و ارسال لیست").click()
    assert "کد ملی باید ۱۰ رقم و معتبر باشد" in page.locator("#row-2").inner_text()
    assert_service_page(page, employer)
    record.shot("new-list-refused")
    third.get_by_label("کد ملی").fill("")
    third.get_by_label("کد ملی").press_sequentially(fa("2607114462"))
    with page.expect_navigation():
        page.get_by_role("button", name="ثبت و ارسال لیست").click()

    page.wait_for_url(re.compile(re.escape(employer) + r"/lists/[0-9]{12}$"))
    assert_service_page(page, employer)
    tracking = page.url.rsplit("/", 1)[1]
    assert page.locator("#tracking-number").inner_text() == fa(tracking)
    assert "کد پیگیری" in page.locator("main .notice").inner_text()
    assert page.locator("#listed-employees tbody tr").count() == 3
    record.shot("list-sent")
    page.get_by_role("link", name="بازگشت به پیشخوان").click()
    year = last_month()[0]
    assert fa(tracking) in page.locator("#sent-lists").inner_text()
    assert fa(str(year)) in page.locator("#sent-lists").inner_text()
    record.shot("dashboard-with-list")

    page.get_by_role("button", name="خروج").click()
    page.wait_for_url(re.compile(re.escape(employer) + r"/(\?.*)?$"))
    assert "خارج شدید" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="ورود با پنجره ملی").is_visible()
    record.shot("logged-out")
    # The refusals are 422 answers (Chromium logs them); nothing else may fail.
    assert [p for p in record.problems if "422" not in p] == [], record.problems
