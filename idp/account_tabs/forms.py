"""The account page's forms (Flask-WTF: CSRF on every one). Field names are an interface.

Each normalises what was typed with :mod:`idp.identifiers` (Persian and Arabic-Indic digits,
spaces, ZWNJ) and keeps the normalised value.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import ValidationError

from idp import identifiers

MSG_MOBILE = _l("شماره موبایل وارد شده باید ۱۱ رقمی باشد و با ۰۹ شروع شود")  # SPEC §3 step 1
MSG_CODE_FORMAT = _l("رمز یکبار مصرف باید ۶ رقم باشد")
MSG_EMAIL = _l("نشانی ایمیل وارد شده معتبر نیست")


class MobileChangeForm(FlaskForm):
    mobile = StringField()

    def validate_mobile(self, field) -> None:
        self.mobile_e164 = identifiers.normalize_mobile(field.data or "")
        if self.mobile_e164 is None:
            raise ValidationError(MSG_MOBILE)


class CodeForm(FlaskForm):
    code = StringField()

    def __init__(self, *args, length: int = 6, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.length = length

    def validate_code(self, field) -> None:
        code = identifiers.to_ascii_digits(field.data or "")
        if len(code) != self.length or not code.isascii() or not code.isdigit():
            raise ValidationError(MSG_CODE_FORMAT)
        self.value = code


class EmailCodeForm(FlaskForm):
    """The code from a verification e-mail (its own field name: both code forms may show)."""

    email_code = StringField()

    def __init__(self, *args, length: int = 6, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.length = length

    def validate_email_code(self, field) -> None:
        code = identifiers.to_ascii_digits(field.data or "")
        if len(code) != self.length or not code.isascii() or not code.isdigit():
            raise ValidationError(MSG_CODE_FORMAT)
        self.value = code


class EmailForm(FlaskForm):
    email = StringField()

    def validate_email(self, field) -> None:
        self.address = identifiers.normalize_email(field.data or "")
        if self.address is None:
            raise ValidationError(MSG_EMAIL)


class ChoiceForm(FlaskForm):
    """A button that names one item (a session, a service) in a hidden field."""

    target = HiddenField()
