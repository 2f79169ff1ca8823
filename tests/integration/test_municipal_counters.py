"""The municipal app's counters (issue 10): the «جستجو»/«استعلام» limits and the SMS-code send
limits live in ``[municipal] ratelimit_storage_uri``, so that two workers on one Redis count
together instead of each allowing the whole limit; a storage that is down is a Persian 503."""

import os
from contextlib import contextmanager

import pytest
import redis
from conftest import scratch_database
from integration.test_municipal_inquiry import FREE, at_property
from live import at_once, serve
from municipal_payment import with_gateway
from municipal_registry import use_registry
from relying_parties import csrf_of
from test_municipal_transfer import at_visit, citizen, codes_in, future_slot, post

from clients.municipal import create_app
from clients.municipal.drafts import SEARCHES_PER_CITIZEN
from clients.municipal.phone_codes import MAX_TRIES, SENDS_PER_NUMBER
from clients.municipal.settings import load_settings

REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL", "")


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path, monkeypatch):
    use_registry(tmp_path, monkeypatch)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    # One deployment's workers share the key that signs their cookies, forms and code digests.
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_SECRET_KEY", "k" * 48)
    if REDIS_URL:
        # Counters of an earlier test (the same citizen id and address) must not leak in.
        redis.Redis.from_url(REDIS_URL).flushdb()
        monkeypatch.setenv("MUNICIPAL_MUNICIPAL_RATELIMIT_STORAGE_URI", REDIS_URL)
    database_url = (request.getfixturevalue("services_database")
                    if request.param == "services" else None)
    with with_gateway(tmp_path, monkeypatch, database_url) as running:
        yield running


@contextmanager
def another_worker(sites, storage_uri: str | None = None):
    """A second process of the same municipal app: its database and settings (but for the
    counters' storage, when given); yields its base URL."""
    first = sites.apps["municipal"]
    settings = load_settings()
    if storage_uri:
        settings.municipal.ratelimit_storage_uri = storage_uri
    second = create_app(sites.issuer, "municipal", sites.secrets["municipal"],
                        sites["municipal"], str(first.extensions["rp"].db.engine.url),
                        settings=settings)
    assert second.secret_key == first.secret_key == b"k" * 48
    with serve(second) as url:
        yield url, second


@pytest.mark.skipif(not REDIS_URL, reason="IDP_TEST_REDIS_URL is not set")
def test_two_workers_on_one_redis_count_together(sites):
    http = citizen(sites)
    on_first = at_property(http, sites)
    with another_worker(sites) as (other, second):
        on_second = on_first.replace(sites["municipal"], other)
        token = csrf_of(http.get(on_second, timeout=10))
        allowed = SEARCHES_PER_CITIZEN.amount
        answers = [http.post(on_first if turn % 2 else on_second, timeout=10, data={
            "csrf_token": token, "action": "search", **FREE}).status_code
            for turn in range(allowed)]
        assert 429 not in answers
        # Each worker has served half the limit; the whole limit is spent on both.
        for url in (on_first, on_second):
            refused = http.post(url, timeout=10, data={"csrf_token": token,
                                                        "action": "search", **FREE})
            assert refused.status_code == 429 and "از حد مجاز گذشته" in refused.text

        # The SMS-code texts per number, likewise.
        first_limits = sites.apps["municipal"].extensions["municipal_code_limits"]
        second_limits = second.extensions["municipal_code_limits"]
        for turn in range(SENDS_PER_NUMBER.amount):
            assert (first_limits if turn % 2 else second_limits).allow("09120000001", turn)
            (first_limits if turn % 2 else second_limits).spend("09120000001", turn)
        assert not first_limits.allow("09120000001", 99)
        assert not second_limits.allow("09120000001", 99)


def code_sent(http, sites, tmp_path) -> tuple[str, str, str, str]:
    """A draft at «انتخاب کارشناس بازدید» with an SMS code sent to 09120000001: the step's URL,
    the chosen slot, the code, and a code that is not it."""
    fourth = at_visit(http, sites)
    slot = future_slot()
    assert post(http, fourth, action="send_code", mobile="09120000001", slot=slot
                ).status_code == 200
    code = codes_in(sites, tmp_path)[-1]["code"]
    return fourth, slot, code, "000000" if code != "000000" else "111111"


def test_a_second_worker_gives_no_more_tries_of_a_code(sites, tmp_path):
    """The tries of the SMS code are kept with the draft in the app's database, which every
    worker shares: wrong codes typed at either worker count against one budget."""
    http = citizen(sites)
    fourth, slot, code, wrong = code_sent(http, sites, tmp_path)
    with another_worker(sites) as (other, _):
        on_second = fourth.replace(sites["municipal"], other)
        answers = [post(http, on_second if turn % 2 else fourth, action="check_code",
                        mobile="09120000001", code=wrong, slot=slot).text
                   for turn in range(MAX_TRIES)]
        assert "از حد مجاز گذشت" in answers[-1]
        assert all("کد تاییدیه درست نیست" in text for text in answers[:-1])
        for url in (on_second, fourth):
            spent = post(http, url, action="check_code", mobile="09120000001", code=code,
                         slot=slot)
            assert spent.status_code == 400 and "از حد مجاز گذشت" in spent.text
            assert "phone-verified" not in spent.text


def test_wrong_codes_posted_together_each_count_as_a_try(tmp_path, monkeypatch,
                                                         services_database):
    """Posts to one draft take its row in turn: wrong codes sent at the same instant spend a
    try each, so the right code is refused after them (the municipal app on PostgreSQL, which
    locks rows)."""
    use_registry(tmp_path, monkeypatch)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_UPLOAD_DIR", str(tmp_path / "uploads"))
    with scratch_database() as municipal_database, \
            with_gateway(tmp_path, monkeypatch, services_database,
                         apps_database=municipal_database) as sites:
        http = citizen(sites)
        fourth, slot, code, wrong = code_sent(http, sites, tmp_path)
        answers = at_once(*[lambda: post(http, fourth, action="check_code",
                                         mobile="09120000001", code=wrong, slot=slot).text
                            for _ in range(MAX_TRIES + 2)])
        assert sum("کد تاییدیه درست نیست" in text for text in answers) == MAX_TRIES - 1
        spent = post(http, fourth, action="check_code", mobile="09120000001", code=code,
                     slot=slot)
        assert spent.status_code == 400 and "از حد مجاز گذشت" in spent.text
        sites.apps["municipal"].extensions["rp"].db.engine.dispose()


def test_a_storage_that_is_down_is_a_persian_503(sites):
    http = citizen(sites)
    step = at_property(http, sites)
    with another_worker(sites, "redis://127.0.0.1:1/0") as (other, _):
        url = step.replace(sites["municipal"], other)
        answer = http.post(url, timeout=10, data={
            "csrf_token": csrf_of(http.get(url, timeout=10)), "action": "search", **FREE})
    assert answer.status_code == 503 and 'dir="rtl"' in answer.text
    assert "چند دقیقه دیگر دوباره تلاش کنید" in answer.text and "Traceback" not in answer.text
