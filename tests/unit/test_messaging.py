"""SMS and e-mail gateways: the outbox file, Kavenegar and SMTP against local stub servers."""

import base64
import contextlib
import json
import logging
import multiprocessing
import os
import socket
import stat
import threading
import time
from datetime import datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from live import answer_json, answer_slowly, fake_dns

from idp.messaging import (
    KavenegarSms,
    MessagingUnavailable,
    OutboxMailer,
    OutboxSms,
    SmtpMailer,
    build_mailer,
    build_sms_sender,
    read_outbox,
)
from idp.settings import EmailSettings, SmsSettings

API_KEY = "kavenegar-secret-key-123"


def test_outbox_line_format(tmp_path):
    path = tmp_path / "new" / "folder" / "outbox.jsonl"
    OutboxSms(path).send("+989120000001", "کد ورود شما: ۱۲۳۴۵۶", code="123456", purpose="login")
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert "کد ورود".encode() in raw  # ensure_ascii=False: readable Persian
    message = json.loads(raw)
    assert set(message) == {"to", "text", "code", "purpose", "at"}
    assert message["to"] == "09120000001"
    assert (message["code"], message["purpose"]) == ("123456", "login")
    assert datetime.fromisoformat(message["at"]).utcoffset().total_seconds() == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_outbox_newest_first_and_limited(tmp_path):
    path = tmp_path / "outbox.jsonl"
    assert read_outbox(path) == []
    sms = OutboxSms(path)
    for n in range(5):
        sms.send("+989120000001", f"text {n}", code=f"{n:06d}", purpose="login")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("not json\n")
    sms.send("+989350000002", "no code", code=None, purpose="notice")
    messages = read_outbox(path, limit=3)
    assert [m["text"] for m in messages] == ["no code", "text 4", "text 3"]
    assert messages[0]["code"] is None and messages[0]["to"] == "09350000002"


def test_outbox_unwritable_is_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(MessagingUnavailable):
        OutboxSms(blocker / "outbox.jsonl").send("+989120000001", "x", code="1",
                                                 purpose="login")


def _append_many(path: str, worker: int, count: int) -> None:
    sms = OutboxSms(path)
    padding = "ا" * 2000  # long lines make interleaving likely if writes were not atomic
    for n in range(count):
        sms.send("+989120000001", f"{worker}:{n}:{padding}", code=f"{n:06d}", purpose="login")


def test_concurrent_appends_from_processes_never_interleave(tmp_path):
    path = tmp_path / "outbox.jsonl"
    workers, per_worker = 8, 200
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_append_many, args=(str(path), w, per_worker))
                 for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines.pop() == ""
    assert len(lines) == workers * per_worker
    seen = {tuple(json.loads(line)["text"].split(":")[:2]) for line in lines}
    assert seen == {(str(w), str(n)) for w in range(workers) for n in range(per_worker)}


def test_outbox_mailer(tmp_path):
    path = tmp_path / "mail.jsonl"
    OutboxMailer(path).send("citizen@example.ir", "رمز یکبار مصرف", "کد: 123456",
                            code="123456", purpose="login")
    [message] = read_outbox(path)
    # Issue 12: one JSON line {"to", "subject", "text", "code", "purpose", "at"}.
    assert set(message) == {"to", "subject", "text", "code", "purpose", "at"}
    assert message["to"] == "citizen@example.ir"
    assert (message["subject"], message["text"]) == ("رمز یکبار مصرف", "کد: 123456")
    assert (message["code"], message["purpose"]) == ("123456", "login")


def test_builders(tmp_path):
    sms = build_sms_sender(SmsSettings(outbox_path="o.jsonl"), tmp_path)
    assert isinstance(sms, OutboxSms)
    assert sms.path == tmp_path / "o.jsonl"
    sms = build_sms_sender(SmsSettings(backend="kavenegar", kavenegar_api_key=API_KEY,
                                       kavenegar_base_url="http://x"), tmp_path)
    assert isinstance(sms, KavenegarSms)
    with pytest.raises(ValueError):
        build_sms_sender(SmsSettings(backend="kavenegar", kavenegar_base_url="http://x"),
                         tmp_path)
    with pytest.raises(ValueError, match="unknown backend"):
        build_sms_sender(SmsSettings(backend="pigeon"), tmp_path)
    assert isinstance(build_mailer(EmailSettings(outbox_path="m.jsonl"), tmp_path), OutboxMailer)
    assert isinstance(build_mailer(EmailSettings(backend="smtp"), tmp_path), SmtpMailer)
    with pytest.raises(ValueError, match="unknown backend"):
        build_mailer(EmailSettings(backend="fax"), tmp_path)


# Kavenegar ---------------------------------------------------------------------------------


class StubKavenegar(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.requests.append((self.path, form))
        if self.server.answer is None:
            self.server.slowly(self)
        else:
            answer_json(self, *self.server.answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def kavenegar():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubKavenegar)
    server.daemon_threads = True
    server.requests = []
    server.answer = (200, {"return": {"status": 200, "message": "تایید شد"}, "entries": []}, 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def kavenegar_sms(server, timeout: float = 2.0) -> KavenegarSms:
    host, port = server.server_address
    return KavenegarSms(API_KEY, f"http://{host}:{port}/", "login", timeout)


def test_kavenegar_lookup(kavenegar):
    kavenegar_sms(kavenegar).send("+989410000001", "کد: 654321", code="654321", purpose="login")
    [(path, form)] = kavenegar.requests
    assert path == f"/v1/{API_KEY}/verify/lookup.json"
    assert form == {"receptor": "09410000001", "token": "654321", "template": "login"}


def test_kavenegar_plain_text_without_code(kavenegar):
    kavenegar_sms(kavenegar).send("+989120000001", "اطلاعیه", code=None, purpose="notice")
    [(path, form)] = kavenegar.requests
    assert path == f"/v1/{API_KEY}/sms/send.json"
    assert form == {"receptor": "09120000001", "message": "اطلاعیه"}


@pytest.mark.parametrize(("answer", "reason"), [
    ((418, {"return": {"status": 418, "message": "اعتبار کافی نیست"}}, 0), "HTTP 418"),
    ((200, {"return": {"status": 411, "message": "گیرنده نامعتبر"}}, 0), "return status 411"),
    ((200, b"<html>oops</html>", 0), "JSONDecodeError"),
    ((200, b"[1]", 0), "return status None"),
    ((502, b"bad gateway", 0), "HTTP 502"),
    ((200, {"return": {"status": 200}}, 1.5), "DeadlineExceeded"),
])
def test_kavenegar_failures_are_unavailable_and_never_log_secrets(kavenegar, caplog, answer,
                                                                  reason):
    kavenegar.answer = answer
    with caplog.at_level(logging.DEBUG), pytest.raises(MessagingUnavailable) as raised:
        kavenegar_sms(kavenegar, timeout=0.3).send("+989120000001", "کد: 987654",
                                                   code="987654", purpose="login")
    assert reason in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
    for text in (caplog.text, str(raised.value)):
        assert API_KEY not in text and "987654" not in text


def test_kavenegar_connection_refused(caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sms = KavenegarSms(API_KEY, f"http://127.0.0.1:{port}", "login", 1.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(MessagingUnavailable,
                                                       match="ConnectionError"):
        sms.send("+989120000001", "x", code="111222", purpose="login")
    assert API_KEY not in caplog.text and "111222" not in caplog.text


# SMTP --------------------------------------------------------------------------------------


class StubSmtp:
    """Just enough SMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) to receive one message."""

    def __init__(self, *, reject_rcpt: bool = False, silent: bool = False,
                 trickle: bool = False) -> None:
        self.reject_rcpt, self.silent, self.trickle = reject_rcpt, silent, trickle
        self.messages: list[dict] = []
        self.logins: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                if self.silent:
                    time.sleep(1.5)
                    continue
                if self.trickle:
                    # An endless multi-line greeting, a byte every 20 ms: no read ever waits.
                    with contextlib.suppress(OSError):
                        for _ in range(500):
                            for byte in b"220-stub\r\n":
                                conn.sendall(bytes([byte]))
                                time.sleep(0.02)
                    continue
                with contextlib.suppress(OSError):
                    self._session(stream)

    def _session(self, stream) -> None:
        def reply(line: str) -> None:
            stream.write(line.encode() + b"\r\n")
            stream.flush()

        envelope: dict = {"rcpt": []}
        reply("220 stub ESMTP")
        while line := stream.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                reply("250-stub")
                reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                self.logins.append(base64.b64decode(command.split()[2]).decode())
                reply("235 2.7.0 ok")
            elif verb == "MAIL":
                envelope["from"] = command[10:]
                reply("250 ok")
            elif verb == "RCPT":
                if self.reject_rcpt:
                    reply("550 5.1.1 no such user")
                else:
                    envelope["rcpt"].append(command[8:])
                    reply("250 ok")
            elif verb == "DATA":
                reply("354 go on")
                data = b""
                while (chunk := stream.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.messages.append(envelope | {"data": data})
                envelope = {"rcpt": []}
                reply("250 queued")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("250 ok" if verb in ("RSET", "NOOP") else "502 not implemented")


@pytest.fixture
def smtp_server():
    servers: list[StubSmtp] = []

    def start(**options) -> StubSmtp:
        servers.append(StubSmtp(**options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def mailer(port: int, username: str = "", timeout: float = 2.0) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", port, username, "mail-password" if username else "",
                      "no-reply@my.gov.ir", use_tls=False, timeout=timeout)


def test_smtp_delivers(smtp_server):
    server = smtp_server()
    mailer(server.port, username="idp").send("citizen@example.ir", "رمز یکبار مصرف",
                                              "کد ورود شما ۱۲۳۴۵۶ است.")
    [message] = server.messages
    assert message["from"] == "<no-reply@my.gov.ir>"
    assert message["rcpt"] == ["<citizen@example.ir>"]
    parsed = message_from_bytes(message["data"], policy=policy.default)
    assert parsed["Subject"] == "رمز یکبار مصرف" and parsed["To"] == "citizen@example.ir"
    assert parsed.get_content().strip() == "کد ورود شما ۱۲۳۴۵۶ است."
    assert parsed["Message-ID"].endswith("@my.gov.ir>")
    assert server.logins == ["\0idp\0mail-password"]


def test_smtp_rejection_is_unavailable(smtp_server, caplog):
    server = smtp_server(reject_rcpt=True)
    with caplog.at_level(logging.WARNING), pytest.raises(MessagingUnavailable):
        mailer(server.port).send("nobody@example.ir", "s", "secret text 424242")
    assert "424242" not in caplog.text and "nobody@example.ir" not in caplog.text


def test_smtp_timeout_is_unavailable(smtp_server):
    server = smtp_server(silent=True)
    started = time.monotonic()
    # smtplib reports a read timeout as SMTPServerDisconnected.
    with pytest.raises(MessagingUnavailable,
                       match=r"SMTPServerDisconnected|TimeoutError|DeadlineExceeded"):
        mailer(server.port, timeout=0.3).send("citizen@example.ir", "s", "t")
    assert time.monotonic() - started < 1.4


def test_a_trickling_smtp_server_is_cut_at_the_deadline(smtp_server, caplog):
    server = smtp_server(trickle=True)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(MessagingUnavailable,
                                                         match="DeadlineExceeded"):
        mailer(server.port, timeout=0.5).send("citizen@example.ir", "s", "t")
    assert time.monotonic() - started < 3


def test_a_trickling_kavenegar_is_cut_at_the_deadline(kavenegar):
    kavenegar.answer = None
    kavenegar.slowly = lambda handler: answer_slowly(
        handler, 200, {"return": {"status": 200, "message": "x" * 200}}, every=0.02)
    started = time.monotonic()
    with pytest.raises(MessagingUnavailable, match="DeadlineExceeded"):
        kavenegar_sms(kavenegar, timeout=0.5).send("+989120000001", "کد", code="123456",
                                                   purpose="login")
    assert time.monotonic() - started < 3


def test_smtp_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(MessagingUnavailable, match="ConnectionRefusedError"):
        mailer(port).send("citizen@example.ir", "s", "t")


def test_outbox_file_is_created_with_private_mode_under_permissive_umask(tmp_path):
    previous = os.umask(0)
    try:
        OutboxSms(tmp_path / "o.jsonl").send("+989120000001", "x", code="1", purpose="login")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "o.jsonl").stat().st_mode) == 0o600


def test_a_gateway_whose_dns_hangs_is_cut_at_the_deadline(kavenegar):
    """Name resolution is under the send's deadline (getaddrinfo itself takes no time-out)."""
    _host, port = kavenegar.server_address
    sms = KavenegarSms(API_KEY, f"http://sms.example:{port}/", "login", 0.3)
    with fake_dns({"sms.example": None}) as dns:
        with pytest.raises(MessagingUnavailable, match="DeadlineExceeded"):
            sms.send("+989120000001", "کد", code="123456", purpose="login")
        assert dns.hanging == ["sms.example"]  # the send did not wait for the lookup
    assert kavenegar.requests == []


def test_smtp_whose_dns_hangs_is_cut_at_the_deadline(smtp_server):
    server = smtp_server()
    smtp = SmtpMailer("smtp.example", server.port, "", "", "no-reply@my.gov.ir",
                      use_tls=False, timeout=0.3)
    with fake_dns({"smtp.example": None}) as dns:
        with pytest.raises(MessagingUnavailable, match="DeadlineExceeded"):
            smtp.send("citizen@example.ir", "s", "t")
        assert dns.hanging == ["smtp.example"]
    assert server.messages == []


def test_smtp_is_reached_by_name_at_each_of_its_addresses(smtp_server):
    server = smtp_server()
    smtp = SmtpMailer("smtp.example", server.port, "", "", "no-reply@my.gov.ir",
                      use_tls=False, timeout=2.0)
    with fake_dns({"smtp.example": ["127.0.0.2", "127.0.0.1"]}):
        smtp.send("citizen@example.ir", "s", "t")
    assert len(server.messages) == 1
