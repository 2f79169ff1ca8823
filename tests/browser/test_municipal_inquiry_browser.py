"""«استعلام ادارات/ ترهین» in Chromium (issue 10): the whole wizard as the owner of a code in
debt (paying at the sandbox gateway on the way) and as an attorney of a code without dues,
JavaScript on and off, controls found by their Persian labels; the answer, its certificate page
and «چاپ استعلام» in a new tab. Screenshots of every step at 390×844 and 1366×768 in
test-artifacts/browser/municipal-inquiry/; axe-core on every page with JavaScript on.
"""

from pathlib import Path

import pytest
import requests
from municipal_pages import MARKS, Camera, browser_fixture, logged_in_page
from municipal_payment import with_gateway
from municipal_registry import use_registry
from relying_parties import MARYAM, give_email, log_in

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / \
    "municipal-inquiry"

pytestmark = MARKS
browser = browser_fixture(ARTIFACTS)


@pytest.fixture
def sites(tmp_path, monkeypatch):
    use_registry(tmp_path, monkeypatch)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    with with_gateway(tmp_path, monkeypatch) as running:
        yield running


class Walk:
    """A citizen's page with its screenshots (both sizes) and, with JavaScript, axe-core."""

    artifacts = ARTIFACTS

    def __init__(self, browser, sites, person: dict | None, javascript: bool) -> None:
        http = requests.Session()
        log_in(http, sites, **({"person": person} if person else {}))
        give_email(http, sites)
        self.page = logged_in_page(browser, sites, http, javascript)
        self.context = self.page.context
        self.prefix = f"{'attorney' if person else 'owner'}-{'js' if javascript else 'no-js'}"
        self.javascript = javascript
        self.camera = Camera(self.artifacts, javascript)
        self.violations = self.camera.violations

    def shot(self, name: str) -> None:
        self.camera.shoot(self.page, f"{self.prefix}-{name}")

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def press(self, control) -> None:
        """Press a control (a button's name, or a locator) that posts its form to the same
        address, and wait for the answer: no assertion reads the page it leaves."""
        with self.page.expect_navigation():
            (self.button(control) if isinstance(control, str) else control).click()

    def next_step(self, number: int) -> None:
        self.button("گام بعدی").click()
        self.page.wait_for_url(f"**/{number}")


def walk(browser, sites, person: dict | None, javascript: bool, apartment: dict,
         in_debt: bool) -> Walk:
    w = Walk(browser, sites, person, javascript)
    page = w.page
    page.goto(sites["municipal"] + "/inquiry")
    w.shot("list")
    w.button("ثبت درخواست جدید").click()
    page.wait_for_url("**/1")

    # «تعهدات»: with JavaScript «گام بعدی» waits for the tick; without, the server refuses.
    w.shot("step1")
    if javascript:
        assert w.button("گام بعدی").is_disabled()
    else:
        w.press("گام بعدی")
        assert "تأیید تعهدات الزامی است" in page.content()
    page.get_by_label("تمامی موارد فوق مورد تأیید است").check()
    w.next_step(2)

    # «انتخاب ملک»: a wrong number first (red), then the right one (green).
    page.get_by_label("کدنوسازی", exact=True).fill(apartment["renovation_code"])
    page.get_by_label("شماره درخواست", exact=True).fill("1111")
    w.press("استعلام")
    assert "ابتدا مجدد اطلاعات ورودی را بررسی کنید" in page.content()
    assert w.button("گام بعدی").is_disabled()
    w.shot("step2-mismatch")
    page.get_by_label("شماره درخواست", exact=True).fill(apartment["request_number"])
    w.press("استعلام")
    assert "شماره درخواست معتبر می باشد" in page.content()
    assert ("وکیل" if person else "مالک") in page.locator("table.facts").inner_text()
    w.shot("step2")
    w.next_step(3)

    # «بررسی سوابق»: the latest certificate.
    assert page.locator("#latest-certificate").is_visible()
    w.shot("step3")
    w.next_step(4)

    # «بارگذاری مدارک»: the letter, its image by «انتخاب فایل», «تأیید و ارسال».
    page.get_by_label("شماره نامه").fill("۸۸۱۲/ب")
    page.get_by_label("تاریخ نامه").fill("۱۴۰۴/۰۲/۱۵")
    page.get_by_label("نام نهاد یا اداره استعلام کننده").fill("بانک ملی ایران، شعبه فاطمی")
    assert w.button("گام بعدی").is_disabled()
    assert page.locator("#add-file").is_visible() is javascript
    page.get_by_label("انتخاب فایل").set_input_files(
        files=[{"name": "letter.png", "mimeType": "image/png", "buffer": png()}])
    w.press("تأیید و ارسال")
    assert page.get_by_role("link", name="letter.png").is_visible()
    w.shot("step4")
    # «گام قبلی» and back: what was typed is kept.
    w.button("گام قبلی").click()
    page.wait_for_url("**/3")
    w.next_step(4)
    assert page.get_by_label("شماره نامه").input_value() == "۸۸۱۲/ب"
    w.next_step(5)

    # «تسویه عوارض»: in debt, «پرداخت آنلاین» at the gateway first.
    if in_debt:
        assert w.button("ثبت درخواست و صدور").is_disabled()
        w.shot("step5-debt")
        w.button("پرداخت آنلاین").click()
        page.wait_for_url(sites.gateway + "/**")
        assert "۱۸٬۵۰۰٬۰۰۰" in page.content()
        w.shot("gateway")
        page.get_by_role("button", name="پرداخت", exact=True).click()
        if not javascript:
            w.button("بازگشت به سایت پذیرنده").click()
        page.wait_for_url(sites["municipal"] + "/payment/callback")
        assert "پرداخت عوارض نوسازی با موفقیت انجام شد" in page.content()
        w.shot("paid")
        page.get_by_role("link", name="ادامه").click()
        page.wait_for_url("**/5")
    assert "این کدنوسازی فاقد بدهی می باشد" in page.content()
    w.shot("step5")
    w.button("ثبت درخواست و صدور").click()
    page.wait_for_url("**/inquiry/requests/*")
    number = page.url.rsplit("/", 1)[1]
    assert len(number) == 10 and number.isdigit()
    assert page.locator("#tracking-number").is_visible()
    w.shot("registered")

    # «صدور پاسخ استعلام», «نمایش تصویر گواهی», «چاپ استعلام» (a new tab).
    page.get_by_role("link", name="صدور پاسخ استعلام").click()
    page.wait_for_url("**/answer")
    w.shot("answer")
    with w.context.expect_page() as opened:
        page.get_by_role("link", name="چاپ استعلام").click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.endswith(f"/certificates/{number}")
    assert "بانک ملی ایران، شعبه فاطمی" in tab.content()
    tab.close()
    page.get_by_role("link", name="نمایش تصویر گواهی").click()
    page.wait_for_url(f"**/certificates/{number}")
    assert "پاسخ استعلام ادارات/ ترهین" in page.content()
    w.shot("certificate")
    return w


def png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (60, 40), (20, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize(("person", "apartment", "in_debt"), [
    (None, {"renovation_code": "۱۰-۱۲۳-۴۵۶-۷", "request_number": "1401-55871"}, True),
    (MARYAM, {"renovation_code": "10-123-456-8", "request_number": "1402-10044"}, False),
], ids=["owner-pays-the-dues", "attorney"])
def test_the_wizard_to_the_answer(browser, sites, javascript, person, apartment, in_debt):
    w = walk(browser, sites, person, javascript, apartment, in_debt)
    assert w.violations == []
    w.context.close()
