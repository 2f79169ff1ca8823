"""Identical instances: two apps on one keys folder and one database agree on what they sign
with, publish, and which clients exist."""

import time

import pytest

from idp import create_app
from idp.keys import JWKS_MAX_AGE_SECONDS, KeyRing


class Clock:
    """A wall clock the test moves by hand, shared by every instance's key ring."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def two_apps(settings):
    """Two instances built from the same settings: one database, one Redis, one keys folder."""
    apps = [create_app(settings), create_app(settings)]
    for app in apps:
        app.config["TESTING"] = True
    yield apps
    for app in apps:
        app.extensions["idp"].db.engine.dispose()


def test_no_instance_signs_with_a_key_another_instance_does_not_publish(two_apps, settings):
    clock = Clock(time.time())
    rings = [app.extensions["idp"].keys for app in two_apps]
    for ring in rings:
        ring.clock = clock
    # The instances re-read the folder on their own timers, 15 s apart.
    rings[0].reload(force=True)
    clock.advance(15)
    rings[1].reload(force=True)
    operator = KeyRing.from_settings(settings)  # `idp keys rotate`, run elsewhere
    operator.clock = clock
    browsers = [app.test_client() for app in two_apps]
    first = {alg: rings[0].signing_kid(alg) for alg in ("RS256", "ES256")}
    served: list[tuple[float, set[str]]] = []
    signed: list[tuple[float, str]] = []
    upcoming: dict[str, str] = {}
    for step in range(300):  # 7 s a step: rotation, activation, retirement and removal
        if step == 5:
            upcoming = {k["alg"]: k["kid"] for k in operator.rotate()}
        for ring, browser in zip(rings, browsers, strict=True):
            served.append((clock.now, {k["kid"] for k in
                                       browser.get("/jwks.json").get_json()["keys"]}))
            signed.extend((clock.now, ring.signing_kid(alg)) for alg in ("RS256", "ES256"))
        clock.advance(7)
    # A relying party may hold any JWKS either instance served within its max-age.
    for signed_at, kid in signed:
        for served_at, kids in served:
            if signed_at - JWKS_MAX_AGE_SECONDS <= served_at <= signed_at:
                assert kid in kids, f"{kid} signed at {signed_at} missing from a JWKS " \
                                    f"served at {served_at}"
    # The rotation did happen on both, and the retired keys left once their tokens expired.
    assert {kid for _, kid in signed[-4:]} == set(upcoming.values())
    assert not set(first.values()) & served[-1][1] and not set(first.values()) & served[-2][1]
    assert set(first.values()) <= {kid for _, kid in signed}


def test_client_registrations_and_removals_reach_the_other_instance_within_a_minute(
        two_apps, settings):
    from flow import authorize_url

    from idp.db import Database
    from idp.registration import register_client, remove_client

    second = two_apps[1]
    server = second.extensions["idp"].oauth_server
    clock = Clock(1000.0)
    server.clock = clock
    browser = second.test_client()
    url = authorize_url(client_id="tax-office", redirect_uri="https://tax.example/cb",
                        scope="openid")
    assert browser.get(url).status_code == 400  # unknown here (and that is cached)

    # `idp clients add` on another machine: the first instance's database session.
    admin = Database(settings.database_url)
    with admin.sessionmaker() as session:
        register_client(session, name="اداره مالیات", redirect_uris=["https://tax.example/cb"],
                        client_id="tax-office", scope="openid")
        session.commit()
    clock.advance(59)
    answer = browser.get(url)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]

    with admin.sessionmaker() as session:
        assert remove_client(session, "tax-office")
        session.commit()
    clock.advance(59)
    assert browser.get(url).status_code == 400
    admin.engine.dispose()


def test_a_flood_of_unknown_client_ids_does_not_grow_the_cache(app, monkeypatch):
    from idp.oidc import server as server_module

    monkeypatch.setattr(server_module, "CLIENT_CACHE_ENTRIES", 50)
    server = app.extensions["idp"].oauth_server
    with app.app_context():
        for number in range(120):
            assert server.find_client(f"made-up-{number}") is None
            assert len(server._clients) <= 50
        assert server.find_client("test-rp") is not None
