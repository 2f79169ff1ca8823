"""«کارتابل شهرداری», «انصراف از درخواست» and «درخواست های پیشین» (issue 10, seed 003) over
real HTTP: the provider and the municipal app on their own ports, citizens and staff logged in
through the provider, requests registered through the wizard as a citizen registers them."""

import re
from datetime import date, timedelta
from functools import partial

import jdatetime
import pytest
import requests
from integration.test_municipal_transfer import (
    VALID,
    at_review,
    at_visit,
    citizen,
    codes_in,
    future_slot,
    post,
)
from live import at_once
from relying_parties import FATEMEH, MARYAM, MOHAMMADREZA, csrf_of, fa, running_services

NO_DUES = {"renovation_code": "10-123-456-8", "request_number": "1402-10044"}
TRACKING = re.compile(r"/transfer/requests/([0-9]{10})$")


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path, monkeypatch):
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_SMS_OUTBOX_PATH", str(tmp_path / "m-outbox.jsonl"))
    monkeypatch.setenv("MUNICIPAL_VISITS_CAPACITY", "1")
    # Two members of staff (two may press at once); Mohammadreza is also a citizen.
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_STAFF",
                       f"{FATEMEH['national_code']},{MOHAMMADREZA['national_code']}")
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with running_services(tmp_path, database_url=database_url,
                          names=("municipal",)) as running:
        yield running


def register(http, sites, tmp_path, slot: str, mobile: str = "09120000001",
             apartment: dict = VALID, role: str = "owner") -> str:
    """Walk the wizard and press «تایید و ثبت»; the request's tracking number."""
    fifth = at_review(http, sites, tmp_path, slot, mobile, apartment, role)
    done = post(http, fifth, action="register")
    assert done.status_code == 303, done.text
    return TRACKING.search(done.headers["Location"]).group(1)


def staff_page(sites, number: str) -> str:
    return f"{sites['municipal']}/staff/requests/{number}"


def act(http, sites, number: str, action: str, **fields) -> requests.Response:
    return post(http, staff_page(sites, number), action=action, **fields)


def texts(tmp_path, number: str) -> list[str]:
    return [m["text"] for m in codes_in(None, tmp_path)
            if m["purpose"] == "transfer_state" and number in m["text"]]


def set_state(sites, number: str, state: str) -> None:
    """Put a request in a state this branch has no page for (the certificate is issued by the
    payment and certificate steps)."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from clients.municipal.models import ServiceRequest

    with Session(sites.apps["municipal"].extensions["rp"].db.engine) as db:
        db.execute(update(ServiceRequest).where(ServiceRequest.tracking_number == number)
                   .values(state=state))
        db.commit()


def test_the_desk_is_for_staff_with_filters_and_documents(sites, tmp_path):
    ali = citizen(sites)
    slot = future_slot("10:00")
    number = register(ali, sites, tmp_path, slot)

    # A citizen who is not staff: a Persian 403, and no menu entry; logged out: the login.
    refused = ali.get(sites["municipal"] + "/staff", timeout=10)
    assert refused.status_code == 403 and "کارکنان شهرداری" in refused.text
    assert 'dir="rtl"' in refused.text
    assert ali.get(staff_page(sites, number), timeout=10).status_code == 403
    home = ali.get(sites["municipal"] + "/", timeout=10).text
    assert "خدمات اختصاصی" in home and 'id="service-transfer"' in home
    assert 'id="service-previous"' in home and 'id="service-staff"' not in home
    has_inquiry = "inquiry.requests" in sites.apps["municipal"].view_functions
    assert ('id="service-inquiry"' in home) is has_inquiry
    anonymous = requests.get(sites["municipal"] + "/staff", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    staff = citizen(sites, FATEMEH)
    assert 'id="service-staff"' in staff.get(sites["municipal"] + "/", timeout=10).text
    desk = staff.get(sites["municipal"] + "/staff", timeout=10)
    assert desk.status_code == 200 and "کارتابل شهرداری" in desk.text
    assert fa(number) in desk.text and "در انتظار بازدید کارشناس" in desk.text

    # Filters: by state, and by visit day typed in Jalali with Persian digits.
    day = jdatetime.date.fromgregorian(date=date.fromisoformat(slot[:10]))
    shown = {
        "state=awaiting_visit": True, "state=ready": False,
        "day=" + fa(day.strftime("%Y/%m/%d")): True,
        "day=" + (day + timedelta(days=1)).strftime("%Y/%m/%d"): False,
    }
    for query, listed in shown.items():
        page = staff.get(f"{sites['municipal']}/staff?{query}", timeout=10)
        assert page.status_code == 200 and (fa(number) in page.text) is listed, query
    bad = staff.get(sites["municipal"] + "/staff?day=1405/13/40", timeout=10)
    assert bad.status_code == 400 and "تاریخ بازدید را به شکل" in bad.text

    # The request with its documents, served to staff and its applicant, never sniffed.
    page = staff.get(staff_page(sites, number), timeout=10)
    assert page.status_code == 200 and "خیابان فاطمی" in page.text
    assert "تأیید بازدید" in page.text and "علت ابطال" in page.text
    assert fa(day.strftime("%Y/%m/%d")) + " ساعت " + fa("10:00") in page.text
    assert "سمت متقاضی" in page.text and "&lt;" not in page.text
    assert "بایگانی دائم" not in page.text  # only for an issued request
    documents = re.findall(r'<img src="([^"]+)"', page.text)
    assert len(documents) == 3
    image = staff.get(sites["municipal"] + documents[0], timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert ali.get(sites["municipal"] + documents[0], timeout=10).status_code == 200
    maryam = citizen(sites, MARYAM)
    assert maryam.get(sites["municipal"] + documents[0], timeout=10).status_code == 404
    assert maryam.get(f"{sites['municipal']}/transfer/requests/{number}",
                      timeout=10).status_code == 404
    assert staff.get(sites["municipal"] + documents[0].rsplit("/", 1)[0] + "/nope",
                     timeout=10).status_code == 404
    assert staff.get(staff_page(sites, "1000000000"), timeout=10).status_code == 404

    # The desk in English, left to right.
    staff.get(sites["municipal"] + "/lang/en", timeout=10)
    english = staff.get(staff_page(sites, number), timeout=10).text
    assert 'dir="ltr"' in english and "Approve the visit" in english
    assert "Reason for cancelling" in english and "Request history" in english


def test_approve_cancel_archive_and_a_final_request(sites, tmp_path):
    ali = citizen(sites)
    owed = register(ali, sites, tmp_path, future_slot("10:00"))
    free = register(ali, sites, tmp_path, future_slot("11:00"), apartment=NO_DUES)
    staff = citizen(sites, FATEMEH)

    # «تأیید بازدید»: dues owed → awaiting payment; none → ready; each texted and recorded.
    no_csrf = staff.post(staff_page(sites, owed), data={"action": "approve_visit"}, timeout=10)
    assert no_csrf.status_code == 400
    approved = act(staff, sites, owed, "approve_visit")
    assert approved.status_code == 303
    page = staff.get(staff_page(sites, owed), timeout=10).text
    assert "در انتظار پرداخت عوارض نوسازی" in page and fa(FATEMEH["national_code"]) in page
    assert 'id="approve-visit"' not in page
    assert any("عوارض نوسازی را پرداخت" in text for text in texts(tmp_path, owed))
    mine = ali.get(f"{sites['municipal']}/transfer/requests/{owed}", timeout=10).text
    assert "در انتظار پرداخت عوارض نوسازی" in mine and "کارشناس شهرداری" in mine
    assert FATEMEH["national_code"] not in mine and fa(FATEMEH["national_code"]) not in mine
    assert re.search(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}", mine)
    assert "انصراف از درخواست" not in mine  # approved: no longer before the visit

    assert act(staff, sites, free, "approve_visit").status_code == 303
    assert "آماده صدور گواهی" in staff.get(staff_page(sites, free), timeout=10).text
    assert any("آماده صدور" in text for text in texts(tmp_path, free))

    # «بایگانی دائم» only for an issued request.
    early = act(staff, sites, owed, "archive")
    assert early.status_code == 409 and "در وضعیت کنونی درخواست" in early.text
    assert act(staff, sites, owed, "unknown").status_code == 400

    # «ابطال» needs its reason; it ends the request and texts the reason.
    blank = act(staff, sites, free, "cancel", reason="  ")
    assert blank.status_code == 400 and "علت ابطال را وارد کنید" in blank.text
    long = act(staff, sites, free, "cancel", reason="ن" * 501)
    assert long.status_code == 400 and "حداکثر" in long.text
    cancelled = act(staff, sites, free, "cancel", reason="مدارک شهرسازی ناقص است")
    assert cancelled.status_code == 303
    final = staff.get(staff_page(sites, free), timeout=10).text
    assert "قابلیت ادامه بررسی در شهرداری را نداشته" in final
    assert "مدارک شهرسازی ناقص است" in final and 'id="final-state"' in final
    assert 'name="action"' not in final
    assert any("مدارک شهرسازی ناقص است" in text for text in texts(tmp_path, free))
    again = act(staff, sites, free, "approve_visit")
    assert again.status_code == 409 and "وضعیت نهایی" in again.text
    assert "قابلیت ادامه بررسی" in ali.get(f"{sites['municipal']}/transfer/requests/{free}",
                                          timeout=10).text

    # An issued request is archived, and is final after.
    set_state(sites, owed, "issued")
    assert "بایگانی دائم" in staff.get(staff_page(sites, owed), timeout=10).text
    assert act(staff, sites, owed, "archive").status_code == 303
    archived = staff.get(staff_page(sites, owed), timeout=10).text
    assert "درخواست به سرانجام رسیده" in archived and 'name="action"' not in archived
    assert any("بایگانی دائم" in text for text in texts(tmp_path, owed))
    for action in ("archive", "cancel"):
        refused = act(staff, sites, owed, action, reason="x")
        assert refused.status_code == 409 and "وضعیت نهایی" in refused.text
    assert len(texts(tmp_path, owed)) == 3  # registered, approved, archived


def test_two_staff_approving_at_once_change_it_once(sites, tmp_path):
    ali = citizen(sites)
    number = register(ali, sites, tmp_path, future_slot("12:00"))
    first, second = citizen(sites, FATEMEH), citizen(sites, MOHAMMADREZA)
    forms = [(http, csrf_of(http.get(staff_page(sites, number), timeout=10)))
             for http in (first, second)]
    answers = at_once(*(partial(http.post, staff_page(sites, number), timeout=30,
                                allow_redirects=False,
                                data={"csrf_token": token, "action": "approve_visit"})
                        for http, token in forms))
    assert sorted(a.status_code for a in answers) == [303, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert "هم‌زمان تغییر کرد" in loser.text or "در وضعیت کنونی" in loser.text
    page = first.get(staff_page(sites, number), timeout=10).text
    assert page.count("در انتظار پرداخت عوارض نوسازی</td>") == 2  # state and one history row
    assert len(texts(tmp_path, number)) == 2  # registered, approved once


def test_withdrawal_frees_the_seat(sites, tmp_path):
    slot = future_slot("13:00")
    ali = citizen(sites)
    number = register(ali, sites, tmp_path, slot, apartment=NO_DUES)
    url = f"{sites['municipal']}/transfer/requests/{number}"
    page = ali.get(url, timeout=10)
    assert "انصراف از درخواست" in page.text and "در انتظار بازدید کارشناس" in page.text

    # The one seat of the hour is Ali's: Maryam cannot book it.
    maryam = citizen(sites, MARYAM)
    fourth = at_visit(maryam, sites, VALID, "attorney")
    full = post(maryam, fourth, action="next", mobile="09350000002", slot=slot)
    assert full.status_code == 400 and "ظرفیت این ساعت تکمیل است" in full.text

    # Only its applicant withdraws it, with the form's token.
    withdraw = url + "/withdraw"
    assert maryam.post(withdraw, data={"csrf_token": csrf_of(full)},
                       timeout=10).status_code == 404
    assert ali.post(withdraw, timeout=10).status_code == 400
    done = ali.post(withdraw, data={"csrf_token": csrf_of(page)}, timeout=10,
                    allow_redirects=False)
    assert done.status_code == 303
    after = ali.get(url, timeout=10).text
    assert "نوبت بازدید آزاد شد" in after and 'id="withdraw"' not in after
    assert 'id="request-state">انصراف از درخواست' in after
    assert any("انصراف" in text for text in texts(tmp_path, number))
    twice = ali.post(withdraw, data={"csrf_token": csrf_of(page)}, timeout=10)
    assert "دیگر ممکن نیست" in twice.text
    staff = citizen(sites, FATEMEH)
    refused = act(staff, sites, number, "approve_visit")
    assert refused.status_code == 409 and "وضعیت نهایی" in refused.text

    # The seat is free: Maryam books it.
    assert register(maryam, sites, tmp_path, slot, "09350000002", VALID, "attorney")

    # Once approved, a request can no longer be withdrawn.
    other = register(ali, sites, tmp_path, future_slot("14:00"), apartment=NO_DUES)
    page = ali.get(f"{sites['municipal']}/transfer/requests/{other}", timeout=10)
    assert act(staff, sites, other, "approve_visit").status_code == 303
    late = ali.post(f"{sites['municipal']}/transfer/requests/{other}/withdraw",
                    data={"csrf_token": csrf_of(page)}, timeout=10)
    assert "دیگر ممکن نیست" in late.text and "آماده صدور گواهی" in late.text


def test_previous_requests_of_both_kinds_searchable(sites, tmp_path):
    from sqlalchemy.orm import Session

    from clients.municipal.models import Citizen, ServiceRequest

    ali = citizen(sites)
    number = register(ali, sites, tmp_path, future_slot("09:00"))
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with Session(engine) as db:  # an inquiry, as its own wizard registers one
        owner = db.query(Citizen).filter_by(national_code="0499370899").one()
        db.add(ServiceRequest(tracking_number="5550001111", citizen_id=owner.id, kind="inquiry",
                              renovation_code="1012345678", state="issued",
                              data={"renovation_code": "22-700-015-1"}))
        db.commit()
    url = sites["municipal"] + "/requests"
    page = ali.get(url, timeout=10)
    assert page.status_code == 200 and "درخواست های پیشین" in page.text
    for text in ("درخواست انتقال", "استعلام ادارات/ ترهین", fa(number), fa("5550001111"),
                 fa("22-700-015-1"), "در انتظار بازدید کارشناس", "گواهی صادر شده",
                 "آخرین وضعیت", "جستجو"):
        assert text in page.text, text
    assert re.search(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", page.text)
    assert f'href="/transfer/requests/{number}"' in page.text
    endpoints = sites.apps["municipal"].view_functions
    assert ('href="/inquiry/requests/5550001111"' in page.text) is \
        ("inquiry.registered" in endpoints)
    # «چاپ» only for the issued one, and only where certificates are served.
    assert ("/certificates/5550001111" in page.text) is ("certificates.page" in endpoints)
    assert f"/certificates/{number}" not in page.text

    found = ali.get(url, params={"q": fa(number[2:8])}, timeout=10)
    assert fa(number) in found.text and fa("5550001111") not in found.text
    none = ali.get(url, params={"q": "9" * 10}, timeout=10)
    assert "درخواستی یافت نشد" in none.text and fa(number) not in none.text
    bad = ali.get(url, params={"q": "12ab"}, timeout=10)
    assert bad.status_code == 400 and "تنها از رقم" in bad.text

    # Another citizen sees none of them.
    maryam = citizen(sites, MARYAM)
    theirs = maryam.get(url, timeout=10).text
    assert fa(number) not in theirs and "هنوز درخواستی ثبت نکرده‌اید" in theirs
