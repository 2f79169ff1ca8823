"""The steps of «درخواست انتقال» (seed 003, گواهی انتقال آپارتمان) as small pure functions:
which steps exist, which one a draft may show, and what each step accepts. The views in
``transfer.py`` only read forms and render.
"""

from dataclasses import dataclass
from typing import Literal

from flask_babel import lazy_gettext as _l

from clients.municipal.registry import Property, PropertyRegistry, Role, normalise

# Seed 003, «درخواست انتقال»: the stepper's steps, in order.
TRANSFER_STEPS = (_l("تعهدات"), _l("انتخاب آپارتمان"), _l("بارگذاری مدارک"),
                  _l("انتخاب کارشناس بازدید"), _l("تایید و ثبت"), _l("عوارض نوسازی"),
                  _l("صدور گواهی"))
# The steps a draft walks; the request exists only after «تایید و ثبت» (seed 003 §10).
DRAFT_STEPS = 5
# The seed shows the commitments step without its text; these are the applicant's undertakings
# the later steps rely on.
COMMITMENTS = (
    _l("اینجانب مالک این آپارتمان یا وکیل مالک به موجب وکالتنامه رسمی ثبت‌شده هستم."),
    _l("مدارک و اطلاعاتی که وارد یا بارگذاری می‌کنم صحیح و مربوط به همین آپارتمان است و "
       "مسئولیت نادرستی آن‌ها بر عهده اینجانب است."),
    _l("در روز و ساعتی که برای بازدید انتخاب می‌کنم، با مدارک هویتی و شهرسازی آپارتمان در "
       "محل حضور خواهم داشت."),
    _l("شماره تلفن همراهی که وارد می‌کنم در دسترس من است و اطلاع‌رسانی درخواست با پیامک به "
       "همان شماره انجام می‌شود."),
    _l("تا بدهی عوارض نوسازی آپارتمان تسویه نشود، گواهی انتقال صادر نخواهد شد."),
)
# What each step keeps in the draft: going back to an earlier step and changing it
# forgets what the later steps took on its account.
STEP_KEYS = {1: ("accepted",), 2: ("apartment",)}


def reachable(done: int, step: int, last: int = DRAFT_STEPS) -> bool:
    """Seed 003: the steps are taken in order; one is open once all before it are done
    (``last``: the wizard's last draft step)."""
    return 1 <= step <= min(done + 1, last)


def after_change(data: dict, done: int, step: int,
                 step_keys: dict[int, tuple[str, ...]] = STEP_KEYS) -> tuple[dict, int]:
    """``data`` and ``done`` once step ``step`` was entered anew: later steps are to be done
    again, and what they kept (``step_keys``: the wizard's keys per step) is forgotten (the
    applicant's typed entries stay)."""
    later = {key for number, keys in step_keys.items() if number > step for key in keys}
    return {key: value for key, value in data.items() if key not in later}, min(done, step - 1)


@dataclass(frozen=True)
class Lookup:
    """The outcome of «جستجو» in «انتخاب آپارتمان»."""

    outcome: Literal["valid", "mismatch", "not_yours", "open", "incomplete"]
    property: Property | None = None
    role: Role | None = None
    number: str = ""


def look_up(registry: PropertyRegistry, applicant: str, code: str, number: str,
            open_codes: set[str]) -> Lookup:
    """Does this renovation code and answered request number name a property of the applicant?

    A wrong code and a wrong number are one answer (a mismatch), so that guessing one of them
    learns nothing; "not yours" names no owner.
    """
    if not normalise(code) or not normalise(number):
        return Lookup("incomplete")
    found = registry.find(code)
    answered = found.answered(number) if found else None
    if found is None or answered is None:
        return Lookup("mismatch")
    role = found.role_of(applicant)
    if role is None:
        return Lookup("not_yours")
    if normalise(found.renovation_code) in open_codes:
        return Lookup("open", found, role, answered.number)
    return Lookup("valid", found, role, answered.number)


# Seed 003, «استعلام ادارات/ ترهین»: the stepper's steps, in order. The request exists only
# after «ثبت درخواست و صدور» on «تسویه عوارض», the last draft step.
INQUIRY_STEPS = (_l("تعهدات"), _l("انتخاب ملک"), _l("بررسی سوابق"), _l("بارگذاری مدارک"),
                 _l("تسویه عوارض"), _l("صدور و چاپ پاسخ استعلام"))
INQUIRY_DRAFT_STEPS = 5
# The seed shows this step without its text either: the undertakings of an inquiry.
INQUIRY_COMMITMENTS = (
    _l("اینجانب مالک این ملک یا وکیل مالک به موجب وکالتنامه رسمی ثبت‌شده هستم."),
    _l("استعلام را به درخواست نهاد یا اداره‌ای می‌خواهم که نامه آن را بارگذاری می‌کنم و "
       "پاسخ استعلام تنها برای ارائه به همان نهاد است."),
    _l("مدارک و اطلاعاتی که وارد یا بارگذاری می‌کنم صحیح و مربوط به همین ملک است و "
       "مسئولیت نادرستی آن‌ها بر عهده اینجانب است."),
    _l("تا بدهی عوارض نوسازی ملک تسویه نشود، درخواست ثبت و پاسخ استعلام صادر نخواهد شد."),
)
INQUIRY_STEP_KEYS = {1: ("accepted",), 2: ("apartment",), 3: ("certificate",)}
