"""Persian first, English second: the page language, and the filters that show numbers and
dates the way a reader of that language expects."""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import jdatetime
from flask import Flask, session
from flask_babel import get_locale

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


def jalali_datetime(value: datetime | None) -> str:
    """``1403/09/10 14:05`` in Tehran time (stored times are UTC)."""
    if value is None:
        return ""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    tehran = moment.astimezone(TEHRAN)
    return local_digits(jdatetime.datetime.fromgregorian(datetime=tehran)
                        .strftime("%Y/%m/%d %H:%M"))


def month_name(month: int) -> str:
    names = JALALI_MONTHS_FA if str(get_locale()) == "fa" else JALALI_MONTHS_EN
    return names[month - 1]


def install_filters(app: Flask) -> None:
    app.jinja_env.filters.update(digits=local_digits, jalali=jalali_date,
                                 jalali_time=jalali_datetime, month_name=month_name)
