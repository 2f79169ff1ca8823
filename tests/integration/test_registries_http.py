"""The HTTP registries against a stub registry server on 127.0.0.1 (real sockets, real timeouts)."""

import json
import logging
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from live import answer_json

from idp.registries import Company, RegistryUnavailable, build_registries
from idp.settings import RegistrySettings

TOKEN = "registry-test-token"
BORN = date(1981, 3, 21)
PERSON = {"national_code": "0499370899", "birth_date": "1981-03-21", "first_name": "علي",
          "last_name": "آزمایشی", "father_name": "حسن", "gender": "male",
          "postal_code": "1968913141"}
FOREIGNER = {"fida_code": "300000000101", "birth_date": "1989-04-22", "first_name": "احمد",
             "last_name": "آزمایشی", "father_name": "محمود", "gender": "male",
             "nationality": "AF", "postal_code": None}


class StubRegistry(BaseHTTPRequestHandler):
    """Answers ``routes[path]`` = (status, body, delay); records every request."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append({"path": url.path, "query": parse_qs(url.query),
                                     "auth": self.headers.get("Authorization")})
        answer_json(self, *self.server.routes.get(url.path, (404, {"error": "nf"}, 0)))

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubRegistry)
    server.daemon_threads = True
    server.routes, server.requests = {}, []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def registries_for(server, timeout: float = 2.0):
    host, port = server.server_address
    return http_settings(f"http://{host}:{port}/api/", timeout)


def http_settings(base_url: str, timeout: float = 1.0):
    return build_registries(RegistrySettings(backend="http", http_base_url=base_url,
                                             http_token=TOKEN, http_timeout_seconds=timeout),
                            Path.cwd())


def test_find_person(stub):
    stub.routes["/api/civil/persons/0499370899"] = (200, PERSON, 0)
    person = registries_for(stub).civil.find_person("0499370899", BORN)
    assert person is not None
    assert (person.identity_type, person.national_code, person.nationality) == (
        "iranian", "0499370899", "IR")
    assert person.first_name == "علی" and person.birth_date == BORN
    assert person.postal_code == "1968913141"
    request = stub.requests[-1]
    assert request["auth"] == f"Bearer {TOKEN}"
    assert request["query"] == {"birth_date": ["1981-03-21"]}


def test_person_national_email_is_read_when_given(stub):
    stub.routes["/api/civil/persons/0499370899"] = (200, PERSON | {"email": "a@example.ir"}, 0)
    assert registries_for(stub).civil.find_person("0499370899", BORN).email == "a@example.ir"
    stub.routes["/api/civil/persons/0499370899"] = (200, PERSON | {"email": None}, 0)
    assert registries_for(stub).civil.find_person("0499370899", BORN).email is None
    stub.routes["/api/civil/persons/0499370899"] = (200, PERSON | {"email": "nope"}, 0)
    with pytest.raises(RegistryUnavailable):
        registries_for(stub).civil.find_person("0499370899", BORN)


def test_person_not_found_is_none(stub):
    assert registries_for(stub).civil.find_person("0499370899", BORN) is None
    assert len(stub.requests) == 1


def test_invalid_code_is_none_without_asking(stub):
    assert registries_for(stub).civil.find_person("1111111111", BORN) is None
    assert stub.requests == []


def test_find_foreigner(stub):
    stub.routes["/api/foreigners/300000000101"] = (200, FOREIGNER, 0)
    registries = registries_for(stub)
    person = registries.foreigners.find_foreigner("300000000101", date(1989, 4, 22),
                                                  "passport", "p0123 4567")
    assert person is not None
    assert (person.identity_type, person.fida_code, person.nationality) == (
        "foreign", "300000000101", "AF")
    assert person.postal_code is None
    assert stub.requests[-1]["query"] == {"birth_date": ["1989-04-22"],
                                          "id_type": ["passport"], "id_value": ["P01234567"]}


def test_shahkar(stub):
    registries = registries_for(stub)
    stub.routes["/api/shahkar/match"] = (200, {"match": True}, 0)
    assert registries.shahkar.owns("+989120000001", "iranian", "0499370899") is True
    assert stub.requests[-1]["query"] == {"mobile": ["+989120000001"], "id_type": ["iranian"],
                                          "code": ["0499370899"]}
    stub.routes["/api/shahkar/match"] = (200, {"match": False}, 0)
    assert registries.shahkar.owns("+989120000001", "iranian", "0499370899") is False
    stub.routes["/api/shahkar/match"] = (200, {"match": "yes"}, 0)
    with pytest.raises(RegistryUnavailable):
        registries.shahkar.owns("+989120000001", "iranian", "0499370899")


def test_find_company(stub):
    registries = registries_for(stub)
    stub.routes["/api/companies/10380284790"] = (
        200, {"national_id": "10380284790", "name": "شرکت آزمایشی",
              "ceo_national_code": "0499370899"}, 0)
    assert registries.companies.find_company("10380284790") == Company(
        "10380284790", "شرکت آزمایشی", "0499370899")
    assert registries.companies.find_company("10408552260") is None


def test_server_error_is_unavailable_and_logged_without_personal_data(stub, caplog):
    stub.routes["/api/civil/persons/0499370899"] = (500, {"error": "boom"}, 0)
    with caplog.at_level(logging.WARNING), pytest.raises(RegistryUnavailable) as raised:
        registries_for(stub).civil.find_person("0499370899", BORN)
    assert "0499370899" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
    assert "civil" in caplog.text and "500" in caplog.text
    assert "0499370899" not in caplog.text and TOKEN not in caplog.text


@pytest.mark.parametrize("body", [
    b"<html>maintenance</html>", b"[]", b'{"national_code": "0499370899"}',
    json.dumps(PERSON | {"national_code": "0790419904"}).encode(),
    json.dumps(PERSON | {"birth_date": "1981-03-22"}).encode(),
    json.dumps(PERSON | {"gender": "x"}).encode(),
    json.dumps(PERSON | {"postal_code": "12"}).encode(),
])
def test_garbage_is_unavailable(stub, body):
    stub.routes["/api/civil/persons/0499370899"] = (200, body, 0)
    with pytest.raises(RegistryUnavailable):
        registries_for(stub).civil.find_person("0499370899", BORN)


def test_other_4xx_is_unavailable(stub):
    stub.routes["/api/companies/10380284790"] = (401, {"error": "token"}, 0)
    with pytest.raises(RegistryUnavailable, match="HTTP 401"):
        registries_for(stub).companies.find_company("10380284790")


def test_slow_answer_is_unavailable(stub, caplog):
    stub.routes["/api/civil/persons/0499370899"] = (200, PERSON, 1.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(RegistryUnavailable):
        registries_for(stub, timeout=0.3).civil.find_person("0499370899", BORN)
    assert time.monotonic() - started < 1.4
    assert "Timeout" in caplog.text and "0499370899" not in caplog.text


def test_connection_refused_is_unavailable(caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registries = http_settings(f"http://127.0.0.1:{port}")
    with caplog.at_level(logging.WARNING), pytest.raises(RegistryUnavailable) as raised:
        registries.shahkar.owns("+989120000001", "iranian", "0499370899")
    assert "ConnectionError" in str(raised.value)
    assert "09120000001" not in caplog.text and "9120000001" not in caplog.text


def test_http_backend_needs_a_base_url():
    with pytest.raises(ValueError, match="http_base_url"):
        http_settings("")
