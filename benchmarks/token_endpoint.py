"""Throughput of the hot OIDC paths on one process: code exchange, UserInfo, refresh.

Prints numbers; asserts nothing (performance is measured, not tested). Run:

    .venv/bin/python benchmarks/token_endpoint.py [--logins 200] \
        [--database-url URL] [--redis-url URL]

Each citizen logs in once through the HTML journey (not timed), then the timed loops run the
token endpoint, UserInfo and refresh-token rotation through the WSGI app in-process.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import make_settings
from flow import authorize_url, exchange, login, pkce, redirect_params

from idp import create_app
from idp.keys import KeyRing

BASIC = {"Authorization": "Basic dGVzdC1ycDp0ZXN0LXJwLXNlY3JldA=="}


def timed(label: str, count: int, action) -> None:
    started = time.perf_counter()
    for index in range(count):
        action(index)
    elapsed = time.perf_counter() - started
    print(f"{label:<28} {count:>6} in {elapsed:6.2f} s  {count / elapsed:8.1f}/s  "
          f"{1000 * elapsed / count:6.2f} ms each")


def provider_settings(base: Path, database_url: str, redis_url: str):
    """The tests' configuration in ``base`` with a key ring of its own, on the backend named by
    the two URLs (empty: the embedded default)."""
    KeyRing(base / "seed-keys", retention_seconds=600).ensure()
    return make_settings(base, base / "seed-keys", database_url=database_url,
                         redis_url=redis_url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        settings = provider_settings(base, args.database_url, args.redis_url)
        settings.otp.resend_cooldown_seconds = 1
        app = create_app(settings)
        pending = []
        for _ in range(args.logins):
            browser = app.test_client()
            verifier, challenge = pkce()
            params = redirect_params(login(browser, app, authorize_url(
                code_challenge=challenge, code_challenge_method="S256",
                scope="openid profile phone offline_access")))
            pending.append((params["code"], verifier))
            app.extensions["idp"].store.redis.delete("idp:otp-cooldown:+989120000001")
        rp = app.test_client()
        tokens = []

        def exchange_one(index: int) -> None:
            code, verifier = pending[index]
            tokens.append(exchange(rp, code, verifier=verifier).get_json())

        timed("code -> tokens", len(pending), exchange_one)
        timed("userinfo", len(tokens), lambda i: rp.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens[i]['access_token']}"}))
        timed("refresh rotation", len(tokens), lambda i: rp.post(
            "/token", data={"grant_type": "refresh_token",
                            "refresh_token": tokens[i]["refresh_token"]}, headers=BASIC))
        timed("discovery", 1000, lambda i: rp.get("/.well-known/openid-configuration"))


if __name__ == "__main__":
    main()
