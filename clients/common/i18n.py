"""Persian first, English second: the page language, and the filters that show numbers and
dates the way a reader of that language expects."""

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

import jdatetime
from flask import Flask, session
from flask_babel import get_locale
from jinja2 import pass_context

LANGUAGES: Mapping[str, Mapping[str, str]] = {
    "fa": {"name": "فارسی", "dir": "rtl"},
    "en": {"name": "English", "dir": "ltr"},
}
# Citizens read times on the Iranian clock, wherever the server runs.
TEHRAN = ZoneInfo("Asia/Tehran")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
JALALI_MONTHS_EN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr",
                    "Aban", "Azar", "Dey", "Bahman", "Esfand")
JALALI_MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان",
                    "آذر", "دی", "بهمن", "اسفند")


def current_language() -> str:
    """The language the citizen chose with the switch; Persian until they do."""
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "fa"


def local_digits(value: object) -> str:
    """Persian digits on a Persian page; identifiers a reader copies stay ASCII in English."""
    text = "" if value is None else str(value)
    return text.translate(PERSIAN_DIGITS) if str(get_locale()) == "fa" else text


def to_jalali(value: date | datetime | str | None) -> jdatetime.date | None:
    """A Gregorian date (or ISO string) as a Jalali date."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return jdatetime.date.fromgregorian(date=value)


def jalali_date(value: date | datetime | str | None) -> str:
    """``1360/01/01`` (in the page's digits)."""
    day = to_jalali(value)
    return local_digits(day.strftime("%Y/%m/%d")) if day else ""


def month_name(month: int) -> str:
    names = JALALI_MONTHS_FA if str(get_locale()) == "fa" else JALALI_MONTHS_EN
    return names[month - 1]


def _per_request(function):
    """A filter Jinja must not fold into a template at compile time (it would keep the first
    request's language for constants such as ``'8'|digits``)."""
    return pass_context(lambda _context, value: function(value))


def install_filters(app: Flask) -> None:
    app.jinja_env.filters.update(digits=_per_request(local_digits),
                                 jalali=_per_request(jalali_date),
                                 month_name=_per_request(month_name))
