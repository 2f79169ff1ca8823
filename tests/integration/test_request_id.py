"""JSON logs with a request id: accepted from X-Request-ID or made, echoed back, on every log
line of the request; no secret, code or token in any line."""

import io
import json
import logging
import re

import pytest
from flow import authorize_url, exchange, login, outbox_codes, pkce, redirect_params

from idp.logs import json_handler


@pytest.fixture
def log_lines():
    """Every line the provider's loggers write while the test runs, as the JSON handler writes
    it."""
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("idp")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_request_id_is_made_or_taken_and_echoed(client):
    for path in ("/healthz", "/jwks.json", "/jwks.json", "/.well-known/openid-configuration",
                 "/no-such-page"):
        made = client.get(path).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
        assert client.get(path).headers["X-Request-ID"] != made
        given = client.get(path, headers={"X-Request-ID": "lb-7f3a:42"})
        assert given.headers.getlist("X-Request-ID") == ["lb-7f3a:42"]
    for bad in ("two words", "x" * 129, "a\tb", "é"):
        answered = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert answered != bad and re.fullmatch(r"[0-9a-f]{32}", answered)


def test_every_log_line_of_a_login_names_its_request_and_no_secret(client, app, log_lines):
    verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256")
    code = redirect_params(login(client, app, url))["code"]
    tokens = exchange(client, code, verifier=verifier).get_json()
    client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "forged"},
                headers={"X-Request-ID": "rp-call-1"})
    lines = log_lines()
    assert lines and all(line["request_id"] for line in lines)
    events = {line.get("event") for line in lines}
    assert {"login.success", "token.issued"} <= events
    written = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    secrets = [code, verifier, tokens["access_token"], tokens["id_token"], "test-rp-secret",
               *outbox_codes(app, "09120000001")]
    for secret in secrets:
        assert secret not in written


def test_a_field_named_like_a_secret_is_redacted(log_lines):
    logging.getLogger("idp.test").warning("careless call site", extra={
        "code": "123456", "detail_otp": "654321", "client_secret": "s3cret", "client_id": "rp"})
    line = log_lines()[-1]
    assert line["code"] == line["detail_otp"] == line["client_secret"] == "[redacted]"
    assert line["client_id"] == "rp" and "request_id" not in line  # outside a request
