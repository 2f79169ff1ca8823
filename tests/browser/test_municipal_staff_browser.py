"""«کارتابل شهرداری», «انصراف از درخواست» and «درخواست های پیشین» in Chromium, JavaScript on
and off (issue 10): the demo's staff person approves, cancels with a reason and archives; the
citizen withdraws and finds a request among the previous ones by its tracking number typed in
Persian digits. Screenshots at 390×844 and 1366×768 in test-artifacts/browser/municipal-staff/;
axe-core (with JavaScript) finds no serious or critical violation on any page shot.
"""

from pathlib import Path

import pytest
from integration.test_municipal_staff import NO_DUES, register, set_state
from integration.test_municipal_transfer import citizen, future_slot
from municipal_pages import MARKS, Camera, browser_fixture, logged_in_page
from relying_parties import FATEMEH, fa, running_services

from clients.demo import MUNICIPAL_STAFF

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser" / "municipal-staff"
NO_CERTIFICATE = {"renovation_code": "22-700-015-1", "request_number": "1403-2210"}

pytestmark = MARKS
browser = browser_fixture(ARTIFACTS)


@pytest.fixture
def sites(tmp_path, monkeypatch):
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_SMS_OUTBOX_PATH", str(tmp_path / "m-outbox.jsonl"))
    monkeypatch.delenv("MUNICIPAL_MUNICIPAL_STAFF", raising=False)  # the demo's staff person
    with running_services(tmp_path, names=("municipal",)) as running:
        yield running


def state_of(page) -> str:
    return page.locator("#request-state").inner_text()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_staff_approve_cancel_archive_and_citizen_withdraw(browser, sites, tmp_path, javascript):
    assert FATEMEH["national_code"] == MUNICIPAL_STAFF
    camera = Camera(ARTIFACTS, javascript)
    mode = "js" if javascript else "no-js"
    ali = citizen(sites)
    owed = register(ali, sites, tmp_path, future_slot("10:00"))
    free = register(ali, sites, tmp_path, future_slot("11:00"), apartment=NO_DUES)
    issued = register(ali, sites, tmp_path, future_slot("12:00"), apartment=NO_CERTIFICATE)
    set_state(sites, issued, "issued")  # the certificate step is not part of this desk

    desk = logged_in_page(browser, sites, citizen(sites, FATEMEH), javascript)
    desk.goto(sites["municipal"] + "/")
    assert "خدمات اختصاصی" in desk.content()
    camera.shoot(desk, f"home-{mode}")
    desk.get_by_role("link", name="کارتابل شهرداری").click()
    desk.wait_for_url("**/staff")
    desk.get_by_label("وضعیت").select_option("awaiting_visit")
    desk.get_by_role("button", name="نمایش").click()
    assert fa(owed) in desk.content() and fa(issued) not in desk.content()
    camera.shoot(desk, f"desk-{mode}")

    desk.get_by_role("link", name=fa(owed)).click()
    assert desk.locator(".staff-documents img").count() == 3
    camera.shoot(desk, f"request-{mode}")
    desk.get_by_role("button", name="تأیید بازدید").click()
    assert state_of(desk) == "در انتظار پرداخت عوارض نوسازی"

    desk.goto(f"{sites['municipal']}/staff/requests/{free}")
    desk.get_by_label("علت ابطال").fill("مدارک شهرسازی ناقص است")
    desk.get_by_role("button", name="ابطال", exact=True).click()
    assert "قابلیت ادامه بررسی در شهرداری را نداشته" in state_of(desk)
    assert desk.get_by_role("button").filter(has_text="تأیید بازدید").count() == 0
    camera.shoot(desk, f"cancelled-{mode}")

    desk.goto(f"{sites['municipal']}/staff/requests/{issued}")
    desk.get_by_role("button", name="بایگانی دائم").click()
    assert "درخواست به سرانجام رسیده" in state_of(desk)
    assert desk.locator("#final-state").is_visible()
    camera.shoot(desk, f"archived-{mode}")

    # The citizen withdraws a new request (the cancelled one freed its code) and finds it.
    again = register(ali, sites, tmp_path, future_slot("13:00"), apartment=NO_DUES)
    mine = logged_in_page(browser, sites, ali, javascript)
    mine.goto(f"{sites['municipal']}/transfer/requests/{again}")
    assert "سوابق درخواست" in mine.content()
    mine.get_by_role("button", name="انصراف از درخواست").click()
    assert state_of(mine) == "انصراف از درخواست"
    assert "نوبت بازدید آزاد شد" in mine.content()
    camera.shoot(mine, f"withdrawn-{mode}")

    mine.goto(sites["municipal"] + "/")
    mine.get_by_role("link", name="درخواست های پیشین").click()
    mine.wait_for_url("**/requests")
    assert mine.locator("#previous-requests tbody tr").count() == 4
    camera.shoot(mine, f"previous-{mode}")
    mine.get_by_label("شماره پیگیری").fill(fa(again))
    mine.get_by_role("button", name="جستجو").click()
    assert mine.locator("#previous-requests tbody tr").count() == 1
    camera.shoot(mine, f"previous-search-{mode}")
    mine.get_by_role("link", name="آخرین وضعیت").click()
    mine.wait_for_url(f"**/transfer/requests/{again}")
    assert state_of(mine) == "انصراف از درخواست"
    assert camera.violations == []
