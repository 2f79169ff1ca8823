"""«درخواست انتقال» (issue 10, seed 003) over real HTTP: the provider and the municipal app on
their own ports, a ``requests`` session as the citizen's browser, logged in through the
provider as tests/integration/test_municipal.py does. The steps built so far: the list,
«ثبت درخواست جدید», «تعهدات» and «انتخاب آپارتمان», with the server-side step guard."""

import re
from functools import partial

import pytest
import requests
from live import at_once
from relying_parties import MARYAM, csrf_of, give_email, log_in, running_services

VALID = {"renovation_code": "10-123-456-7", "request_number": "1401-55871"}
STEP_URL = re.compile(r"/transfer/draft/([A-Za-z0-9_-]+)/(\d)$")


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path, monkeypatch):
    # The app's settings from the environment (MUNICIPAL_<SECTION>_<KEY>), as an operator's.
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("MUNICIPAL_UPLOADS_MAX_BYTES", "200000")
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_SMS_OUTBOX_PATH", str(tmp_path / "m-outbox.jsonl"))
    monkeypatch.setenv("MUNICIPAL_VISITS_CAPACITY", "1")
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with running_services(tmp_path, database_url=database_url,
                          names=("municipal",)) as running:
        yield running


def citizen(sites, person=None) -> requests.Session:
    http = requests.Session()
    if person:
        log_in(http, sites, person=person)
    else:
        log_in(http, sites)
    give_email(http, sites, f"{(person or {}).get('national_code', 'ali')}@example.ir")
    return http


def new_draft(http, sites, wizard: str = "transfer") -> str:
    """«ثبت درخواست جدید» from ``wizard``'s list (``/transfer`` or ``/inquiry``); returns the
    draft's first step URL."""
    page = http.get(f"{sites['municipal']}/{wizard}", timeout=10)
    assert page.status_code == 200 and "ثبت درخواست جدید" in page.text
    answer = http.post(f"{sites['municipal']}/{wizard}/new", timeout=10, allow_redirects=False,
                       data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert re.search(rf"/{wizard}/draft/[A-Za-z0-9_-]+/1$", location)
    return requests.compat.urljoin(sites["municipal"], location)


def post(http, url: str, **fields) -> requests.Response:
    page = http.get(url, timeout=10)
    return http.post(url, timeout=10, allow_redirects=False,
                     data={"csrf_token": csrf_of(page), **fields})


def step_url(first: str, number: int) -> str:
    return first[:-1] + str(number)


def accept(http, first: str) -> str:
    answer = post(http, first, accept="yes", action="next")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/2")
    return step_url(first, 2)


def test_the_list_a_new_draft_and_the_commitments_step(sites):
    http = citizen(sites)
    listing = http.get(sites["municipal"] + "/transfer", timeout=10)
    assert 'dir="rtl"' in listing.text and "درخواست انتقال" in listing.text
    assert 'id="no-requests"' in listing.text
    first = new_draft(http, sites)

    page = http.get(first, timeout=10)
    assert "تعهدات" in page.text and "تمامی موارد فوق مورد تأیید است" in page.text
    assert 'aria-current="step"' in page.text and "انتخاب کارشناس بازدید" in page.text
    assert 'data-needs="accept"' in page.text and "wizard.js" in page.text
    assert "گام قبلی" not in page.text  # the first step has none
    assert http.get(sites["municipal"] + "/static/wizard.js", timeout=10).status_code == 200

    # No step is reached by posting to it first: the search is not even run.
    skipped = post(http, step_url(first, 2), action="search", **VALID)
    assert skipped.status_code == 303 and skipped.headers["Location"].endswith("/1")
    assert "ابتدا گام‌های پیشین را کامل کنید" in http.get(first, timeout=10).text
    for later in (3, 5):
        assert http.get(step_url(first, later), allow_redirects=False,
                        timeout=10).headers["Location"].endswith("/1")
    assert http.get(step_url(first, 6), timeout=10).status_code == 404
    assert http.get(step_url(first, 0), timeout=10).status_code == 404

    # Without JavaScript the button is pressable: the server refuses an unticked box.
    refused = post(http, first, action="next")
    assert refused.status_code == 400
    assert "تأیید تعهدات الزامی است" in refused.text
    no_csrf = http.post(first, data={"accept": "yes", "action": "next"}, timeout=10)
    assert no_csrf.status_code == 400

    second = accept(http, first)
    again = http.get(first, timeout=10)
    assert 'name="accept" value="yes" checked' in again.text  # going back keeps the tick
    page = http.get(second, timeout=10)
    assert "کدنوسازی" in page.text and "شماره درخواست یا گواهی" in page.text
    assert ">جستجو<" in page.text.replace("\n", "")
    # «گام بعدی» stays closed until a valid search, and a post cannot open it.
    assert re.search(r'id="next-step"\s*disabled', page.text)
    blind = post(http, second, action="next")
    assert blind.status_code == 400 and "جستجو کنید" in blind.text
    # The unfinished draft is listed, to be continued.
    assert "درخواست‌های ناتمام" in http.get(sites["municipal"] + "/transfer", timeout=10).text

    # The same pages in English, left to right.
    http.get(sites["municipal"] + "/lang/en", timeout=10)
    english = http.get(second, timeout=10).text
    assert 'dir="ltr"' in english and "Renovation code" in english
    assert "Next step" in english and "Previous step" in english
    assert "I confirm all of the above" in http.get(first, timeout=10).text


def test_the_apartment_search_outcomes(sites):
    http = citizen(sites)
    second = accept(http, new_draft(http, sites))

    for fields in ({"renovation_code": "10-123-456-7", "request_number": "1401-55872"},
                   {"renovation_code": "99-999-999-9", "request_number": "1401-55871"}):
        mismatch = post(http, second, action="search", **fields)
        assert mismatch.status_code == 400
        assert ("ابتدا مجدد اطلاعات ورودی را بررسی کنید درصورت برطرف نشدن مشکل با سامانه "
                "137 تماس بگیرید") in mismatch.text
        assert "معتبر می باشد" not in mismatch.text
        assert re.search(r'id="next-step"\s*disabled', mismatch.text)
    empty = post(http, second, action="search", renovation_code=" ", request_number="")
    assert empty.status_code == 400 and "را وارد کنید" in empty.text

    # Another citizen's apartment, code and number right: its own message, no owner named.
    theirs = post(http, second, action="search", renovation_code="05-900-300-2",
                  request_number="1400-7781")
    assert theirs.status_code == 400 and "به نام شما ثبت نشده است" in theirs.text
    assert "2607114462" not in theirs.text and "کریمی" not in theirs.text
    assert "ابتدا مجدد" not in theirs.text

    # Persian digits and other separators are the same code.
    valid = post(http, second, action="search", renovation_code="۱۰ ۱۲۳ ۴۵۶ ۷",
                 request_number="۱۴۰۱/۵۵۸۷۱")
    assert valid.status_code == 200
    assert "شماره درخواست معتبر می باشد" in valid.text and "مالک" in valid.text
    assert "خیابان فاطمی" in valid.text
    assert not re.search(r'id="next-step"\s*disabled', valid.text)

    # «گام قبلی» keeps what was typed on the way back and forth.
    back = post(http, second, action="back", renovation_code="10-123-456-8",
                request_number="typed")
    assert back.status_code == 303 and back.headers["Location"].endswith("/1")
    shown = http.get(second, timeout=10).text
    assert 'value="10-123-456-8"' in shown and 'value="typed"' in shown

    # A failed search after a valid one closes «گام بعدی» again.
    post(http, second, action="search", renovation_code="10-123-456-7",
         request_number="0000")
    assert post(http, second, action="next").status_code == 400
    post(http, second, action="search", **VALID)
    forward = post(http, second, action="next")
    assert forward.status_code == 303 and forward.headers["Location"].endswith("/3")


def test_an_attorney_goes_on_as_attorney(sites):
    http = citizen(sites, MARYAM)
    second = accept(http, new_draft(http, sites))
    valid = post(http, second, action="search", **VALID)
    assert valid.status_code == 200 and "شماره درخواست معتبر می باشد" in valid.text
    assert "وکیل" in valid.text


def test_searches_are_limited_and_drafts_are_private(sites):
    http = citizen(sites)
    first = new_draft(http, sites)
    second = accept(http, first)
    page = http.get(second, timeout=10)
    token = csrf_of(page)
    answers = [http.post(second, timeout=10, data={
        "csrf_token": token, "action": "search", "renovation_code": "10-123-456-7",
        "request_number": str(n)}).status_code for n in range(11)]
    assert answers[:10] == [400] * 10 and answers[10] == 429
    limited = http.post(second, timeout=10, data={"csrf_token": token, "action": "search",
                                                   **VALID})
    assert limited.status_code == 429 and "از حد مجاز گذشته" in limited.text

    # Another citizen cannot open or post to this draft: it is as missing as a wrong id.
    other = citizen(sites, MARYAM)
    assert other.get(first, timeout=10).status_code == 404
    mine = other.get(sites["municipal"] + "/transfer", timeout=10)
    assert other.post(second, timeout=10, data={"csrf_token": csrf_of(mine),
                                                 "accept": "yes"}).status_code == 404
    assert other.get(step_url(first, 1).replace(STEP_URL.search(first).group(1), "nope"),
                     timeout=10).status_code == 404
    # Logged out, the list sends the visitor to log in.
    anonymous = requests.get(sites["municipal"] + "/transfer", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def image(kind: str = "PNG", size=(40, 30), **save) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind, **save)
    return buffer.getvalue()


def at_documents(http, sites, apartment: dict = VALID) -> str:
    second = accept(http, new_draft(http, sites))
    assert post(http, second, action="search", **apartment).status_code == 200
    assert post(http, second, action="next").status_code == 303
    return step_url(second, 3)


LETTER = {"role": "owner", "letter_number": "۱۲۳۴/ص", "letter_date": "۱۴۰۴/۰۲/۱۵",
          "body": "دفترخانه اسناد رسمی ۱۲ تهران"}


def upload(http, url: str, files: list[tuple[str, bytes, str]], **fields) -> requests.Response:
    page = http.get(url, timeout=10)
    return http.post(url, timeout=10, allow_redirects=False,
                     data={"csrf_token": csrf_of(page), "action": "upload", **fields},
                     files=[("files", item) for item in files])


def test_the_documents_step_keeps_only_real_images(sites, tmp_path):
    from PIL import Image

    http = citizen(sites)
    third = at_documents(http, sites)
    page = http.get(third, timeout=10)
    for label in ("مالک", "وکیل", "شماره نامه", "تاریخ نامه", "نام نهاد استعلام کننده",
                  "انتخاب فایل", "تأیید و ارسال", 'id="add-file"'):
        assert label in page.text, label
    assert re.search(r'id="next-step"\s*disabled', page.text)

    # Two images, then a post to the next step: refused, and the step after stays closed.
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    buffer = __import__("io").BytesIO()
    Image.new("RGB", (50, 40), (10, 20, 30)).save(buffer, "JPEG", exif=exif.tobytes())
    two = upload(http, third, [("../../etc/passwd.jpg", buffer.getvalue(), "image/jpeg"),
                               ("C:\\Users\\ali\\scan.png", image(), "text/plain")], **LETTER)
    assert two.status_code == 200
    assert "passwd.jpg" in two.text and "scan.png" in two.text and "../" not in two.text
    early = post(http, third, action="next", **LETTER)
    assert early.status_code == 400 and "دست‌کم ۳ تصویر" in early.text.replace("3", "۳")
    assert http.get(step_url(third, 4), allow_redirects=False,
                    timeout=10).headers["Location"].endswith("/3")

    # The bad ones, each refused by name; the stored files are random names, mode 0600.
    flood = __import__("io").BytesIO()
    Image.new("1", (20000, 20000)).save(flood, "PNG")  # past Pillow's own bomb limit
    wide = __import__("io").BytesIO()
    Image.new("1", (8000, 6000)).save(wide, "PNG")  # under Pillow's, over the app's
    bad = upload(http, third, [
        ("script.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg"),
        ("empty.png", b"", "image/png"),
        ("big.png", image(size=(400, 400), compress_level=0), "image/png"),
        ("flood.png", flood.getvalue(), "image/png"),
        ("wide.png", wide.getvalue(), "image/png"),
        ("page.gif", b"GIF89a" + b"\x00" * 20, "image/gif"),
    ])
    assert bad.status_code == 400
    for message in ("«script.jpg» تصویر JPEG یا PNG نیست", "«empty.png» خالی است",
                    "حجم فایل «big.png» بیش از", "ابعاد تصویر «flood.png» بیش از حد مجاز",
                    "ابعاد تصویر «wide.png» بیش از حد مجاز",
                    "«page.gif» تصویر JPEG یا PNG نیست"):
        assert message in bad.text, message
    uploads_dir = sites.apps["municipal"].extensions["municipal_upload_dir"]
    kept = sorted(uploads_dir.iterdir())
    assert len(kept) == 2
    assert all(oct(path.stat().st_mode & 0o777) == "0o600" for path in kept)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}\.(jpg|png)", path.name) for path in kept)

    # Served to the applicant only, as the image it is, without its metadata.
    links = re.findall(r'href="(/transfer/draft/[^"]+/documents/[^"]+)"', bad.text)
    assert len(links) == 2
    served = http.get(sites["municipal"] + links[0], timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert b"SecretCam" not in served.content and b"SecretCam" in buffer.getvalue()
    other = citizen(sites, MARYAM)
    assert other.get(sites["municipal"] + links[0], timeout=10).status_code == 404

    # A third image opens «گام بعدی»; a wrong role or a future date is still refused.
    three = upload(http, third, [("deed.png", image(), "image/png")], **LETTER)
    assert three.status_code == 200 and not re.search(r'id="next-step"\s*disabled', three.text)
    wrong_role = post(http, third, action="next", **{**LETTER, "role": "attorney"})
    assert wrong_role.status_code == 400 and "همخوانی ندارد" in wrong_role.text
    future = post(http, third, action="next", **{**LETTER, "letter_date": "1499/01/01"})
    assert future.status_code == 400 and "نمی‌تواند پس از امروز باشد" in future.text
    bad_date = post(http, third, action="next", **{**LETTER, "letter_date": "1404/13/01"})
    assert bad_date.status_code == 400 and "تاریخ نامه را به شکل" in bad_date.text

    # «حذف» takes one away (file too) and closes «گام بعدی» again.
    page = http.get(third, timeout=10)
    first_id = re.search(r'name="delete" value="([^"]+)"', page.text).group(1)
    removed = http.post(third, timeout=10, data={"csrf_token": csrf_of(page),
                                                 "delete": first_id, **LETTER})
    assert removed.status_code == 200 and len(list(uploads_dir.iterdir())) == 2
    assert re.search(r'id="next-step"\s*disabled', removed.text)
    upload(http, third, [("again.png", image(), "image/png")], **LETTER)

    # «گام قبلی» keeps the letter; then the step is taken.
    back = post(http, third, action="back", **{**LETTER, "letter_number": "kept-77"})
    assert back.status_code == 303
    assert 'value="kept-77"' in http.get(third, timeout=10).text
    done = post(http, third, action="next", **LETTER)
    assert done.status_code == 303 and done.headers["Location"].endswith("/4")


def test_an_over_large_body_is_a_persian_413_page(sites):
    http = citizen(sites)
    third = at_documents(http, sites)
    settings = sites.apps["municipal"].extensions["municipal"].uploads
    huge = b"\xff" * (settings.max_bytes * settings.max_files + 512 * 1024)
    answer = upload(http, third, [("huge.jpg", huge, "image/jpeg")])
    assert answer.status_code == 413
    assert "حجم فایل‌های فرستاده‌شده بیش از حد مجاز است" in answer.text


def test_drafts_and_their_files_go_after_a_day(sites):
    from datetime import timedelta

    from sqlalchemy import text

    http = citizen(sites)
    third = at_documents(http, sites)
    upload(http, third, [("deed.png", image(), "image/png")])
    uploads_dir = sites.apps["municipal"].extensions["municipal_upload_dir"]
    assert len(list(uploads_dir.iterdir())) == 1
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    from clients.common.sessions import utcnow
    with engine.begin() as conn:
        conn.execute(text("UPDATE drafts SET updated_at = :old"),
                     {"old": utcnow() - timedelta(days=1, minutes=1)})
    new_draft(http, sites)  # starting another sweeps the stale ones
    assert list(uploads_dir.iterdir()) == []
    assert http.get(third, timeout=10).status_code == 404


def at_visit(http, sites, apartment: dict = VALID, role: str = "owner") -> str:
    third = at_documents(http, sites, apartment)
    letter = {**LETTER, "role": role}
    upload(http, third, [(f"doc{n}.png", image(), "image/png") for n in range(3)], **letter)
    assert post(http, third, action="next", **letter).status_code == 303
    return step_url(third, 4)


def future_slot(hour: str = "10:00", weekday: int | None = None) -> str:
    """An open day's slot a few days ahead (Tehran time); ``weekday`` picks a given one."""
    from datetime import timedelta

    from clients.municipal.visits import now_tehran

    day = now_tehran().date() + timedelta(days=2)
    while (day.weekday() == 4) if weekday is None else (day.weekday() != weekday):
        day += timedelta(days=1)
    return f"{day.isoformat()}T{hour}"


def codes_in(sites, tmp_path) -> list[dict]:
    import json

    path = tmp_path / "m-outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def edit_draft(sites, change) -> None:
    from sqlalchemy.orm import Session

    from clients.municipal.models import Draft

    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with Session(engine) as db:
        for draft in db.query(Draft):
            draft.data = change(dict(draft.data))
        db.commit()


def test_the_visit_step_calendar_slots_and_phone_code(sites, tmp_path):
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from clients.municipal.models import Citizen, ServiceRequest
    from clients.municipal.visits import now_tehran

    http = citizen(sites)
    fourth = at_visit(http, sites)
    page = http.get(fourth, timeout=10)
    assert page.status_code == 200
    for label in ("انتخاب کارشناس بازدید", "شماره تماس مالک جهت هماهنگی کارشناس",
                  "دریافت کد تایید", "کد تاییدیه", "بررسی کد", 'name="day"'):
        assert label in page.text, label
    assert 'value="09120000001"' in page.text  # from the phone_number claim
    assert any(name in page.text for name in ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد",
                                              "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن",
                                              "اسفند"))
    assert re.search(r'id="next-step"\s*disabled', page.text)
    slot = future_slot()
    day_page = http.post(fourth, timeout=10, data={"csrf_token": csrf_of(page),
                                                   "day": slot[:10]})
    assert f'value="{slot}"' in day_page.text and "ظرفیت باقی‌مانده" in day_page.text

    # The phone code: texted to the outbox, kept hashed, cool-down, five tries.
    sent = post(http, fourth, action="send_code", mobile="۰۹۱۲ ۰۰۰ ۰۰۰۱", slot=slot)
    assert sent.status_code == 200 and "پیامک شد" in sent.text
    messages = codes_in(sites, tmp_path)
    assert len(messages) == 1 and messages[0]["to"] == "09120000001"
    assert set(messages[0]) == {"to", "text", "code", "purpose", "at"}
    code = messages[0]["code"]
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with engine.connect() as conn:
        stored = str(conn.exec_driver_sql("SELECT data FROM drafts").all())
    assert code not in stored
    again = post(http, fourth, action="send_code", mobile="09120000001", slot=slot)
    assert again.status_code == 400 and "ثانیه صبر کنید" in again.text
    assert len(codes_in(sites, tmp_path)) == 1
    bad_number = post(http, fourth, action="send_code", mobile="0912", slot=slot)
    assert bad_number.status_code == 400 and "معتبر نیست" in bad_number.text

    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        answer = post(http, fourth, action="check_code", mobile="09120000001", code=wrong,
                      slot=slot)
        assert answer.status_code == 400 and "کد تاییدیه درست نیست" in answer.text
    fifth = post(http, fourth, action="check_code", mobile="09120000001", code=wrong, slot=slot)
    assert "از حد مجاز گذشت" in fifth.text
    sixth = post(http, fourth, action="check_code", mobile="09120000001", code=code, slot=slot)
    assert sixth.status_code == 400 and "از حد مجاز گذشت" in sixth.text
    assert "phone-verified" not in sixth.text

    # After the cool-down, a new code; left past its lifetime, it is refused.
    def cooled(data, expire=False):
        visit = dict(data["visit"])
        record = dict(visit["code"])
        record["sent_at"] -= 3600
        if expire:
            record["expires_at"] -= 3600
        visit["code"] = record
        return {**data, "visit": visit}

    edit_draft(sites, cooled)
    post(http, fourth, action="send_code", mobile="09120000001", slot=slot)
    code = codes_in(sites, tmp_path)[-1]["code"]
    edit_draft(sites, lambda data: cooled(data, expire=True))
    expired = post(http, fourth, action="check_code", mobile="09120000001", code=code,
                   slot=slot)
    assert expired.status_code == 400 and "مهلت این کد به پایان رسیده است" in expired.text
    edit_draft(sites, cooled)
    post(http, fourth, action="send_code", mobile="09120000001", slot=slot)
    code = codes_in(sites, tmp_path)[-1]["code"]
    good = post(http, fourth, action="check_code", mobile="09120000001",
                code="".join("۰۱۲۳۴۵۶۷۸۹"[int(d)] for d in code), slot=slot)
    assert good.status_code == 200 and 'id="phone-verified"' in good.text
    assert not re.search(r'id="next-step"\s*disabled', good.text)

    # Slots posted directly: past, unlisted, a Friday, full, none.
    yesterday = (now_tehran().date() - timedelta(days=1)).isoformat()
    for bad, message in ((f"{yesterday}T10:00", "گذشته است"),
                         (slot[:11] + "10:30", "در فهرست ساعت‌های بازدید نیست"),
                         ("not-a-slot", "در فهرست ساعت‌های بازدید نیست"),
                         (future_slot(weekday=4), "در این روز بازدید انجام نمی‌شود"),
                         ("", "روز و ساعت بازدید را انتخاب کنید")):
        refused = post(http, fourth, action="next", mobile="09120000001", slot=bad)
        assert refused.status_code == 400 and message in refused.text, bad
    with Session(engine) as db:
        someone = db.query(Citizen).first()
        db.add(ServiceRequest(tracking_number="1234567890", citizen_id=someone.id,
                              kind="transfer", renovation_code="X", state="awaiting_visit",
                              visit_slot=slot, data={}))
        db.commit()
    full = post(http, fourth, action="next", mobile="09120000001", slot=slot)
    assert full.status_code == 400 and "ظرفیت این ساعت تکمیل است" in full.text
    assert "تکمیل ظرفیت" in http.post(fourth, timeout=10, data={
        "csrf_token": csrf_of(full), "day": slot[:10]}).text

    # A changed number must be proved again.
    other_slot = slot[:11] + "11:00"
    changed = post(http, fourth, action="next", mobile="09350000002", slot=other_slot)
    assert changed.status_code == 400 and "با کد تایید پیامک‌شده تایید کنید" in changed.text
    done = post(http, fourth, action="next", mobile="09120000001", slot=other_slot)
    assert done.status_code == 303 and done.headers["Location"].endswith("/5")
    assert f'value="{other_slot}"' in http.get(fourth, timeout=10).text  # kept going back
    back = post(http, fourth, action="back", mobile="09120000009", slot=slot[:11] + "12:00")
    assert back.status_code == 303 and back.headers["Location"].endswith("/3")
    kept = http.get(fourth, timeout=10).text
    assert 'value="09120000009"' in kept


def at_review(http, sites, tmp_path, slot: str, mobile: str, apartment: dict = VALID,
              role: str = "owner") -> str:
    fourth = at_visit(http, sites, apartment, role)
    post(http, fourth, action="send_code", mobile=mobile, slot=slot)
    code = [m for m in codes_in(sites, tmp_path) if m["to"] == mobile][-1]["code"]
    assert post(http, fourth, action="check_code", mobile=mobile, code=code,
                slot=slot).status_code == 200
    assert post(http, fourth, action="next", mobile=mobile, slot=slot).status_code == 303
    return step_url(fourth, 5)


def requests_in(sites) -> int:
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM service_requests").scalar_one()


def test_confirm_and_register_gives_a_tracking_number_and_a_text(sites, tmp_path):
    http = citizen(sites)
    slot = future_slot("11:00")
    fifth = at_review(http, sites, tmp_path, slot, "09120000001")
    review = http.get(fifth, timeout=10)
    assert review.status_code == 200
    assert ("توجه داشته باشید که تا زمانیکه کلید تأیید و ثبت را انتخاب نکرده باشید، درخواستی "
            "در سیستم درج نخواهد شد.") in review.text
    assert "خیابان فاطمی" in review.text and "تایید و ثبت" in review.text
    assert requests_in(sites) == 0  # nothing exists before the press

    done = post(http, fifth, action="register")
    assert done.status_code == 303
    number = re.search(r"/transfer/requests/([0-9]{10})$", done.headers["Location"]).group(1)
    page = http.get(sites["municipal"] + done.headers["Location"], timeout=10)
    assert "شماره پیگیری" in page.text and "".join("۰۱۲۳۴۵۶۷۸۹"[int(d)] for d in number) \
        in page.text
    assert ("کارشناس بازدید در ساعت و روز مشخص شده به آدرس مراجعه میکند و شهروند موظف است با "
            "مدارک هویتی و شهرسازی آپارتمان در محل حضور داشته باشد.") in page.text
    texts = [m for m in codes_in(sites, tmp_path) if m["purpose"] == "transfer_state"]
    assert len(texts) == 1 and number in texts[0]["text"] and texts[0]["to"] == "09120000001"
    assert requests_in(sites) == 1
    assert http.get(fifth, timeout=10).status_code == 404  # the draft became the request
    assert number in http.get(sites["municipal"] + "/transfer", timeout=10).text.translate(
        str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))

    # Another citizen cannot see it; nor start a second open request for the same code.
    other = citizen(sites, MARYAM)
    assert other.get(sites["municipal"] + done.headers["Location"], timeout=10).status_code == 404
    second = accept(other, new_draft(other, sites))
    refused = post(other, second, action="search", **VALID)
    assert refused.status_code == 400 and "درخواست انتقال در جریان است" in refused.text


def test_the_last_seat_goes_to_one_citizen(sites, tmp_path):

    slot = future_slot("13:00")
    ali = citizen(sites)
    ali_review = at_review(ali, sites, tmp_path, slot, "09120000001",
                           {"renovation_code": "10-123-456-8", "request_number": "1402-10044"})
    maryam = citizen(sites, MARYAM)
    maryam_review = at_review(maryam, sites, tmp_path, slot, "09350000002", VALID, "attorney")
    forms = [(ali, ali_review, csrf_of(ali.get(ali_review, timeout=10))),
             (maryam, maryam_review, csrf_of(maryam.get(maryam_review, timeout=10)))]
    answers = at_once(*(partial(http.post, url, timeout=30, allow_redirects=False,
                                data={"csrf_token": token, "action": "register"})
                        for http, url, token in forms))
    places = sorted(answer.headers["Location"] for answer in answers)
    assert [a.status_code for a in answers] == [303, 303]
    assert sum("/transfer/requests/" in place for place in places) == 1
    loser = next(i for i, a in enumerate(answers)
                 if "/transfer/requests/" not in a.headers["Location"])
    assert answers[loser].headers["Location"].endswith("/4")  # chooses again
    http = forms[loser][0]
    again = http.get(sites["municipal"] + answers[loser].headers["Location"], timeout=10)
    assert "ظرفیت این ساعت تکمیل است" in again.text
    assert requests_in(sites) == 1


def test_a_login_without_a_national_code_is_told_so(tmp_path):
    """A FIDA login (no ``national_code`` claim) cannot apply: the applicant is never a form
    field. The app's own test client, with a login session the base would have started."""
    from sqlalchemy.orm import Session

    from clients.municipal import create_app
    from clients.municipal.models import Citizen, Draft
    from clients.municipal.settings import load_settings

    app = create_app("http://127.0.0.1:9", "municipal", "s", "http://127.0.0.1:8",
                     f"sqlite:///{tmp_path / 'm.sqlite'}", settings=load_settings(environ={}))
    rp = app.extensions["rp"]
    claims = {"sub": "fida-1", "fida_code": "300000000101", "given_name": "Omar",
              "family_name": "Test", "phone_number": "+989120000101"}
    with Session(rp.db.engine) as db:
        cookie, _ = rp.sessions.start(db, claims=claims, token={
            "id_token": "x", "access_token": "y", "expires_at": 2**31})
        db.add(Citizen(subject="fida-1", national_code="300000000101", email="o@example.ir"))
        db.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["login"] = cookie
    listing = client.get("/transfer")
    assert listing.status_code == 200 and "ورود شما کد ملی ندارد" in listing.text
    assert "ثبت درخواست جدید" not in listing.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', listing.text).group(1)
    refused = client.post("/transfer/new", data={"csrf_token": token})
    assert refused.status_code == 403 and "ورود شما کد ملی ندارد" in refused.text
    with Session(rp.db.engine) as db:
        assert db.query(Draft).count() == 0
