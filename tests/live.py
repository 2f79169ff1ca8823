"""Real servers for the tests that need real HTTP: browser, interop and live integration tests.

The provider and the relying parties run in this process, each on its own free port, served by
werkzeug's threaded server in a daemon thread, so a browser or a foreign client library talks to
them exactly as it would to a deployment.
"""

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from walker import DEMO_PERSON, Done, Failed, Follow, Submit, Walk, answers, outbox_codes
from werkzeug.serving import make_server

# The sandbox registry's demo citizen (idp/registries/sandbox_demo.toml).
demo_person: dict = DEMO_PERSON


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app, port: int | None = None) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 until the block ends; yields its base URL."""
    server = make_server("127.0.0.1", port or free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-{server.port}",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_table(header: str, table: Mapping) -> str:
    lines = [header]
    lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def write_config(tmp_path: Path, *, port: int, clients: list[dict], captcha: bool = False,
                 ratelimit: bool = False, services: bool = False,
                 extra: Mapping[str, Mapping] | None = None) -> Path:
    """Write ``tmp_path/idp.toml`` for a provider at ``http://127.0.0.1:PORT``.

    Everything the provider writes (instance folder, keys, SMS and e-mail outboxes) stays under
    ``tmp_path``. ``services=True`` points it at the PostgreSQL and Redis of
    ``IDP_TEST_DATABASE_URL`` / ``IDP_TEST_REDIS_URL`` (skipping the test without them);
    otherwise it runs on the embedded SQLite file and in-process store. ``extra`` adds or
    overrides keys, section by section.
    """
    sections: dict[str, dict] = {
        "server": {"issuer": f"http://127.0.0.1:{port}", "instance_path": "instance"},
        "keys": {"path": "keys"},
        "sms": {"backend": "outbox", "outbox_path": "instance/outbox.jsonl"},
        "email": {"backend": "outbox", "outbox_path": "instance/mail.jsonl"},
        "captcha": {"enabled": captcha},
        "ratelimit": {"enabled": ratelimit},
    }
    if services:
        database_url = os.environ.get("IDP_TEST_DATABASE_URL", "")
        redis_url = os.environ.get("IDP_TEST_REDIS_URL", "")
        if not (database_url and redis_url):
            pytest.skip("PostgreSQL/Redis not configured (IDP_TEST_DATABASE_URL, "
                        "IDP_TEST_REDIS_URL)")
        sections["database"] = {"url": database_url}
        sections["redis"] = {"url": redis_url}
    for name, values in (extra or {}).items():
        sections.setdefault(name, {}).update(values)

    text = "".join(_toml_table(f"[{name}]", values) + "\n" for name, values in sections.items())
    text += "".join(_toml_table("[[clients]]", client) + "\n" for client in clients)
    path = tmp_path / "idp.toml"
    path.write_text(text, encoding="utf-8")
    return path


def outbox_path(config_path: Path) -> Path:
    """Where the provider of a ``write_config`` file writes its SMS."""
    return config_path.parent / "instance" / "outbox.jsonl"


def read_otp(outbox_path: Path, mobile_local: str, *, wait_seconds: float = 5.0) -> str:
    """The newest one-time code sent to ``mobile_local`` (``09…``), waiting for it briefly."""
    deadline = time.monotonic() + wait_seconds
    while True:
        codes = outbox_codes(outbox_path, mobile_local)
        if codes:
            return codes[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no one-time code for {mobile_local} in {outbox_path}")
        time.sleep(0.05)


def walk_login(http: requests.Session, url: str, *, redirect_uri: str, outbox: Path,
               person: Mapping = demo_person,
               route: Callable[[str], str] | None = None) -> str:
    """Follow ``url`` (an authorization request) through the provider's HTML forms with
    ``requests``, driven by the shared walker (tests/walker.py), and return the URL the provider
    finally sends the browser to at ``redirect_uri``.

    ``route`` plays a load balancer: it maps each URL the browser asks for to the instance
    that answers it (the walk itself only ever sees the provider's public URLs)."""
    route = route or (lambda target: target)
    walk = Walk(answers(person, lambda mobile: read_otp(outbox, mobile)),
                provider=url, redirect_uri=redirect_uri)
    asked = url
    response = http.get(route(asked), allow_redirects=False, timeout=10)
    while True:
        action = walk.step(asked, response.status_code, response.text,
                           response.headers.get("Location"))
        if isinstance(action, Follow):
            asked = action.url
            response = http.get(route(asked), allow_redirects=False, timeout=10)
        elif isinstance(action, Submit):
            asked = action.url
            response = http.post(route(asked), data=action.fields, allow_redirects=False,
                                 timeout=10)
        elif isinstance(action, Done):
            return action.location
        else:
            reason = action.reason if isinstance(action, Failed) else f"stopped at {action.url}"
            raise AssertionError(f"the journey did not end at the relying party: {reason}")


def answer_json(handler, status: int, body: object, delay: float = 0.0) -> None:
    """Answer a stub server's request with JSON after ``delay`` (to test client timeouts)."""
    time.sleep(delay)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except OSError:
        pass  # the client gave up (the timeout tests)


def answer_slowly(handler, status: int, body: object, every: float,
                  headers_too: bool = False) -> None:
    """Answer with JSON a byte at a time, one each ``every`` seconds: each read of the client
    gets something well within any time-out, the whole answer takes ages (the "trickle").
    With ``headers_too`` the status line and headers trickle as well; else only the body."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    try:
        if not headers_too:
            handler.wfile.write(head)
            handler.wfile.flush()
            head = b""
        for index in range(len(head + payload)):
            handler.wfile.write((head + payload)[index:index + 1])
            handler.wfile.flush()
            time.sleep(every)
    except OSError:
        pass  # the client gave up, as it should
    handler.close_connection = True


HUNG_DNS_SECONDS = 10


class FakeDns:
    """What :func:`fake_dns` was asked: every name, in order, and the lookups still hanging."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.hanging: list[str] = []


@contextmanager
def fake_dns(names: Mapping[str, list[str] | None]) -> Iterator[FakeDns]:
    """``socket.getaddrinfo`` in this process answered from ``names``: a name resolves to its
    addresses, in order, or, mapped to None, hangs as with a DNS server that does not answer,
    until the block ends or for at most ``HUNG_DNS_SECONDS``, then fails as the resolver would.
    A call that gave up in time has ended while its lookup is still ``hanging``. Other names
    and numeric addresses resolve as usual."""
    real = socket.getaddrinfo
    dns = FakeDns()
    released = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        dns.asked.append(host)
        if names[host] is None:
            dns.hanging.append(host)
            released.wait(HUNG_DNS_SECONDS)
            dns.hanging.remove(host)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [info for address in names[host] for info in real(address, port, *args, **kwargs)]

    socket.getaddrinfo = getaddrinfo
    try:
        yield dns
    finally:
        socket.getaddrinfo = real
        released.set()


class TcpProxy:
    """A TCP forwarder in front of a real service (PostgreSQL, Redis) that a test takes down and
    brings back, so an outage is simulated without stopping the machine's shared servers.

    ``down()`` closes every open connection and refuses new ones, as a stopped server does;
    ``up()`` listens again on the same port, as a restarted one does.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would not stop it.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            open_sockets, self._sockets = self._sockets, set()
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def url(self, url: str) -> str:
        """``url`` (a SQLAlchemy or Redis URL) with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (f"{userinfo}@" if userinfo else "") + f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return  # taken down
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                downstream.close()
                continue
            with self._lock:
                self._sockets.update((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def proxied(url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A :class:`TcpProxy` in front of the server of ``url``, and ``url`` through it."""
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 0)
    try:
        yield proxy, proxy.url(url)
    finally:
        proxy.down()


def at_once(*calls: Callable[[], object]) -> list:
    """Each call in its own thread, all let go together (a barrier), so that two requests race
    as two presses or two callbacks at once would; their answers, in the calls' order."""
    answers_: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        answers_[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers_
