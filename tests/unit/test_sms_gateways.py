"""SMS.ir beside Kavenegar, and the fail-over from one to the other, against local stub servers
that also play slow, down, 5xx and malformed answers."""

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_settings
from flow import authorize_url, follow, get, submit_mobile
from live import answer_json, answer_slowly
from test_messaging import API_KEY, kavenegar, kavenegar_sms  # noqa: F401  (fixture)

from idp import create_app
from idp.messaging import FailoverSms, MessagingUnavailable, SmsIrSms, build_sms_sender
from idp.settings import SmsSettings

SMSIR_KEY = "smsir-secret-key-456"
ACCEPTED = {"status": 1, "message": "موفق", "data": {"messageId": 89545112, "cost": 1.0}}


class StubSmsIr(BaseHTTPRequestHandler):
    """Records each request (path, X-API-KEY, JSON body) and answers ``server.answer``:
    (status, body, delay), or a callable given the handler."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, self.headers.get("X-API-KEY"),
                                     json.loads(body)))
        if callable(self.server.answer):
            self.server.answer(self)
        else:
            answer_json(self, *self.server.answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def smsir():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubSmsIr)
    server.daemon_threads = True
    server.requests, server.answer = [], (200, ACCEPTED, 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def url(server) -> str:
    host, port = server.server_address
    return f"http://{host}:{port}"


def smsir_sms(server, timeout: float = 2.0, line: str = "") -> SmsIrSms:
    return SmsIrSms(SMSIR_KEY, url(server), 123456, "CODE", line, timeout)


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- SMS.ir ---------------------------------------------------------------------------------------

def test_smsir_verify(smsir):
    smsir_sms(smsir).send("+989410000001", "کد: 654321", code="654321", purpose="login")
    [(path, key, body)] = smsir.requests
    assert path == "/v1/send/verify" and key == SMSIR_KEY
    assert body == {"mobile": "09410000001", "templateId": 123456,
                    "parameters": [{"name": "CODE", "value": "654321"}]}


def test_smsir_plain_text_goes_from_the_line(smsir):
    smsir_sms(smsir, line="30007732000000").send("+989120000001", "اطلاعیه", code=None,
                                                 purpose="notice")
    [(path, _key, body)] = smsir.requests
    assert path == "/v1/send/bulk"
    assert body == {"lineNumber": "30007732000000", "messageText": "اطلاعیه",
                    "mobiles": ["09120000001"]}
    with pytest.raises(MessagingUnavailable, match="line"):
        smsir_sms(smsir).send("+989120000001", "اطلاعیه", code=None, purpose="notice")


@pytest.mark.parametrize(("answer", "reason"), [
    ((400, {"status": 0, "message": "قالب یافت نشد"}, 0), "HTTP 400"),
    ((401, {"status": 0, "message": "کلید نامعتبر"}, 0), "HTTP 401"),
    ((200, {"status": 105, "message": "اعتبار کافی نیست"}, 0), "status 105"),
    ((200, b"<html>oops</html>", 0), "JSONDecodeError"),
    ((200, b"[1]", 0), "status None"),
    ((503, b"unavailable", 0), "HTTP 503"),
    ((200, ACCEPTED, 1.5), "DeadlineExceeded"),
    (lambda handler: answer_slowly(handler, 200, ACCEPTED, every=0.02), "DeadlineExceeded"),
], ids=["400", "401", "refused", "html", "not-object", "503", "slow", "trickle"])
def test_smsir_failures_are_unavailable_and_never_log_secrets(smsir, caplog, answer, reason):
    smsir.answer = answer
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG), pytest.raises(MessagingUnavailable) as raised:
        smsir_sms(smsir, timeout=0.5).send("+989120000001", "کد: 987654", code="987654",
                                           purpose="login")
    assert time.monotonic() - started < 3
    assert reason in str(raised.value)
    for text in (caplog.text, str(raised.value)):
        assert SMSIR_KEY not in text and "987654" not in text and "9120000001" not in text


def test_smsir_needs_a_key_and_a_template():
    with pytest.raises(ValueError, match="smsir_api_key"):
        SmsIrSms("", "http://x", 1, "CODE", "", 1.0)
    with pytest.raises(ValueError, match="smsir_template_id"):
        SmsIrSms("k", "http://x", 0, "CODE", "", 1.0)


# --- Fail-over ------------------------------------------------------------------------------------

def failover(kavenegar_url: str, smsir_url: str, failures: int = 3,
             seconds: float = 60.0) -> FailoverSms:
    sender = build_sms_sender(SmsSettings(
        backend="kavenegar", fallback="smsir", kavenegar_api_key=API_KEY,
        kavenegar_base_url=kavenegar_url, smsir_api_key=SMSIR_KEY, smsir_base_url=smsir_url,
        smsir_template_id=123456, timeout_seconds=0.5, breaker_failures=failures,
        breaker_seconds=seconds), None)
    assert isinstance(sender, FailoverSms)
    return sender


def test_the_first_gateway_takes_the_code_when_it_is_up(kavenegar, smsir):  # noqa: F811
    failover(url(kavenegar), url(smsir)).send("+989120000001", "t", code="111222",
                                              purpose="login")
    assert len(kavenegar.requests) == 1 and smsir.requests == []


@pytest.mark.parametrize("down", ["5xx", "refused", "malformed", "slow"])
def test_a_code_goes_through_the_second_gateway_when_the_first_is_down(
        kavenegar, smsir, down):  # noqa: F811
    kavenegar.answer = {"5xx": (502, b"bad gateway", 0),
                        "malformed": (200, b"<html/>", 0),
                        "slow": (200, {"return": {"status": 200}}, 1.5)}.get(down)
    first = dead_url() if down == "refused" else url(kavenegar)
    failover(first, url(smsir)).send("+989120000001", "t", code="333444", purpose="login")
    [(_path, _key, body)] = smsir.requests
    assert body["parameters"] == [{"name": "CODE", "value": "333444"}]


def test_a_down_gateway_is_skipped_at_once_after_a_few_failures(kavenegar, smsir):  # noqa: F811
    kavenegar.answer = (503, b"down", 0)
    sender = failover(url(kavenegar), url(smsir), failures=2)
    for _ in range(4):
        sender.send("+989120000001", "t", code="555666", purpose="login")
    assert len(kavenegar.requests) == 2  # then its breaker opened: not asked again
    assert len(smsir.requests) == 4
    assert sender.breaker_states() == {"kavenegar": "open", "smsir": "closed"}


def test_both_gateways_down_is_unavailable(kavenegar, smsir, caplog):  # noqa: F811
    kavenegar.answer = (500, b"", 0)
    smsir.answer = (500, b"", 0)
    with caplog.at_level(logging.DEBUG), pytest.raises(MessagingUnavailable,
                                                       match="every sms gateway"):
        failover(url(kavenegar), url(smsir)).send("+989120000001", "t", code="777888",
                                                  purpose="login")
    assert "777888" not in caplog.text and API_KEY not in caplog.text
    assert SMSIR_KEY not in caplog.text


def test_a_fallback_must_be_another_gateway():
    with pytest.raises(ValueError, match="fallback"):
        build_sms_sender(SmsSettings(backend="kavenegar", fallback="kavenegar",
                                     kavenegar_api_key="k"), None)


def test_a_citizen_gets_the_code_through_the_second_gateway(kavenegar, smsir, tmp_path,  # noqa: F811
                                                            key_folder):
    """Through the journey: Kavenegar is down, the mobile step still sends the code."""
    kavenegar.answer = (502, b"bad gateway", 0)
    settings = make_settings(tmp_path, key_folder)
    settings.sms = SmsSettings(
        backend="kavenegar", fallback="smsir", kavenegar_api_key=API_KEY,
        kavenegar_base_url=url(kavenegar), smsir_api_key=SMSIR_KEY, smsir_base_url=url(smsir),
        smsir_template_id=123456, timeout_seconds=1.0)
    app = create_app(settings)
    browser = app.test_client()
    follow(browser, get(browser, authorize_url()))
    response = follow(browser, submit_mobile(browser, app, "09120000001"))
    assert response.request.path == "/login/otp"
    [(_path, _key, body)] = smsir.requests
    assert body["mobile"] == "09120000001"
    code = body["parameters"][0]["value"]
    assert len(code) == 6 and code.isascii() and code.isdigit()


def test_readiness_shows_each_sms_gateways_breaker(kavenegar, smsir, tmp_path,  # noqa: F811
                                                   key_folder):
    """/readyz beside the registries' breakers: a gateway down is reported, not counted."""
    settings = make_settings(tmp_path, key_folder)
    settings.sms = SmsSettings(
        backend="kavenegar", fallback="smsir", kavenegar_api_key=API_KEY,
        kavenegar_base_url=url(kavenegar), smsir_api_key=SMSIR_KEY, smsir_base_url=url(smsir),
        smsir_template_id=123456, timeout_seconds=1.0, breaker_failures=1)
    app = create_app(settings)
    client = app.test_client()
    assert client.get("/readyz").json["sms"] == {"kavenegar": "closed", "smsir": "closed"}
    kavenegar.answer = (503, b"down", 0)
    app.extensions["idp"].sms.send("+989120000001", "t", code="121212", purpose="login")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["sms"] == {"kavenegar": "open", "smsir": "closed"}


def test_readiness_shows_no_breaker_for_a_single_gateway(kavenegar, tmp_path,  # noqa: F811
                                                         key_folder):
    settings = make_settings(tmp_path, key_folder)
    settings.sms = SmsSettings(backend="kavenegar", kavenegar_api_key=API_KEY,
                               kavenegar_base_url=url(kavenegar))
    assert create_app(settings).test_client().get("/readyz").json["sms"] == {}
