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

from clients.phone.messages import text

QID = re.compile(r"[A-Za-z0-9_-]{22}", re.ASCII)
PATH = "/q/1/"


class BadQr(ValueError):
    """Not a login code of this issuer: ``key`` names the part that is wrong (a message of
    ``clients.phone.messages``, ``qr.<key>``), ``params`` fill it in."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params

    def explain(self, lang: str) -> str:
        return text(lang, f"qr.{self.key}", **self.params)

    @property
    def reason(self) -> str:
        return self.explain("en")


def login_prefix(issuer: str) -> str:
    """The exact text every login code of ``issuer`` starts with."""
    return issuer.rstrip("/") + PATH


def parse_login_url(url: str, issuer: str) -> str:
    """The QID of ``url`` when it is exactly ``ISSUER/q/1/QID``; otherwise :class:`BadQr`."""
    prefix = login_prefix(issuer)
    if url.startswith(prefix) and QID.fullmatch(url[len(prefix):]):
        return url[len(prefix):]
    raise _why(url, issuer)


def _why(url: str, issuer: str) -> BadQr:
    """Which part of a refused URL differs, to tell the citizen (the decision is made above)."""
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
        return BadQr("characters")
    if any(c in url for c in "\\%"):
        return BadQr("escape")
    try:
        got, want = urlsplit(url), urlsplit(issuer)
        port, wanted_port = got.port, want.port
    except ValueError:
        return BadQr("not_url")
    if got.scheme != want.scheme:
        return BadQr("scheme", got=got.scheme or "-", want=want.scheme)
    if got.username is not None or got.password is not None:
        return BadQr("userinfo")
    if got.hostname != want.hostname or port != wanted_port or got.netloc != want.netloc:
        return BadQr("host", got=got.netloc or "-", want=want.netloc)
    if got.query or "?" in url:
        return BadQr("query")
    if got.fragment or "#" in url:
        return BadQr("fragment")
    expected_path = urlsplit(login_prefix(issuer)).path
    if not got.path.startswith(expected_path):
        return BadQr("path", got=got.path or "/", want=expected_path)
    rest = got.path[len(expected_path):]
    if "/" in rest or ";" in rest:
        return BadQr("extra_path")
    return BadQr("qid", count=len(rest))


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
