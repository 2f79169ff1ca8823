"""Real servers for the tests that need real HTTP: browser, interop and live integration tests.

The provider and the relying parties run in this process, each on its own free port, served by
werkzeug's threaded server in a daemon thread, so a browser or a foreign client library talks to
them exactly as it would to a deployment.
"""

import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

# The sandbox registry's demo citizen (idp/registries/sandbox_demo.toml).
demo_person: dict = {
    "mobile": "09120000001",
    "national_code": "0499370899",
    "birth": (1360, 1, 1),
    "given_name": "علی",
    "family_name": "محمدی آزمایشی",
    "postal_code": "1968913141",
}


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
        if Path(outbox_path).exists():
            lines = Path(outbox_path).read_text(encoding="utf-8").splitlines()
            codes = [message["code"] for message in map(json.loads, filter(str.strip, lines))
                     if message.get("to") == mobile_local and message.get("code")]
            if codes:
                return codes[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no one-time code for {mobile_local} in {outbox_path}")
        time.sleep(0.05)


class _FormReader(HTMLParser):
    """Each form's action and the values a browser would send for its named inputs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and attributes.get("name") and \
                attributes.get("type") not in {"submit", "button", "checkbox", "radio"}:
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value") or ""


def read_forms(html: str) -> list[dict]:
    """The page's forms as ``{"action": ..., "fields": {name: value}}``, in page order."""
    reader = _FormReader()
    reader.feed(html)
    return reader.forms


def journey_answers(person: Mapping, outbox: Path) -> dict[str, dict]:
    """What a citizen types on each journey page (the prefilled postal code is confirmed)."""
    year, month, day = person["birth"]
    return {
        "/login/mobile": {"mobile": person["mobile"]},
        "/login/otp": {"otp": lambda: read_otp(outbox, person["mobile"])},
        "/login/identity": {"identity_type": "iranian", "national_code": person["national_code"],
                            "birth_year": str(year), "birth_month": str(month),
                            "birth_day": str(day)},
        "/login/postal": {},
        "/login/consent": {"decision": "allow"},
    }


def walk_login(http: requests.Session, url: str, *, redirect_uri: str, outbox: Path,
               person: Mapping = demo_person) -> str:
    """Follow ``url`` (an authorization request) through the provider's HTML forms like a
    browser would, and return the URL it finally sends the browser to at ``redirect_uri``."""
    answers = journey_answers(person, outbox)
    seen: set[str] = set()
    response = http.get(url, allow_redirects=False, timeout=10)
    for _ in range(30):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(redirect_uri):
                return location
            response = http.get(location, allow_redirects=False, timeout=10)
            continue
        path = urlsplit(response.url).path
        assert response.status_code == 200, f"{response.status_code} at {path}: " \
                                            f"{response.text[:500]}"
        assert path in answers, f"unexpected page {path}: {response.text[:500]}"
        assert path not in seen, f"{path} shown again (rejected?): {response.text[:1500]}"
        seen.add(path)
        form = next(f for f in read_forms(response.text)
                    if urlsplit(urljoin(response.url, f["action"])).path == path)
        data = {**form["fields"], **{key: value() if callable(value) else value
                                     for key, value in answers[path].items()}}
        response = http.post(urljoin(response.url, form["action"]), data=data,
                             allow_redirects=False, timeout=10)
    raise AssertionError("the journey did not end at the relying party")


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
