"""Prometheus metrics: logins, codes, registries, tokens and rate limits counted; right when
several worker processes answer /metrics; never for the public."""

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import make_settings
from flow import authorize_url, exchange, login, pkce, redirect_params, submit_identity
from prometheus_client.parser import text_string_to_metric_families

from idp import create_app
from idp.registries import RegistryUnavailable


def scrape(client) -> dict[tuple, float]:
    """``{(sample name, sorted labels): value}`` from /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_login_is_counted_by_method_gateway_registry_and_grant(client, app):
    verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256")
    code = redirect_params(login(client, app, url))["code"]
    assert exchange(client, code, verifier=verifier).status_code == 200
    samples = scrape(client)
    assert value(samples, "idp_logins_total", method="sms_otp", outcome="success") == 1
    assert value(samples, "idp_codes_sent_total", gateway="outbox", channel="sms") == 1
    assert value(samples, "idp_codes_failed_total", gateway="outbox", channel="sms") == 0
    assert value(samples, "idp_tokens_issued_total", grant_type="authorization_code") == 1
    assert value(samples, "idp_registry_seconds_count", registry="civil", outcome="ok") == 1
    assert value(samples, "idp_registry_seconds_count", registry="shahkar", outcome="ok") == 1
    assert value(samples, "idp_http_requests_total", endpoint="oidc.token", method="POST",
                 status="200") == 1
    assert value(samples, "idp_http_request_seconds_count", endpoint="oidc.token") == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert "0499370899" not in text and "09120000001" not in text  # no citizen data


def test_failures_are_counted(client, app, monkeypatch):
    from flow import follow, outbox_codes, submit_mobile, submit_otp

    follow(client, client.get(authorize_url()))
    follow(client, submit_mobile(client, app, "09120000001"))
    wrong = "0" * 6 if outbox_codes(app, "09120000001")[-1] != "0" * 6 else "1" * 6
    assert submit_otp(client, app, wrong).status_code == 422
    follow(client, submit_otp(client, app, outbox_codes(app, "09120000001")[-1]))
    registries = app.extensions["idp"].registries

    def down(*_args, **_kwargs):
        raise RegistryUnavailable("civil registry timed out")

    monkeypatch.setattr(registries.civil.inner, "find_person", down)
    assert submit_identity(client, "0499370899", (1360, 1, 1)).status_code == 503

    def refuse(*_args, **_kwargs):
        raise OSError("gateway down")

    monkeypatch.setattr(app.extensions["idp"].sms.inner, "send", refuse)
    other = app.test_client()
    follow(other, other.get(authorize_url()))
    follow(other, submit_mobile(other, app, "09351110001"))
    samples = scrape(client)
    assert value(samples, "idp_logins_total", method="unknown", outcome="otp_failed") == 1
    assert value(samples, "idp_registry_errors_total", registry="civil") == 1
    assert value(samples, "idp_registry_seconds_count", registry="civil", outcome="error") == 1
    assert value(samples, "idp_codes_failed_total", gateway="outbox", channel="sms") == 1


def test_rate_limit_hits_are_counted(tmp_path, key_folder):
    settings = make_settings(tmp_path, key_folder)
    settings.ratelimit.enabled = True
    settings.ratelimit.token_per_ip = "2 per minute"
    app = create_app(settings)
    client = app.test_client()
    statuses = [client.post("/token", data={"grant_type": "client_credentials"}).status_code
                for _ in range(3)]
    assert statuses[-1] == 429
    assert value(scrape(client), "idp_rate_limit_hits_total", limit="oidc.token") == 1
    app.extensions["idp"].db.engine.dispose()


def test_several_workers_answer_for_the_whole_instance(tmp_path):
    """`idp serve --workers 2`: whichever worker answers /metrics, it counts every worker's
    requests (prometheus-client's multi-process mode in the instance folder)."""
    import os
    import socket

    redis_url = os.environ.get("IDP_TEST_REDIS_URL", "")
    if not redis_url:
        pytest.skip("IDP_TEST_REDIS_URL is not set (two workers share Redis)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "idp.toml"
    config.write_text(f"[server]\nissuer = 'http://127.0.0.1:{port}'\n"
                      f"[redis]\nurl = '{redis_url}'\n")
    server = subprocess.Popen(
        [sys.executable, "-c", "from idp.cli import main; main()", "--config", str(config),
         "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/healthz").read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the production server did not answer")
        for _ in range(40):  # new connections: both workers take some
            urllib.request.urlopen(f"{base}/healthz").read()
        counts = set()
        for _ in range(6):
            text = urllib.request.urlopen(f"{base}/metrics").read().decode()
            found = re.search(r'idp_http_requests_total\{endpoint="ops.healthz",method="GET",'
                              r'status="200"\} ([\d.]+)', text)
            counts.add(float(found.group(1)))
        assert counts == {41.0}
        # One file per worker process: two workers, both counting.
        pids = {p.stem.rsplit("_", 1)[1] for p in (tmp_path / "instance" / "metrics").glob(
            "counter_*.db")}
        assert len(pids) == 2
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_metrics_are_still_only_for_allowed_networks(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code \
        == 403
    assert json.loads(client.get("/healthz").data) == {"status": "ok"}
