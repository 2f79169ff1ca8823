"""«عوارض نوسازی» and «صدور گواهی» of «درخواست انتقال» (issue 10, seed 003) over real HTTP: the
provider, the municipal app and the sandbox gateway (clients/paygate) on their own ports, a
``requests`` session as the citizen's browser, and the gateway's callback posted as the
browser posts it, and as an attacker would."""

import io
import json
import re
import subprocess
import sys
from functools import partial

import pytest
import requests
from live import at_once, free_port
from municipal_payment import (
    IN_DEBT,
    NO_DEBT,
    hidden_fields,
    registered,
    request_state,
    with_gateway,
)
from pypdf import PdfReader
from relying_parties import FATEMEH, MARYAM, MOHAMMADREZA, csrf_of, give_email, log_in

from clients.municipal.payments import dues_owed
from clients.paygate.protocol import callback_signature

ALI = "0499370899"
BEFORE_SMS = ("توجه داشته باشید اگر قبل از دریافت پیامک به سایت مراجعه کنید، امکان پرداخت "
              "نوسازی و دریافت گواهی وجود ندارد.")
DEBT_WARNING = ("توجه داشته باشید تا بدهی نوسازی خود را با شهرداری تسویه نکرده باشید، اجازه "
                "رفتن به گام بعدی را نخواهید داشت")
NO_DUES = "این کدنوسازی فاقد بدهی می باشد"


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path, monkeypatch):
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_STAFF", FATEMEH["national_code"])
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with with_gateway(tmp_path, monkeypatch, database_url) as running:
        yield running


def citizen(sites, person=None) -> requests.Session:
    http = requests.Session()
    log_in(http, sites, **({"person": person} if person else {}))
    give_email(http, sites, f"{(person or {}).get('national_code', 'ali')}@example.ir")
    return http


def page_of(sites, number: str) -> str:
    return f"{sites['municipal']}/transfer/requests/{number}"


def press(http, sites, number: str, action: str) -> requests.Response:
    page = http.get(page_of(sites, number), timeout=10)
    return http.post(f"{page_of(sites, number)}/{action}", timeout=10, allow_redirects=False,
                     data={"csrf_token": csrf_of(page)})


def to_gateway(http, sites, number: str, choice: str = "pay") -> dict[str, str]:
    """«پرداخت آنلاین», then «پرداخت» or «انصراف» at the gateway: the fields it returns."""
    started = press(http, sites, number, "pay")
    assert started.status_code == 303 and started.headers["Location"].startswith(sites.gateway)
    bank = requests.Session()
    pay_page = bank.get(started.headers["Location"], timeout=10)
    assert pay_page.status_code == 200
    back = bank.post(started.headers["Location"], timeout=10,
                     data={"csrf_token": csrf_of(pay_page), "action": choice})
    assert back.status_code == 200 and "بازگشت به سایت پذیرنده" in back.text
    assert f'action="{sites["municipal"]}/payment/callback"' in back.text
    return hidden_fields(back)


def callback(sites, fields: dict[str, str]) -> requests.Response:
    """The callback as the browser posts it: no session cookie of the app."""
    return requests.post(sites["municipal"] + "/payment/callback", data=fields, timeout=10)


def signed(sites, fields: dict[str, str], **changes) -> dict[str, str]:
    """``fields`` changed, with a good ``sig`` over the change (as only the secret allows)."""
    fields = {**fields, **changes}
    return {**fields, "sig": callback_signature(sites.payment_secret, fields["order_id"],
                                                fields["ref_id"], fields["amount"],
                                                fields["status"])}


def texts(tmp_path) -> list[dict]:
    path = tmp_path / "m-outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_before_the_visit_is_approved_nothing_can_be_paid_or_issued(sites):
    http = citizen(sites)
    number = registered(sites, ALI, IN_DEBT, "awaiting_visit")
    page = http.get(page_of(sites, number), timeout=10)
    assert BEFORE_SMS in page.text and "عوارض نوسازی" in page.text
    assert 'id="pay-online"' not in page.text and 'id="issue-certificate"' not in page.text
    assert press(http, sites, number, "pay").status_code == 303
    assert "پرداخت عوارض نوسازی در این وضعیت درخواست ممکن نیست" in http.get(
        page_of(sites, number), timeout=10).text
    assert press(http, sites, number, "issue").status_code == 303
    assert request_state(sites, number) == "awaiting_visit"
    assert http.get(f"{sites['municipal']}/certificates/{number}", timeout=10).status_code == 404


def test_dues_paid_online_then_the_certificate_issued(sites, tmp_path):
    http = citizen(sites)
    number = registered(sites, ALI, IN_DEBT, "awaiting_payment")
    page = http.get(page_of(sites, number), timeout=10)
    assert "۱۸٬۵۰۰٬۰۰۰ ریال" in page.text and "پرداخت آنلاین" in page.text
    assert DEBT_WARNING in page.text and BEFORE_SMS not in page.text
    # The gateway is a place the page's forms may send the browser.
    assert sites.gateway in page.headers["Content-Security-Policy"]
    # While dues are owed there is no way on, whatever is posted.
    assert press(http, sites, number, "issue").status_code == 303
    assert DEBT_WARNING in http.get(page_of(sites, number), timeout=10).text
    assert request_state(sites, number) == "awaiting_payment"

    # At the gateway: the amount, «پرداخت» and «انصراف», in Persian, its own Vazirmatn.
    started = press(http, sites, number, "pay")
    gateway_page = requests.get(started.headers["Location"], timeout=10)
    assert 'dir="rtl"' in gateway_page.text and "۱۸٬۵۰۰٬۰۰۰ ریال" in gateway_page.text
    assert ">پرداخت<" in gateway_page.text and ">انصراف<" in gateway_page.text
    assert requests.get(sites.gateway + "/static/fonts/Vazirmatn-Variable.woff2",
                        timeout=10).status_code == 200

    fields = to_gateway(http, sites, number)
    assert set(fields) == {"order_id", "ref_id", "amount", "status", "sig"}
    assert fields["status"] == "paid" and fields["amount"] == "18500000"
    done = callback(sites, fields)
    assert done.status_code == 200 and "پرداخت عوارض نوسازی با موفقیت انجام شد" in done.text
    assert f'href="/transfer/requests/{number}"' in done.text  # where to go on
    assert request_state(sites, number) == "ready"
    assert any("پرداخت شد" in t["text"] and number in t["text"] for t in texts(tmp_path))

    # It counts once: the same callback again, and the gateway's own answer, say so.
    replay = callback(sites, fields)
    assert replay.status_code == 409 and "پیش‌تر ثبت شده است" in replay.text
    with sites.apps["municipal"].app_context():
        from clients.common.app import current_rp

        app = sites.apps["municipal"]
        assert dues_owed(current_rp().db.session, app.extensions["municipal_registry"],
                         IN_DEBT["renovation_code"]) == 0
        # The staff desk's next «تأیید بازدید» for this code: nothing left to pay.
        from clients.municipal.models import ServiceRequest
        from clients.municipal.staff import approval_target

        assert approval_target(current_rp().db.session, app.extensions["municipal_registry"],
                               ServiceRequest(renovation_code="1012345677")) == "ready"

    page = http.get(page_of(sites, number), timeout=10)
    assert NO_DUES in page.text and 'id="pay-online"' not in page.text
    assert "صدور گواهی با امکان چاپ" in page.text
    assert http.get(f"{sites['municipal']}/certificates/{number}", timeout=10).status_code == 404

    issued = press(http, sites, number, "issue")
    assert issued.status_code == 303 and issued.headers["Location"].endswith(
        f"/certificates/{number}")
    assert request_state(sites, number) == "issued"
    assert any("صادر شد" in t["text"] and number in t["text"] for t in texts(tmp_path))
    certificate = http.get(sites["municipal"] + issued.headers["Location"], timeout=10)
    assert certificate.status_code == 200 and 'dir="rtl"' in certificate.text
    for text in ("گواهی انتقال آپارتمان", number, "10-123-456-7", "خیابان فاطمی", ALI, "مالک",
                 "دریافت PDF", "certificate.css"):
        assert text in certificate.text, text
    assert re.search(r'id="certificate-issued">۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2}<',
                     certificate.text)
    css = http.get(sites["municipal"] + "/static/certificate.css", timeout=10).text
    assert "@media print" in css

    pdf = http.get(f"{sites['municipal']}/certificates/{number}.pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("گواهی انتقال آپارتمان", "شهرداری تهران", number, "10-123-456-7",
                     "خیابان فاطمی", ALI, "مالک", "شماره گواهی"):
        assert expected in text, expected
    assert "دریافت PDF" not in text and "خروج" not in text  # the print styles: no page chrome

    # Issuing again shows the same certificate; the page offers it.
    assert press(http, sites, number, "issue").headers["Location"].endswith(
        f"/certificates/{number}")
    assert 'id="show-certificate"' in http.get(page_of(sites, number), timeout=10).text

    # In English, left to right.
    http.get(sites["municipal"] + "/lang/en", timeout=10)
    english = http.get(f"{sites['municipal']}/certificates/{number}", timeout=10).text
    assert 'dir="ltr"' in english and "Apartment transfer certificate" in english
    assert "Download PDF" in english and "Certificate number" in english

    # Staff see it; another citizen does not, by page or PDF, nor the request.
    staff = citizen(sites, FATEMEH)
    assert staff.get(f"{sites['municipal']}/certificates/{number}", timeout=10).status_code \
        == 200
    other = citizen(sites, MOHAMMADREZA)
    for path in (f"/certificates/{number}", f"/certificates/{number}.pdf",
                 f"/transfer/requests/{number}", "/certificates/0000000000"):
        assert other.get(sites["municipal"] + path, timeout=10).status_code == 404, path
    mine = other.get(sites["municipal"] + "/transfer", timeout=10)
    assert other.post(f"{page_of(sites, number)}/issue", timeout=10,
                      data={"csrf_token": csrf_of(mine)}).status_code == 404
    anonymous = requests.get(f"{sites['municipal']}/certificates/{number}", timeout=10,
                             allow_redirects=False)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_a_code_without_dues_goes_straight_to_the_certificate(sites):
    http = citizen(sites, MARYAM)
    number = registered(sites, MARYAM["national_code"], {**IN_DEBT, "dues": 0}, "ready",
                        role="attorney")
    http_ali = citizen(sites)
    free = registered(sites, ALI, NO_DEBT, "ready")
    page = http_ali.get(page_of(sites, free), timeout=10)
    assert NO_DUES in page.text and 'id="pay-online"' not in page.text
    assert DEBT_WARNING not in page.text
    assert press(http_ali, sites, free, "issue").status_code == 303
    assert request_state(sites, free) == "issued"

    # The registry's dues stand until paid here: a request made ready with dues owed cannot
    # issue (the code's dues are the registry's, not the request's).
    refused = press(http, sites, number, "issue")
    assert refused.status_code == 303 and request_state(sites, number) == "ready"
    assert DEBT_WARNING in http.get(page_of(sites, number), timeout=10).text
    certificate = http_ali.get(f"{sites['municipal']}/certificates/{free}", timeout=10)
    assert certificate.status_code == 200 and "خیابان ولیعصر" in certificate.text


def test_every_bad_callback_is_refused_with_its_own_page(sites):
    http = citizen(sites)
    number = registered(sites, ALI, IN_DEBT, "awaiting_payment")
    fields = to_gateway(http, sites, number, "cancel")
    assert fields["status"] == "cancelled"

    bad_sig = callback(sites, {**fields, "sig": "0" * 64})
    assert bad_sig.status_code == 400 and "امضای پاسخ درگاه پرداخت معتبر نیست" in bad_sig.text
    unsigned_amount = callback(sites, {**fields, "amount": "1000"})
    assert unsigned_amount.status_code == 400 and "امضای پاسخ" in unsigned_amount.text
    # Changed amount, even with a good sig: not this order's amount.
    amount = callback(sites, signed(sites, fields, amount="1000", status="paid"))
    assert amount.status_code == 400 and "مبلغ پرداخت با مبلغ سفارش همخوانی ندارد" in amount.text
    # Status flipped to paid with a good sig: the gateway does not confirm it.
    flipped = callback(sites, signed(sites, fields, status="paid"))
    assert flipped.status_code == 400 and "درگاه پرداخت این پرداخت را تأیید نکرد" in flipped.text
    assert request_state(sites, number) == "awaiting_payment"
    unknown = callback(sites, signed(sites, fields, order_id="nope"))
    assert unknown.status_code == 404 and "وجود ندارد" in unknown.text
    for broken in ({}, {**fields, "status": "maybe"}, {**fields, "amount": "۱۰۰۰"}):
        answer = callback(sites, broken)
        assert answer.status_code == 400 and "ناقص یا نادرست" in answer.text
    for answer in (bad_sig, amount, flipped, unknown):
        assert 'dir="rtl"' in answer.text and "Traceback" not in answer.text

    # The real answer: cancelled, nothing paid; then it is closed.
    cancelled = callback(sites, fields)
    assert cancelled.status_code == 200 and "پرداخت در درگاه لغو شد" in cancelled.text
    assert request_state(sites, number) == "awaiting_payment"
    assert callback(sites, fields).status_code == 409

    # A new order can be paid; the old one's signed fields do not pay it.
    paid = to_gateway(http, sites, number)
    assert callback(sites, {**paid, "order_id": fields["order_id"],
                            "sig": fields["sig"]}).status_code == 400
    assert callback(sites, paid).status_code == 200
    assert request_state(sites, number) == "ready"


def test_the_gateway_down_is_a_clear_page_and_nothing_counts(sites):
    http = citizen(sites)
    number = registered(sites, ALI, IN_DEBT, "awaiting_payment")
    payment = sites.apps["municipal"].extensions["municipal"].payment
    live_url = payment.gateway_url
    payment.gateway_url = f"http://127.0.0.1:{free_port()}"
    down = press(http, sites, number, "pay")
    assert down.status_code == 503 and "ارتباط با درگاه پرداخت برقرار نشد" in down.text
    with sites.apps["municipal"].extensions["rp"].db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT state FROM payments").scalars().all() == \
            ["cancelled"]  # never reached the bank: not left open
    payment.gateway_url = live_url

    fields = to_gateway(http, sites, number)
    payment.gateway_url = f"http://127.0.0.1:{free_port()}"
    waiting = callback(sites, fields)
    assert waiting.status_code == 503 and "هنوز ثبت نشده" in waiting.text
    assert "تلاش دوباره" in waiting.text and fields["sig"] in waiting.text
    assert request_state(sites, number) == "awaiting_payment"
    payment.gateway_url = live_url
    assert callback(sites, fields).status_code == 200  # «تلاش دوباره» posts the same fields
    assert request_state(sites, number) == "ready"


def test_a_payment_counts_once_even_at_once_and_a_newer_order_closes_the_older(sites,
                                                                               tmp_path):

    http = citizen(sites)
    number = registered(sites, ALI, IN_DEBT, "awaiting_payment")
    older = to_gateway(http, sites, number)
    newer = to_gateway(http, sites, number)  # paid at the bank twice, the first left behind
    late = callback(sites, older)
    assert late.status_code == 409 and "این سفارش پرداخت بسته شده است" in late.text

    answers = at_once(partial(callback, sites, newer), partial(callback, sites, newer))
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert request_state(sites, number) == "ready"
    assert sum("پرداخت شد" in t["text"] for t in texts(tmp_path)) == 1


def test_the_gateway_verifies_a_payment_once_and_checks_signatures(sites):
    from clients.paygate.protocol import order_signature, verify_signature

    secret = sites.payment_secret
    order = {"merchant_id": "municipal-tehran", "order_id": "t1", "amount": 5000,
             "callback_url": "http://127.0.0.1:9/payment/callback"}
    wrong = order_signature("wrong", "municipal-tehran", "t1", 5000, order["callback_url"])
    forged = requests.post(sites.gateway + "/api/orders", timeout=10,
                           json={**order, "sig": wrong})
    assert forged.status_code == 403
    sig = order_signature(secret, "municipal-tehran", "t1", 5000, order["callback_url"])
    made = requests.post(sites.gateway + "/api/orders", json={**order, "sig": sig}, timeout=10)
    assert made.status_code == 201
    assert requests.post(sites.gateway + "/api/orders", json={**order, "sig": sig},
                         timeout=10).status_code == 409
    bank = requests.Session()
    page = bank.get(made.json()["payment_url"], timeout=10)
    back = bank.post(made.json()["payment_url"], timeout=10,
                     data={"csrf_token": csrf_of(page), "action": "pay"})
    fields = hidden_fields(back)
    # Without JavaScript: a real button; with it, a script file (no inline script) submits.
    assert 'id="return"' in back.text and "<script src=" in back.text
    assert "form-action http://127.0.0.1:9" in back.headers["Content-Security-Policy"]

    def verify(ref_id: str, amount: int, key: str = secret) -> requests.Response:
        return requests.post(sites.gateway + "/api/verify", timeout=10, json={
            "merchant_id": "municipal-tehran", "order_id": "t1", "ref_id": ref_id,
            "amount": amount,
            "sig": verify_signature(key, "municipal-tehran", "t1", ref_id, amount)})

    assert verify(fields["ref_id"], 5000, "wrong").status_code == 403
    assert verify(fields["ref_id"], 4000).json()["status"] == "not_paid"
    first = verify(fields["ref_id"], 5000)
    assert first.status_code == 200 and first.json()["status"] == "verified"
    again = verify(fields["ref_id"], 5000)
    assert again.status_code == 409 and again.json()["status"] == "already_verified"
    assert requests.get(sites.gateway + "/pay/unknown", timeout=10).status_code == 404


@pytest.mark.parametrize(("config", "port", "message"), [
    ('[payment]\ngateway_url = "http://127.0.0.1:5090"\nsecret = "s"\nmerchant_id = "m"\n',
     "5091", "is not the port of payment.gateway_url"),
    ('[payment]\ngateway_url = "http://127.0.0.1:5090"\nmerchant_id = "m"\n', "5090",
     "payment.secret: required"),
    ("[payment\n", "5090", "not valid TOML"),
])
def test_the_gateway_refuses_settings_it_cannot_run_with(tmp_path, config, port, message):
    path = tmp_path / "municipal.toml"
    path.write_text(config, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin"}
    shown = subprocess.run([sys.executable, "-m", "clients.paygate", "--config", str(path),
                            "--port", port], capture_output=True, text=True, timeout=60, env=env)
    assert shown.returncode == 2 and message in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1


def test_the_gateway_runs_alone_on_the_municipal_settings_file(tmp_path):
    import time

    port = free_port()
    path = tmp_path / "municipal.toml"
    path.write_text(f'[municipal]\nsupport_phone = "137"\n\n[payment]\n'
                    f'gateway_url = "http://127.0.0.1:{port}"\nsecret = "s3cret"\n',
                    encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "clients.paygate", "--config", str(path),
                                "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/pay/none", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        assert page.status_code == 404 and "سفارش پرداختی با این شماره یافت نشد" in page.text
        assert 'dir="rtl"' in page.text
    finally:
        process.terminate()
        process.wait(timeout=20)
