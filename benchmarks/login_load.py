"""Complete logins through the HTML forms against a running provider, N at a time.

Prints logins/s and per-login latency percentiles; asserts nothing. Each login uses a fresh
cookie jar, reads its one-time code from the SMS outbox file and redeems the code with PKCE.

    python benchmarks/login_load.py --url http://127.0.0.1:8000 --outbox instance/outbox.jsonl \
        --people people.json --mode new --concurrency 8 --seconds 20

``--setup DIR --people-count N`` writes a config, a sandbox of N fictional people and people.json.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
POSTAL = re.compile(rb'name="postal_code"[^>]*value="([0-9]*)"')
CLIENT_ID, SECRET, REDIRECT = "bench-rp", "bench-rp-secret", "https://rp.example/cb"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()


def national_code(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        if len(set(digits)) > 1:
            break
    r = sum(d * (10 - i) for i, d in enumerate(digits)) % 11
    return "".join(map(str, digits)) + str(r if r < 2 else 11 - r)


def setup(folder: Path, count: int, database_url: str, redis_url: str, port: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    people, seen = [], set()
    lines = []
    while len(people) < count:
        code = national_code(rng)
        if code in seen:
            continue
        seen.add(code)
        mobile = f"0912{len(people):07d}"
        people.append({"mobile": mobile, "national_code": code, "birth": [1360, 1, 1]})
        lines.append(f'[[person]]\nnational_code = "{code}"\nbirth_date = "1360-01-01"\n'
                     f'first_name = "آزمون"\nlast_name = "بار آزمایشی"\nfather_name = "حسن"\n'
                     f'gender = "male"\npostal_code = "1968913141"\nmobiles = ["{mobile}"]\n')
    (folder / "sandbox.toml").write_text("\n".join(lines), encoding="utf-8")
    (folder / "people.json").write_text(json.dumps(people))
    (folder / "config.toml").write_text(f"""
[server]
issuer = "http://127.0.0.1:{port}"
secret_key = "bench-secret-key-{secrets.token_hex(8)}"
[database]
url = "{database_url}"
[redis]
url = "{redis_url}"
[captcha]
enabled = false
[otp]
resend_cooldown_seconds = 1
[ratelimit]
enabled = false
[registries]
sandbox_path = "sandbox.toml"
[[clients]]
client_id = "{CLIENT_ID}"
client_secret = "{SECRET}"
name = "bench"
redirect_uris = ["{REDIRECT}"]
scope = "openid profile phone national_id"
""", encoding="utf-8")


class Outbox:
    """Tails the outbox file; the latest code per mobile and how many were sent."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lock = path, 0, threading.Lock()
        self.codes: dict[str, tuple[int, str]] = {}

    def count(self, mobile: str) -> int:
        with self.lock:
            self._read()
            return self.codes.get(mobile, (0, ""))[0]

    def code_after(self, mobile: str, seen: int) -> str:
        for _ in range(2000):
            with self.lock:
                self._read()
                count, code = self.codes.get(mobile, (0, ""))
            if count > seen:
                return code
            time.sleep(0.002)
        raise RuntimeError(f"no code for {mobile}")

    def _read(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            if line.strip():
                item = json.loads(line)
                count = self.codes.get(item["to"], (0, ""))[0]
                self.codes[item["to"]] = (count + 1, item["code"])


class Browser:
    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.requests = 0

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt:
                    raise
        self.requests += 1
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair, _, attrs = value.partition(";")
                key, _, val = pair.strip().partition("=")
                if not val or "max-age=0" in attrs.lower() or "1970" in attrs:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        return response.status, response.getheader("Location"), payload

    def follow(self, status, location, payload, path):
        while status in (301, 302, 303):
            if location.startswith("https://rp.example"):
                return status, location, payload, path
            path = location.split("://", 1)[-1]
            path = path[path.index("/"):] if location.startswith("http") else location
            status, location, payload = self.request("GET", path)
        return status, location, payload, path


def one_login(browser: Browser, outbox: Outbox, person: dict) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
              "scope": "openid profile phone national_id", "state": secrets.token_hex(4),
              "nonce": secrets.token_hex(4), "code_challenge": challenge.rstrip(b"=").decode(),
              "code_challenge_method": "S256"}
    st, loc, body, path = browser.follow(*browser.request("GET", "/authorize?" + urlencode(params)),
                                         "/authorize")
    assert path == "/login/mobile", (st, path, body[:300])
    seen = outbox.count(person["mobile"])
    st, loc, body = browser.request("POST", "/login/mobile", {
        "csrf_token": CSRF.search(body).group(1).decode(), "mobile": person["mobile"]})
    st, loc, body, path = browser.follow(st, loc, body, "/login/mobile")
    assert path == "/login/otp", (st, path, body[:300])
    code = outbox.code_after(person["mobile"], seen)
    st, loc, body = browser.request("POST", "/login/otp", {
        "csrf_token": CSRF.search(body).group(1).decode(), "otp": code})
    st, loc, body, path = browser.follow(st, loc, body, "/login/otp")
    if path == "/login/identity":
        y, m, d = person["birth"]
        st, loc, body = browser.request("POST", path, {
            "csrf_token": CSRF.search(body).group(1).decode(), "identity_type": "iranian",
            "national_code": person["national_code"], "birth_year": str(y),
            "birth_month": str(m), "birth_day": str(d)})
        st, loc, body, path = browser.follow(st, loc, body, path)
    if path == "/login/postal":
        st, loc, body = browser.request("POST", path, {
            "csrf_token": CSRF.search(body).group(1).decode(),
            "postal_code": POSTAL.search(body).group(1).decode()})
        st, loc, body, path = browser.follow(st, loc, body, path)
    if path == "/login/consent" and st == 200:
        st, loc, body = browser.request("POST", path, {
            "csrf_token": CSRF.search(body).group(1).decode(), "decision": "allow"})
        st, loc, body, path = browser.follow(st, loc, body, path)
    assert st == 302 and loc.startswith(REDIRECT), (st, path, loc, body[:300])
    code = parse_qs(urlsplit(loc).query)["code"][0]
    st, _, body = browser.request("POST", "/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, {"Authorization": BASIC})
    tokens = json.loads(body)
    assert st == 200 and "id_token" in tokens and "access_token" in tokens, body[:300]


def run(args) -> None:
    people = json.loads(Path(args.people).read_text())
    people = people[:args.returning_pool] if args.mode == "returning" else people[args.offset:]
    outbox = Outbox(Path(args.outbox))
    split = urlsplit(args.url)
    lock = threading.Lock()
    state = {"next": 0, "latencies": [], "requests": 0, "errors": 0}
    deadline = time.monotonic() + args.seconds
    in_use: set[str] = set()

    def take():
        with lock:
            while True:
                index = state["next"]
                state["next"] += 1
                if args.count and index >= args.count:
                    return None
                if args.mode == "new":
                    return people[index] if index < len(people) else None
                person = people[index % len(people)]
                if person["mobile"] not in in_use:
                    in_use.add(person["mobile"])
                    return person

    def worker():
        while time.monotonic() < deadline:
            person = take()
            if person is None:
                return
            browser = Browser(split.hostname, split.port)
            started = time.perf_counter()
            try:
                one_login(browser, outbox, person)
                ok = True
            except Exception as exc:
                ok = False
                if state["errors"] < 3:
                    print("error:", repr(exc)[:300])
            elapsed = time.perf_counter() - started
            browser.conn.close()
            with lock:
                in_use.discard(person["mobile"])
                state["requests"] += browser.requests
                if ok:
                    state["latencies"].append(elapsed)
                else:
                    state["errors"] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    lat = sorted(state["latencies"])
    n = len(lat)

    def pct(p):
        return 1000 * lat[min(n - 1, int(p * n))] if n else float("nan")

    result = {"mode": args.mode, "logins": n, "errors": state["errors"],
              "logins_per_s": round(n / elapsed, 1),
              "requests_per_login": round(state["requests"] / max(1, n + state["errors"]), 1),
              "p50_ms": round(pct(0.50), 1), "p99_ms": round(pct(0.99), 1),
              "used": state["next"]}
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setup")
    parser.add_argument("--people-count", type=int, default=20000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--outbox")
    parser.add_argument("--people")
    parser.add_argument("--mode", choices=["new", "returning"], default="new")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--returning-pool", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--count", dest="count", type=int, default=0,
                        help="stop after this many logins (0: run for --seconds)")
    args = parser.parse_args()
    if args.setup:
        setup(Path(args.setup), args.people_count, args.database_url, args.redis_url, args.port)
        return
    os.nice(0)
    run(args)


if __name__ == "__main__":
    main()
