"""Every message of ``idp-phone`` exists in Persian and English with the same placeholders, and
an error from the provider is shown with its code in both."""

import string
from pathlib import Path

import pytest

from clients.phone.messages import MESSAGES, Exit, PhoneError, text


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_take_the_same_values(key):
    persian, english = MESSAGES[key]
    assert persian and english and persian != english
    assert _fields(persian) == _fields(english)
    assert not _fields(persian) & {"error", "description"} or key == "api.error"


def test_a_provider_error_names_its_code():
    error = PhoneError("error.invalid_approval", Exit.REFUSED, error="invalid_approval",
                       description="ctx", status=400)
    assert error.message("fa") == "سامانه تأیید را نپذیرفت. (کد خطا: invalid_approval، ctx)"
    assert error.message("en") == ("The provider did not accept the approval. "
                                   "(error code: invalid_approval, ctx)")
    assert error.status == 400


def test_persian_is_the_default():
    assert text("fa", "scan.denied") == "ورود رد شد."
    assert text("en", "scan.denied") == "Login denied."


def test_the_app_knows_only_the_published_interface():
    """Issue 7: the phone app talks to the provider over HTTP only, never through its code."""
    from test_layering import imported_modules

    folder = Path(__file__).resolve().parents[2] / "clients" / "phone"
    offenders = sorted(
        f"{path.name}: {name}" for path in folder.rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in {"idp", "flows"})
    assert offenders == []
