"""The pieces of the pairing login that need no provider: PKCE, what the citizen types, the
outbox reader and the page reader."""

import base64
import hashlib
import json
import re

import pytest

from clients.phone.login import OutboxCodes, Page, mobile_local, parse_birth, pkce_pair
from clients.phone.messages import Exit, PhoneError


def test_pkce_is_s256_of_a_fresh_verifier():
    verifier, challenge = pkce_pair()
    # RFC 7636 §4.1: 43 to 128 unreserved characters.
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


@pytest.mark.parametrize("typed", ["09120000001", "9120000001", "+989120000001",
                                   "00989120000001", "989120000001", "۰۹۱۲۰۰۰۰۰۰۱",
                                   "٠٩١٢٠٠٠٠٠٠١", "0912 000 0001"])
def test_mobile_in_any_form(typed):
    assert mobile_local(typed) == "09120000001"


def test_birth_dates():
    assert parse_birth("1360/01/01") == (1360, 1, 1)
    assert parse_birth("۱۳۶۰/۱/۲۹") == (1360, 1, 29)
    assert parse_birth("1360-12-5") == (1360, 12, 5)
    for bad in ("1360/13/01", "1360/01", "60/01/01", "1360/01/32", "abcd/01/01", ""):
        with pytest.raises(PhoneError) as caught:
            parse_birth(bad)
        assert caught.value.exit_code == Exit.USAGE


def _append(path, **message):
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(message) + "\n")


def test_outbox_gives_only_codes_sent_after_it_started(tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    _append(outbox, to="09120000001", code="111111")
    codes = OutboxCodes(outbox, wait_seconds=0)
    assert codes("09120000001") is None             # the old code is never used
    _append(outbox, to="09120000002", code="222222")
    _append(outbox, to="09120000001", text="a notice without a code")
    with outbox.open("a") as handle:
        handle.write("not json\n")
    _append(outbox, to="09120000001", code="333333")
    assert codes("09120000001") == "333333"
    assert codes("09120000001") is None             # and each code once


def test_outbox_that_does_not_exist_yet(tmp_path):
    codes = OutboxCodes(tmp_path / "later.jsonl", wait_seconds=0)
    assert codes("09120000001") is None
    _append(tmp_path / "later.jsonl", to="09120000001", code="123456")
    assert codes("09120000001") == "123456"


PAGE = """
<h1 id="page-title">احراز هویت</h1>
<div class="alert" role="alert">اطلاعات &laquo;نادرست&raquo; است</div>
<p class="alert" id="otp-expired" role="status" hidden>رمز منقضی شده است</p>
<form method="post" action="/login/language"><input type="hidden" name="lang" value="en"></form>
<form method="post" action="/login/identity?tab=iranian" novalidate>
  <input type="hidden" name="csrf_token" value="tok">
  <label for="national_code">کد ملی</label>
  <input type="text" id="national_code" name="national_code" value="0499370899"
         aria-invalid="true">
  <fieldset><legend>تاریخ تولد</legend>
    <label for="birth_day">روز</label><input id="birth_day" name="birth_day" value="">
    <label for="birth_month">ماه</label>
    <select id="birth_month" name="birth_month"><option value="">—</option>
      <option value="1" selected>فروردین</option><option value="2">اردیبهشت</option></select>
  </fieldset>
  <p class="field-error" id="national_code-error" role="alert">کد ملی معتبر نیست</p>
  <img src="/login/captcha.png?v=1" alt="">
  <button type="submit" name="decision" value="allow">اجازه می‌دهم</button>
</form>
"""


def test_the_page_reader_sees_what_a_browser_shows():
    page = Page(PAGE)
    assert page.title == "احراز هویت"
    assert page.messages == ["اطلاعات «نادرست» است", "کد ملی معتبر نیست"]
    language, form = page.forms
    assert language.action == "/login/language"
    assert form.action == "/login/identity?tab=iranian" and form.method == "post"
    controls = {c.name: c for c in form.controls}
    assert controls["csrf_token"].value == "tok"
    assert controls["national_code"].label == "کد ملی" and controls["national_code"].invalid
    assert controls["birth_day"].legend == "تاریخ تولد" and controls["birth_day"].label == "روز"
    assert controls["birth_month"].options == [("", "—", False), ("1", "فروردین", True),
                                               ("2", "اردیبهشت", False)]
    assert controls["decision"].kind == "button" and controls["decision"].label == "اجازه می‌دهم"
    assert form.images == ["/login/captcha.png?v=1"]
