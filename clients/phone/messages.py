"""What ``idp-phone`` says, in Persian first and in English (``--lang en``), and its exit codes.

A small catalogue of its own: the app is a separate program from the provider and carries no
Flask-Babel; each message is a pair (Persian, English) formatted with ``str.format``.
"""

import unicodedata
from enum import IntEnum

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Bidi embeddings, overrides and isolates: in text from the provider they could make the screen
# say something else than the bytes (a service name shown reversed). ZWNJ and the marks stay.
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


class Exit(IntEnum):
    """The command's exit codes, so scripts can tell outcomes apart."""

    OK = 0
    REFUSED = 1          # the provider answered with an error (its code is printed)
    USAGE = 2            # bad command line (click's own code)
    BAD_QR = 3           # not a login code of the paired provider; nothing was sent
    NOT_PAIRED = 4       # no paired device in the state file
    LOGIN_FAILED = 5     # the pairing login did not reach the app
    NETWORK = 6          # the provider could not be reached or answered nonsense
    STATE = 7            # the state file cannot be read or written safely
    SIGNED_OUT = 8       # the app's tokens were revoked or ran out: pair again
    EXPIRED = 9          # the scanned code's time to decide has passed
    CANCELLED = 130      # the citizen stopped a question (Ctrl+C, end of input): 128 + SIGINT


MESSAGES: dict[str, tuple[str, str]] = {
    # pairing
    "pair.start": ("ورود به «{issuer}» برای جفت کردن این دستگاه…",
                   "Logging in to {issuer} to pair this device…"),
    "pair.done": ("دستگاه «{name}» جفت شد. شناسه دستگاه: {device_id}",
                  "Device “{name}” is paired. Device id: {device_id}"),
    "pair.already": ("این برنامه از قبل با «{issuer}» جفت شده است (دستگاه {device_id}). "
                     "برای جفت کردن دوباره ابتدا «idp-phone unpair» را اجرا کنید.",
                     "This app is already paired with {issuer} (device {device_id}). "
                     "Run “idp-phone unpair” first to pair again."),
    "pair.tokens_kept": ("ورود انجام شد ولی دستگاه ثبت نشد. با «idp-phone devices» و "
                         "«idp-phone unpair شناسه» می‌توانید دستگاه‌های دیگر را حذف کنید.",
                         "You are logged in but the device was not registered. "
                         "“idp-phone devices” and “idp-phone unpair ID” can remove other "
                         "devices."),
    "pair.kid_mismatch": ("سامانه شناسه کلید دیگری برگرداند؛ جفت شدن پذیرفته نشد.",
                          "The provider answered another key id; pairing not accepted."),
    # the login pages
    "login.step": ("مرحله: {title}", "Step: {title}"),
    "login.page_error": ("پیام سامانه: {text}", "The provider says: {text}"),
    "login.refused": ("ورود انجام نشد: {text}", "The login failed: {text}"),
    "login.no_form": ("صفحه «{url}» فرمی برای ادامه ندارد.",
                      "The page {url} has no form to go on with."),
    "login.loop": ("ورود پس از {count} صفحه به پایان نرسید.",
                   "The login did not end after {count} pages."),
    "login.needs_input": ("برای «{label}» پاسخی لازم است ولی ورودی تعاملی در دسترس نیست.",
                          "“{label}” needs an answer but there is no interactive input."),
    "login.captcha_saved": ("تصویر کد امنیتی در این فایل ذخیره شد: {path}",
                            "The captcha image was saved to: {path}"),
    "login.otp_from_outbox": ("رمز یکبار مصرف از صندوق پیامک خوانده شد.",
                              "The one-time code was read from the SMS outbox."),
    "login.otp_missing": ("رمز یکبار مصرفی برای {mobile} در «{path}» پیدا نشد.",
                          "No one-time code for {mobile} in {path}."),
    "login.error_answer": ("سامانه ورود را رد کرد.", "The provider refused the login."),
    "login.state_mismatch": ("پاسخ ورود به این درخواست تعلق ندارد (state نادرست).",
                             "The login answer does not belong to this request (state)."),
    "login.iss_mismatch": ("پاسخ ورود از صادرکننده دیگری است (iss نادرست).",
                           "The login answer names another issuer (iss)."),
    "login.left": ("سامانه مرورگر را به نشانی ناشناخته‌ای فرستاد: {url}",
                   "The provider sent the browser to an unknown address: {url}"),
    "login.bad_id_token": ("توکن شناسایی معتبر نیست: {reason}",
                           "The ID token is not valid: {reason}"),
    "login.scope_missing": ("سامانه دسترسی‌های لازم را نداد: {scopes}",
                            "The provider did not grant the scopes needed: {scopes}"),
    "login.choose": ("یکی را انتخاب کنید", "Choose one"),
    "login.bad_birth": ("تاریخ تولد باید به شکل سال/ماه/روز شمسی باشد، مانند ۱۳۶۰/۰۱/۰۱.",
                        "The birth date must be a Jalali year/month/day, e.g. 1360/01/01."),
    # scanning and approving
    "scan.bad_qr": ("این کد QR ورود به «{issuer}» نیست و چیزی ارسال نشد ({reason}).",
                    "This is not a login code of {issuer}; nothing was sent ({reason})."),
    "qr.characters": ("نویسه غیر ASCII، فاصله یا نویسه کنترلی دارد",
                      "non-ASCII, space or control characters"),
    "qr.escape": ("بک‌اسلش یا کدگذاری درصدی دارد", "a backslash or percent-escape"),
    "qr.not_url": ("نشانی نیست", "not a URL"),
    "qr.scheme": ("طرح نشانی «{got}» است، نه «{want}»", "scheme {got!r} instead of {want!r}"),
    "qr.userinfo": ("پیش از نام میزبان نام کاربری دارد", "user information before the host"),
    "qr.host": ("میزبان «{got}» است، نه «{want}»", "host {got!r} instead of {want!r}"),
    "qr.query": ("رشته پرس‌وجو (?) دارد", "a query string"),
    "qr.fragment": ("بخش # دارد", "a fragment"),
    "qr.path": ("مسیر «{got}» است، نه «{want}QID»", "path {got!r} is not {want}QID"),
    "qr.extra_path": ("بخش‌های اضافه در مسیر دارد", "extra path segments"),
    "qr.qid": ("کد {count} نویسه است، نه ۲۲ نویسه base64url",
               "the code is {count} characters, not 22 base64url characters"),
    "scan.not_found": ("«{path}» نه فایل تصویر است و نه نشانی.",
                       "{path} is neither an image file nor a URL."),
    "scan.no_qr": ("در تصویر «{path}» کد QR پیدا نشد.", "No QR code found in the image {path}."),
    "scan.many_qr": ("در تصویر «{path}» بیش از یک کد QR هست؛ فقط یکی را اسکن کنید.",
                     "The image {path} holds more than one QR code; scan only one."),
    "scan.bad_image": ("تصویر «{path}» خوانده نشد: {reason}",
                       "The image {path} could not be read: {reason}"),
    "scan.title": ("درخواست ورود با کد QR", "QR-code login request"),
    "scan.client": ("سامانه: {value}", "Service: {value}"),
    "scan.browser": ("مرورگر: {value}", "Browser: {value}"),
    "scan.created": ("زمان درخواست: {value}", "Requested at: {value}"),
    "scan.place": ("محل: {value}", "Location: {value}"),
    "scan.proximity": ("نزدیکی: {value}", "Proximity: {value}"),
    "proximity.same-network": ("همان شبکه رایانه", "the same network as the computer"),
    "proximity.same-country": ("همان کشور", "the same country"),
    "proximity.mismatch": ("دور از این گوشی — اگر خودتان پشت آن رایانه نیستید، رد کنید!",
                           "far from this phone — deny unless you are at that computer!"),
    "proximity.unknown": ("نامعلوم", "unknown"),
    "scan.unknown": ("نامعلوم", "unknown"),
    "scan.warning": ("فقط وقتی تأیید کنید که خودتان همین حالا جلوی این رایانه هستید و خودتان "
                     "سامانه را باز کرده‌اید. هرگز پیوندی را که برایتان فرستاده‌اند تأیید نکنید.",
                     "Approve only if you are in front of this computer right now and opened "
                     "the site yourself. Never approve a link someone sent you."),
    "scan.deadline": ("تا {seconds} ثانیه دیگر تصمیم بگیرید.",
                      "Decide within {seconds} seconds."),
    "scan.ask": ("این ورود را تأیید می‌کنید؟ [ب=بله تأیید / ن=نه رد]",
                 "Approve this login? [y=yes approve / n=no deny]"),
    "scan.ask_again": ("لطفا «ب» (تأیید) یا «ن» (رد) را وارد کنید.",
                       "Please type “y” (approve) or “n” (deny)."),
    "scan.no_answer": ("پاسخی داده نشد؛ این ورود رد می‌شود.",
                       "No answer was given; this login is denied."),
    "scan.nm_ask": ("عددی را که در مرورگر می‌بینید انتخاب کنید: {choices}",
                    "Choose the number the browser shows: {choices}"),
    "scan.too_late": ("زمان تصمیم‌گیری برای این کد گذشته است؛ در مرورگر کد جدید بگیرید.",
                      "The time to decide on this code has passed; get a new code in the "
                      "browser."),
    "scan.approved": ("ورود تأیید شد. مرورگر ادامه می‌دهد.",
                      "Login approved. The browser carries on."),
    "scan.denied": ("ورود رد شد.", "Login denied."),
    # devices
    "devices.none": ("دستگاه فعالی نیست.", "No active devices."),
    "devices.header": ("دستگاه‌های جفت شده:", "Paired devices:"),
    "devices.row": ("{mark} {name} ({platform}){this} — شناسه {device_id}\n"
                    "    جفت شده: {created}   آخرین استفاده: {used}",
                    "{mark} {name} ({platform}){this} — id {device_id}\n"
                    "    paired: {created}   last used: {used}"),
    "devices.this": ("(همین دستگاه)", "(this device)"),
    "devices.never": ("هرگز", "never"),
    "unpair.done": ("دستگاه {device_id} حذف شد.", "Device {device_id} was unpaired."),
    "unpair.forgot": ("کلید و توکن‌های این دستگاه از «{path}» پاک شد.",
                      "This device's key and tokens were removed from {path}."),
    "unpair.nothing": ("چیزی برای پاک کردن نیست.", "Nothing to forget."),
    "cancelled": ("لغو شد؛ چیزی ثبت نشد.", "Cancelled; nothing was recorded."),
    # state and status
    "state.not_paired": ("این برنامه هنوز جفت نشده است. ابتدا «idp-phone pair» را اجرا کنید.",
                         "This app is not paired yet. Run “idp-phone pair” first."),
    "state.not_logged_in": ("برنامه وارد نشده است. ابتدا «idp-phone pair» را اجرا کنید.",
                            "The app is not logged in. Run “idp-phone pair” first."),
    "state.open_mode": ("فایل «{path}» را دیگران هم می‌توانند بخوانند (دسترسی {mode}). "
                        "دسترسی آن را 600 کنید: chmod 600 {path}",
                        "Others can read {path} (mode {mode}). Make it private: "
                        "chmod 600 {path}"),
    "state.unreadable": ("فایل وضعیت «{path}» خوانده نشد: {reason}",
                         "The state file {path} could not be read: {reason}"),
    "state.unwritable": ("فایل وضعیت «{path}» نوشته نشد: {reason}",
                         "The state file {path} could not be written: {reason}"),
    "status.paired": ("جفت شده با «{issuer}» — دستگاه {device_id} («{name}»)، کاربر {sub}",
                      "Paired with {issuer} — device {device_id} (“{name}”), user {sub}"),
    "status.session": ("اعتبار توکن دسترسی تا {until}",
                       "Access token valid until {until}"),
    # talking to the provider
    "net.unreachable": ("ارتباط با «{url}» برقرار نشد: {reason}",
                        "Could not reach {url}: {reason}"),
    "net.bad_answer": ("پاسخ نامعتبر از «{url}» (HTTP {status}).",
                       "Invalid answer from {url} (HTTP {status})."),
    "net.insecure_issuer": ("نشانی سامانه باید https باشد (http فقط روی localhost): {issuer}",
                            "The provider's address must be https (http only on localhost): "
                            "{issuer}"),
    "net.issuer_mismatch": ("سند کشف سامانه صادرکننده دیگری را نام می‌برد: {found}",
                            "The provider's discovery document names another issuer: {found}"),
    "session.ended": ("اعتبار ورود این برنامه تمام شده یا لغو شده است. دوباره "
                      "«idp-phone pair» را اجرا کنید.",
                      "This app's login has ended or was revoked. Run “idp-phone pair” "
                      "again."),
    "api.error": ("{text} (کد خطا: {error}{description})",
                  "{text} (error code: {error}{description})"),
    # what each API error code means to the citizen
    "error.unknown_qr": ("این کد QR معتبر نیست یا منقضی شده است؛ در مرورگر کد جدید بگیرید.",
                         "This QR code is unknown or has expired; get a new code in the "
                         "browser."),
    "error.already_scanned": ("این کد را دستگاه دیگری اسکن کرده است.",
                              "Another device has already scanned this code."),
    "error.invalid_device": ("این دستگاه معتبر نیست یا حذف شده است.",
                             "This device is not valid or was unpaired."),
    "error.invalid_approval": ("سامانه تأیید را نپذیرفت.",
                               "The provider did not accept the approval."),
    "error.invalid_proof": ("سامانه اثبات مالکیت کلید را نپذیرفت.",
                            "The provider did not accept the proof of the key."),
    "error.too_many_devices": ("تعداد دستگاه‌های جفت شده به حداکثر رسیده است؛ ابتدا یکی را "
                               "حذف کنید.",
                               "The most devices allowed are paired; unpair one first."),
    "error.insufficient_scope": ("این برنامه اجازه این کار را ندارد.",
                                 "This app is not allowed to do that."),
    "error.invalid_token": ("اعتبار ورود این برنامه پذیرفته نشد.",
                            "The app's login was not accepted."),
    "error.not_found": ("پیدا نشد.", "Not found."),
    "error.rate_limited": ("درخواست‌ها بیش از حد مجاز است؛ کمی بعد دوباره تلاش کنید.",
                           "Too many requests; try again a little later."),
    "error.slow_down": ("درخواست‌ها بیش از حد مجاز است؛ کمی بعد دوباره تلاش کنید.",
                        "Too many requests; try again a little later."),
    "error.invalid_request": ("درخواست این برنامه پذیرفته نشد.",
                              "The provider did not accept the app's request."),
    "error.temporarily_unavailable": ("سامانه موقتا در دسترس نیست؛ کمی بعد دوباره تلاش کنید.",
                                      "The provider is unavailable for now; try again a "
                                      "little later."),
    "error.other": ("سامانه درخواست را نپذیرفت.", "The provider refused the request."),
}


def text(lang: str, key: str, **params: object) -> str:
    """The message ``key`` in ``lang`` ("fa" or "en"), formatted with ``params``."""
    persian, english = MESSAGES[key]
    template = english if lang == "en" else persian
    return template.format(**params)


def printable(value: object) -> str:
    """Text from the provider as it may reach the terminal: no control characters (escape
    sequences), no bidi overrides; on one line."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c
                   for c in str(value) if c not in BIDI_CONTROLS)


def digits(lang: str, value: object) -> str:
    """``value`` as text, with Persian digits in Persian."""
    shown = str(value)
    return shown if lang == "en" else shown.translate(PERSIAN_DIGITS)


class PhoneError(Exception):
    """A failure the citizen is told about: a catalogue message, its exit code, and, when the
    provider answered one, the error code and description of its JSON or OAuth error."""

    def __init__(self, key: str, exit_code: Exit, *, error: str | None = None,
                 description: str | None = None, **params: object) -> None:
        super().__init__(key, error)
        self.key = key
        self.exit_code = exit_code
        self.error = error
        self.description = description
        self.status = params.get("status")   # the HTTP status, when there was an answer
        self.params = params

    def message(self, lang: str) -> str:
        """The whole message in ``lang``, with the provider's error code when there is one."""
        said = text(lang, self.key, **self.params)
        if not self.error:
            return said
        separator = ", " if lang == "en" else "، "
        detail = separator + printable(self.description) if self.description else ""
        return text(lang, "api.error", text=said, error=printable(self.error),
                    description=detail)

    def __str__(self) -> str:
        return self.message("en")
