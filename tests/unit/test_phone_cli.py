"""``idp-phone`` on the command line against the test double of the fixed interface: QR images
decoded with zxing-cpp (drawn here with segno), the strict check before anything is sent, the
decision asked in Persian, the provider's errors shown with their code, devices and unpair, the
refresh of an expired access token, and the exit codes."""

import io
import json
import time

import pytest
import segno
from click.testing import CliRunner
from live import free_port, serve
from phone_double import PhoneApiDouble, paired_phone
from PIL import Image

from clients.phone.cli import main
from clients.phone.messages import Exit


@pytest.fixture
def double():
    port = free_port()
    double = PhoneApiDouble(f"http://127.0.0.1:{port}")
    with serve(double.app(), port):
        yield double


@pytest.fixture
def state(double, tmp_path):
    path = tmp_path / "state.json"
    paired_phone(double, path)
    return path


def run(state, *args, lang="fa", input=None):
    return CliRunner().invoke(main, ["--lang", lang, "--state", str(state), *args], input=input)


def qr_png(path, *texts, scale=4):
    """A PNG with one QR code per text, side by side, as a screenshot would hold them."""
    images = []
    for content in texts:
        buffer = io.BytesIO()
        segno.make(content, error="m").save(buffer, kind="png", scale=scale, border=4)
        images.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    width = sum(i.width for i in images) + 20 * len(images)
    canvas = Image.new("RGB", (width, max(i.height for i in images) + 40), "white")
    x = 10
    for image in images:
        canvas.paste(image, (x, 20))
        x += image.width + 20
    canvas.save(path)
    return path


def test_scan_an_image_and_approve(double, state, tmp_path):
    qid = double.new_qr(client_name="سامانه شهرداری تهران", browser="Firefox 133 / Linux",
                        proximity="mismatch")
    image = qr_png(tmp_path / "screen.png", f"{double.issuer}/q/1/{qid}")
    result = run(state, "scan", str(image), "--yes")
    assert result.exit_code == 0, result.output
    assert "سامانه: سامانه شهرداری تهران" in result.output
    assert "مرورگر: Firefox 133 / Linux" in result.output
    assert "زمان درخواست: ۱۴" in result.output          # a Jalali year, Persian digits
    assert "نزدیکی: دور از این گوشی" in result.output
    assert "ورود تأیید شد" in result.output
    assert double.qrs[qid].state == "approved"


def test_scan_a_url_and_answer_in_persian(double, state):
    qid = double.new_qr()
    result = run(state, "scan", f"{double.issuer}/q/1/{qid}\n", input="شاید\nب\n")
    assert result.exit_code == 0, result.output
    assert "لطفا «ب» (تأیید) یا «ن» (رد) را وارد کنید" in result.output
    assert double.approvals[-1][1]["dec"] == "approve"


def test_deny_and_english(double, state):
    qid = double.new_qr()
    result = run(state, "scan", f"{double.issuer}/q/1/{qid}", lang="en", input="n\n")
    assert result.exit_code == 0 and "Login denied." in result.output
    assert "Approve only if you are in front of this computer" in result.output
    assert double.qrs[qid].state == "denied"


def test_no_answer_denies(double, state):
    qid = double.new_qr()
    result = run(state, "scan", f"{double.issuer}/q/1/{qid}", input="")
    assert "پاسخی داده نشد" in result.output and result.exit_code == 0
    assert double.qrs[qid].state == "denied"


def test_yes_and_no_together_is_a_usage_error(double, state):
    result = run(state, "scan", "x", "--yes", "--no")
    assert result.exit_code == Exit.USAGE and not double.requests[3:]


@pytest.mark.parametrize("code", [
    "https://evil.example/q/1/AAAAAAAAAAAAAAAAAAAAAA",
    "{issuer}/q/1/AAAAAAAAAAAAAAAAAAAAAA?x=1",
    "{issuer}/q/1/AAAAAAAAAAAAAAAAAAAAA",
])
def test_a_foreign_code_is_refused_and_nothing_is_sent(double, state, tmp_path, code):
    sent = list(double.requests)
    image = qr_png(tmp_path / "evil.png", code.format(issuer=double.issuer))
    for given in (str(image), code.format(issuer=double.issuer)):
        result = run(state, "scan", given, "--yes")
        assert result.exit_code == Exit.BAD_QR, result.output
        assert "این کد QR ورود به" in result.output and "چیزی ارسال نشد" in result.output
    assert double.requests == sent


def test_images_without_one_login_code(double, state, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    result = run(state, "scan", str(blank), lang="en")
    assert result.exit_code == Exit.BAD_QR and "No QR code found" in result.output
    two = qr_png(tmp_path / "two.png", f"{double.issuer}/q/1/{double.new_qr()}",
                 f"{double.issuer}/q/1/{double.new_qr()}")
    result = run(state, "scan", str(two), lang="en")
    assert result.exit_code == Exit.BAD_QR and "more than one QR code" in result.output
    missing = run(state, "scan", str(tmp_path / "screen.pgn"), lang="en")
    assert missing.exit_code == Exit.BAD_QR and "neither an image file nor a URL" in missing.output
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    result = run(state, "scan", str(broken), lang="en")
    assert result.exit_code == Exit.BAD_QR and "could not be read" in result.output


@pytest.mark.parametrize(("prepare", "error", "persian"), [
    (lambda d, qid: d.qrs.pop(qid), "unknown_qr", "منقضی شده است"),
    (lambda d, qid: setattr(d.qrs[qid], "state", "scanned"), "already_scanned",
     "دستگاه دیگری اسکن کرده است"),
])
def test_provider_errors_are_shown_with_their_code(double, state, prepare, error, persian):
    qid = double.new_qr()
    prepare(double, qid)
    result = run(state, "scan", f"{double.issuer}/q/1/{qid}", "--yes")
    assert result.exit_code == Exit.REFUSED
    assert persian in result.output and f"کد خطا: {error}" in result.output


def test_a_revoked_device_is_told_so(double, state):
    device_id = json.loads(state.read_text())["device"]["device_id"]
    double.devices[device_id]["revoked"] = True
    result = run(state, "scan", f"{double.issuer}/q/1/{double.new_qr()}", "--yes", lang="en")
    assert result.exit_code == Exit.REFUSED
    assert "error code: invalid_device" in result.output


def test_an_expired_access_token_is_refreshed_and_the_new_refresh_token_kept(double, state):
    saved = json.loads(state.read_text())
    saved["tokens"]["expires_at"] = int(time.time()) - 5
    state.write_text(json.dumps(saved))
    result = run(state, "scan", f"{double.issuer}/q/1/{double.new_qr()}", "--yes")
    assert result.exit_code == 0, result.output
    after = json.loads(state.read_text())["tokens"]
    assert after["access_token"] != saved["tokens"]["access_token"]
    assert after["refresh_token"] != saved["tokens"]["refresh_token"]
    assert after["expires_at"] > time.time()


def test_a_revoked_token_is_refreshed_once_then_the_login_has_ended(double, state):
    for grant in double.grants.values():
        grant.revoked = True
    result = run(state, "devices", lang="en")
    assert result.exit_code == Exit.SIGNED_OUT, result.output
    assert "pair" in result.output and "invalid_grant" in result.output


def test_devices_lists_this_one_and_others(double, state):
    sub = json.loads(state.read_text())["sub"]
    other = double.add_device(sub, "تبلت")
    result = run(state, "devices")
    assert result.exit_code == 0, result.output
    assert "گوشی آزمایشی (cli)" in result.output and "(همین دستگاه)" in result.output
    assert f"تبلت (android) — شناسه {other}" in result.output
    assert "۱۴۰۵/۰۸/۱۰ ۱۲:۰۰:۰۰" in result.output         # 2026-11-01 08:30 UTC, Tehran
    assert "آخرین استفاده: هرگز" in result.output
    listed = json.loads(run(state, "devices", "--json").output)["devices"]
    assert {d["device_id"] for d in listed} == {other, *[d for d in double.devices
                                                          if d != other]}


def test_unpair_another_device_keeps_this_one(double, state):
    sub = json.loads(state.read_text())["sub"]
    other = double.add_device(sub)
    result = run(state, "unpair", other)
    assert result.exit_code == 0 and f"دستگاه {other} حذف شد" in result.output
    assert double.devices[other]["revoked"] and state.exists()
    assert run(state, "unpair", other, lang="en").exit_code == Exit.REFUSED


def test_unpair_this_device_forgets_its_key(double, state):
    device_id = json.loads(state.read_text())["device"]["device_id"]
    result = run(state, "unpair")
    assert result.exit_code == 0, result.output
    assert double.devices[device_id]["revoked"] and not state.exists()
    assert "پاک شد" in result.output
    assert run(state, "scan", f"{double.issuer}/q/1/{double.new_qr()}").exit_code == \
        Exit.NOT_PAIRED


def test_unpair_local_forgets_without_the_provider(double, state):
    sent = list(double.requests)
    assert run(state, "unpair", "--local").exit_code == 0
    assert not state.exists() and double.requests == sent


def test_status_and_not_paired(double, state, tmp_path):
    result = run(state, "status", lang="en")
    assert result.exit_code == 0 and f"Paired with {double.issuer}" in result.output
    missing = run(tmp_path / "none.json", "status")
    assert missing.exit_code == Exit.NOT_PAIRED and "idp-phone pair" in missing.output


def test_provider_unreachable(tmp_path):
    port = free_port()
    double = PhoneApiDouble(f"http://127.0.0.1:{port}")
    with serve(double.app(), port):
        path = tmp_path / "state.json"
        paired_phone(double, path)
    result = run(path, "devices", lang="en")
    assert result.exit_code == Exit.NETWORK and "Could not reach" in result.output


def test_an_insecure_issuer_is_refused(tmp_path):
    result = run(tmp_path / "s.json", "pair", "--issuer", "http://my.gov.ir",
                 "--client-id", "x", lang="en")
    assert result.exit_code == Exit.USAGE and "must be https" in result.output


def test_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "Exit codes" in result.output
    for command in ("pair", "scan", "devices", "unpair", "status"):
        assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0


def test_text_from_the_provider_cannot_drive_the_terminal(double, state):
    qid = double.new_qr(client_name="بانک\u202e\x1b[2Jملی", browser="Chrome\x1b]0;x\x07")
    result = run(state, "scan", f"{double.issuer}/q/1/{qid}", "--no")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "بانک [2Jملی" in result.output
    # The signature is still over the exact bytes the provider sent.
    assert double.qrs[qid].state == "denied"


def test_the_program_runs_on_its_own(tmp_path):
    """``python -m clients.phone`` (the same entry point as the ``idp-phone`` script)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "clients.phone", "--state",
                           str(tmp_path / "none.json"), "devices"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == Exit.NOT_PAIRED
    assert "خطا: برنامه وارد نشده است" in done.stderr


def test_number_matching_when_the_provider_asks_for_it(double, state):
    qid = double.new_qr(nm=47)
    result = run(state, "scan", f"{double.issuer}/q/1/{qid}", input="ب\n۴۷\n")
    assert result.exit_code == 0, result.output
    assert "عددی را که در مرورگر می‌بینید انتخاب کنید" in result.output
    assert double.approvals[-1][1]["nm"] == 47 and double.qrs[qid].state == "approved"
    wrong = double.new_qr(nm=47)
    result = run(state, "scan", f"{double.issuer}/q/1/{wrong}", "--yes", input="1\n")
    assert result.exit_code == Exit.REFUSED and "invalid_approval" in result.output
