"""``idp demo`` as a new user runs it: the provider and every relying party of clients/demo.py on
their own ports, one line per app, and single sign-on between the services with no page."""

import os
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner
from live import demo_person, free_port, walk_login, write_config
from relying_parties import single_sign_on

from clients.demo import DEMO_APPS
from idp.cli import main


def test_demo_has_a_port_option_per_app():
    help_text = CliRunner().invoke(main, ["demo", "--help"]).output
    for option in ("--port", "--client-port", "--insurance-port", "--employer-port"):
        assert option in help_text
    assert [app.port_option for app in DEMO_APPS][:2] == ["client-port", "insurance-port"]


@pytest.fixture
def demo(tmp_path):
    ports = {"provider": free_port(), "paygate": free_port(),
             **{app.name: free_port() for app in DEMO_APPS}}
    config = write_config(tmp_path, port=ports["provider"], clients=[])
    args = [sys.executable, "-c", "from idp.cli import main; main()", "--config", str(config),
            "demo", "--port", str(ports["provider"]), "--paygate-port", str(ports["paygate"])]
    for app in DEMO_APPS:
        args += [f"--{app.port_option}", str(ports[app.name])]
    process = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("SMS outbox" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stdout.readline())
        yield {"lines": lines, "ports": ports, "outbox": tmp_path / "instance" / "outbox.jsonl"}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_demo_starts_every_app_and_says_whom_to_log_in_as(demo):
    lines, ports = demo["lines"], demo["ports"]
    for app in DEMO_APPS:
        url = f"http://127.0.0.1:{ports[app.name]}/"
        line = next(line for line in lines if url in line)
        assert app.title in line and "log in as" in line
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and "ورود با پنجره ملی" in page.text
    # Issue 10: the payment gateway runs beside them, and says which codes owe dues.
    gateway = f"http://127.0.0.1:{ports['paygate']}"
    line = next(line for line in lines if gateway in line)
    assert "10-123-456-7" in line and "10-123-456-8" in line
    unknown = requests.get(gateway + "/pay/unknown", timeout=10)
    assert unknown.status_code == 404 and 'dir="rtl"' in unknown.text
    municipal = requests.get(f"http://127.0.0.1:{ports['municipal']}/", timeout=10)
    assert gateway in municipal.headers["Content-Security-Policy"]  # the app was pointed at it

    # Registered first-party and seeded: log in at one, single sign-on into the other.
    sites = {app.name: f"http://127.0.0.1:{ports[app.name]}" for app in DEMO_APPS}
    http = requests.Session()
    start = http.get(sites["municipal"] + "/login", allow_redirects=False, timeout=10)
    location = walk_login(http, start.headers["Location"], outbox=demo["outbox"],
                          redirect_uri=sites["municipal"] + "/callback", person=demo_person)
    assert http.get(location, allow_redirects=False, timeout=10).status_code == 302
    single_sign_on(http, sites, "insurance")
    assert "1234567890".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in http.get(
        sites["insurance"] + "/", timeout=10).text


@pytest.mark.parametrize("name", ["municipal", "insurance"])
def test_each_service_runs_alone_with_its_options(name):
    shown = subprocess.run([sys.executable, "-m", f"clients.{name}", "--help"],
                           capture_output=True, text=True, timeout=60)
    for option in ("--issuer", "--client-id", "--client-secret", "--host", "--port",
                   "--base-url", "--database-url"):
        assert option in shown.stdout
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(name.upper() + "_")}
    refused = subprocess.run([sys.executable, "-m", f"clients.{name}"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and f"{name.upper()}_CLIENT_SECRET" in refused.stderr
