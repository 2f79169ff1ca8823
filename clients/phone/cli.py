"""The ``idp-phone`` command: pair, scan, devices, unpair, status.

Persian by default (``--lang en`` for English). Messages go to standard output, failures to
standard error with the provider's error code, and the exit code says what happened
(:class:`clients.phone.messages.Exit`).
"""

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
import jdatetime

from clients.phone.app import (
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPE,
    PLATFORMS,
    Phone,
    Scan,
    default_display_name,
)
from clients.phone.login import PERSIAN_TO_ASCII, Answers, OutboxCodes, Prompter, parse_birth
from clients.phone.messages import MESSAGES, Exit, PhoneError, digits, printable, text

# Citizens read times on the Iranian clock, wherever the app runs.
TEHRAN = ZoneInfo("Asia/Tehran")
YES = {"y", "yes", "ب", "بله", "آره", "تایید", "تأیید"}
NO = {"n", "no", "ن", "نه", "خیر", "رد"}


class TerminalPrompter(Prompter):
    """Asks on the terminal; standard input may also be a pipe (scripts, tests)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def say(self, message: str) -> None:
        click.echo(message)

    def ask(self, label: str, choices: Sequence[tuple[str, str]] = ()) -> str:
        if choices:
            for number, (_, shown) in enumerate(choices, 1):
                click.echo(f"  {digits(self.lang, number)}) {shown}")
            label = f"{label} ({text(self.lang, 'login.choose')})"
        while True:
            answer = click.prompt(label, default="", show_default=False).strip()
            if not choices:
                if answer:
                    return answer
                continue
            typed = answer.translate(PERSIAN_TO_ASCII)
            if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= len(choices):
                return choices[int(typed) - 1][0]
            for value, shown in choices:
                if answer in (value, shown):
                    return value


def when(lang: str, value: object) -> str:
    """A time from the provider (UNIX seconds or ISO 8601) on the Tehran clock; Jalali in
    Persian. Anything else is shown as it came."""
    if value is None or value == "":
        return text(lang, "devices.never")
    try:
        if isinstance(value, int | float):
            moment = datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return printable(value)
    local = moment.astimezone(TEHRAN)
    if lang == "en":
        return local.strftime("%Y-%m-%d %H:%M:%S (Tehran)")
    return digits(lang, jdatetime.datetime.fromgregorian(datetime=local).strftime(
        "%Y/%m/%d %H:%M:%S"))


class Context:
    def __init__(self, state: str | None, lang: str, timeout: float) -> None:
        self.lang = lang
        self.phone = Phone(state, lang=lang, prompter=TerminalPrompter(lang), timeout=timeout)

    def say(self, key: str, **params: object) -> None:
        click.echo(text(self.lang, key, **params))


def _run(ctx: Context, action) -> None:
    """Run ``action``; a PhoneError becomes its message on standard error and its exit code."""
    try:
        action()
    except PhoneError as exc:
        label = "error" if ctx.lang == "en" else "خطا"
        click.echo(f"{label}: {exc.message(ctx.lang)}", err=True)
        sys.exit(int(exc.exit_code))
    except (click.Abort, KeyboardInterrupt):
        click.echo()
        click.echo(text(ctx.lang, "cancelled"), err=True)
        sys.exit(int(Exit.CANCELLED))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--state", "state_path", envvar="IDP_PHONE_STATE", type=click.Path(dir_okay=False),
              help="The app's file (key, device, tokens; mode 0600). "
                   "Default: $XDG_CONFIG_HOME/idp-phone/state.json.")
@click.option("--lang", type=click.Choice(["fa", "en"]), default="fa", envvar="IDP_PHONE_LANG",
              show_default=True, help="Language of the messages.")
@click.option("--timeout", type=click.FloatRange(min=1), default=10.0, show_default=True,
              help="Seconds to wait for the provider.")
@click.pass_context
def main(ctx: click.Context, state_path: str | None, lang: str, timeout: float) -> None:
    """The phone app of the national single sign-on («دولت همراه»), on the command line.

    \b
    1. idp-phone pair --issuer URL --client-id ID      log in once, register this device's key
    2. idp-phone scan SCREENSHOT.png   (or the URL)    approve or deny a QR-code login
    3. idp-phone devices / idp-phone unpair [ID]       list or remove paired devices

    \b
    Exit codes: 0 done, 1 refused by the provider (its error code is printed), 2 bad usage,
    3 not a login code of the paired provider, 4 not paired, 5 login failed, 6 provider not
    reachable, 7 state file unusable, 8 the app's login ended (pair again), 9 too late to decide,
    130 cancelled.
    """
    ctx.obj = Context(state_path, lang, timeout)


@main.command()
@click.option("--issuer", required=True, envvar="IDP_PHONE_ISSUER",
              help="The provider's issuer URL, e.g. https://my.gov.ir (http only on localhost).")
@click.option("--client-id", required=True, envvar="IDP_PHONE_CLIENT_ID",
              help="The phone app's client id at the provider (a public first-party client "
                   "registered with the device:register and qr:approve scopes).")
@click.option("--redirect-uri", default=DEFAULT_REDIRECT_URI, show_default=True,
              help="A redirect URI registered for the client (never opened: the code is read "
                   "from the redirect).")
@click.option("--scope", default=DEFAULT_SCOPE, show_default=True)
@click.option("--name", "display_name", default=None,
              help="This device's name in the device list (default: idp-phone (HOSTNAME)).")
@click.option("--platform", type=click.Choice(PLATFORMS), default="cli", show_default=True)
@click.option("--mobile", default=None, help="Mobile number (asked when not given).")
@click.option("--national-code", default=None, help="National code, when the login asks.")
@click.option("--birth-date", default=None, help="Jalali birth date YYYY/MM/DD, when asked.")
@click.option("--outbox", type=click.Path(dir_okay=False), default=None,
              help="Demo only: read the one-time code from the provider's SMS outbox file "
                   "(otherwise it is asked).")
@click.pass_obj
def pair(obj: Context, issuer: str, client_id: str, redirect_uri: str, scope: str,
         display_name: str | None, platform: str, mobile: str | None,
         national_code: str | None, birth_date: str | None, outbox: str | None) -> None:
    """Log in through the provider (PKCE) and register this device's ES256 key.

    The login pages are walked here: the captcha image is saved to a file next to the state
    file for you to read, the one-time code is read from --outbox or asked.
    """
    def action() -> None:
        answers = Answers(mobile=mobile, national_code=national_code,
                          birth=parse_birth(birth_date) if birth_date else None,
                          otp=OutboxCodes(outbox) if outbox else None)
        name = display_name or default_display_name()
        device = obj.phone.pair(issuer, client_id, redirect_uri=redirect_uri, scope=scope,
                                display_name=name, platform=platform, answers=answers)
        obj.say("pair.done", name=device.display_name, device_id=device.device_id)

    _run(obj, action)


def _show(obj: Context, scan: Scan) -> None:
    lang = obj.lang
    context = {key: printable(value) for key, value in scan.context.items()
               if isinstance(value, str | int | float) and not isinstance(value, bool)}
    click.echo(f"— {text(lang, 'scan.title')} —")
    client = context.get("client_name_fa") or context.get("client_name") or \
        context.get("client_id")
    unknown = text(lang, "scan.unknown")
    obj.say("scan.client", value=client or unknown)
    browser = context.get("browser")
    obj.say("scan.browser", value=unknown if browser in (None, "", "unknown") else browser)
    obj.say("scan.created", value=when(lang, scan.context.get("created_at")))
    place = "، ".join(context[k] for k in ("ip_city", "ip_country") if context.get(k))
    if place:
        obj.say("scan.place", value=place)
    proximity = context.get("proximity")
    if proximity:
        key = f"proximity.{proximity}"
        obj.say("scan.proximity", value=text(lang, key) if key in MESSAGES else proximity)
    obj.say("scan.warning")
    left = scan.approve_by - int(obj.phone.clock())
    if left > 0:
        obj.say("scan.deadline", seconds=digits(lang, left))


def _decide(obj: Context, yes: bool, no: bool) -> bool:
    """The citizen's decision: the flag, or asked, with no default answer (design §2.3)."""
    if yes or no:
        return yes
    while True:
        try:
            answer = click.prompt(text(obj.lang, "scan.ask"), default="",
                                  show_default=False).strip().lower()
        except click.Abort:
            # Leaving without a decision denies: a scanned code must not stay open.
            click.echo()
            obj.say("scan.no_answer")
            return False
        if answer in YES:
            return True
        if answer in NO:
            return False
        obj.say("scan.ask_again")


def _number(obj: Context, scan: Scan) -> int | None:
    if not scan.nm_choices:
        return None
    shown = "  ".join(digits(obj.lang, n) for n in scan.nm_choices)
    choice = obj.phone.prompter.ask(text(obj.lang, "scan.nm_ask", choices=shown),
                                    [(str(n), digits(obj.lang, n)) for n in scan.nm_choices])
    return int(choice)


@main.command()
@click.argument("image_or_url")
@click.option("--yes", "yes", is_flag=True, help="Approve without asking.")
@click.option("--no", "no", is_flag=True, help="Deny without asking.")
@click.pass_obj
def scan(obj: Context, image_or_url: str, yes: bool, no: bool) -> None:
    """Scan a login QR code (an image file, or its https://…/q/1/… URL), show who is asking,
    and approve or deny it with this device's key."""
    if yes and no:
        raise click.UsageError("--yes and --no exclude each other")

    def action() -> None:
        qid = obj.phone.read_code(image_or_url.strip(" \t\r\n"))
        found = obj.phone.scan(qid)
        _show(obj, found)
        approve = _decide(obj, yes, no)
        number = _number(obj, found) if approve else None
        status = obj.phone.decide(found, approve, nm=number)
        obj.say("scan.approved" if status == "approved" else "scan.denied")

    _run(obj, action)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the provider's list as JSON.")
@click.pass_obj
def devices(obj: Context, as_json: bool) -> None:
    """List the citizen's paired devices."""
    def action() -> None:
        found = obj.phone.devices()
        if as_json:
            click.echo(json.dumps({"devices": found}, ensure_ascii=False, indent=2))
            return
        if not found:
            obj.say("devices.none")
            return
        state = obj.phone.state
        own = state.device.device_id if state and state.device else None
        obj.say("devices.header")
        for device in found:
            mine = device.get("device_id") == own
            obj.say("devices.row", mark="*" if mine else "-",
                    name=printable(device.get("display_name")),
                    this=f" {text(obj.lang, 'devices.this')}" if mine else "",
                    platform=printable(device.get("platform")),
                    device_id=printable(device.get("device_id")),
                    created=when(obj.lang, device.get("created_at")),
                    used=when(obj.lang, device.get("last_used_at")))

    _run(obj, action)


@main.command()
@click.argument("device_id", required=False)
@click.option("--local", is_flag=True,
              help="Only forget this device's key and tokens, without asking the provider "
                   "(when its login has already ended).")
@click.pass_obj
def unpair(obj: Context, device_id: str | None, local: bool) -> None:
    """Unpair a device (default: this one). Unpairing this device forgets its key."""
    def action() -> None:
        if local:
            forgot = obj.phone.forget()
            obj.say("unpair.forgot" if forgot else "unpair.nothing", path=obj.phone.state_path)
            return
        state = obj.phone.state
        target = device_id or (state.device.device_id if state and state.device else None)
        forgot = obj.phone.unpair(device_id)
        obj.say("unpair.done", device_id=target)
        if forgot:
            obj.say("unpair.forgot", path=obj.phone.state_path)

    _run(obj, action)


@main.command()
@click.pass_obj
def status(obj: Context) -> None:
    """Show what this app is paired with (read from the state file only)."""
    def action() -> None:
        state = obj.phone.state
        if state is None or state.device is None:
            raise PhoneError("state.not_paired", Exit.NOT_PAIRED)
        obj.say("status.paired", issuer=state.issuer, device_id=state.device.device_id,
                name=state.device.display_name, sub=state.sub)
        if state.tokens:
            obj.say("status.session", until=when(obj.lang, state.tokens.expires_at))

    _run(obj, action)
