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
from conftest import make_settings
from flow import (
    authorize_url,
    follow,
    get,
    outbox_codes,
    submit_identity,
    submit_mobile,
    submit_otp,
)
from live import answer_json, answer_slowly, fake_dns

from idp import create_app
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
    """Answers ``routes[path]``: (status, body, delay), or a callable given the handler (to
    answer slowly); records every request."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append({"path": url.path, "query": parse_qs(url.query),
                                     "auth": self.headers.get("Authorization"),
                                     "host": self.headers.get("Host")})
        route = self.server.routes.get(url.path, (404, {"error": "nf"}, 0))
        if callable(route):
            route(self)
        else:
            answer_json(self, *route)

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


def in_turn(*answers):
    """A route answering each request with the next of ``answers`` (the last one repeats)."""
    queue = list(answers)

    def route(handler) -> None:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        answer_json(handler, *answer)

    return route


def registries_for(server, timeout: float = 2.0, host: str = "", **options):
    """The HTTP registries against the stub, at its address or by the name ``host``."""
    address, port = server.server_address
    return http_settings(f"http://{host or address}:{port}/api/", timeout, **options)


def http_settings(base_url: str, timeout: float = 1.0, **options):
    return build_registries(RegistrySettings(backend="http", http_base_url=base_url,
                                             http_token=TOKEN, http_timeout_seconds=timeout,
                                             **options), Path.cwd())


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
    assert "DeadlineExceeded" in caplog.text and "0499370899" not in caplog.text


@pytest.mark.parametrize("headers_too", [False, True])
def test_a_trickled_answer_is_cut_at_the_deadline(stub, caplog, headers_too):
    """A byte every 50 ms keeps every socket read alive; the 20 s answer is cut at 0.5 s."""
    stub.routes["/api/civil/persons/0499370899"] = lambda handler: answer_slowly(
        handler, 200, PERSON, every=0.05, headers_too=headers_too)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(RegistryUnavailable,
                                                         match="DeadlineExceeded"):
        registries_for(stub, timeout=0.5).civil.find_person("0499370899", BORN)
    assert time.monotonic() - started < 3


def test_connection_refused_is_unavailable(caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registries = http_settings(f"http://127.0.0.1:{port}")
    with caplog.at_level(logging.WARNING), pytest.raises(RegistryUnavailable) as raised:
        registries.shahkar.owns("+989120000001", "iranian", "0499370899")
    assert "ConnectionError" in str(raised.value)
    assert "09120000001" not in caplog.text and "9120000001" not in caplog.text


CIVIL = "/api/civil/persons/0499370899"


def test_a_5xx_is_tried_again_and_the_next_answer_counts(stub):
    stub.routes[CIVIL] = in_turn((503, {"error": "busy"}, 0), (200, PERSON, 0))
    person = registries_for(stub).civil.find_person("0499370899", BORN)
    assert person is not None and person.national_code == "0499370899"
    assert len(stub.requests) == 2


def test_retries_are_bounded(stub, caplog):
    stub.routes[CIVIL] = (502, b"bad gateway", 0)
    with caplog.at_level(logging.WARNING), pytest.raises(RegistryUnavailable,
                                                         match="HTTP 502 after 3 attempt"):
        registries_for(stub, http_retries=2).civil.find_person("0499370899", BORN)
    assert len(stub.requests) == 3
    assert len([r for r in caplog.records if r.getMessage().startswith("registry unavail")]) == 1


@pytest.mark.parametrize("answer", [(200, b"<html>maintenance</html>", 0), (401, {}, 0),
                                    (200, json.dumps(PERSON | {"gender": "x"}).encode(), 0)])
def test_a_malformed_or_refused_answer_is_not_tried_again(stub, answer):
    stub.routes[CIVIL] = answer
    with pytest.raises(RegistryUnavailable):
        registries_for(stub).civil.find_person("0499370899", BORN)
    assert len(stub.requests) == 1


def test_retries_stop_at_the_deadline(stub):
    stub.routes[CIVIL] = (503, {}, 0.3)
    with pytest.raises(RegistryUnavailable):
        registries_for(stub, timeout=0.5, http_retries=10).civil.find_person("0499370899", BORN)
    assert len(stub.requests) <= 2


@pytest.mark.parametrize("answer", [(503, {}, 0), (200, PERSON, 1.0), (200, b"garbage", 0)],
                         ids=["5xx", "slow", "malformed"])
def test_a_failing_registry_opens_its_breaker_and_fails_fast(stub, caplog, answer):
    registries = registries_for(stub, timeout=0.3, http_retries=1, http_breaker_failures=2,
                                http_breaker_seconds=60)
    stub.routes[CIVIL] = answer
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            with pytest.raises(RegistryUnavailable):
                registries.civil.find_person("0499370899", BORN)
    assert "outside service down" in caplog.text  # the operator hears when it opens
    asked = len(stub.requests)
    assert registries.breaker_states()["civil"] == "open"
    with pytest.raises(RegistryUnavailable, match="circuit open"):
        registries.civil.find_person("0499370899", BORN)
    assert len(stub.requests) == asked  # the dead registry was not asked again
    # Each registry has its own breaker.
    assert registries.breaker_states() == {"civil": "open", "foreigners": "closed",
                                           "shahkar": "closed", "companies": "closed"}
    stub.routes["/api/shahkar/match"] = (200, {"match": True}, 0)
    assert registries.shahkar.owns("+989120000001", "iranian", "0499370899") is True


def test_an_open_breaker_lets_one_trial_through_and_closes_on_success(stub):
    registries = registries_for(stub, http_retries=0, http_breaker_failures=1,
                                http_breaker_seconds=0.2)
    stub.routes[CIVIL] = (500, {}, 0)
    with pytest.raises(RegistryUnavailable):
        registries.civil.find_person("0499370899", BORN)
    assert registries.breaker_states()["civil"] == "open"
    time.sleep(0.25)
    assert registries.breaker_states()["civil"] == "half-open"
    stub.routes[CIVIL] = (200, PERSON, 0)
    assert registries.civil.find_person("0499370899", BORN) is not None
    assert registries.breaker_states()["civil"] == "closed"


def test_a_failed_trial_opens_the_breaker_again(stub):
    registries = registries_for(stub, http_retries=0, http_breaker_failures=3,
                                http_breaker_seconds=0.2)
    stub.routes[CIVIL] = (500, {}, 0)
    for _ in range(3):
        with pytest.raises(RegistryUnavailable):
            registries.civil.find_person("0499370899", BORN)
    time.sleep(0.25)
    with pytest.raises(RegistryUnavailable, match="HTTP 500"):
        registries.civil.find_person("0499370899", BORN)  # the one trial
    assert registries.breaker_states()["civil"] == "open"


def test_readiness_shows_each_registrys_breaker(stub, tmp_path, key_folder):
    host, port = stub.server_address
    settings = make_settings(tmp_path, key_folder)
    settings.registries = RegistrySettings(
        backend="http", http_base_url=f"http://{host}:{port}", http_token=TOKEN,
        http_timeout_seconds=0.5, http_retries=0, http_breaker_failures=1)
    app = create_app(settings)
    client = app.test_client()
    assert client.get("/readyz").json["registries"] == {
        "civil": "closed", "foreigners": "closed", "shahkar": "closed", "companies": "closed"}
    stub.routes["/civil/persons/0499370899"] = (500, {}, 0)
    with pytest.raises(RegistryUnavailable):
        app.extensions["idp"].registries.civil.find_person("0499370899", BORN)
    response = client.get("/readyz")
    # Reported, not counted against readiness: every instance sees the same registry.
    assert response.status_code == 200
    assert response.json["registries"]["civil"] == "open"


def test_http_backend_needs_a_base_url():
    with pytest.raises(ValueError, match="http_base_url"):
        http_settings("")


def at_the_identity_step(base_url: str, tmp_path, key_folder):
    """A browser of a provider on the HTTP registries at ``base_url`` (half a second each),
    walked to the identity step."""
    settings = make_settings(tmp_path, key_folder)
    settings.registries = RegistrySettings(backend="http", http_base_url=base_url,
                                           http_token=TOKEN, http_timeout_seconds=0.5)
    app = create_app(settings)
    browser = app.test_client()
    follow(browser, get(browser, authorize_url()))
    follow(browser, submit_mobile(browser, app, "09120000001"))
    page = follow(browser, submit_otp(browser, app, outbox_codes(app, "09120000001")[-1]))
    assert page.request.path == "/login/identity"
    return browser


def test_the_citizen_gets_the_try_again_page_when_the_registry_trickles(stub, tmp_path,
                                                                          key_folder):
    """Through the journey: the identity step answers in time with the Persian page."""
    host, port = stub.server_address
    browser = at_the_identity_step(f"http://{host}:{port}", tmp_path, key_folder)
    stub.routes["/civil/persons/0499370899"] = lambda handler: answer_slowly(
        handler, 200, PERSON, every=0.05)
    started = time.monotonic()
    response = submit_identity(browser, "0499370899", (1360, 1, 1))
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert "لطفا چند دقیقه دیگر دوباره تلاش کنید" in response.get_data(as_text=True)


def test_a_registry_is_reached_by_name_at_each_of_its_addresses(stub):
    """Resolved within the deadline, then tried in turn: 127.0.0.2 refuses (the stub listens on
    127.0.0.1 only), the next address answers; the request still names the host."""
    stub.routes["/api/civil/persons/0499370899"] = (200, PERSON, 0)
    with fake_dns({"registry.example": ["127.0.0.2", "127.0.0.1"]}) as dns:
        registries = registries_for(stub, host="registry.example", http_retries=0)
        assert registries.civil.find_person("0499370899", BORN) is not None
    assert dns.asked == ["registry.example"]
    assert stub.requests[0]["host"] == f"registry.example:{stub.server_address[1]}"


def test_a_registry_whose_dns_hangs_fails_at_the_deadline(stub):
    """getaddrinfo takes no time-out: the lookup is given what is left of the deadline. The
    resolver here never answers, so only the deadline can end the call."""
    with fake_dns({"registry.example": None}) as dns:
        with pytest.raises(RegistryUnavailable, match="DeadlineExceeded"):
            registries_for(stub, timeout=0.3, host="registry.example").civil.find_person(
                "0499370899", BORN)
        assert dns.hanging == ["registry.example"]  # the call did not wait for the lookup
    assert dns.asked == ["registry.example"]  # not tried again: no time was left
    assert stub.requests == []


def test_the_citizen_gets_the_try_again_page_when_the_registrys_dns_hangs(stub, tmp_path,
                                                                          key_folder):
    _host, port = stub.server_address
    browser = at_the_identity_step(f"http://registry.example:{port}", tmp_path, key_folder)
    with fake_dns({"registry.example": None}) as dns:
        response = submit_identity(browser, "0499370899", (1360, 1, 1))
        assert dns.hanging == ["registry.example"]
    assert response.status_code == 503
    assert "لطفا چند دقیقه دیگر دوباره تلاش کنید" in response.get_data(as_text=True)
