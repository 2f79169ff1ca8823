"""The captcha (کد امنیتی) asked before any SMS is sent (SPEC §3 step 1), as an image and,
for citizens who cannot see it (seed 002 §4, accessibility), spoken in Persian.

The answer is kept, hashed, in the store under the journey; it is single-use, so a wrong guess
needs a new challenge. The image and the sound say the same challenge: the sound reads it from a
second entry that lives as long and is dropped with it.

Legibility: the digits come from an alphabet without look-alikes (no 0, 1 or 7: a reviewer read
a 7 as a 1), each is drawn whole inside its own slot with a margin (nothing is cut at the edge),
turned a little, dark on light, over thin noise. ASCII digits are drawn on every page: the
distorted Persian ۲/۳ and ۴/۶ are easier to confuse; the answer may be typed in Persian,
Arabic-Indic or ASCII digits.
"""

import hmac
import io
import shutil
import subprocess
import tempfile
import wave
from functools import cache
from hashlib import sha256
from pathlib import Path
from secrets import choice, randbelow

from idp.identifiers import to_ascii_digits
from idp.services import services

ALPHABET = "2345689"
WIDTH, HEIGHT = 200, 70
# How each digit is said, in Persian words so the voice never falls back to English.
_SPOKEN = ("صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه")


def _digest(journey_id: str, answer: str) -> str:
    key = services().settings.server.secret_key.encode()
    return hmac.new(key, f"{journey_id}:{answer}".encode(), sha256).hexdigest()


def _new_answer(journey_id: str) -> str:
    settings = services().settings.captcha
    answer = "".join(choice(ALPHABET) for _ in range(settings.length))
    services().store.batch().put(
        f"captcha:{journey_id}", _digest(journey_id, answer), settings.lifetime_seconds).put(
        f"captcha-spoken:{journey_id}", answer, settings.lifetime_seconds).execute()
    return answer


@cache
def _font_file() -> str:
    # The captcha package ships this font; finding it does not import Pillow.
    import importlib.util

    origin = importlib.util.find_spec("captcha").origin
    return str(Path(origin).parent / "data" / "DroidSansMono.ttf")


def draw(answer: str) -> bytes:
    """The answer as a PNG: every digit whole, inside the image, readable."""
    # Drawing pulls in Pillow (~5 MB): a provider without captcha images never loads it.
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, HEIGHT), (246, 247, 250))
    pen = ImageDraw.Draw(image)
    for _ in range(4):  # thin noise lines, lighter than the digits
        pen.line([(randbelow(WIDTH), randbelow(HEIGHT)), (randbelow(WIDTH), randbelow(HEIGHT))],
                 fill=(150 + randbelow(60), 150 + randbelow(60), 170 + randbelow(60)), width=1)
    margin = 8
    slot = (WIDTH - 2 * margin) // len(answer)
    font = ImageFont.truetype(_font_file(), min(44, int(slot * 1.35)))
    for i, digit in enumerate(answer):
        glyph = Image.new("RGBA", (slot * 2, HEIGHT * 2), (0, 0, 0, 0))
        colour = (20 + randbelow(60), 30 + randbelow(60), 60 + randbelow(80), 255)
        ImageDraw.Draw(glyph).text((slot, HEIGHT), digit, font=font, fill=colour, anchor="mm")
        glyph = glyph.rotate(randbelow(25) - 12, resample=Image.Resampling.BICUBIC, expand=True)
        glyph = glyph.crop(glyph.getbbox())
        # Scale down whatever would not fit the slot, so no digit is ever cut off.
        scale = min(1.0, (slot - 2) / glyph.width, (HEIGHT - 2 * margin) / glyph.height)
        if scale < 1.0:
            glyph = glyph.resize((int(glyph.width * scale), int(glyph.height * scale)),
                                 Image.Resampling.LANCZOS)
        x = margin + i * slot + (slot - glyph.width) // 2
        room = HEIGHT - 2 * margin - glyph.height
        y = margin + (randbelow(room + 1) if room > 0 else 0)
        image.paste(glyph, (x, y), glyph)
    for _ in range(60):  # dots
        x, y = randbelow(WIDTH), randbelow(HEIGHT)
        pen.point((x, y), fill=(150 + randbelow(80),) * 3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def new_captcha(journey_id: str) -> bytes:
    """Draw a new challenge for this journey and return it as a PNG."""
    return draw(_new_answer(journey_id))


def audio_available() -> bool:
    """Whether the spoken challenge can be offered (setting on, espeak-ng installed)."""
    return services().settings.captcha.audio and shutil.which("espeak-ng") is not None


@cache
def _said(text: str) -> tuple[bytes, tuple]:
    """``text`` spoken by espeak-ng's Persian voice: frames and wave parameters (made once)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "said.wav"
        subprocess.run(["espeak-ng", "-v", "fa", "-s", "120", "-w", str(path), text],
                       check=True, capture_output=True, timeout=10)
        with wave.open(str(path), "rb") as sound:
            return sound.readframes(sound.getnframes()), sound.getparams()[:3]


def speak(answer: str) -> bytes:
    """The answer read out in Persian, digit by digit, twice, as a WAV file."""
    intro, params = _said("کد امنیتی")
    channels, width, rate = params
    pause = b"\0" * (width * channels * int(rate * 0.5))
    digits = pause.join(_said(_SPOKEN[int(d)])[0] for d in answer)
    again = _said("تکرار")[0]
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(channels)
        sound.setsampwidth(width)
        sound.setframerate(rate)
        sound.writeframes(b"".join([pause, intro, pause, digits, pause * 2, again, pause,
                                    digits, pause]))
    return out.getvalue()


def spoken_captcha(journey_id: str) -> bytes:
    """The journey's current challenge as speech (a new one when there is none)."""
    answer = services().store.get(f"captcha-spoken:{journey_id}") or _new_answer(journey_id)
    return speak(str(answer))


def check_captcha(journey_id: str, typed: str | None) -> bool:
    """True once for the right answer; any check uses the challenge up."""
    expected, _ = services().store.batch().take(f"captcha:{journey_id}").delete(
        f"captcha-spoken:{journey_id}").execute()
    answer = to_ascii_digits(typed or "")
    return bool(expected) and hmac.compare_digest(expected, _digest(journey_id, answer))
