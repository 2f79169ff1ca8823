"""A registered «استعلام ادارات/ ترهین» after registration (issue 10) over real HTTP: its letter
images for its applicant and for staff only, and the inquiry at «کارتابل شهرداری» beside the
transfers, archived like an issued transfer and never offered «ابطال»."""

import re

import pytest
import requests
from integration.test_municipal_inquiry import at_dues
from municipal_payment import with_gateway
from municipal_registry import use_registry
from relying_parties import FATEMEH, MARYAM, fa
from test_municipal_transfer import citizen, codes_in, post


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path, monkeypatch):
    use_registry(tmp_path, monkeypatch)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_STAFF", FATEMEH["national_code"])
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with with_gateway(tmp_path, monkeypatch, database_url) as running:
        yield running


def registered_inquiry(http, sites) -> str:
    """An inquiry walked and registered by ``http``'s citizen; its registered page's URL."""
    done = post(http, at_dues(http, sites), action="register")
    assert done.status_code == 303
    return sites["municipal"] + done.headers["Location"]


def test_the_letter_images_for_the_applicant_and_staff_only(sites):
    ali = citizen(sites)
    place = registered_inquiry(ali, sites)
    page = ali.get(place, timeout=10)
    links = re.findall(r'<a href="(/inquiry/requests/[0-9]{10}/documents/[^"]+)"', page.text)
    assert len(links) == 1 and "letter.png" in page.text
    image = ali.get(sites["municipal"] + links[0], timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.content.startswith(b"\x89PNG")

    staff = citizen(sites, FATEMEH)
    assert staff.get(sites["municipal"] + links[0], timeout=10).content == image.content
    maryam = citizen(sites, MARYAM)
    assert maryam.get(sites["municipal"] + links[0], timeout=10).status_code == 404
    for wrong in (links[0].rsplit("/", 1)[0] + "/nope",
                  links[0].replace("/inquiry/", "/transfer/"),
                  re.sub(r"/[0-9]{10}/", "/1000000000/", links[0])):
        assert staff.get(sites["municipal"] + wrong, timeout=10).status_code == 404, wrong
    anonymous = requests.get(sites["municipal"] + links[0], allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_an_inquiry_at_the_desk_is_archived_never_cancelled(sites, tmp_path):
    ali = citizen(sites)
    number = re.search(r"([0-9]{10})$", registered_inquiry(ali, sites)).group(1)
    staff = citizen(sites, FATEMEH)

    # Listed with its kind, and filtered by kind and state.
    desk = staff.get(sites["municipal"] + "/staff", timeout=10)
    assert desk.status_code == 200 and fa(number) in desk.text
    assert '<td class="kind">استعلام ادارات/ ترهین</td>' in desk.text
    shown = {"kind=inquiry": True, "kind=transfer": False, "kind=inquiry&state=issued": True,
             "kind=inquiry&state=awaiting_visit": False}
    for query, listed in shown.items():
        page = staff.get(f"{sites['municipal']}/staff?{query}", timeout=10)
        assert page.status_code == 200 and (fa(number) in page.text) is listed, query

    # Its page: the letter, its image, «بایگانی دائم» only (lifecycle allows no other).
    url = f"{sites['municipal']}/staff/requests/{number}"
    page = staff.get(url, timeout=10)
    assert page.status_code == 200 and "استعلام ادارات/ ترهین" in page.text
    assert "بانک ملی ایران، شعبه فاطمی" in page.text and "سمت متقاضی" in page.text
    assert page.text.count('id="request-state"') == 1 and page.text.count(">تاریخ<") == 1
    images = re.findall(r'<img src="([^"]+)"', page.text)
    assert len(images) == 1 and images[0].startswith(f"/inquiry/requests/{number}/")
    assert staff.get(sites["municipal"] + images[0], timeout=10).status_code == 200
    assert 'id="archive"' in page.text
    assert 'id="cancel"' not in page.text and 'id="approve-visit"' not in page.text
    for action in ("cancel", "approve_visit"):
        refused = post(staff, url, action=action, reason="نامه نامعتبر")
        assert refused.status_code == 409 and "ممکن نیست" in refused.text, action

    assert post(staff, url, action="archive").status_code == 303
    archived = staff.get(url, timeout=10).text
    assert "درخواست به سرانجام رسیده" in archived and 'name="action"' not in archived
    assert post(staff, url, action="archive").status_code == 409
    texts = [m["text"] for m in codes_in(sites, tmp_path)
             if m["purpose"] == "inquiry_state" and number in m["text"]]
    assert len(texts) == 2 and "درخواست استعلام" in texts[1] and "بایگانی دائم" in texts[1]
    # The applicant sees the archived state on the inquiry's page.
    assert "بایگانی دائم" in ali.get(f"{sites['municipal']}/inquiry/requests/{number}",
                                     timeout=10).text
