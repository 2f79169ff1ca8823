"""The pairing login: an authorization-code request with PKCE S256 (RFC 7636), walked through
the provider's own HTML login pages the way the system browser of a phone would show them.

A real app opens the system browser (RFC 8252 §6); on the command line this module is that
browser. It reads each page's form, fills in what it was given (mobile, national code, birth
date, the one-time code from the demo's SMS outbox), keeps what the page pre-filled (the postal
code to confirm), asks the citizen for the rest with the page's own labels (the captcha, whose
image it saves to a file), and posts it, until the provider redirects to the app's redirect URI
with the code. Nothing here knows the provider's code; only its pages.
"""

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from clients.phone.messages import Exit, PhoneError, printable

MAX_PAGES = 40
MAX_TRIES_PER_STEP = 3
PERSIAN_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def mobile_local(typed: str) -> str:
    """``09…`` for a mobile typed as 09…, 9…, +989…, 00989… or 989…, in any digits."""
    digits = "".join(c for c in typed.translate(PERSIAN_TO_ASCII) if c.isascii() and
                     c.isdigit())
    for prefix in ("0098", "98"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            return "0" + digits[len(prefix):]
    return "0" + digits if len(digits) == 10 and digits.startswith("9") else digits


class Prompter:
    """How the login talks to the citizen. This default one cannot ask: every question fails
    with a clear message (for scripts and tests); the command line passes an interactive one."""

    def say(self, message: str) -> None:
        """Tell the citizen something (progress, what a page said)."""

    def ask(self, label: str, choices: Sequence[tuple[str, str]] = ()) -> str:
        """The citizen's answer to ``label``; with ``choices`` ((value, label), …) a value."""
        raise PhoneError("login.needs_input", Exit.LOGIN_FAILED, label=label)


@dataclass
class Answers:
    """What the citizen would type on the login pages; anything missing is asked.

    ``otp(mobile)`` returns the one-time code sent to ``mobile`` (``09…``) or None to ask;
    ``captcha(image)`` reads the captcha image (PNG bytes) or returns None to ask; ``fields``
    gives any other form field by name (``decision`` for a consent page, …).
    """

    mobile: str | None = None
    national_code: str | None = None
    birth: tuple[int, int, int] | None = None   # Jalali year, month, day
    otp: Callable[[str], str | None] | None = None
    captcha: Callable[[bytes], str | None] | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def given(self, name: str) -> str | None:
        known = {"mobile": self.mobile, "national_code": self.national_code}
        if self.birth:
            known.update(birth_year=str(self.birth[0]), birth_month=str(self.birth[1]),
                         birth_day=str(self.birth[2]))
        value = self.fields.get(name, known.get(name))
        return None if value is None else str(value)


def parse_birth(text: str) -> tuple[int, int, int]:
    """``1360/01/01`` (or with ``-``, in any digits) → (1360, 1, 1)."""
    parts = text.translate(PERSIAN_TO_ASCII).replace("-", "/").split("/")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise PhoneError("login.bad_birth", Exit.USAGE)
    year, month, day = (int(p) for p in parts)
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1200 <= year <= 1500):
        raise PhoneError("login.bad_birth", Exit.USAGE)
    return year, month, day


class OutboxCodes:
    """One-time codes from the demo provider's SMS outbox (JSON lines ``{"to", "code"}``):
    only codes written after this reader was made, so a code of an earlier login is never used.
    """

    def __init__(self, path: str | Path, wait_seconds: float = 10.0) -> None:
        self.path = Path(path)
        self.wait_seconds = wait_seconds
        self.seen = len(self._lines())

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def __call__(self, mobile: str) -> str | None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            lines = self._lines()
            codes = []
            for line in lines[self.seen:]:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("to") == mobile and \
                        message.get("code"):
                    codes.append(str(message["code"]))
            if codes:
                self.seen = len(lines)
                return codes[-1]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)


# --- reading a page ------------------------------------------------------------------------


@dataclass
class Control:
    kind: str                    # input type, "select" or "button"
    name: str
    value: str = ""
    label: str = ""
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # value, text, selected
    id: str = ""
    legend: str = ""
    invalid: bool = False        # aria-invalid: the provider refused this field's value


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """The forms, labels, title and error messages of one HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.labels: dict[str, str] = {}
        self.title = ""
        self.messages: list[str] = []
        self._form: Form | None = None
        self._text: list[tuple[str, list[str]]] = []   # open elements whose text is collected
        self._label_for: str | None = None
        self._legend = ""
        self._option: list | None = None
        self.feed(html)
        self.close()
        for form in self.forms:
            for control in form.controls:
                control.label = control.label or self.labels.get(control.id, "")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "h1":
            self._text.append(("h1", []))
        elif tag in ("p", "div") and ({"alert", "field-error"} & set(classes)):
            # A hidden alert (shown by a script when a countdown ends) is not said.
            self._text.append(("hidden" if "hidden" in a else "message", []))
        elif tag == "label":
            self._label_for = a.get("for", "")
            self._text.append(("label", []))
        elif tag == "legend":
            self._text.append(("legend", []))
        elif self._form is None:
            return
        elif tag == "input":
            self._form.controls.append(Control(
                a.get("type", "text").lower(), a.get("name", ""), a.get("value", ""),
                id=a.get("id", ""), legend=self._legend,
                invalid=a.get("aria-invalid") == "true"))
        elif tag == "select":
            self._form.controls.append(Control("select", a.get("name", ""), id=a.get("id", ""),
                                               legend=self._legend,
                                               invalid=a.get("aria-invalid") == "true"))
        elif tag == "option" and self._form.controls:
            self._option = [a.get("value"), [], "selected" in a]
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._form.controls.append(Control("button", a.get("name", ""), a.get("value", ""),
                                               legend=self._legend))
            self._text.append(("button", []))
        elif tag == "img":
            self._form.images.append(a.get("src", ""))

    def handle_data(self, data: str) -> None:
        for _, parts in self._text:
            parts.append(data)
        if self._option is not None:
            self._option[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "fieldset":
            self._legend = ""
        elif tag == "option" and self._option is not None and self._form:
            value, parts, selected = self._option
            words = " ".join("".join(parts).split())
            self._form.controls[-1].options.append(
                (words if value is None else value, words, selected))
            self._option = None
        kinds = {"h1": ("h1",), "p": ("message", "hidden"), "div": ("message", "hidden"),
                 "label": ("label",), "legend": ("legend",), "button": ("button",)}
        if tag in kinds and self._text and self._text[-1][0] in kinds[tag]:
            kind, parts = self._text.pop()
            words = " ".join("".join(parts).split())
            if kind == "h1":
                self.title = self.title or words
            elif kind == "message" and words:
                self.messages.append(words)
            elif kind == "label" and self._label_for is not None:
                self.labels[self._label_for] = words
                self._label_for = None
            elif kind == "legend":
                self._legend = words
            elif kind == "button" and self._form and self._form.controls:
                self._form.controls[-1].label = words


# --- walking the pages ---------------------------------------------------------------------


@dataclass
class Browser:
    """One login through the pages, with ``http`` (a ``requests.Session``) as the browser."""

    http: requests.Session
    issuer: str
    redirect_uri: str
    answers: Answers
    prompter: Prompter
    captcha_file: Path
    say_text: Callable[..., str]
    timeout: float = 10.0
    tries: dict[str, int] = field(default_factory=dict)
    typed_mobile: str | None = None

    def _own(self, url: str) -> bool:
        got, want = urlsplit(url), urlsplit(self.issuer)
        return (got.scheme, got.netloc) == (want.scheme, want.netloc)

    def _at_redirect_uri(self, url: str) -> bool:
        got, want = urlsplit(url), urlsplit(self.redirect_uri)
        return (got.scheme, got.netloc, got.path) == (want.scheme, want.netloc, want.path)

    def run(self, url: str) -> str:
        """Walk from the authorization request ``url`` to the redirect; returns its URL."""
        response = self.http.get(url, allow_redirects=False, timeout=self.timeout)
        for _ in range(MAX_PAGES):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if self._at_redirect_uri(target):
                    return target
                if not self._own(target):
                    raise PhoneError("login.left", Exit.LOGIN_FAILED, url=target)
                response = self.http.get(target, allow_redirects=False, timeout=self.timeout)
                continue
            page = Page(response.text if "html" in response.headers.get(
                "Content-Type", "") else "")
            # A step shown again with its errors answers 422 (issue 2): it is asked again.
            if response.status_code not in (200, 422) or not any(
                    form.method == "post" for form in page.forms):
                said = printable("؛ ".join(page.messages) or page.title or
                                 f"HTTP {response.status_code}")
                raise PhoneError("login.refused", Exit.LOGIN_FAILED, text=said,
                                 status=response.status_code)
            response = self._submit(response.url, page)
        raise PhoneError("login.loop", Exit.LOGIN_FAILED, count=MAX_PAGES)

    def _form_of(self, url: str, page: Page) -> Form:
        path = urlsplit(url).path
        posts = [f for f in page.forms if f.method == "post"]
        for form in posts:
            if urlsplit(urljoin(url, form.action)).path == path:
                return form
        if posts:
            return posts[0]
        raise PhoneError("login.no_form", Exit.LOGIN_FAILED, url=path)

    def _submit(self, url: str, page: Page) -> requests.Response:
        form = self._form_of(url, page)
        action = urljoin(url, form.action)
        step = urlsplit(action).path
        self.tries[step] = self.tries.get(step, 0) + 1
        if page.title:
            self.prompter.say(self.say_text("login.step", title=printable(page.title)))
        for message in page.messages:
            self.prompter.say(self.say_text("login.page_error", text=printable(message)))
        if self.tries[step] > MAX_TRIES_PER_STEP:
            raise PhoneError("login.refused", Exit.LOGIN_FAILED,
                             text=printable("؛ ".join(page.messages) or page.title or step))
        # Shown again: ask anew what the page marks invalid (every typed field when it marks
        # none); keep the rest.
        again = self.tries[step] > 1
        marked = any(c.invalid for c in form.controls)
        data: dict[str, str] = {}
        buttons = [c for c in form.controls if c.kind == "button" and c.name]
        for control in form.controls:
            if not control.name or control.kind in ("button", "submit", "reset", "image",
                                                    "checkbox", "radio"):
                continue
            retry = again and (control.invalid or not marked)
            data[control.name] = self._fill(control, url, form, retry)
        if buttons:
            name = buttons[0].name
            choices = [(b.value, b.label or b.value) for b in buttons if b.name == name]
            given = self.answers.given(name)
            data[name] = given if given is not None and not again else \
                self.prompter.ask(printable(buttons[0].legend or page.title),
                                  [(value, printable(shown)) for value, shown in choices])
        return self.http.post(action, data=data, allow_redirects=False, timeout=self.timeout)

    def _label(self, control: Control) -> str:
        label = control.label or control.name
        return printable(f"{control.legend} — {label}" if control.legend else label)

    def _fill(self, control: Control, url: str, form: Form, retry: bool) -> str:
        if control.kind == "hidden":
            return control.value
        label = self._label(control)
        if control.name == "captcha":
            return self._captcha(url, form, label)
        if control.name == "otp" and self.answers.otp and not retry:
            mobile = mobile_local(self.answers.mobile or self.typed_mobile or "")
            code = self.answers.otp(mobile)
            if code:
                self.prompter.say(self.say_text("login.otp_from_outbox"))
                return code
        given = self.answers.given(control.name)
        if given is not None and not retry:
            return given
        if control.kind == "select":
            chosen = [value for value, _, selected in control.options if selected and value]
            if chosen and not retry:
                return chosen[0]
            return self.prompter.ask(label, [(v, printable(t)) for v, t, _ in control.options
                                             if v])
        if control.value and not retry:
            # Pre-filled by the provider (the postal code to confirm): shown, then kept.
            self.prompter.say(f"{label}: {printable(control.value)}")
            return control.value
        answer = self.prompter.ask(label)
        if control.name == "mobile":
            self.typed_mobile = answer
        return answer

    def _captcha(self, url: str, form: Form, label: str) -> str:
        sources = [s for s in form.images if "captcha" in s] or form.images
        image = b""
        if sources:
            response = self.http.get(urljoin(url, sources[0]), timeout=self.timeout)
            image = response.content if response.status_code == 200 else b""
        if self.answers.captcha and image:
            read = self.answers.captcha(image)
            if read:
                return read
        if image:
            self.captcha_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.captcha_file.write_bytes(image)
            self.prompter.say(self.say_text("login.captcha_saved", path=self.captcha_file))
        return self.prompter.ask(label)


def authorization_url(endpoint: str, **params: str) -> str:
    """``endpoint`` with the request's parameters added to its query."""
    separator = "&" if urlsplit(endpoint).query else "?"
    return endpoint + separator + urlencode(params)


def redirect_params(url: str) -> dict[str, str]:
    """The single-valued query parameters of the redirect back to the app."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
