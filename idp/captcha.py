"""The image captcha (کد امنیتی) asked before any SMS is sent (SPEC §3 step 1).

The answer is kept, hashed, in the store under the journey; it is single-use, so a wrong
guess needs a new image.
"""

import hmac
import secrets
from functools import cache
from hashlib import sha256

from idp.identifiers import to_ascii_digits
from idp.services import services


@cache
def _image():
    # Drawing pulls in Pillow (~5 MB): a provider without captcha images never loads it.
    from captcha.image import ImageCaptcha

    return ImageCaptcha(width=200, height=70)


def _digest(journey_id: str, answer: str) -> str:
    key = services().settings.server.secret_key.encode()
    return hmac.new(key, f"{journey_id}:{answer}".encode(), sha256).hexdigest()


def new_captcha(journey_id: str) -> bytes:
    """Draw a new challenge for this journey and return it as a PNG."""
    settings = services().settings.captcha
    answer = "".join(secrets.choice("23456789") for _ in range(settings.length))
    services().store.put(f"captcha:{journey_id}", _digest(journey_id, answer),
                         settings.lifetime_seconds)
    return _image().generate(answer, format="png").getvalue()


def check_captcha(journey_id: str, typed: str | None) -> bool:
    """True once for the right answer; any check uses the challenge up."""
    expected = services().store.take(f"captcha:{journey_id}")
    answer = to_ascii_digits(typed or "")
    return bool(expected) and hmac.compare_digest(expected, _digest(journey_id, answer))
