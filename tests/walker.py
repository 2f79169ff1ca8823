"""The one login-journey walker, shared by the integration tests, the browser tests and the
benchmark.

It is sans-IO: it never talks HTTP itself. A driver (Flask test client, ``requests``,
Playwright, the benchmark's asyncio client) fetches pages and hands each response to
:meth:`Walk.step`; the walk answers what to do next:

* :class:`Follow` — GET this URL (a redirect inside the provider);
* :class:`Submit` — POST this form with these fields (the csrf_token and pre-filled values read
  from the page, overlaid with the citizen's answers for that step);
* :class:`Done` — the provider sent the browser away to the relying party (``location``);
* :class:`Landed` — the walk stopped on a page on purpose: a step whose answer is ``None`` (for
  instance the consent page, to press its button by hand) or a page that is not a journey step
  (the provider's own ``/account`` after logging in to the provider itself);
* :class:`Failed` — anything else: an error status, a step shown again (its answer was
  refused), a step the table has no answer for, a form that is not on the page.

The answers are a table keyed by step name — the last path segment of ``/login/<step>``:
``mobile``, ``otp``, ``identity``, ``postal``, ``qr``, ``company``, ``consent`` — built by
:func:`answers` from a person and a callable that fetches the one-time code sent to a mobile
(``09…``) from the SMS outbox. A value in the table may be a callable, called when the form
is filled.

Two keys of an answer are not form fields: ``FORM`` names another form of the page to submit
(the login page's «ورود با کد QR» tab posts ``/login/qr/start``), and ``SCAN`` is called with
the URL a QR page shows (once per code: the phone app scans it and approves or denies), after
which the walk reloads the page as a browser without JavaScript does, until it moves on.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

STEPS = ("mobile", "otp", "identity", "postal", "qr", "company", "consent")
FORM = "_form"
SCAN = "_scan"
_QR_URL = re.compile(r'id="qr-code"[^>]*data-url="([^"]+)"')

# The sandbox registry's demo citizen (idp/registries/sandbox_demo.toml).
DEMO_PERSON: dict = {
    "mobile": "09120000001",
    "national_code": "0499370899",
    "birth": (1360, 1, 1),
    "given_name": "علی",
    "family_name": "محمدی آزمایشی",
    "postal_code": "1968913141",
}

Answer = Mapping[str, object] | None
Answers = Mapping[str, Answer]


def answers(person: Mapping, otp: Callable[[str], str],
            qr: Callable[[str], object] | None = None) -> dict[str, Answer]:
    """What a citizen types on each journey page.

    ``person``: ``mobile`` (``09…``), ``national_code`` (or, for a foreign national,
    ``fida_code`` and ``secondary_id`` as ``(kind, value)``), ``birth`` (Jalali year, month, day),
    optionally ``postal_code_override`` (typed over the pre-filled postal code; without it the
    registry's code is confirmed as shown), ``company`` (the company national ID typed on the
    company step, the fields to post there, e.g. ``{"decision": "cancel"}``, or ``None`` to stop
    on that step; absent: the walk fails if the step comes) and ``consent`` (``"allow"``,
    ``"deny"``, or ``None`` to stop on the consent page; ``"allow"`` when absent).
    ``otp(mobile)`` returns the code sent to ``mobile``. With ``qr``, the citizen logs in by QR
    code instead: the login page's QR tab is chosen and ``qr(url)`` is called with each code
    the QR page shows.
    """
    mobile = person["mobile"]
    year, month, day = person["birth"]
    postal = person.get("postal_code_override")
    decision = person.get("consent", "allow")
    birth = {"birth_year": str(year), "birth_month": str(month), "birth_day": str(day)}
    if "fida_code" in person:
        kind, value = person["secondary_id"]
        identity = {"identity_type": "foreign", "fida_code": person["fida_code"],
                    "secondary_id_type": kind, "secondary_id": value, **birth}
    else:
        identity = {"identity_type": "iranian", "national_code": person["national_code"],
                    **birth}
    company = person.get("company")
    table: dict[str, Answer] = {
        "mobile": {"mobile": mobile},
        "otp": {"otp": lambda: otp(mobile)},
        "identity": identity,
        "postal": {"postal_code": postal} if postal else {},
        "consent": {"decision": decision} if decision else None,
    }
    if qr:
        table |= {"mobile": {FORM: "/login/qr/start"}, "qr": {SCAN: qr}}
    if "company" in person:
        table["company"] = {"company_national_id": company} if isinstance(company, str) \
            else company
    return table


# --- what the walk tells the driver ------------------------------------------------------------

@dataclass(frozen=True)
class Follow:
    url: str


@dataclass(frozen=True)
class Submit:
    step: str
    url: str                    # absolute form action
    fields: dict[str, str]      # everything to POST (hidden, pre-filled and typed values)
    typed: dict[str, str]       # the part of ``fields`` that came from the answers table


@dataclass(frozen=True)
class Done:
    location: str               # where the provider sent the browser (the relying party)


@dataclass(frozen=True)
class Landed:
    url: str
    step: str | None            # the journey step it stopped at, or None for another page


@dataclass(frozen=True)
class Failed:
    reason: str


Action = Follow | Submit | Done | Landed | Failed


# --- reading forms ------------------------------------------------------------------------------

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_TAG = re.compile(r"<(input|select|textarea|button)\b([^>]*)>", re.I)
_ATTR = re.compile(r"""([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_OPTION = re.compile(r"<option\b([^>]*)>", re.I)
_SELECT_BODY = re.compile(r"<select\b[^>]*>(.*?)</select>", re.S | re.I)
_MESSAGE = re.compile(
    r'<(?:p|div)\b[^>]*class="[^"]*\b(?:alert|field-error|error)\b[^"]*"[^>]*>(.*?)</(?:p|div)>',
    re.S | re.I)
_TAGS = re.compile(r"<[^>]+>")


def _attrs(text: str) -> dict[str, str]:
    found = {}
    for match in _ATTR.finditer(text):
        value = next((v for v in match.group(2, 3, 4) if v is not None), "")
        found[match.group(1).lower()] = html_lib.unescape(value)
    return found


def read_forms(page: str) -> list[dict]:
    """The page's forms as ``{"action": ..., "fields": {name: value}}``, in page order: the
    values a browser would send for its named inputs (text, hidden, the selected option)."""
    forms = []
    for form in _FORM.finditer(page):
        fields: dict[str, str] = {}
        body = form.group(2)
        selects = iter(_SELECT_BODY.findall(body))
        for tag in _TAG.finditer(body):
            kind, attributes = tag.group(1).lower(), _attrs(tag.group(2))
            name = attributes.get("name")
            if kind == "select":
                options = [_attrs(o) for o in _OPTION.findall(next(selects, ""))]
                chosen = next((o for o in options if "selected" in o), options[0] if options
                              else {})
                if name:
                    fields[name] = chosen.get("value", "")
            elif kind == "input" and name and attributes.get("type", "text") not in {
                    "submit", "button", "checkbox", "radio", "image", "reset"}:
                fields[name] = attributes.get("value", "")
        forms.append({"action": _attrs(form.group(1)).get("action", ""), "fields": fields})
    return forms


def page_messages(page: str) -> list[str]:
    """The error and alert texts shown on a page (to say why a step was refused)."""
    texts = (" ".join(_TAGS.sub(" ", m).split()) for m in _MESSAGE.findall(page))
    return [html_lib.unescape(t) for t in texts if t]


def step_of(url: str) -> str | None:
    """``otp`` for ``…/login/otp``; None for a page outside the journey."""
    parts = urlsplit(url).path.rstrip("/").split("/")
    return parts[-1] if len(parts) == 3 and parts[1] == "login" else None


# --- the walk -----------------------------------------------------------------------------------

@dataclass
class Walk:
    """One login, from the authorization request to the relying party.

    ``provider`` is the provider's origin (``http://127.0.0.1:5000``; relative redirects are
    always the provider's). A redirect to ``redirect_uri``, or anywhere outside the provider,
    ends the walk with :class:`Done`.
    """

    table: Answers
    provider: str = ""
    redirect_uri: str | None = None
    max_responses: int = 40
    steps: list[str] = field(default_factory=list)   # the steps submitted, in order
    scanned: list[str] = field(default_factory=list)  # the QR codes handed to ``SCAN``
    responses: int = 0

    def _leaves(self, location: str) -> bool:
        if self.redirect_uri and location.startswith(self.redirect_uri):
            return True
        split = urlsplit(location)
        if not split.scheme:
            return False
        origin = urlsplit(self.provider)
        return (split.scheme, split.netloc) != (origin.scheme, origin.netloc)

    def step(self, url: str, status: int, page: str = "",
             location: str | None = None) -> Action:
        """What to do after a response: ``url`` is the URL that answered, ``status`` its HTTP
        status, ``page`` its HTML (for a page), ``location`` its Location header (for a
        redirect)."""
        self.responses += 1
        if self.responses > self.max_responses:
            return Failed(f"no end after {self.max_responses} responses (steps {self.steps})")
        if status in (301, 302, 303, 307, 308):
            if not location:
                return Failed(f"{status} without Location at {url}")
            target = urljoin(url, location)
            return Done(target) if self._leaves(target) else Follow(target)
        where = urlsplit(url).path
        if status != 200:
            detail = "; ".join(page_messages(page)) or " ".join(_TAGS.sub(" ", page).split())[:300]
            return Failed(f"HTTP {status} at {where} after steps {self.steps}: {detail}")
        name = step_of(url)
        if name is None:
            return Landed(url, None)
        if name not in self.table:
            return Failed(f"unexpected journey step {name!r} at {where} (no answer for it)")
        answer = self.table[name]
        if answer is None:
            return Landed(url, name)
        if SCAN in answer:
            return self._scan(url, page, answer[SCAN])
        if name in self.steps:
            detail = "; ".join(page_messages(page))
            return Failed(f"step {name!r} shown again (answer refused?): {detail}")
        target = answer.get(FORM)
        form = next((f for f in read_forms(page) if (
            urlsplit(urljoin(url, f["action"])).path == target if target
            else step_of(urljoin(url, f["action"])) == name)), None)
        if form is None:
            return Failed(f"no form posting to {target or '/login/' + name} on {where}")
        typed = {key: str(value() if callable(value) else value) for key, value in answer.items()
                 if key != FORM}
        self.steps.append(name)
        return Submit(name, urljoin(url, form["action"]), {**form["fields"], **typed}, typed)


    def _scan(self, url: str, page: str, scan: Callable[[str], object]) -> Action:
        """A QR page: the phone scans each new code; the page is then reloaded."""
        found = _QR_URL.search(page)
        code = html_lib.unescape(found.group(1)) if found else None
        if code and code not in self.scanned:
            self.scanned.append(code)
            if "qr" not in self.steps:
                self.steps.append("qr")
            scan(code)
        elif found is None and "qr-scanned" not in page:
            detail = "; ".join(page_messages(page))
            return Failed(f"the QR page shows no code to scan: {detail}")
        return Follow(url)


# --- the SMS outbox -----------------------------------------------------------------------------

def outbox_codes(path: str | Path, mobile_local: str) -> list[str]:
    """Every one-time code the outbox file holds for ``mobile_local`` (``09…``), oldest first."""
    path = Path(path)
    if not path.exists():
        return []
    messages = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip())
    return [m["code"] for m in messages if m.get("to") == mobile_local and m.get("code")]


class OutboxTail:
    """Reads an outbox file incrementally (for load: every message is parsed once)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.partial = b""
        self.codes: dict[str, str] = {}

    def poll(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if line.strip():
                message = json.loads(line)
                if message.get("code"):
                    self.codes[message["to"]] = message["code"]

    def take(self, mobile_local: str) -> str | None:
        """The newest code sent to ``mobile_local`` not taken yet, or None."""
        if mobile_local not in self.codes:
            self.poll()
        return self.codes.pop(mobile_local, None)
