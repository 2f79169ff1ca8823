"""«استعلام ادارات/ ترهین» (issue 10, seed 003) over real HTTP, as the transfer's tests do: the
provider and the municipal app on their own ports, a ``requests`` session as the citizen's
browser. Every step, its bad inputs, the server's step guard, registration with the answer
issued, and privacy of drafts, files and requests."""

import re
from datetime import timedelta
from functools import partial

import pytest
import requests
from live import at_once, free_port
from municipal_payment import hidden_fields, with_gateway
from municipal_registry import ALI, use_registry
from relying_parties import MARYAM, MOHAMMADREZA, csrf_of, fa
from test_municipal_transfer import citizen, codes_in, image, new_draft, post, step_url

IN_DEBT = {"renovation_code": "10-123-456-7", "request_number": "1401-55871"}
FREE = {"renovation_code": "10-123-456-8", "request_number": "1402-10044"}
NO_CERTIFICATE = {"renovation_code": "22-700-015-1", "request_number": "1403-2210"}
LETTER = {"letter_number": "۸۸۱۲/ب", "letter_date": "۱۴۰۴/۰۲/۱۵",
          "body": "بانک ملی ایران، شعبه فاطمی"}


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path, monkeypatch):
    use_registry(tmp_path, monkeypatch)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with with_gateway(tmp_path, monkeypatch, database_url) as running:
        yield running


def redirected_to(answer: requests.Response, number: int) -> bool:
    return answer.status_code == 303 and answer.headers["Location"].endswith(f"/{number}")


def at_property(http, sites) -> str:
    first = new_draft(http, sites, "inquiry")
    assert redirected_to(post(http, first, accept="yes", action="next"), 2)
    return step_url(first, 2)


def at_history(http, sites, apartment: dict) -> str:
    second = at_property(http, sites)
    assert post(http, second, action="search", **apartment).status_code == 200
    assert redirected_to(post(http, second, action="next"), 3)
    return step_url(second, 3)


def at_documents(http, sites, apartment: dict = FREE) -> str:
    third = at_history(http, sites, apartment)
    assert redirected_to(post(http, third, action="next"), 4)
    return step_url(third, 4)


def upload(http, url: str, files: list[tuple[str, bytes, str]], **fields) -> requests.Response:
    page = http.get(url, timeout=10)
    return http.post(url, timeout=10, allow_redirects=False,
                     data={"csrf_token": csrf_of(page), "action": "upload", **fields},
                     files=[("files", item) for item in files])


def at_dues(http, sites, apartment: dict = FREE) -> str:
    fourth = at_documents(http, sites, apartment)
    upload(http, fourth, [("letter.png", image(), "image/png")], **LETTER)
    assert redirected_to(post(http, fourth, action="next", **LETTER), 5)
    return step_url(fourth, 5)


def requests_in(sites) -> list[tuple]:
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT tracking_number, kind, state, renovation_code FROM service_requests").all()


def test_the_list_the_commitments_and_the_step_guard(sites):
    http = citizen(sites)
    listing = http.get(sites["municipal"] + "/inquiry", timeout=10)
    assert 'dir="rtl"' in listing.text and 'id="no-requests"' in listing.text
    first = new_draft(http, sites, "inquiry")
    page = http.get(first, timeout=10)
    for label in ("تعهدات", "انتخاب ملک", "بررسی سوابق", "بارگذاری مدارک", "تسویه عوارض",
                  "صدور و چاپ پاسخ استعلام", "تمامی موارد فوق مورد تأیید است",
                  'data-needs="accept"'):
        assert label in page.text, label
    assert "انتخاب کارشناس بازدید" not in page.text and "گام قبلی" not in page.text

    # No step is reached by posting to it before the earlier ones: not even the search runs,
    # and «ثبت درخواست و صدور» posted first registers nothing.
    early = post(http, step_url(first, 2), action="search", **FREE)
    assert redirected_to(early, 1)
    assert "ابتدا گام‌های پیشین را کامل کنید" in http.get(first, timeout=10).text
    assert redirected_to(post(http, step_url(first, 5), action="register"), 1)
    for later in (3, 4, 5):
        assert redirected_to(http.get(step_url(first, later), allow_redirects=False,
                                      timeout=10), 1)
    assert http.get(step_url(first, 6), timeout=10).status_code == 404
    assert http.get(step_url(first, 0), timeout=10).status_code == 404
    assert requests_in(sites) == []

    refused = post(http, first, action="next")
    assert refused.status_code == 400 and "تأیید تعهدات الزامی است" in refused.text
    assert http.post(first, data={"accept": "yes", "action": "next"},
                     timeout=10).status_code == 400  # no CSRF token
    assert redirected_to(post(http, first, accept="yes", action="next"), 2)
    assert 'name="accept" value="yes" checked' in http.get(first, timeout=10).text
    assert "درخواست‌های ناتمام" in http.get(sites["municipal"] + "/inquiry", timeout=10).text

    http.get(sites["municipal"] + "/lang/en", timeout=10)
    english = http.get(step_url(first, 2), timeout=10).text
    assert 'dir="ltr"' in english and "Next step" in english
    assert "Office/bank (mortgage) inquiry" in english and "Choose the property" in english


def test_the_property_search_outcomes(sites):
    http = citizen(sites)
    second = at_property(http, sites)
    page = http.get(second, timeout=10)
    for label in ("کدنوسازی", "شماره درخواست", ">استعلام<"):
        assert label in page.text.replace("\n", ""), label
    assert re.search(r'id="next-step"\s*disabled', page.text)
    blind = post(http, second, action="next")
    assert blind.status_code == 400 and "«استعلام» را بزنید" in blind.text

    for fields in ({**FREE, "request_number": "1402-10045"},
                   {**FREE, "renovation_code": "99-999-999-9"}):
        mismatch = post(http, second, action="search", **fields)
        assert mismatch.status_code == 400
        assert ("ابتدا مجدد اطلاعات ورودی را بررسی کنید درصورت برطرف نشدن مشکل با سامانه "
                "137 تماس بگیرید") in mismatch.text
        assert re.search(r'id="next-step"\s*disabled', mismatch.text)
    theirs = post(http, second, action="search", renovation_code="05-900-300-2",
                  request_number="1400-7781")
    assert theirs.status_code == 400 and "به نام شما ثبت نشده است" in theirs.text
    assert MOHAMMADREZA["national_code"] not in theirs.text and "ابتدا مجدد" not in theirs.text

    valid = post(http, second, action="search", renovation_code="۱۰ ۱۲۳ ۴۵۶ ۸",
                 request_number="۱۴۰۲/۱۰۰۴۴")
    assert valid.status_code == 200 and "شماره درخواست معتبر می باشد" in valid.text
    assert "خیابان ولیعصر" in valid.text and "مالک" in valid.text
    assert not re.search(r'id="next-step"\s*disabled', valid.text)

    # «گام قبلی» keeps what was typed.
    back = post(http, second, action="back", renovation_code="10-123-456-9",
                request_number="typed")
    assert redirected_to(back, 1)
    shown = http.get(second, timeout=10).text
    assert 'value="10-123-456-9"' in shown and 'value="typed"' in shown

    # A failed search after a valid one closes «گام بعدی» again.
    post(http, second, action="search", **{**FREE, "request_number": "0"})
    assert post(http, second, action="next").status_code == 400

    # Rate-limited per citizen, as the transfer's «جستجو» (shared counters: ten in all).
    token = csrf_of(http.get(second, timeout=10))
    answers = [http.post(second, timeout=10, data={
        "csrf_token": token, "action": "search", **FREE}).status_code for _ in range(8)]
    assert answers[-1] == 429
    assert "از حد مجاز گذشته" in http.post(second, timeout=10, data={
        "csrf_token": token, "action": "search", **FREE}).text


def test_the_history_step_shows_the_latest_certificate_or_stops(sites):
    from sqlalchemy.orm import Session

    from clients.common.sessions import utcnow
    from clients.municipal.models import Citizen, ServiceRequest

    http = citizen(sites)
    third = at_history(http, sites, FREE)
    page = http.get(third, timeout=10)
    # The newest of the registry's certificates (1402 over 1398), not the answer without one.
    assert "گواهی انتقال آپارتمان" in page.text and fa("1402/09/03") in page.text
    assert fa("1398/02/01") not in page.text
    assert not re.search(r'id="next-step"\s*disabled', page.text)

    # No certificate on record: a message, and no way on, however it is posted.
    stopped = at_history(http, sites, NO_CERTIFICATE)
    page = http.get(stopped, timeout=10)
    assert 'id="no-certificate"' in page.text and "گواهی‌ای در سوابق شهرداری یافت نشد" in page.text
    assert re.search(r'id="next-step"\s*disabled', page.text)
    refused = post(http, stopped, action="next")
    assert refused.status_code == 400 and 'id="no-certificate"' in refused.text
    assert redirected_to(http.get(step_url(stopped, 4), allow_redirects=False, timeout=10), 3)

    # A transfer certificate issued here counts, and being newer, is the one shown.
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    issued_at = (utcnow() - timedelta(days=3)).isoformat(timespec="seconds")
    with Session(engine) as db:
        someone = db.query(Citizen).first()
        for number, code, state in (("4000000001", "227000151", "issued"),
                                    ("4000000002", "101234568", "archived"),
                                    ("4000000003", "101234568", "cancelled")):
            db.add(ServiceRequest(tracking_number=number, citizen_id=someone.id,
                                  kind="transfer", renovation_code=code, state=state,
                                  data={"history": [{"action": "issue", "to": "issued",
                                                     "at": issued_at}]}))
        db.commit()
    now_open = post(http, stopped, action="next")
    assert redirected_to(now_open, 4)
    assert fa("4000000001") in http.get(stopped, timeout=10).text
    shown = http.get(third, timeout=10).text
    assert fa("4000000002") in shown and fa("1402/09/03") not in shown
    assert fa("4000000003") not in shown


def test_the_documents_step(sites):
    http = citizen(sites)
    fourth = at_documents(http, sites)
    page = http.get(fourth, timeout=10)
    for label in ("شماره نامه", "تاریخ نامه", "نام نهاد یا اداره استعلام کننده", "انتخاب فایل",
                  "تأیید و ارسال", 'id="add-file"'):
        assert label in page.text, label
    assert re.search(r'id="next-step"\s*disabled', page.text)

    # No image yet: a post to the next step is refused, and the step after stays closed.
    early = post(http, fourth, action="next", **LETTER)
    assert early.status_code == 400 and "تصویر نامه" in early.text
    assert redirected_to(http.get(step_url(fourth, 5), allow_redirects=False, timeout=10), 4)

    bad = upload(http, fourth, [("script.jpg", b"#!/bin/sh\n", "image/jpeg"),
                                ("empty.png", b"", "image/png")], **LETTER)
    assert bad.status_code == 400
    assert "«script.jpg» تصویر JPEG یا PNG نیست" in bad.text and "«empty.png» خالی است" in bad.text
    one = upload(http, fourth, [("../../letter.png", image(), "image/png")], **LETTER)
    assert one.status_code == 200 and "letter.png" in one.text and "../" not in one.text
    assert not re.search(r'id="next-step"\s*disabled', one.text)

    # Served to the applicant only.
    link = re.search(r'href="(/inquiry/draft/[^"]+/documents/[^"]+)"', one.text).group(1)
    served = http.get(sites["municipal"] + link, timeout=10)
    assert served.status_code == 200 and served.headers["X-Content-Type-Options"] == "nosniff"
    other = citizen(sites, MARYAM)
    assert other.get(sites["municipal"] + link, timeout=10).status_code == 404
    assert other.get(fourth, timeout=10).status_code == 404
    assert http.get(sites["municipal"] + link.replace("/inquiry/", "/transfer/"),
                    timeout=10).status_code == 404  # an inquiry's draft is not a transfer's

    for change, message in (({"letter_date": "1499/01/01"}, "نمی‌تواند پس از امروز باشد"),
                            ({"letter_date": "1404/13/01"}, "تاریخ نامه را به شکل"),
                            ({"letter_number": ""}, "شماره نامه را وارد کنید"),
                            ({"body": " "}, "نام نهاد یا اداره استعلام کننده را وارد کنید")):
        refused = post(http, fourth, action="next", **{**LETTER, **change})
        assert refused.status_code == 400 and message in refused.text, change

    # «حذف» closes «گام بعدی» again; «گام قبلی» keeps the letter as typed.
    page = http.get(fourth, timeout=10)
    document_id = re.search(r'name="delete" value="([^"]+)"', page.text).group(1)
    removed = http.post(fourth, timeout=10, data={"csrf_token": csrf_of(page),
                                                  "delete": document_id, **LETTER})
    assert removed.status_code == 200 and 'id="no-documents"' in removed.text
    upload(http, fourth, [("letter.jpg", image("JPEG"), "image/jpeg")], **LETTER)
    back = post(http, fourth, action="back", **{**LETTER, "letter_number": "kept-77"})
    assert redirected_to(back, 3)
    assert 'value="kept-77"' in http.get(fourth, timeout=10).text
    assert redirected_to(post(http, fourth, action="next", **LETTER), 5)


def test_a_code_in_debt_cannot_register_until_paid_online(sites):
    http = citizen(sites)
    fifth = at_dues(http, sites, IN_DEBT)
    page = http.get(fifth, timeout=10)
    assert "تسویه عوارض" in page.text and "۱۸٬۵۰۰٬۰۰۰ ریال" in page.text
    assert "کدنوسازی دارای بدهی اجازه ثبت درخواست ندارد" in page.text
    assert re.search(r'id="register"\s*disabled', page.text) and "پرداخت آنلاین" in page.text
    refused = post(http, fifth, action="register")
    assert refused.status_code == 400 and "ابتدا بدهی عوارض نوسازی را پرداخت کنید" in refused.text
    assert requests_in(sites) == []

    # The gateway down: a clear page, nothing started.
    payment = sites.apps["municipal"].extensions["municipal"].payment
    live_url = payment.gateway_url
    payment.gateway_url = f"http://127.0.0.1:{free_port()}"
    down = post(http, fifth, action="pay")
    payment.gateway_url = live_url
    assert down.status_code == 503 and "ارتباط با درگاه پرداخت برقرار نشد" in down.text

    # «پرداخت آنلاین»: to the gateway and back; the callback (no session cookie) counts it.
    started = post(http, fifth, action="pay")
    assert started.status_code == 303 and started.headers["Location"].startswith(sites.gateway)
    bank = requests.Session()
    pay_page = bank.get(started.headers["Location"], timeout=10)
    assert "۱۸٬۵۰۰٬۰۰۰ ریال" in pay_page.text
    back = bank.post(started.headers["Location"], timeout=10,
                     data={"csrf_token": csrf_of(pay_page), "action": "pay"})
    paid = requests.post(sites["municipal"] + "/payment/callback", data=hidden_fields(back),
                         timeout=10)
    assert paid.status_code == 200 and "با موفقیت" in paid.text
    assert f'href="{fifth.removeprefix(sites["municipal"])}"' in paid.text  # back to this step
    page = http.get(fifth, timeout=10)
    assert "این کدنوسازی فاقد بدهی می باشد" in page.text and "پرداخت آنلاین" not in page.text
    assert post(http, fifth, action="pay").status_code == 200  # nothing owed: nothing started
    done = post(http, fifth, action="register")
    assert done.status_code == 303 and "/inquiry/requests/" in done.headers["Location"]
    assert [row[1:] for row in requests_in(sites)] == [("inquiry", "issued", "101234567")]


def test_register_and_issue_the_answer(sites, tmp_path):
    from sqlalchemy.orm import Session

    from clients.municipal.models import ServiceRequest

    http = citizen(sites)
    fifth = at_dues(http, sites)
    page = http.get(fifth, timeout=10)
    assert "این کدنوسازی فاقد بدهی می باشد" in page.text and "ثبت درخواست و صدور" in page.text
    assert requests_in(sites) == []
    done = post(http, fifth, action="register")
    assert done.status_code == 303
    place = done.headers["Location"]
    number = re.search(r"/inquiry/requests/([0-9]{10})$", place).group(1)
    assert requests_in(sites) == [(number, "inquiry", "issued", "101234568")]
    assert http.get(fifth, timeout=10).status_code == 404  # the draft became the request

    page = http.get(sites["municipal"] + place, timeout=10)
    assert "شماره پیگیری" in page.text and fa(number) in page.text
    assert "صدور پاسخ استعلام" in page.text and "بانک ملی ایران، شعبه فاطمی" in page.text
    answer = http.get(sites["municipal"] + place + "/answer", timeout=10)
    assert answer.status_code == 200
    for text in ("پاسخ استعلام", fa("۸۸۱۲/ب"), fa("1404/02/15"), "بانک ملی ایران، شعبه فاطمی",
                 "گواهی انتقال آپارتمان", fa("1402-10044"), "خیابان ولیعصر"):
        assert text in answer.text, text
    # «نمایش تصویر گواهی»: the answer names the letter and the inquiring body; «چاپ استعلام»
    # opens the printable page in a new tab; the PDF is the same answer.
    assert re.search(r'id="print-inquiry" href="/certificates/' + number + '" target="_blank"',
                     answer.text)
    shown = http.get(sites["municipal"] + "/certificates/" + number, timeout=10)
    assert shown.status_code == 200
    for text in ("پاسخ استعلام ادارات/ ترهین", number, "10-123-456-8", "۸۸۱۲/ب",
                 "بانک ملی ایران، شعبه فاطمی", fa("1404/02/15"), "مالک", ALI,
                 "در پاسخ به نامه شماره", "1402-10044"):
        assert text in shown.text, text
    pdf = http.get(sites["municipal"] + f"/certificates/{number}.pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # Texted to the login's own mobile: an inquiry has no SMS code step.
    texts = [m for m in codes_in(sites, tmp_path) if m["purpose"] == "inquiry_state"]
    assert len(texts) == 1 and number in texts[0]["text"] and texts[0]["to"] == "09120000001"
    assert fa(number) in http.get(sites["municipal"] + "/inquiry", timeout=10).text
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with Session(engine) as db:
        item = db.query(ServiceRequest).one()
        assert item.open_code is None and item.visit_slot is None
        assert item.data["applicant"] == ALI and item.data["role"] == "owner"
        assert item.data["letter"]["body"] == "بانک ملی ایران، شعبه فاطمی"

    # Another citizen's request, by URL: as missing as a wrong number.
    other = citizen(sites, MARYAM)
    for path in (place, place + "/answer", "/transfer/requests/" + number,
                 f"/certificates/{number}", f"/certificates/{number}.pdf"):
        assert other.get(sites["municipal"] + path, timeout=10).status_code == 404
    assert http.get(sites["municipal"] + "/transfer/requests/" + number,
                    timeout=10).status_code == 404


def test_an_attorney_registers_as_attorney(sites):
    http = citizen(sites, MARYAM)
    fifth = at_dues(http, sites)
    done = post(http, fifth, action="register")
    assert done.status_code == 303
    page = http.get(sites["municipal"] + done.headers["Location"], timeout=10)
    assert "وکیل" in page.text
    assert requests_in(sites)[0][1:] == ("inquiry", "issued", "101234568")


def test_two_presses_at_once_register_one_request(sites):

    http = citizen(sites)
    fifth = at_dues(http, sites)
    token = csrf_of(http.get(fifth, timeout=10))
    press = partial(http.post, fifth, timeout=30, allow_redirects=False,
                    data={"csrf_token": token, "action": "register"})
    answers = at_once(press, press)
    assert len(requests_in(sites)) == 1
    assert sum(a.status_code == 303 and "/inquiry/requests/" in a.headers["Location"]
               for a in answers) == 1
    assert all(a.status_code in (303, 404) for a in answers)
