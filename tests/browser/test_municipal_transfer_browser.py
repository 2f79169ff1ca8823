"""«درخواست انتقال» in Chromium (issue 10): the whole wizard, as a person walks it, by its Persian
labels — as the owner with JavaScript and as an attorney without — from «ثبت درخواست جدید» to the
«شماره پیگیری» and its text in the app's SMS outbox. Screenshots of every step at 390×844 and
1366×768 in test-artifacts/browser/municipal-transfer/; RTL, Vazirmatn and no sideways scrolling
on every page; axe-core on every page with JavaScript on.
"""

import json
from datetime import date
from pathlib import Path

import pytest
from municipal_pages import MARKS, browser_fixture
from municipal_registry import use_registry
from relying_parties import MARYAM, demo_person, fa, running_services
from test_municipal_inquiry_browser import Walk, png
from test_services_browser import assert_service_page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / \
    "municipal-transfer"
RED, GREEN = "rgb(225, 45, 57)", "rgb(87, 174, 91)"  # clients/common/static/rp.css

pytestmark = MARKS
browser = browser_fixture(ARTIFACTS)


@pytest.fixture
def sites(tmp_path, monkeypatch):
    use_registry(tmp_path, monkeypatch)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_SMS_OUTBOX_PATH", str(tmp_path / "m-outbox.jsonl"))
    with running_services(tmp_path, names=("municipal",)) as running:
        running.texts = tmp_path / "m-outbox.jsonl"
        yield running


class TransferWalk(Walk):
    """The inquiry test's walk, its screenshots here, each page also checked for Vazirmatn and
    for fitting the phone's width."""

    artifacts = ARTIFACTS

    def __init__(self, browser, sites, person: dict | None, javascript: bool) -> None:
        super().__init__(browser, sites, person, javascript)
        self.origin = sites["municipal"]

    def shot(self, name: str) -> None:
        assert_service_page(self.page, self.origin)
        super().shot(name)


def texts_to(sites, mobile: str) -> list[dict]:
    lines = sites.texts.read_text(encoding="utf-8").splitlines() if sites.texts.exists() else []
    return [message for message in map(json.loads, lines) if message["to"] == mobile]


def border_of(locator) -> str:
    return locator.evaluate("element => getComputedStyle(element).borderTopColor")


def choose_files(w: TransferWalk, names: list[str]) -> None:
    """«انتخاب فایل»: with JavaScript one image per input, «+» for each next one; without, the
    one input takes them all."""
    images = [{"name": name, "mimeType": "image/png", "buffer": png()} for name in names]
    if not w.javascript:
        w.page.get_by_label("انتخاب فایل").set_input_files(files=images)
        return
    inputs = w.page.locator("#file-inputs input[type=file]")
    plus = w.button("فایل دیگر")  # «+», named for screen readers
    assert plus.inner_text() == "+"
    for index, image in enumerate(images):
        if index:
            plus.click()
        inputs.nth(index).set_input_files(files=[image])


def first_open_day(w: TransferWalk, today: date):
    """A day after today the calendar offers (a person does not book an hour about to pass);
    «ماه بعد» when this month has none left."""
    for _ in range(2):
        for day in w.page.locator("button[name=day]:enabled").all():
            if date.fromisoformat(day.get_attribute("value")) > today:
                return day
        w.press("ماه بعد")
    raise AssertionError("the calendar offers no day to book")


@pytest.mark.parametrize(("person", "javascript"), [(None, True), (MARYAM, False)],
                         ids=["owner-js", "attorney-no-js"])
def test_a_citizen_walks_the_transfer_wizard(browser, sites, person, javascript):
    from clients.municipal.visits import now_tehran

    citizen = person or demo_person
    apartment = ({"renovation_code": "10-123-456-8", "request_number": "1402-10044",
                  "role": "وکیل"} if person else
                 {"renovation_code": "۱۰-۱۲۳-۴۵۶-۷", "request_number": "1401-55871",
                  "role": "مالک"})
    w = TransferWalk(browser, sites, person, javascript)
    page = w.page
    page.goto(sites["municipal"] + "/transfer")
    w.shot("list")
    w.button("ثبت درخواست جدید").click()
    page.wait_for_url("**/1")

    # «تعهدات»: with JavaScript «گام بعدی» waits for the tick; without, the server refuses.
    assert page.get_by_role("heading", name="تعهدات").is_visible()
    w.shot("step1")
    if javascript:
        assert w.button("گام بعدی").is_disabled()
    else:
        w.press("گام بعدی")
        assert "تأیید تعهدات الزامی است" in page.locator("main").inner_text()
        w.shot("step1-refused")
    page.get_by_label("تمامی موارد فوق مورد تأیید است").check()
    w.next_step(2)

    # «انتخاب آپارتمان»: a wrong number first (red, with the support phone), then the right one.
    assert page.get_by_role("heading", name="انتخاب آپارتمان").is_visible()
    page.get_by_label("کدنوسازی", exact=True).fill(apartment["renovation_code"])
    page.get_by_label("شماره درخواست یا گواهی").fill("1111-1")
    w.press("جستجو")
    result = page.locator("#lookup-result")
    assert ("ابتدا مجدد اطلاعات ورودی را بررسی کنید درصورت برطرف نشدن مشکل با سامانه 137 تماس "
            "بگیرید") in result.inner_text()
    assert border_of(result) == RED
    assert w.button("گام بعدی").is_disabled()
    w.shot("step2-mismatch")
    page.get_by_label("شماره درخواست یا گواهی").fill(apartment["request_number"])
    w.press("جستجو")
    assert result.inner_text() == "شماره درخواست معتبر می باشد"
    assert border_of(result) == GREEN
    assert apartment["role"] in page.locator("table.facts").inner_text()
    w.shot("step2")
    # «گام قبلی» and back: the tick and the search are kept.
    w.button("گام قبلی").click()
    page.wait_for_url("**/1")
    assert page.get_by_label("تمامی موارد فوق مورد تأیید است").is_checked()
    w.next_step(2)
    assert page.get_by_label("کدنوسازی", exact=True).input_value() == \
        apartment["renovation_code"]
    assert result.inner_text() == "شماره درخواست معتبر می باشد"
    w.next_step(3)

    # «بارگذاری مدارک»: the role, the letter (its date in Persian digits), three images.
    assert page.get_by_role("heading", name="بارگذاری مدارک").is_visible()
    page.get_by_label(apartment["role"], exact=True).check()
    page.get_by_label("شماره نامه").fill("۴۵۱۲/د")
    page.get_by_label("تاریخ نامه").fill("۱۴۰۴/۰۲/۱۵")
    page.get_by_label("نام نهاد استعلام کننده").fill("دفترخانه اسناد رسمی شماره ۱۲ تهران")
    assert w.button("گام بعدی").is_disabled()
    assert page.locator("#add-file").is_visible() is javascript
    choose_files(w, ["deed.png", "card.png", "plan.png"])
    w.shot("step3-chosen")
    w.press("تأیید و ارسال")
    documents = page.locator("#documents")
    for name in ("deed.png", "card.png", "plan.png"):
        assert documents.get_by_role("link", name=name).is_visible()
    assert w.button("گام بعدی").is_enabled()
    w.shot("step3")
    # One «حذف» (three are needed: «گام بعدی» closes) and the image added again.
    w.press(page.get_by_role("button", name="حذف card.png"))
    assert documents.get_by_role("link").count() == 2
    assert w.button("گام بعدی").is_disabled()
    assert page.get_by_label("شماره نامه").input_value() == "۴۵۱۲/د"
    w.shot("step3-removed")
    choose_files(w, ["card.png"])
    w.press("تأیید و ارسال")
    assert documents.get_by_role("link").count() == 3
    # «گام قبلی» and back: what was typed is kept.
    w.button("گام قبلی").click()
    page.wait_for_url("**/2")
    w.next_step(3)
    assert page.get_by_label("تاریخ نامه").input_value() == "۱۴۰۴/۰۲/۱۵"
    assert page.get_by_label(apartment["role"], exact=True).is_checked()
    w.next_step(4)

    # «انتخاب کارشناس بازدید»: a day in the Jalali calendar, an hour, the phone proved by a code.
    assert page.get_by_role("heading", name="انتخاب کارشناس بازدید").is_visible()
    mobile = page.get_by_label("شماره تماس مالک جهت هماهنگی کارشناس")
    assert mobile.input_value() == citizen["mobile"]
    assert w.button("گام بعدی").is_disabled()
    w.shot("step4")
    day = first_open_day(w, now_tehran().date())
    chosen = day.get_attribute("value")
    w.press(day)
    hour = page.get_by_role("group", name="ساعت بازدید").get_by_role(
        "radio", disabled=False).first
    slot = hour.get_attribute("value")
    assert slot.startswith(chosen + "T")  # the hours shown are the chosen day's
    hour.check()
    w.shot("step4-day")
    w.press("دریافت کد تایید")
    assert f"کد تایید به شماره {fa(citizen['mobile'])} پیامک شد." == \
        page.locator("#step-notice").inner_text()
    sent = texts_to(sites, citizen["mobile"])
    assert len(sent) == 1 and sent[0]["purpose"] != "transfer_state"
    assert page.get_by_role("radio", checked=True).get_attribute("value") == slot
    w.shot("step4-code-sent")
    page.get_by_label("کد تاییدیه").fill(fa(sent[0]["code"]))
    w.press("بررسی کد")
    verified = page.locator("#phone-verified")
    assert verified.inner_text() == "شماره تماس تایید شد."
    assert page.get_by_text("شماره تماس تایید شد.").count() == 1  # said once, by the button
    assert border_of(verified) == GREEN
    w.shot("step4-verified")
    w.next_step(5)

    # «تایید و ثبت»: nothing exists until the button is pressed.
    assert ("توجه داشته باشید که تا زمانیکه کلید تأیید و ثبت را انتخاب نکرده باشید، درخواستی در "
            "سیستم درج نخواهد شد.") in page.locator("#not-yet").inner_text()
    assert "تهران" in page.locator("main").inner_text()
    w.shot("step5")
    w.button("تایید و ثبت").click()
    page.wait_for_url("**/transfer/requests/*")
    number = page.url.rsplit("/", 1)[1]
    assert len(number) == 10 and number.isdigit()
    assert page.locator("#tracking-number").inner_text() == fa(number)
    assert "شماره پیگیری" in page.locator("main").inner_text()
    (text,) = [m for m in texts_to(sites, citizen["mobile"]) if m["purpose"] == "transfer_state"]
    assert number in text["text"]
    w.shot("registered")
    page.get_by_role("link", name="بازگشت به درخواست انتقال").click()
    page.wait_for_url("**/transfer")
    assert page.get_by_role("link", name=fa(number)).is_visible()
    w.shot("list-after")
    assert w.violations == []
    w.context.close()
