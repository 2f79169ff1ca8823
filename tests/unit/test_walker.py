"""The shared journey walker decides from pages alone (no HTTP): forms, answers, endings."""

from walker import Done, Failed, Follow, Landed, OutboxTail, Submit, Walk, answers, read_forms

PROVIDER = "http://127.0.0.1:5000"
PERSON = {"mobile": "09120000001", "national_code": "0499370899", "birth": (1360, 1, 1)}

POSTAL_PAGE = """<html><body><main>
<form method="post" action="/login/postal" novalidate>
  <input type="hidden" name="csrf_token" value="tok&amp;en">
  <input type="text" id="postal_code" name="postal_code" value="1968913141" class="digits">
  <button type="submit" class="btn">ثبت اطلاعات</button>
</form></main></body></html>"""

IDENTITY_PAGE = """<main>
<form method="post" action="/login/identity?tab=iranian" novalidate>
  <input type="hidden" name="csrf_token" value="t1">
  <input type="hidden" name="identity_type" value="iranian">
  <input type="text" id="national_code" name="national_code" value="">
  <input type="text" id="birth_day" name="birth_day" value="">
  <select id="birth_month" name="birth_month"><option value="" selected>—</option>
    <option value="1">فروردین</option></select>
  <input type="text" id="birth_year" name="birth_year" value="">
</form></main>"""

OTP_PAGE = """<p class="alert" role="alert">رمز یکبار مصرف وارد شده صحیح نیست</p>
<form method="post" action="/login/otp"><input type="hidden" name="csrf_token" value="t2">
<input type="text" name="otp" value=""></form>
<form method="post" action="/login/otp/resend"><input type="hidden" name="csrf_token" value="t3">
<button type="submit">ارسال مجدد کد</button></form>"""


def walk(**person) -> Walk:
    return Walk(answers({**PERSON, **person}, lambda mobile: "123456"), provider=PROVIDER,
                redirect_uri="https://rp.example/cb")


def test_forms_are_read_as_a_browser_would_send_them():
    identity = read_forms(IDENTITY_PAGE)[0]
    assert identity["action"] == "/login/identity?tab=iranian"
    assert identity["fields"] == {"csrf_token": "t1", "identity_type": "iranian",
                                  "national_code": "", "birth_day": "", "birth_month": "",
                                  "birth_year": ""}
    assert read_forms(POSTAL_PAGE)[0]["fields"]["csrf_token"] == "tok&en"


def test_prefilled_postal_code_is_confirmed_or_overridden():
    action = walk().step(PROVIDER + "/login/postal", 200, POSTAL_PAGE)
    assert action == Submit("postal", PROVIDER + "/login/postal",
                            {"csrf_token": "tok&en", "postal_code": "1968913141"}, {})
    action = walk(postal_code_override="1587634561").step(PROVIDER + "/login/postal", 200,
                                                          POSTAL_PAGE)
    assert action.fields["postal_code"] == "1587634561"
    assert action.typed == {"postal_code": "1587634561"}


def test_the_step_form_is_chosen_among_several_and_the_code_fetched():
    fetched = []
    table = answers(PERSON, lambda mobile: fetched.append(mobile) or "654321")
    action = Walk(table, provider=PROVIDER).step(PROVIDER + "/login/otp", 200, OTP_PAGE)
    assert isinstance(action, Submit) and action.url == PROVIDER + "/login/otp"
    assert action.fields == {"csrf_token": "t2", "otp": "654321"}
    assert fetched == ["09120000001"]


def test_identity_answers_fill_every_field():
    action = walk().step(PROVIDER + "/login/identity", 200, IDENTITY_PAGE)
    assert action.url == PROVIDER + "/login/identity?tab=iranian"
    assert action.fields == {"csrf_token": "t1", "identity_type": "iranian",
                             "national_code": "0499370899", "birth_day": "1",
                             "birth_month": "1", "birth_year": "1360"}


def test_redirects_are_followed_inside_the_provider_and_end_at_the_client():
    w = walk()
    assert w.step(PROVIDER + "/authorize?x=1", 302, location="/login/mobile") == \
        Follow(PROVIDER + "/login/mobile")
    assert w.step(PROVIDER + "/login/consent", 302,
                  location="https://rp.example/cb?code=c&state=s") == \
        Done("https://rp.example/cb?code=c&state=s")


def test_refusals_and_surprises_fail_with_the_pages_message():
    w = walk()
    assert isinstance(w.step(PROVIDER + "/login/otp", 200, OTP_PAGE), Submit)
    again = w.step(PROVIDER + "/login/otp", 422, OTP_PAGE)
    assert isinstance(again, Failed) and "صحیح نیست" in again.reason
    assert isinstance(walk().step(PROVIDER + "/login/company", 200, ""), Failed)
    shown_twice = walk()
    shown_twice.step(PROVIDER + "/login/postal", 200, POSTAL_PAGE)
    assert isinstance(shown_twice.step(PROVIDER + "/login/postal", 200, POSTAL_PAGE), Failed)


def test_a_step_without_answer_or_a_page_outside_the_journey_stops_the_walk():
    assert walk(consent=None).step(PROVIDER + "/login/consent", 200, "") == \
        Landed(PROVIDER + "/login/consent", "consent")
    assert walk().step(PROVIDER + "/account", 200, "") == Landed(PROVIDER + "/account", None)


def test_outbox_is_read_incrementally(tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    tail = OutboxTail(outbox)
    assert tail.take("09120000001") is None
    outbox.write_text('{"to": "09120000001", "code": "111111"}\n{"to": "0935', encoding="utf-8")
    assert tail.take("09120000001") == "111111"
    assert tail.take("09120000001") is None
    with outbox.open("a", encoding="utf-8") as handle:
        handle.write('0000002", "code": "222222"}\n')
    assert tail.take("09350000002") == "222222"


MOBILE_PAGE_WITH_QR = """<main>
<ul class="tabs"><li><a href="/login/mobile" aria-current="page">OTP</a></li>
<li><form method="post" action="/login/qr/start?j=abc"><input type="hidden" name="csrf_token"
 value="q1"><button type="submit" class="tab-button">QR</button></form></li></ul>
<form method="post" action="/login/mobile?j=abc"><input type="hidden" name="csrf_token" value="m1">
<input type="tel" name="mobile" value=""></form></main>"""

QR_PAGE = """<main><figure class="qr-code" id="qr-code" data-url="http://127.0.0.1:5000/q/1/{qid}"
aria-label="QR"><svg></svg></figure></main>"""


def test_a_qr_way_in_chooses_the_qr_tab_and_scans_each_code_once():
    scanned = []
    walk = Walk(answers(PERSON, lambda mobile: "123456", qr=scanned.append), provider=PROVIDER,
                redirect_uri="https://rp.example/cb")
    action = walk.step(f"{PROVIDER}/login/mobile?j=abc", 200, MOBILE_PAGE_WITH_QR)
    assert isinstance(action, Submit)
    assert action.url == f"{PROVIDER}/login/qr/start?j=abc"
    assert action.fields == {"csrf_token": "q1"}
    page = QR_PAGE.format(qid="A" * 22)
    assert walk.step(f"{PROVIDER}/login/qr?j=abc", 200, page) == Follow(
        f"{PROVIDER}/login/qr?j=abc")
    # Reloaded (no JavaScript): the same code is not scanned again; a new one is.
    walk.step(f"{PROVIDER}/login/qr?j=abc", 200, page)
    walk.step(f"{PROVIDER}/login/qr?j=abc", 200, QR_PAGE.format(qid="B" * 22))
    assert scanned == [f"{PROVIDER}/q/1/{'A' * 22}", f"{PROVIDER}/q/1/{'B' * 22}"]
    assert walk.steps == ["mobile", "qr"]
    assert isinstance(walk.step(f"{PROVIDER}/login/qr", 200, "<main>nothing</main>"), Failed)
