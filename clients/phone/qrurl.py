"""Reading a login QR code: the image, and the one URL shape the app accepts from it.

The QR encodes only ``ISSUER/q/1/QID`` (issue 7; design §2.4), QID being 22 base64url
characters. The app accepts exactly that string for the issuer it is paired with and nothing
else — no other scheme, host, port, userinfo, path, query or fragment, no percent-escapes, no
look-alike characters — and sends nothing to the network for a code it refuses (design §2.3,
phone step 1; test case 34).
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

QID = re.compile(r"[A-Za-z0-9_-]{22}", re.ASCII)
PATH = "/q/1/"


class BadQr(ValueError):
    """Not a login code of this issuer; ``reason`` says which part is wrong (in English)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def login_prefix(issuer: str) -> str:
    """The exact text every login code of ``issuer`` starts with."""
    return issuer.rstrip("/") + PATH


def parse_login_url(url: str, issuer: str) -> str:
    """The QID of ``url`` when it is exactly ``ISSUER/q/1/QID``; otherwise :class:`BadQr`."""
    prefix = login_prefix(issuer)
    if url.startswith(prefix) and QID.fullmatch(url[len(prefix):]):
        return url[len(prefix):]
    raise BadQr(_why(url, issuer))


def _why(url: str, issuer: str) -> str:
    """Which part of a refused URL differs, to tell the citizen (the decision is made above)."""
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
        return "non-ASCII, space or control characters"
    if any(c in url for c in "\\%"):
        return "backslash or percent-escape"
    try:
        got, want = urlsplit(url), urlsplit(issuer)
        port, wanted_port = got.port, want.port
    except ValueError:
        return "not a URL"
    if got.scheme != want.scheme:
        return f"scheme {got.scheme or '(none)'!r} instead of {want.scheme!r}"
    if got.username is not None or got.password is not None:
        return "user information before the host"
    if got.hostname != want.hostname or port != wanted_port or got.netloc != want.netloc:
        return f"host {got.netloc!r} instead of {want.netloc!r}"
    if got.query or "?" in url:
        return "a query string"
    if got.fragment or "#" in url:
        return "a fragment"
    expected_path = urlsplit(login_prefix(issuer)).path
    if not got.path.startswith(expected_path):
        return f"path {got.path!r} is not {expected_path}QID"
    rest = got.path[len(expected_path):]
    if "/" in rest or ";" in rest:
        return "extra path segments"
    return f"the code is {len(rest)} characters, not 22 base64url characters"


def decode_image(path: str | Path) -> list[str]:
    """The texts of every QR code in the image file at ``path`` (PNG, JPEG, … as Pillow reads).

    Raises ``OSError`` or ``ValueError`` when the file is not a readable image.
    """
    # Imported here: the other commands never need an image library.
    import zxingcpp
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        found = zxingcpp.read_barcodes(image.convert("RGB"),
                                       formats=zxingcpp.BarcodeFormat.QRCode,
                                       text_mode=zxingcpp.TextMode.Plain)
    return [code.text for code in found if code.valid]
