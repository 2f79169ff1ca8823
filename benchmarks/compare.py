"""The provider against oidc-provider 9, one server core each: discovery, JWKS, service tokens
(client credentials) and whole logins.

Usage (from the repository root, after the README's install command)::

    .venv/bin/python benchmarks/compare.py [--runs 3] [--duration 10] \\
        [--backend embedded|services|both] [--workers N] [--profile DIR] [--skip-reference] \\
        [--quiet-wait SECONDS] [--priority N] [--only documents|tokens|logins ...]

What it does, on a fresh Debian machine with two cores or more:

1. Installs what it lacks: ``wrk`` with apt-get, Node 22 (the npm package ``node@22``) and
   ``oidc-provider@9`` with npm into ``benchmarks/.cache/`` (ignored by git), ``py-spy`` with
   pip when ``--profile`` is given.
2. For each backend — ``embedded`` (SQLite + the in-process store; one worker, since that store
   lives in one process) and ``services`` (PostgreSQL at
   ``postgresql+psycopg://postgres@127.0.0.1:5432/`` with a scratch database it creates and
   drops, Redis ``redis://127.0.0.1:6379/13`` or ``$IDP_BENCH_REDIS_URL``, flushed before and
   after) — it writes a temporary config (rate limits and captcha off, SMS into an outbox file,
   a one-second resend cool-down), a sandbox registry of thousands of generated fictional people
   (valid national codes, each with their own mobile and postal code), a confidential client
   (client_secret_basic, not first-party, so a new citizen sees the consent page) and a service
   client (client_credentials, one resource), and starts the provider on its
   production server pinned to core 0 (see :func:`provider_command`).
3. Drives it from core 1: discovery and JWKS with ``wrk -t1 -c32``; client-credentials tokens
   (a service client, client_secret_basic, ``resource`` named: an RS256 JWT access token for
   that audience, the secret checked and the token audited) with the same wrk posting to
   ``/token``, after one such token is checked with PyJWT (and the CPU the server's processes
   spent per token meanwhile, from /proc: steadier than the rate on a busy machine, though
   PostgreSQL's and Redis's own work is not in it); then complete logins through
   the HTML forms, 8 at a time, each with a fresh cookie jar, walked by the shared journey walker
   (``tests/walker.py``), the one-time code read from the outbox file, the code redeemed at
   ``/token`` with PKCE and the ID token's signature and claims checked with PyJWT against the
   JWKS. "New citizen": someone never seen before (mobile, code, identity, postal code, consent).
   "Returning citizen": someone who logged in and consented before (mobile, code).
4. Starts ``oidc-provider`` 9 (``benchmarks/reference/server.mjs``) on the same core 0 with its
   development login and consent forms and its clientCredentials and resourceIndicators
   features (the service's tokens are RS256 JWTs for the resource), and drives the same:
   discovery, JWKS, client-credentials tokens and complete logins
   (``/auth`` → login form → consent form → back at the client → ``/token``), fresh cookie jar
   per login. Its new and returning logins are the same thing: without a cookie it asks again.
5. Prints each figure's median over ``--runs`` runs beside the reference's and the ratio, the
   resident memory of each provider worker, and how busy the generator's core was (above ~85%
   the generator, not the server, may be the limit — it says so).

``--only FIGURES`` measures only those figures (``documents``: discovery and JWKS; ``tokens``:
client credentials; ``logins``: new and returning citizens), both sides still in one run on the
same core; e.g. ``--only tokens`` for the service-token figure alone, in a few minutes. Without
``logins`` no logins are driven (not even the warm-up: the token endpoint is warmed instead) and
the sandbox registry is kept small, so the RSS it prints is not the login figure's.

``--profile DIR`` records the provider during two extra new-citizen loads per backend with
``py-spy record --subprocesses --format speedscope`` into ``DIR/new-citizen-BACKEND-MODE.json``
(open them at speedscope's web app or any speedscope viewer) and writes the functions with the
largest share of samples to ``DIR/new-citizen-BACKEND-MODE.txt``. MODE ``cpu`` samples only the
thread holding the GIL (where the core goes); ``wall`` samples every thread that is not idle
(also waiting on the database, the store and locks). The profiled loads are not in the figures.

Before each figure it waits (up to two minutes) until both cores are quiet, and after each it
says how busy each core was with work other than the server's and the generator's: on a shared
machine a figure taken while other processes ran is disturbed, and it says so. PostgreSQL and
Redis are the machine's own services and are not pinned: on the services backend part of their
work lands on the generator's core. ``--priority N`` runs both servers and the generator at
``nice -N``, ahead of other work on a shared machine (the same for both sides).

Every failed login (an unexpected page, an error status, a bad token) and every wrk socket error
or non-2xx answer is counted and printed; the command then exits with status 1. Benchmarks
print numbers; no test asserts a time. The machine is noisy (±15% between runs): compare ratios
measured in one session, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from walker import (  # noqa: E402
    Done,
    Failed,
    Follow,
    OutboxTail,
    Submit,
    Walk,
    answers,
    read_forms,
    step_of,
)

CACHE = ROOT / "benchmarks" / ".cache"
REFERENCE_SCRIPT = ROOT / "benchmarks" / "reference" / "server.mjs"
VENV_BIN = Path(sys.executable).parent
SERVER_CORE, GENERATOR_CORE = 0, 1
CONCURRENCY = 8
WRK_CONNECTIONS = 32
CLIENT_ID = "bench-rp"
SERVICE_ID = "bench-service"
RESOURCE = "https://api.bench.example/"
REDIRECT_URI = "https://rp.example/cb"
SCOPE = "openid profile phone national_id"
REFERENCE_SCOPE = "openid"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# IDP_BENCH_REDIS_URL: another Redis database, on a machine whose databases are shared out.
REDIS_URL = os.environ.get("IDP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
NEW_STEPS = ["mobile", "otp", "identity", "postal", "consent"]
RETURNING_STEPS = ["mobile", "otp"]
OTP_COOLDOWN_SECONDS = 1
PRIORITY: list[str] = []  # ["nice", "-n", "-N"] with --priority N
# New citizens generated per second of new-citizen load. The sandbox registry is loaded into
# every worker (~2 KB a person), so it is sized for the need, not for ever: a provider faster
# than this runs out early in a run, and its rate is then measured over the shorter time.
NEW_PER_SECOND = 150
WARM_UP_SECONDS = 3.0


def say(*parts: object) -> None:
    print(*parts, flush=True)


def loud(message: str) -> None:
    say(f"\n!!! ERROR: {message}\n")


# --- installing what it needs -------------------------------------------------------------------

def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def ensure_apt(program: str, package: str) -> str:
    found = shutil.which(program)
    if found:
        return found
    say(f"installing {package} (apt-get)")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", package], env={**os.environ,
                                                          "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which(program) or sys.exit(f"{program} is still missing after apt-get")


def ensure_node() -> Path:
    """Node 22 and oidc-provider 9 from npm, in benchmarks/.cache/; the Node binary."""
    node = CACHE / "node_modules" / ".bin" / "node"
    provider = CACHE / "node_modules" / "oidc-provider" / "package.json"
    if node.exists() and provider.exists():
        return node
    ensure_apt("npm", "npm")
    CACHE.mkdir(parents=True, exist_ok=True)
    # "allowScripts": npm 11 runs a dependency's install script only when the project allows
    # it, and the `node` package installs its binary from one.
    (CACHE / "package.json").write_text(json.dumps({
        "private": True, "dependencies": {"node": "22", "oidc-provider": "9"},
        "allowScripts": {"node": True}}, indent=2) + "\n")
    say("installing Node 22 and oidc-provider 9 (npm, into benchmarks/.cache/)")
    run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CACHE)
    version = subprocess.run([str(node), "--version"], capture_output=True, text=True).stdout
    if not version.startswith("v22."):
        sys.exit(f"expected Node 22 from npm, got {version!r}")
    return node


def ensure_py_spy() -> str:
    found = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if found:
        return found
    say("installing py-spy (pip)")
    run([sys.executable, "-m", "pip", "install", "-q", "py-spy"])
    return shutil.which("py-spy", path=str(VENV_BIN)) or sys.exit("py-spy did not install")


# --- people, config, client ---------------------------------------------------------------------

GIVEN = ["علی", "مریم", "رضا", "زهرا", "حسین", "فاطمه", "مهدی", "سارا", "امیر", "نرگس"]
FAMILY = ["محمدی", "احمدی", "کریمی", "حسینی", "رضایی", "موسوی", "جعفری", "کاظمی"]
POSTAL_HEAD, POSTAL_FIFTH, POSTAL_TAIL = "13456789", "13467899", "0134567899"


def national_code(index: int) -> str:
    """A distinct valid national code (SPEC §8 check digit) for each index."""
    first_nine = f"{(100_000_007 + index * 7919) % 1_000_000_000:09d}"
    r = sum(int(d) * (10 - i) for i, d in enumerate(first_nine)) % 11
    return first_nine + str(r if r < 2 else 11 - r)


def postal_code(rng: random.Random) -> str:
    """A postal code that passes the strict national pattern (SPEC §8)."""
    while True:
        code = ("".join(rng.choice(POSTAL_HEAD) for _ in range(4)) + rng.choice(POSTAL_FIFTH)
                + "".join(rng.choice(POSTAL_TAIL) for _ in range(5)))
        if len(set(code[:4])) > 1:
            return code


def make_people(count: int) -> list[dict]:
    rng = random.Random(1404)
    people = []
    for index in range(count):
        code = national_code(index)
        if len(set(code)) == 1:
            continue
        people.append({
            "mobile": f"0939{index:07d}", "national_code": code,
            "birth": (rng.randint(1330, 1385), rng.randint(1, 12), rng.randint(1, 28)),
            "given": rng.choice(GIVEN), "family": rng.choice(FAMILY) + " آزمایشی",
            "postal_code": postal_code(rng), "gender": rng.choice(["male", "female"])})
    return people


def registry_toml(people: list[dict]) -> str:
    """The sandbox registry (format: idp/registries/sandbox.py); everyone in it is fictional."""
    parts = ["# Generated by benchmarks/compare.py: fictional people only.\n"]
    for p in people:
        year, month, day = p["birth"]
        parts.append(
            f'[[person]]\nnational_code = "{p["national_code"]}"\n'
            f'birth_date = "{year:04d}-{month:02d}-{day:02d}"\nfirst_name = "{p["given"]}"\n'
            f'last_name = "{p["family"]}"\nfather_name = "{rng_father(p)}"\n'
            f'gender = "{p["gender"]}"\npostal_code = "{p["postal_code"]}"\n'
            f'mobiles = ["{p["mobile"]}"]\n\n')
    return "".join(parts)


def rng_father(person: dict) -> str:
    return GIVEN[int(person["national_code"][3]) % len(GIVEN)]


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_config(folder: Path, *, port: int, database_url: str, redis_url: str,
                 client_secret: str, service_secret: str) -> Path:
    config = f"""# Generated by benchmarks/compare.py for one benchmark run.
[server]
issuer = "http://127.0.0.1:{port}"
secret_key = "{secrets.token_urlsafe(32)}"
instance_path = "instance"

[database]
url = {toml_string(database_url)}

[redis]
url = {toml_string(redis_url)}

[keys]
path = "keys"

[sms]
backend = "outbox"
outbox_path = "instance/outbox.jsonl"

[email]
backend = "outbox"
outbox_path = "instance/mail.jsonl"

[captcha]
enabled = false

[otp]
resend_cooldown_seconds = {OTP_COOLDOWN_SECONDS}

[ratelimit]
enabled = false

[registries]
backend = "sandbox"
sandbox_path = "people.toml"

[[clients]]
client_id = "{CLIENT_ID}"
client_secret = "{client_secret}"
name = "سامانه سنجش کارایی"
redirect_uris = ["{REDIRECT_URI}"]
scope = "{SCOPE}"
public = false
first_party = false
auth_method = "client_secret_basic"

[[clients]]
client_id = "{SERVICE_ID}"
client_secret = "{service_secret}"
name = "سرور سامانه سنجش کارایی"
grant_types = ["client_credentials"]
resources = ["{RESOURCE}"]
"""
    path = folder / "idp.toml"
    path.write_text(config, encoding="utf-8")
    return path


# --- the servers --------------------------------------------------------------------------------

def idp_serve_has_workers() -> bool:
    help_text = subprocess.run([str(VENV_BIN / "idp"), "serve", "--help"], capture_output=True,
                               text=True).stdout
    return "--workers" in help_text


def provider_command(config: Path, port: int, workers: int) -> tuple[list[str], dict]:
    """The provider on its production server, pinned to the server core: the command and its
    extra environment. `idp serve --workers N` when the command has it, else granian directly
    (what `idp serve --workers` runs)."""
    pin = [*PRIORITY, "taskset", "-c", str(SERVER_CORE)]
    if idp_serve_has_workers():
        return [*pin, str(VENV_BIN / "idp"), "--config", str(config), "serve", "--host",
                "127.0.0.1", "--port", str(port), "--workers", str(workers)], {}
    granian = shutil.which("granian", path=str(VENV_BIN))
    if not granian:
        say("installing granian (pip), the production server `idp serve --workers` will run")
        run([sys.executable, "-m", "pip", "install", "-q", "granian"])
        granian = str(VENV_BIN / "granian")
    return [*pin, granian, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "idp.wsgi:app"], {"IDP_CONFIG": str(config)}


def raise_autogroup(pid: int, priority: int) -> None:
    """With autogroup scheduling (the default), CPU is shared between sessions first: a
    process's nice only counts inside its session. Raise the session's own share too."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(str(-priority))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process (and its children) with its log in a file."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path,
                 cwd: Path | None = None) -> None:
        self.name = name
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd,
                                        stdout=self.handle, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if PRIORITY:
            raise_autogroup(self.process.pid, -int(PRIORITY[-1]))

    def wait_ready(self, url: str, seconds: float = 90) -> None:
        import urllib.request

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        sys.exit(f"{self.name} did not start ({url}); its log ends with:\n{tail}")

    def tree(self) -> list[int]:
        """The server's pid and its descendants'."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = (entry / "stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def cpu_seconds(self) -> float:
        """CPU time of the whole process tree so far (live processes)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.tree():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each process of the tree, MB."""
        sizes = {}
        for pid in self.tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1]) / 1024
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.handle.close()


# --- a small HTTP/1.1 client with keep-alive ----------------------------------------------------

class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, head: bytes, body: bytes) -> tuple[Response, bool]:
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed before the status line")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: list[str] = []
        raw = await self.reader.readuntil(b"\r\n\r\n")
        for line in raw.decode("latin-1").split("\r\n"):
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            else:
                headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(chunks)
        elif "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        else:
            data = await self.reader.read()
            headers["connection"] = "close"
        reusable = headers.get("connection", "").lower() != "close"
        return Response(status, headers, cookies, data), reusable

    def close(self) -> None:
        self.writer.close()


class Client:
    """Keep-alive connections to one origin, shared by every simulated browser."""

    def __init__(self, origin: str) -> None:
        split = urlsplit(origin)
        self.host, self.port = split.hostname, split.port or 80
        self.host_header = split.netloc
        self.idle: list[Connection] = []
        self.requests = 0

    async def send(self, method: str, target: str, *, headers: dict[str, str] | None = None,
                   body: bytes = b"") -> Response:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}",
                 "Accept-Encoding: identity", "User-Agent: idp-benchmark"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        for attempt in range(2):
            fresh = attempt or not self.idle
            connection = Connection(*await asyncio.open_connection(self.host, self.port)) \
                if fresh else self.idle.pop()
            try:
                response, reusable = await connection.request(head, body)
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                connection.close()
                if fresh:
                    raise HttpError(f"{method} {target}: {error!r}") from None
                # The server closed an idle connection (its keep-alive timeout): so did it
                # the others idle as long; start over on a new one.
                self.close()
                continue
            self.requests += 1
            if reusable:
                self.idle.append(connection)
            else:
                connection.close()
            return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


class CookieJar:
    """Cookies of one simulated browser: name and path match, deletion by Max-Age/Expires."""

    def __init__(self) -> None:
        self.cookies: dict[tuple[str, str], str] = {}

    def store(self, set_cookies: list[str], request_path: str) -> None:
        for header in set_cookies:
            pair, *attributes = header.split(";")
            name, _, value = pair.strip().partition("=")
            path, expired = "/", False
            default = request_path.rsplit("/", 1)[0] or "/"
            path = default
            for attribute in attributes:
                key, _, val = attribute.strip().partition("=")
                key = key.lower()
                if key == "path" and val.startswith("/"):
                    path = val
                elif key == "max-age" and val.strip().lstrip("-").isdigit():
                    expired = int(val) <= 0
                elif key == "expires" and "1970" in val:
                    expired = True
            if expired:
                self.cookies.pop((name, path), None)
            else:
                self.cookies[(name, path)] = value

    def header(self, request_path: str) -> str:
        return "; ".join(f"{name}={value}" for (name, path), value in self.cookies.items()
                         if request_path == path or request_path.startswith(
                             path if path.endswith("/") else path + "/"))


class Browser:
    """One simulated browser (its own cookie jar) on the shared connections."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.jar = CookieJar()

    async def request(self, method: str, url: str, form: dict[str, str] | None = None,
                      headers: dict[str, str] | None = None) -> Response:
        split = urlsplit(url)
        target = split.path + (f"?{split.query}" if split.query else "")
        extra = dict(headers or {})
        cookie = self.jar.header(split.path)
        if cookie:
            extra["Cookie"] = cookie
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        response = await self.client.send(method, target, headers=extra, body=body)
        if response.cookies:
            self.jar.store(response.cookies, split.path)
        return response


# --- logins -------------------------------------------------------------------------------------

class LoginError(Exception):
    pass


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass
class Target:
    """An OpenID provider under load, as its discovery document describes it."""

    name: str
    issuer: str
    client_secret: str
    scope: str
    discovery: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)

    def load(self) -> None:
        import jwt
        import requests

        self.discovery = requests.get(self.issuer + "/.well-known/openid-configuration",
                                      timeout=10).json()
        jwks = requests.get(self.discovery["jwks_uri"], timeout=10).json()
        self.keys = {key["kid"]: jwt.PyJWK(key) for key in jwks["keys"] if key.get("use",
                                                                                    "sig") == "sig"}

    def authorize_url(self, challenge: str, state: str, nonce: str) -> str:
        return self.discovery["authorization_endpoint"] + "?" + urlencode({
            "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
            "scope": self.scope, "state": state, "nonce": nonce, "code_challenge": challenge,
            "code_challenge_method": "S256"})

    async def redeem(self, browser: Browser, location: str, state: str, nonce: str,
                     verifier: str) -> dict:
        """The relying party's half: code → tokens at /token, ID token checked with PyJWT."""
        import jwt

        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if "code" not in params:
            raise LoginError(f"back at the client without a code: {location[:300]}")
        if params.get("state") != state:
            raise LoginError("state mismatch")
        basic = base64.b64encode(f"{CLIENT_ID}:{self.client_secret}".encode()).decode()
        response = await browser.request("POST", self.discovery["token_endpoint"], form={
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
            headers={"Authorization": f"Basic {basic}"})
        if response.status != 200:
            raise LoginError(f"/token answered {response.status}: {response.text()[:300]}")
        tokens = json.loads(response.body)
        token = tokens.get("id_token")
        if not token or not tokens.get("access_token"):
            raise LoginError(f"/token gave no id_token/access_token: {list(tokens)}")
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys[header["kid"]]
            claims = jwt.decode(token, key.key, algorithms=[header["alg"]], audience=CLIENT_ID,
                                issuer=self.discovery["issuer"],
                                options={"require": ["iss", "sub", "aud", "exp", "iat"]})
        except (jwt.PyJWTError, KeyError) as error:
            raise LoginError(f"ID token rejected by PyJWT: {error!r}") from None
        if claims.get("nonce") != nonce:
            raise LoginError("ID token nonce mismatch")
        return claims


class Outbox:
    """The provider's SMS outbox, read incrementally; waits for a mobile's code."""

    def __init__(self, path: Path) -> None:
        self.tail = OutboxTail(path)

    async def wait(self, mobile: str, seconds: float = 5.0) -> str:
        deadline = time.monotonic() + seconds
        while True:
            code = self.tail.take(mobile)
            if code:
                return code
            if time.monotonic() > deadline:
                raise LoginError(f"no one-time code for {mobile} in the outbox")
            await asyncio.sleep(0.002)


async def provider_login(target: Target, client: Client, outbox: Outbox, person: dict,
                         expected_steps: list[str]) -> int:
    """One citizen's login through the provider's HTML forms; returns the requests it took."""
    browser = Browser(client)
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    codes: dict[str, str] = {}
    walk = Walk(answers(person, codes.pop), provider=target.issuer, redirect_uri=REDIRECT_URI)
    url = target.authorize_url(challenge, state, nonce)
    response = await browser.request("GET", url)
    requests = 1
    while True:
        if response.status == 200 and step_of(url) == "otp":
            codes[person["mobile"]] = await outbox.wait(person["mobile"])
        page = response.text() if response.status not in (301, 302, 303) else ""
        action = walk.step(url, response.status, page, response.headers.get("location"))
        if isinstance(action, Follow):
            url = action.url
            response = await browser.request("GET", url)
        elif isinstance(action, Submit):
            url = action.url
            response = await browser.request("POST", url, form=action.fields)
        elif isinstance(action, Done):
            break
        elif isinstance(action, Failed):
            raise LoginError(action.reason)
        else:
            raise LoginError(f"stopped at {action.url}")
        requests += 1
    if walk.steps != expected_steps:
        raise LoginError(f"steps {walk.steps}, expected {expected_steps}")
    await target.redeem(browser, action.location, state, nonce, verifier)
    return requests + 1


async def reference_login(target: Target, client: Client, account: str) -> int:
    """One login at oidc-provider's development interactions (login form, consent form)."""
    browser = Browser(client)
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    url = target.authorize_url(challenge, state, nonce)
    response = await browser.request("GET", url)
    requests = 1
    for _ in range(20):
        if response.status in (302, 303):
            location = response.headers["location"]
            if location.startswith(REDIRECT_URI):
                await target.redeem(browser, location, state, nonce, verifier)
                return requests + 1
            url = urljoin(url, location)
            response = await browser.request("GET", url)
        elif response.status == 200 and "/interaction/" in url:
            form = read_forms(response.text())[0]
            fields = dict(form["fields"])
            if fields.get("prompt") == "login":
                fields.update(login=account, password="benchmark")
            url = urljoin(url, form["action"])
            response = await browser.request("POST", url, form=fields)
        else:
            raise LoginError(f"HTTP {response.status} at {url}: {response.text()[:300]}")
        requests += 1
    raise LoginError("the reference login did not end at the client")


def urljoin(base: str, location: str) -> str:
    from urllib.parse import urljoin as join

    return join(base, location)


def core_times() -> dict[int, tuple[int, int]]:
    """Busy and total jiffies of each core so far (/proc/stat; busy includes the kernel's
    network work, which a process's own CPU time does not)."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            numbers = [int(v) for v in values[:8]]
            idle = numbers[3] + numbers[4]  # idle + iowait
            times[int(name[3:])] = (sum(numbers) - idle, sum(numbers))
    return times


def core_busy(before: dict, after: dict, core: int) -> float:
    busy = after[core][0] - before[core][0]
    total = after[core][1] - before[core][1]
    return busy / total if total else float("nan")


QUIET_BUSY = 0.12        # a core busier than this with nothing of ours running is not quiet
QUIET_WAIT_SECONDS = 120


def wait_quiet() -> None:
    """Wait (up to QUIET_WAIT_SECONDS) until nothing else keeps the two cores busy: on a shared
    machine, a figure measured while other work runs on a core is worthless."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    told = False
    while True:
        before = core_times()
        time.sleep(1.0)
        after = core_times()
        if len(after) <= max(SERVER_CORE, GENERATOR_CORE):
            return
        busy = {core: core_busy(before, after, core) for core in (SERVER_CORE, GENERATOR_CORE)}
        if all(value <= QUIET_BUSY for value in busy.values()):
            if told:
                say("  quiet again")
            return
        if time.monotonic() > deadline:
            say(f"  warning: the cores did not become quiet ({busy}); measuring anyway")
            return
        if not told:
            say("  waiting for other work on the cores to stop (" + ", ".join(
                f"core {core} {value:.0%} busy" for core, value in busy.items()) + ")")
            told = True


@dataclass
class LoadResult:
    logins: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    generator_cpu: float = 0.0   # this process's CPU time, as a share of one core
    server_cpu: float = 0.0      # the server processes' CPU time, as a share of one core
    server_core: float = 0.0     # how busy the server's core was (everything on it)
    generator_core: float = 0.0  # how busy the generator's core was (everything on it)

    @property
    def rate(self) -> float:
        return self.logins / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def drive(duration: float, login, server: Server | None) -> LoadResult:
    """``CONCURRENCY`` simulated browsers doing ``login()`` back to back for ``duration``."""
    if server:
        wait_quiet()
    result = LoadResult()
    started = time.perf_counter()
    deadline = started + duration
    cpu_before = time.process_time()
    server_before = server.cpu_seconds() if server else 0.0
    cores_before = core_times()
    finished = started

    async def browser_loop() -> None:
        nonlocal finished
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                count = await login()
            except (LoginError, HttpError, OSError, asyncio.IncompleteReadError) as error:
                result.errors.append(f"{type(error).__name__}: {error}")
                if len(result.errors) > 50:
                    return
                continue
            except _OutOfPeople:
                return
            ended = time.perf_counter()
            result.requests += count
            result.latencies.append(ended - began)
            result.logins += 1
            finished = max(finished, ended)

    await asyncio.gather(*(browser_loop() for _ in range(CONCURRENCY)))
    wall = max(finished, time.perf_counter()) - started
    result.seconds = (finished - started) if result.logins else wall
    result.generator_cpu = (time.process_time() - cpu_before) / wall
    cores_after = core_times()
    if len(cores_after) > max(SERVER_CORE, GENERATOR_CORE):
        result.server_core = core_busy(cores_before, cores_after, SERVER_CORE)
        result.generator_core = core_busy(cores_before, cores_after, GENERATOR_CORE)
    if server:
        result.server_cpu = (server.cpu_seconds() - server_before) / wall
    return result


class _OutOfPeople(Exception):
    pass


class Population:
    """New citizens (never logged in) and returning ones (logged in and consented before)."""

    def __init__(self, people: list[dict]) -> None:
        self.fresh = deque(people)
        self.returning: deque[tuple[float, dict]] = deque()
        self.allowance = 0
        self.ran_out = False

    def ration(self, count: int) -> None:
        """At most ``count`` new citizens for the next load (each run gets its own share)."""
        self.allowance = count
        self.ran_out = False

    def new(self) -> dict:
        if not self.fresh or self.allowance <= 0:
            self.ran_out = True
            raise _OutOfPeople
        self.allowance -= 1
        return self.fresh.popleft()

    async def again(self) -> dict:
        if not self.returning:
            raise LoginError("no returning citizen available (no new citizen logged in)")
        last, person = self.returning.popleft()
        wait = last + OTP_COOLDOWN_SECONDS + 0.1 - time.monotonic()
        if wait > 0:  # the per-mobile resend cool-down
            await asyncio.sleep(wait)
        return person

    def done(self, person: dict) -> None:
        self.returning.append((time.monotonic(), person))


# --- wrk ----------------------------------------------------------------------------------------

def wrk(url: str, duration: float, script: str | None = None) -> tuple[float, str | None]:
    """Requests per second for ``url`` with wrk on the generator core (its Lua ``script``
    shaping the request), and any error."""
    command = ["taskset", "-c", str(GENERATOR_CORE), "wrk", "-t1", f"-c{WRK_CONNECTIONS}",
               f"-d{max(1, round(duration))}s", *(["-s", script] if script else []), url]
    output = subprocess.run(command, capture_output=True, text=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    problems = [line.strip() for line in output.splitlines()
                if "Non-2xx" in line or "Socket errors" in line]
    if not found:
        return 0.0, f"wrk failed for {url}: {output[-500:]}"
    return float(found.group(1)), ("; ".join(problems) or None)


WRK_TOKEN_SCRIPT = """wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
"""


def service_token_request(secret: str) -> tuple[str, dict[str, str]]:
    """The body and headers of a service's client-credentials token request."""
    basic = base64.b64encode(f"{SERVICE_ID}:{secret}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials", "resource": RESOURCE})
    return body, {"Authorization": f"Basic {basic}",
                  "Content-Type": "application/x-www-form-urlencoded"}


def check_service_token(target: Target, secret: str) -> str | None:
    """One token, checked with PyJWT as a resource server would; the problem, if any."""
    import jwt
    import requests

    body, headers = service_token_request(secret)
    answer = requests.post(target.discovery["token_endpoint"], data=body, headers=headers,
                           timeout=10)
    if answer.status_code != 200:
        return f"client credentials: HTTP {answer.status_code} {answer.text[:300]}"
    token = answer.json()["access_token"]
    try:
        key = target.keys[jwt.get_unverified_header(token)["kid"]]
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=RESOURCE,
                            issuer=target.discovery["issuer"])
    except (jwt.PyJWTError, KeyError) as error:
        return f"client credentials: bad token ({error})"
    if claims.get("client_id") != SERVICE_ID:
        return f"client credentials: client_id {claims.get('client_id')!r}"
    return None


@contextlib.contextmanager
def token_script(secret: str):
    """A wrk Lua script posting the service's token request; removed after."""
    body, headers = service_token_request(secret)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_TOKEN_SCRIPT.format(body=body, authorization=headers["Authorization"]))
    try:
        yield script.name
    finally:
        os.unlink(script.name)


def record_client_credentials(figures: Figures, run: dict, target: Target, secret: str,
                              duration: float, server: Server) -> None:
    """Service tokens from /token: one checked, then one wrk load posting the same request
    (and the server's CPU per token during it)."""
    problem = check_service_token(target, secret)
    if problem:
        loud(problem)
        figures.errors.append(problem)
    with token_script(secret) as script:
        record_wrk(figures, run, "client_credentials", target.discovery["token_endpoint"],
                   duration, script=script, server=server)


def warm_tokens(target: Target, secret: str) -> None:
    """Two seconds of token requests, not counted: every worker's first tokens."""
    with token_script(secret) as script:
        wrk(target.discovery["token_endpoint"], 2, script)


# --- one backend --------------------------------------------------------------------------------

@dataclass
class Figures:
    """Per run: figure name → value."""

    runs: list[dict[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def median(self, name: str) -> float:
        values = [run[name] for run in self.runs if name in run]
        return statistics.median(values) if values else float("nan")


def record_load(figures: Figures, run: dict, prefix: str, result: LoadResult) -> None:
    run[f"{prefix}_rate"] = result.rate
    run[f"{prefix}_p50"] = result.percentile(0.50)
    run[f"{prefix}_p99"] = result.percentile(0.99)
    run[f"{prefix}_errors"] = len(result.errors)
    run[f"{prefix}_requests"] = result.requests / max(1, result.logins)
    run[f"{prefix}_gen_cpu"] = result.generator_cpu * 100
    run[f"{prefix}_srv_cpu"] = result.server_cpu * 100
    run[f"{prefix}_gen_core"] = result.generator_core * 100
    run[f"{prefix}_srv_core"] = result.server_core * 100
    for error in result.errors[:5]:
        loud(f"{prefix} login failed: {error}")
    other = result.server_core - result.server_cpu
    if other > 0.2:
        note = (f"{prefix}: core {SERVER_CORE} was {other:.0%} busy with work other than the "
                f"server's processes (kernel networking counts here too; more than ~15% means "
                f"other processes shared the server's core and disturbed this figure)")
        say(f"  warning: {note}")
        figures.notes.append(note)
    figures.errors += [f"{prefix}: {e}" for e in result.errors]
    say(f"  {prefix:<10} {result.rate:7.1f} logins/s  p50 {result.percentile(.5):6.0f} ms  "
        f"p99 {result.percentile(.99):6.0f} ms  {result.requests / max(1, result.logins):4.1f} "
        f"req/login  errors {len(result.errors)}\n{'':13}generator CPU "
        f"{result.generator_cpu:4.0%} (core {GENERATOR_CORE} busy {result.generator_core:4.0%})  "
        f"server CPU {result.server_cpu:4.0%} (core {SERVER_CORE} busy {result.server_core:4.0%})")


def record_documents(figures: Figures, run: dict, target: Target, duration: float) -> None:
    """Discovery and JWKS, one wrk load each."""
    record_wrk(figures, run, "discovery", target.issuer + "/.well-known/openid-configuration",
               duration)
    record_wrk(figures, run, "jwks", target.discovery["jwks_uri"], duration)


def record_wrk(figures: Figures, run: dict, name: str, url: str, duration: float,
               script: str | None = None, server: Server | None = None) -> None:
    """One wrk load; with ``server``, also the CPU its processes spent per request (less
    disturbed by other work on the machine than the rate; PostgreSQL's and Redis's own CPU
    is not in it)."""
    wait_quiet()
    before = server.cpu_seconds() if server else 0.0
    rate, problem = wrk(url, duration, script)
    run[name] = rate
    cpu = ""
    if server and rate:
        run[f"{name}_cpu_ms"] = 1000 * (server.cpu_seconds() - before) / (
            rate * max(1, round(duration)))
        cpu = f"  server CPU {run[f'{name}_cpu_ms']:.2f} ms per request"
    if problem:
        loud(f"{name}: {problem}")
        figures.errors.append(f"{name}: {problem}")
    say(f"  {name:<10} {rate:9.0f} req/s{cpu}")


@contextlib.contextmanager
def services_backend():
    """A scratch PostgreSQL database and a flushed Redis database; dropped/flushed after."""
    import redis
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"idp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    try:
        yield make_url(POSTGRES_URL + name).render_as_string(hide_password=False), REDIS_URL
    finally:
        store.flushdb()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(config: Path) -> None:
    """Schema, keys and client registered once, before the workers start (no start-up race)."""
    code = ("from idp import create_app; from idp.settings import load_settings; "
            f"app = create_app(load_settings({str(config)!r}, environ={{}})); "
            "app.extensions['idp'].db.engine.dispose()")
    run([sys.executable, "-c", code], cwd=config.parent)


def bench_provider(backend: str, args, people_count: int) -> Figures:
    figures = Figures()
    workers = 1 if backend == "embedded" else args.workers
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="idp-bench-")))
        database_url, redis_url = "", ""
        if backend == "services":
            database_url, redis_url = stack.enter_context(services_backend())
        port = free_port()
        secret = secrets.token_urlsafe(24)
        service_secret = secrets.token_urlsafe(24)
        people = make_people(people_count)
        (folder / "people.toml").write_text(registry_toml(people), encoding="utf-8")
        config = write_config(folder, port=port, database_url=database_url,
                              redis_url=redis_url, client_secret=secret,
                              service_secret=service_secret)
        prepare(config)
        command, env = provider_command(config, port, workers)
        say(f"\n== provider, {backend}: {workers} worker(s), {len(people)} people\n   "
            + " ".join(f"{k}={v}" for k, v in env.items()) + (" " if env else "")
            + " ".join(command))
        server = Server(f"provider ({backend})", command, env, folder / "server.log",
                        cwd=folder)
        stack.callback(server.stop)
        issuer = f"http://127.0.0.1:{port}"
        server.wait_ready(issuer + "/.well-known/openid-configuration")
        target = Target(backend, issuer, secret, SCOPE)
        target.load()
        population = Population(people)
        outbox = Outbox(folder / "instance" / "outbox.jsonl")

        async def new_login() -> int:
            person = population.new()
            count = await provider_login(target, client, outbox, person, NEW_STEPS)
            population.done(person)
            return count

        async def returning_login() -> int:
            person = await population.again()
            try:
                count = await provider_login(target, client, outbox, person, RETURNING_STEPS)
            finally:
                population.done(person)
            return count

        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        client = Client(issuer)
        # Warm-up (not counted): the first requests of each worker, and returning citizens.
        if "logins" in args.only:
            population.ration(int(NEW_PER_SECOND * WARM_UP_SECONDS))
            warm = loop.run_until_complete(drive(WARM_UP_SECONDS, new_login, None))
            if warm.errors:
                loud(f"warm-up logins failed: {warm.errors[:3]}")
                figures.errors += warm.errors
        else:
            warm_tokens(target, service_secret)
        wrk(target.discovery["jwks_uri"], 1)
        for number in range(1, args.runs + 1):
            say(f" run {number}/{args.runs}")
            run_figures: dict[str, float] = {}
            if "documents" in args.only:
                record_documents(figures, run_figures, target, args.duration)
            if "tokens" in args.only:
                record_client_credentials(figures, run_figures, target, service_secret,
                                          args.duration, server)
            if "logins" not in args.only:
                figures.runs.append(run_figures)
                continue
            population.ration(int(NEW_PER_SECOND * args.duration))
            result = loop.run_until_complete(drive(args.duration, new_login, server))
            if population.ran_out:
                say(f"  (all {int(NEW_PER_SECOND * args.duration)} new citizens of this run "
                    f"logged in after {result.seconds:.1f} s)")
            record_load(figures, run_figures, "new", result)
            result = loop.run_until_complete(drive(args.duration, returning_login, server))
            record_load(figures, run_figures, "returning", result)
            figures.runs.append(run_figures)
        figures.rss = server.rss_mb()
        if args.profile:
            profile(server, backend, args, loop, population, new_login)
        client.close()
    return figures


def bench_reference(args, node: Path) -> Figures:
    figures = Figures()
    port = free_port()
    secret = secrets.token_urlsafe(24)
    service_secret = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="idp-bench-ref-") as folder:
        command = [*PRIORITY, "taskset", "-c", str(SERVER_CORE), str(node), str(REFERENCE_SCRIPT),
                   str(port), CLIENT_ID, secret, REDIRECT_URI, SERVICE_ID, service_secret,
                   RESOURCE]
        env = {"OIDC_PROVIDER_MODULES": str(CACHE / "node_modules"), "NODE_ENV": "production"}
        say("\n== oidc-provider 9 (reference)\n   " + " ".join(command))
        server = Server("oidc-provider", command, env, Path(folder) / "server.log")
        try:
            issuer = f"http://127.0.0.1:{port}"
            server.wait_ready(issuer + "/.well-known/openid-configuration")
            target = Target("reference", issuer, secret, REFERENCE_SCOPE)
            target.load()
            client = Client(issuer)
            counter = iter(range(10**9))

            async def login() -> int:
                return await reference_login(target, client, f"citizen-{next(counter)}")

            loop = asyncio.new_event_loop()
            if "logins" in args.only:
                warm = loop.run_until_complete(drive(min(3.0, args.duration), login, None))
                if warm.errors:
                    loud(f"reference warm-up logins failed: {warm.errors[:3]}")
                    figures.errors += warm.errors
            else:
                warm_tokens(target, service_secret)
            for number in range(1, args.runs + 1):
                say(f" run {number}/{args.runs}")
                run_figures: dict[str, float] = {}
                if "documents" in args.only:
                    record_documents(figures, run_figures, target, args.duration)
                if "tokens" in args.only:
                    record_client_credentials(figures, run_figures, target, service_secret,
                                              args.duration, server)
                if "logins" in args.only:
                    result = loop.run_until_complete(drive(args.duration, login, server))
                    record_load(figures, run_figures, "login", result)
                figures.runs.append(run_figures)
            figures.rss = server.rss_mb()
            client.close()
            loop.close()
        finally:
            server.stop()
    return figures


# --- profiles -----------------------------------------------------------------------------------

PROFILE_MODES = {
    # Only the thread holding the GIL: where the server's Python spends its core.
    "cpu": ["--gil"],
    # Every thread that is not idle: also the time spent waiting on the database, the store,
    # locks and I/O while serving a request.
    "wall": [],
}


def profile(server: Server, backend: str, args, loop, population, new_login) -> None:
    """py-spy on the provider (every process) during more new-citizen loads, one per mode."""
    folder = Path(args.profile).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for mode, flags in PROFILE_MODES.items():
        output = folder / f"new-citizen-{backend}-{mode}.json"
        spy = subprocess.Popen(
            ["taskset", "-c", str(GENERATOR_CORE), ensure_py_spy(), "record", "--subprocesses",
             "--format", "speedscope", "--rate", "100", "--nonblocking", *flags,
             "--output", str(output), "--pid", str(server.process.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.5)  # py-spy attaches to every worker
        population.ration(int(NEW_PER_SECOND * args.duration))
        result = loop.run_until_complete(drive(args.duration, new_login, None))
        spy.send_signal(signal.SIGINT)
        try:
            _, stderr = spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, stderr = spy.communicate()
        if result.errors:
            loud(f"logins failed while profiling: {result.errors[:3]}")
        if not output.exists():
            loud(f"py-spy wrote no profile: {stderr.decode(errors='replace')[-500:]}")
            continue
        summary = summarize_profile(output)
        (folder / f"new-citizen-{backend}-{mode}.txt").write_text(
            f"new-citizen logins under py-spy ({backend}, {mode}: "
            f"{' '.join(flags) or 'all active threads'}): {result.logins} logins, "
            f"{result.rate:.1f}/s\n\n{summary}", encoding="utf-8")
        say(f"\n  profile ({mode}): {output}\n" + "\n".join(summary.splitlines()[:20]))


IDLE_FUNCTIONS = {"Condition.wait", "Event.wait", "select", "poll", "epoll", "_recv_into",
                  "accept", "sleep"}


def package_of(path: str) -> str:
    """``sqlalchemy`` for …/site-packages/sqlalchemy/orm/x.py, ``idp`` for the provider's own,
    ``python`` for the standard library."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith(str(ROOT)):
        return path[len(str(ROOT)) + 1:].split("/", 1)[0]
    return "python" if "python3" in path or path.startswith("<frozen") else (path or "?")


def summarize_profile(path: Path, top: int = 25) -> str:
    """Functions by share of all samples: own (the frame on top) and inclusive."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]

    def label(index: int) -> str:
        frame = frames[index]
        where = frame.get("file", "")
        for marker in ("site-packages/", "/lib/python3"):
            if marker in where:
                where = where.split(marker, 1)[1]
                break
        else:
            where = where.replace(str(ROOT) + "/", "")
        return f"{frame['name']} ({where}:{frame.get('line', '')})"

    own: dict[int, float] = {}
    inclusive: dict[int, float] = {}
    total = 0.0
    count = 0
    markers = {i for i, frame in enumerate(frames)
               if frame["name"].startswith(("process ", "thread "))}
    waiting = {i for i, frame in enumerate(frames) if frame["name"] in IDLE_FUNCTIONS}
    for profile_data in data["profiles"]:
        for stack, weight in zip(profile_data.get("samples", []),
                                 profile_data.get("weights", []), strict=False):
            stack = [index for index in stack if index not in markers]
            # A server thread waiting for work (in native code, or in one of these) is idle.
            if not stack or stack[-1] in waiting:
                continue
            total += weight
            count += 1
            own[stack[-1]] = own.get(stack[-1], 0) + weight
            for index in set(stack):
                inclusive[index] = inclusive.get(index, 0) + weight
    if not total:
        return "(no samples)"
    areas: dict[str, float] = {}
    for index, weight in own.items():
        area = package_of(frames[index].get("file", ""))
        areas[area] = areas.get(area, 0) + weight
    lines = [f"{count} samples of Python code at work (idle threads left out)\n",
             f"{'own':>6}  function (own share of those samples)"]
    for index, weight in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{weight / total:6.1%}  {label(index)}")
    lines.append(f"\n{'own':>6}  package (own share: the code on top of the stack)")
    for area, weight in sorted(areas.items(), key=lambda kv: -kv[1]):
        if weight / total >= 0.005:
            lines.append(f"{weight / total:6.1%}  {area}")
    lines.append(f"\n{'incl.':>6}  function (inclusive share)")
    for index, weight in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top * 2]:
        lines.append(f"{weight / total:6.1%}  {label(index)}")
    return "\n".join(lines) + "\n"


# --- the table ----------------------------------------------------------------------------------

FIGURE_GROUPS = ("documents", "tokens", "logins")  # what --only chooses from

ROWS = [
    ("discovery req/s", "discovery", "discovery", "{:,.0f}", True),
    ("JWKS req/s", "jwks", "jwks", "{:,.0f}", True),
    ("client-credentials tokens/s", "client_credentials", "client_credentials", "{:,.0f}",
     True),
    ("  server CPU ms per token", "client_credentials_cpu_ms", "client_credentials_cpu_ms",
     "{:.2f}", False),
    ("logins/s, new citizen", "new_rate", "login_rate", "{:,.1f}", True),
    ("  p50 ms per login", "new_p50", "login_p50", "{:,.0f}", False),
    ("  p99 ms per login", "new_p99", "login_p99", "{:,.0f}", False),
    ("  requests per login", "new_requests", "login_requests", "{:.0f}", None),
    ("logins/s, returning citizen", "returning_rate", "login_rate", "{:,.1f}", True),
    ("  p50 ms per login", "returning_p50", "login_p50", "{:,.0f}", False),
    ("  p99 ms per login", "returning_p99", "login_p99", "{:,.0f}", False),
    ("  requests per login", "returning_requests", "login_requests", "{:.0f}", None),
    ("errors (all runs)", "errors", "errors", "{:.0f}", None),
    ("generator CPU %, new logins", "new_gen_cpu", "login_gen_cpu", "{:.0f}", None),
    ("  its core busy %", "new_gen_core", "login_gen_core", "{:.0f}", None),
    ("generator CPU %, returning", "returning_gen_cpu", "login_gen_cpu", "{:.0f}", None),
    ("  its core busy %", "returning_gen_core", "login_gen_core", "{:.0f}", None),
    ("server CPU %, new logins", "new_srv_cpu", "login_srv_cpu", "{:.0f}", None),
    ("  its core busy %", "new_srv_core", "login_srv_core", "{:.0f}", None),
    ("server CPU %, returning", "returning_srv_cpu", "login_srv_cpu", "{:.0f}", None),
    ("  its core busy %", "returning_srv_core", "login_srv_core", "{:.0f}", None),
]


def value(figures: Figures | None, key: str) -> float:
    if figures is None:
        return float("nan")
    if key == "errors":
        return float(len(figures.errors))
    return figures.median(key)


def cell(fmt: str, number: float) -> str:
    return "—" if number != number else fmt.format(number)


def print_table(results: dict[str, Figures], reference: Figures | None, args) -> None:
    names = list(results)
    header = f"{'median of ' + str(args.runs) + ' runs':<30}"
    for name in names:
        header += f"{name:>12}{'ratio':>8}"
    header += f"{'oidc-provider 9':>17}"
    say("\n" + header)
    say("-" * len(header))
    for label, key, ref_key, fmt, higher_is_better in ROWS:
        line = f"{label:<30}"
        ref = value(reference, ref_key)
        if all(v != v for v in [ref, *(value(results[n], key) for n in names)]):
            continue  # a figure not measured (--only)
        for name in names:
            mine = value(results[name], key)
            ratio = ""
            if higher_is_better is not None and ref == ref and ref and mine == mine:
                ratio = f"{mine / ref:.2f}×"
            line += f"{cell(fmt, mine):>12}{ratio:>8}"
        line += f"{cell(fmt, ref):>17}"
        say(line)
    for name in names:
        rss = results[name].rss
        if rss:
            sizes = ", ".join(f"{mb:.0f}" for mb in sorted(rss.values(), reverse=True))
            say(f"RSS MB of the {name} server's processes (target ≤ 100 per worker): {sizes}")
    if reference and reference.rss:
        say("RSS MB of oidc-provider: "
            + ", ".join(f"{mb:.0f}" for mb in reference.rss.values()))
    own = [(value(f, k), value(f, k.replace("_cpu", "_core")))
           for f in [*results.values(), reference] if f
           for k in ("new_gen_cpu", "returning_gen_cpu", "login_gen_cpu")]
    own = [(cpu, core) for cpu, core in own if cpu == cpu]
    if own:
        busiest = max(cpu for cpu, _ in own)
        verdict = ("the generator may be the limit: it nearly saturated its core"
                   if busiest > 85 else "it is not the bottleneck")
        say(f"generator: at most {busiest:.0f}% of core {GENERATOR_CORE} for its own work "
            f"during logins ({verdict})")
        foreign = max(core - cpu for cpu, core in own)
        if foreign > 25:
            say(f"warning: core {GENERATOR_CORE} was up to {foreign:.0f}% busy with other "
                f"work (the kernel's network stack, or other processes on this machine): "
                f"if that is other processes, the figures are disturbed")
    for name, figures in [*results.items(), ("oidc-provider", reference)]:
        if figures:
            for note in figures.notes:
                say(f"warning, {name}: {note}")


def main() -> int:
    global QUIET_WAIT_SECONDS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per figure")
    parser.add_argument("--backend", choices=["embedded", "services", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2,
                        help="provider worker processes on the services backend (embedded: 1)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy profiles of new-citizen logins")
    parser.add_argument("--skip-reference", action="store_true",
                        help="do not start oidc-provider")
    parser.add_argument("--priority", type=int, default=0, metavar="N",
                        help="run the servers and the generator at nice -N (shared machines)")
    parser.add_argument("--quiet-wait", type=float, default=120.0, metavar="S",
                        help="wait up to S seconds for quiet cores before each figure")
    parser.add_argument("--only", nargs="+", choices=FIGURE_GROUPS, default=list(FIGURE_GROUPS),
                        metavar="FIGURES",
                        help="measure only these: documents (discovery, JWKS), tokens (client "
                             "credentials), logins (new and returning citizens)")
    args = parser.parse_args()
    if args.profile and "logins" not in args.only:
        parser.error("--profile records logins: keep logins in --only")
    QUIET_WAIT_SECONDS = args.quiet_wait
    if args.priority:
        # Servers and generator ahead of other work on a shared machine (same for both sides).
        PRIORITY[:] = ["nice", "-n", str(-args.priority)]
        with contextlib.suppress(OSError):
            os.setsid()  # a scheduling group (autogroup) of its own, not the terminal's
        os.setpriority(os.PRIO_PROCESS, 0, -args.priority)
        raise_autogroup(os.getpid(), args.priority)
    # Stopped with SIGTERM: unwind normally, so the servers stop and the scratch database goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if (os.cpu_count() or 1) < 2:
        say("warning: fewer than two cores; server and generator share one")
    ensure_apt("wrk", "wrk")
    ensure_apt("taskset", "util-linux")
    node = None if args.skip_reference else ensure_node()
    if args.profile:
        ensure_py_spy()
    # The generator (this process, and wrk) runs on its own core.
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {GENERATOR_CORE})
    people_count = int(NEW_PER_SECOND * (WARM_UP_SECONDS + args.duration * (
        args.runs + (1 if args.profile else 0)))) if "logins" in args.only else 10
    backends = ["embedded", "services"] if args.backend == "both" else [args.backend]
    results = {backend: bench_provider(backend, args, people_count) for backend in backends}
    reference = None if args.skip_reference else bench_reference(args, node)
    print_table(results, reference, args)
    failures = sum(len(f.errors) for f in [*results.values(), reference] if f)
    if failures:
        loud(f"{failures} failures during the benchmark (see above); the figures are suspect")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
