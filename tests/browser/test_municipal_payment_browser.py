"""«عوارض نوسازی» and «صدور گواهی» in Chromium (issue 10), JavaScript on and off: «پرداخت
آنلاین» to the sandbox gateway, «انصراف» and «پرداخت» there, back to the app by the gateway's
self-submitting form (or its «بازگشت به سایت پذیرنده» button without JavaScript), «صدور گواهی با
امکان چاپ», the print styles, and «دریافت PDF». Screenshots at 390×844 and 1366×768 in
test-artifacts/browser/municipal-payment/; axe-core on every page of the way."""

import io
from pathlib import Path

import pytest
import requests
from live import demo_person
from municipal_pages import MARKS, Camera, browser_fixture, logged_in_page
from municipal_payment import IN_DEBT, registered, request_state, with_gateway
from pypdf import PdfReader
from relying_parties import MARYAM, give_email, log_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / \
    "municipal-payment"
ALI = demo_person  # 0499370899, owner of the code in debt

pytestmark = MARKS
browser = browser_fixture(ARTIFACTS)


@pytest.fixture
def sites(tmp_path, monkeypatch):
    with with_gateway(tmp_path, monkeypatch) as running:
        yield running


@pytest.mark.parametrize(("javascript", "person", "role"),
                         [(True, ALI, "owner"), (False, MARYAM, "attorney")],
                         ids=["js-owner", "no-js-attorney"])
def test_pay_the_dues_and_print_the_certificate(browser, sites, javascript, person, role):
    mode = "js" if javascript else "no-js"
    http = requests.Session()
    log_in(http, sites, person=person)
    give_email(http, sites, f"{person['national_code']}@example.ir")
    number = registered(sites, person["national_code"], IN_DEBT, "awaiting_payment", role=role,
                        mobile=person["mobile"])
    page = logged_in_page(browser, sites, http, javascript, accept_downloads=True)
    camera = Camera(ARTIFACTS, javascript)

    def check(name: str) -> None:
        camera.shoot(page, f"{name}-{mode}")

    request_page = f"{sites['municipal']}/transfer/requests/{number}"
    page.goto(request_page)
    assert "۱۸٬۵۰۰٬۰۰۰ ریال" in page.locator("#dues-amount").inner_text()
    assert page.get_by_text("اجازه رفتن به گام بعدی را نخواهید داشت").is_visible()
    check("dues")

    if not javascript:
        # «انصراف» at the gateway: back without paying, the dues still owed.
        page.get_by_role("button", name="پرداخت آنلاین").click()
        page.wait_for_url(sites.gateway + "/pay/*")
        page.get_by_role("button", name="انصراف").click()
        page.get_by_role("button", name="بازگشت به سایت پذیرنده").click()
        page.wait_for_url("**/payment/callback")
        assert "پرداخت در درگاه لغو شد" in page.locator("main").inner_text()
        check("cancelled")
        page.get_by_role("link", name="ادامه").click()
        assert request_state(sites, number) == "awaiting_payment"

    page.get_by_role("button", name="پرداخت آنلاین").click()
    page.wait_for_url(sites.gateway + "/pay/*")
    assert "۱۸٬۵۰۰٬۰۰۰ ریال" in page.locator("#amount").inner_text()
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Vazirmatn")
    check("gateway")
    page.get_by_role("button", name="پرداخت", exact=True).click()
    if javascript:
        page.wait_for_url("**/payment/callback")  # the form submitted itself
    else:
        assert page.get_by_role("button", name="بازگشت به سایت پذیرنده").is_visible()
        camera.screens(page, "gateway-return-no-js")
        page.get_by_role("button", name="بازگشت به سایت پذیرنده").click()
        page.wait_for_url("**/payment/callback")
    assert "پرداخت عوارض نوسازی با موفقیت انجام شد" in page.locator("main").inner_text()
    check("paid")
    page.get_by_role("link", name="ادامه").click()
    page.wait_for_url(request_page)
    assert page.get_by_text("این کدنوسازی فاقد بدهی می باشد").is_visible()
    check("ready")

    page.get_by_role("button", name="صدور گواهی با امکان چاپ").click()
    page.wait_for_url(f"**/certificates/{number}")
    certificate = page.locator("#certificate")
    assert "گواهی انتقال آپارتمان" in certificate.inner_text()
    assert number in page.locator("#certificate-tracking").inner_text()
    assert ("مالک" if role == "owner" else "وکیل") in certificate.inner_text()
    assert page.get_by_role("button", name="چاپ").is_visible() is javascript
    check("certificate")
    # On paper: the certificate alone, without the site's header and buttons.
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.get_by_role("link", name="دریافت PDF").is_visible()
    camera.screens(page, f"certificate-print-{mode}")
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_role("link", name="دریافت PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "گواهی انتقال آپارتمان" in text and number in text and "خیابان فاطمی" in text
    (ARTIFACTS / f"certificate-{mode}.pdf").write_bytes(pdf)
    assert request_state(sites, number) == "issued"
    page.context.close()
    assert camera.violations == []
