"""How many QR pages can wait on event streams, and what they cost the other pages (issue 7).

Starts the production server (``idp serve --workers 1``, granian) and the event-stream server
(``idp events``, gevent) on one Redis and one SQLite file, opens N QR flows and one event stream
for each on the gevent server, then measures, with every stream open:

- page loads of the login page on both servers (median and 95th percentile);
- how long an event takes from the request that causes it (on granian) to the stream (on
  gevent): each flow is ended from granian, and its stream must say ``expired``;
- that granian refuses streams at once (503), so a misrouted page falls back to polling.

    .venv/bin/python benchmarks/qr_streams.py --streams 300 --redis redis://127.0.0.1:6379/7
"""

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from live import free_port, write_config  # noqa: E402
from walker import read_forms  # noqa: E402


def wait_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


def open_flow(main: str) -> tuple[requests.Session, str, str]:
    """A browser with a QR flow: its session, its journey query and its csrf token."""
    browser = requests.Session()
    page = browser.get(main + "/authorize?" + urlencode({
        "response_type": "code", "client_id": "bench", "redirect_uri": "https://rp.example/cb",
        "scope": "openid", "state": "s", "nonce": "n"}), timeout=10)
    form = next(f for f in read_forms(page.text) if f["action"].startswith("/login/qr/start"))
    started = browser.post(main + form["action"], data=form["fields"], allow_redirects=False,
                           timeout=10)
    query = urlsplit(started.headers["Location"]).query
    qr = browser.get(main + started.headers["Location"], timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', qr).group(1)
    return browser, query, token


def timed_gets(url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        assert requests.get(url, timeout=30).status_code == 200
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    return (f"median {statistics.median(ordered):.1f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--redis", default=os.environ.get("IDP_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/7"))
    parser.add_argument("--scratch", default=None, help="where the servers' files go")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qr-streams-", dir=args.scratch))
    main_port, events_port = free_port(), free_port()
    config = write_config(folder, port=main_port, clients=[{
        "client_id": "bench", "client_secret": "bench-secret", "name": "bench",
        "redirect_uris": ["https://rp.example/cb"], "first_party": True, "scope": "openid"}],
        extra={"redis": {"url": args.redis}})
    env = {**os.environ, "IDP_CONFIG": str(config)}
    idp = [str(Path(sys.executable).parent / "idp")]
    servers = [subprocess.Popen([*idp, "serve", "--workers", "1", "--port", str(main_port)],
                                env=env, cwd=folder, stdout=subprocess.DEVNULL,
                                stderr=(folder / "serve.log").open("w")),
               subprocess.Popen([*idp, "events", "--port", str(events_port)], env=env,
                                cwd=folder, stdout=subprocess.DEVNULL,
                                stderr=(folder / "events.log").open("w"))]
    print(f"server logs in {folder}")
    main_url, events_url = f"http://127.0.0.1:{main_port}", f"http://127.0.0.1:{events_port}"
    try:
        wait_up(main_url)
        wait_up(events_url)
        login_page = main_url + "/account"
        print(f"idle: granian {summary(timed_gets(login_page, 50))}; "
              f"gevent {summary(timed_gets(events_url + '/account', 50))}")
        refused = requests.get(main_url + "/login/qr/events", timeout=5).status_code
        print(f"granian answers /login/qr/events with {refused}")
        flows = [open_flow(main_url) for _ in range(args.streams)]
        arrived: dict[int, float] = {}
        opened = threading.Barrier(args.streams + 1)

        def listen(number: int, browser: requests.Session, query: str) -> None:
            url = f"{events_url}/login/qr/events?{query}"
            # The servers stop while most streams are still open: that is not an error here.
            with contextlib.suppress(requests.RequestException), \
                    browser.get(url, stream=True, timeout=120) as stream:
                lines = stream.iter_lines(decode_unicode=True)
                for line in lines:
                    if '"pending"' in line:
                        break
                opened.wait()
                for line in lines:
                    if '"expired"' in line:
                        arrived[number] = time.perf_counter()
                        return

        threads = [threading.Thread(target=listen, args=(n, b, q), daemon=True)
                   for n, (b, q, _t) in enumerate(flows)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        opened.wait(timeout=120)
        print(f"{args.streams} streams open on gevent in {time.perf_counter() - start:.1f} s")
        print(f"with them open: granian {summary(timed_gets(login_page, 50))}; "
              f"gevent {summary(timed_gets(events_url + '/account', 50))}")
        sent: dict[int, float] = {}
        for number, (browser, query, token) in enumerate(flows[:50]):
            sent[number] = time.perf_counter()
            browser.post(f"{main_url}/login/qr/otp?{query}", data={"csrf_token": token},
                         allow_redirects=False, timeout=10)
        time.sleep(2)
        delays = [(arrived[n] - sent[n]) * 1000 for n in sent if n in arrived]
        print(f"event from granian to a gevent stream: {len(delays)}/50 arrived, "
              f"{summary(delays)} (request to event, including the request)")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
