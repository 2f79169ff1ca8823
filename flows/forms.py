"""The journey's HTML forms (Flask-WTF: CSRF on every one). Field names are an interface.

Each form normalises what was typed (Persian and Arabic-Indic digits, spaces, ZWNJ) with
:mod:`idp.identifiers` and keeps the normalised value, so step logic never sees raw input.
"""

from datetime import date

import jdatetime
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from idp import identifiers

MSG_MOBILE = _l("شماره موبایل وارد شده باید ۱۱ رقمی باشد و با ۰۹ شروع شود")  # SPEC §3 step 1
MSG_NATIONAL_CODE = _l("کد ملی باید ۱۰ رقم باشد")  # seed 002 §3.1
MSG_NATIONAL_CODE_INVALID = _l("کد ملی وارد شده معتبر نیست")
MSG_FIDA = _l("کد فیدا باید ۱۲ رقم باشد")
MSG_SECONDARY_ID = _l("شماره گذرنامه/ فراگیر ناجا/ شناسه یکتا را به درستی وارد کنید")
MSG_BIRTH_DATE = _l("تاریخ تولد وارد شده معتبر نیست")
MSG_POSTAL = _l("کد پستی باید ۱۰ رقم باشد")
MSG_POSTAL_INVALID = _l("کد پستی وارد شده معتبر نیست")
MSG_OTP_FORMAT = _l("رمز یکبار مصرف باید ۶ رقم باشد")
MSG_REQUIRED = _l("این فیلد الزامی است")


def _digits(value: str | None) -> str:
    return identifiers.to_ascii_digits(value or "")


class MobileForm(FlaskForm):
    mobile = StringField()
    captcha = StringField()

    def validate_mobile(self, field) -> None:
        self.mobile_e164 = identifiers.normalize_mobile(field.data or "")
        if self.mobile_e164 is None:
            raise ValidationError(MSG_MOBILE)


class OtpForm(FlaskForm):
    otp = StringField()

    def __init__(self, *args, length: int = 6, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.length = length

    def validate_otp(self, field) -> None:
        code = _digits(field.data)
        if len(code) != self.length or not code.isascii() or not code.isdigit():
            raise ValidationError(MSG_OTP_FORMAT)
        self.code = code


class IdentityForm(FlaskForm):
    identity_type = HiddenField(default="iranian")
    national_code = StringField()
    fida_code = StringField()
    secondary_id_type = SelectField(choices=[SelectChoice("passport", _l("شماره گذرنامه")),
                                             SelectChoice("naja", _l("شماره فراگیر ناجا")),
                                             SelectChoice("unique_id", _l("شناسه یکتا"))],
                                    validate_choice=False)
    secondary_id = StringField()
    birth_year = StringField()
    birth_month = StringField()
    birth_day = StringField()

    @property
    def foreign(self) -> bool:
        return self.identity_type.data == "foreign"

    def validate_national_code(self, field) -> None:
        if self.foreign:
            return
        digits = _digits(field.data)
        if not (digits.isascii() and digits.isdigit()) or len(digits) != 10:
            raise ValidationError(MSG_NATIONAL_CODE)
        self.code = identifiers.normalize_national_code(digits)
        if self.code is None:
            raise ValidationError(MSG_NATIONAL_CODE_INVALID)

    def validate_fida_code(self, field) -> None:
        if not self.foreign:
            return
        self.code = identifiers.normalize_fida_code(field.data or "")
        if self.code is None:
            raise ValidationError(MSG_FIDA)

    def validate_secondary_id(self, field) -> None:
        if not self.foreign:
            return
        kind = self.secondary_id_type.data
        value = None
        if kind in identifiers.SECONDARY_ID_KINDS:
            value = identifiers.normalize_secondary_id(kind, field.data or "")
        if value is None:
            raise ValidationError(MSG_SECONDARY_ID)
        self.secondary = (kind, value)

    def validate_birth_day(self, _field) -> None:
        try:
            parts = [int(_digits(f.data), 10) for f in (self.birth_year, self.birth_month,
                                                         self.birth_day)]
            # Birth dates are typed in the Jalali calendar (seed 002 §3.1: روز ماه سال).
            self.birth_date = jdatetime.date(*parts).togregorian()
        except (TypeError, ValueError):
            raise ValidationError(MSG_BIRTH_DATE) from None
        if self.birth_date > date.today():
            raise ValidationError(MSG_BIRTH_DATE)


class PostalForm(FlaskForm):
    postal_code = StringField()

    def validate_postal_code(self, field) -> None:
        digits = _digits(field.data)
        if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
            raise ValidationError(MSG_POSTAL)
        self.code = identifiers.normalize_postal_code(digits)
        if self.code is None:
            raise ValidationError(MSG_POSTAL_INVALID)


class ConsentForm(FlaskForm):
    decision = StringField()
    # The client the page named: consent is given to it, or to no one (issue 6).
    client_id = HiddenField()
