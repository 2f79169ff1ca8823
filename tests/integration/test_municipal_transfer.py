"""«درخواست انتقال» (issue 10, seed 003) over real HTTP: the provider and the municipal app on
their own ports, a ``requests`` session as the citizen's browser, logged in through the
provider as tests/integration/test_municipal.py does. The steps built so far: the list,
«ثبت درخواست جدید», «تعهدات» and «انتخاب آپارتمان», with the server-side step guard."""

import re

import pytest
import requests
from relying_parties import MARYAM, csrf_of, give_email, log_in, running_services

VALID = {"renovation_code": "10-123-456-7", "request_number": "1401-55871"}
STEP_URL = re.compile(r"/transfer/draft/([A-Za-z0-9_-]+)/(\d)$")


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path):
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


def new_draft(http, sites) -> str:
    """«ثبت درخواست جدید» from the list; returns the draft's first step URL."""
    page = http.get(sites["municipal"] + "/transfer", timeout=10)
    assert page.status_code == 200 and "ثبت درخواست جدید" in page.text
    answer = http.post(sites["municipal"] + "/transfer/new", timeout=10, allow_redirects=False,
                       data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert STEP_URL.search(location).group(2) == "1"
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
