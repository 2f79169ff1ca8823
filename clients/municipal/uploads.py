"""Document images of a request (issue 10, «بارگذاری مدارک»): what a browser sends is decided by
decoding it with Pillow, never by its name or declared type, and only a re-encoded copy (its
metadata gone) is kept, under a random name, readable by this process alone.
"""

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext
from PIL import Image, UnidentifiedImageError

# A phone camera's photo of a letter is well under this; more is a decompression bomb.
MAX_PIXELS = 40_000_000
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png")}
STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{22}\.(jpg|png)$", re.ASCII)
CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e]")


class Refused(ValueError):
    """A file that is not kept; the message names it."""


@dataclass(frozen=True)
class Stored:
    stored: str  # the random file name in upload_dir
    name: str  # the browser's name, display text only
    content_type: str
    size: int


def display_name(filename: str | None) -> str:
    """The browser's file name as text to show: its last path part, no control characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    return CONTROL.sub("", name).strip()[:100] or gettext("بدون نام")


def accept(stream, filename: str | None, max_bytes: int, folder: Path) -> Stored:
    """Check one uploaded file and keep its re-encoded copy in ``folder``; :class:`Refused`
    (naming the file) when it is empty, too large, not a JPEG or PNG, or a pixel flood."""
    name = display_name(filename)
    content = stream.read(max_bytes + 1)
    if not content:
        raise Refused(gettext("فایل «%(name)s» خالی است.", name=name))
    if len(content) > max_bytes:
        raise Refused(gettext("حجم فایل «%(name)s» بیش از %(size)s کیلوبایت است.", name=name,
                              size=max_bytes // 1024))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            if image.format not in FORMATS:
                raise Refused(_not_an_image(name))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Refused(_too_many_pixels(name))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(_too_many_pixels(name)) from None
    except Refused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Refused(_not_an_image(name)) from None
    content_type, suffix = FORMATS[image.format]
    clean = _reencode(image)
    stored = secrets.token_urlsafe(16) + suffix
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(folder / stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(clean)
    return Stored(stored=stored, name=name, content_type=content_type, size=len(clean))


def _too_many_pixels(name: str) -> str:
    return gettext("ابعاد تصویر «%(name)s» بیش از حد مجاز است.", name=name)


def _not_an_image(name: str) -> str:
    return gettext("فایل «%(name)s» تصویر JPEG یا PNG نیست.", name=name)


def _reencode(image: Image.Image) -> bytes:
    """Pixels only: EXIF (with its GPS position), comments and any trailing bytes are dropped."""
    output = io.BytesIO()
    if image.format == "JPEG":
        image.convert("RGB").save(output, "JPEG", quality=90)
    else:
        mode = image.mode if image.mode in {"1", "L", "LA", "RGB", "RGBA"} else "RGBA"
        image.convert(mode).save(output, "PNG", optimize=True)
    return output.getvalue()


def path_of(folder: Path, stored: str) -> Path | None:
    """The kept file of this stored name (only names this module makes), or None."""
    return folder / stored if STORED_NAME.match(stored) else None


def remove(folder: Path, stored: str) -> None:
    path = path_of(folder, stored)
    if path is not None:
        path.unlink(missing_ok=True)
