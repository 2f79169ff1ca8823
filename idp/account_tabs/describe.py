"""How the account page tells a citizen about a browser, an address and a moment.

No GeoIP database ships with the provider, so a place is described by what the address itself
says (this computer, a private network, the internet); dates are Jalali, in Iran's time.
"""

import ipaddress
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import jdatetime
from flask_babel import gettext as _

TEHRAN = ZoneInfo("Asia/Tehran")


@lru_cache(maxsize=1024)
def _browser(agent: str) -> tuple[str, str]:
    from ua_parser import parse  # here: only the account page reads it (issue 9: memory)

    result = parse(agent)
    name = result.user_agent.family if result.user_agent else ""
    if result.user_agent and result.user_agent.major:
        name = f"{name} {result.user_agent.major}"
    system = result.os.family if result.os and result.os.family != "Other" else ""
    return ("" if name.startswith("Other") else name), system


def browser_of(agent: str | None) -> str:
    """«Chrome 120 روی Android» from a User-Agent header; plain words when it says nothing."""
    if not agent:
        return _("مرورگر نامشخص")
    name, system = _browser(agent)
    if not name:
        return _("مرورگر نامشخص")
    return _("%(browser)s روی %(system)s", browser=name, system=system) if system else name


def place_of(ip: str | None) -> str:
    """What an address says about where a session is: this computer, a private network, or
    somewhere on the internet (the address itself is shown beside it)."""
    if not ip:
        return _("نامشخص")
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return _("نامشخص")
    if address.is_loopback:
        return _("همین رایانه (نشانی داخلی)")
    if address.is_private or address.is_link_local:
        return _("شبکه خصوصی (اداره یا خانه)")
    return _("اینترنت (نشانی عمومی)")


def jalali(moment: datetime | int | float | None) -> str:
    """``1405/09/09 ۱۴:۳۰``-style Jalali date and time in Iran's time (digits left ASCII for the
    template's ``digits`` macro). ``moment`` is a naive UTC datetime or a Unix time."""
    if moment is None or moment == 0:
        return "—"
    if isinstance(moment, int | float):
        aware = datetime.fromtimestamp(moment, UTC)
    else:
        aware = moment.replace(tzinfo=UTC)
    local = aware.astimezone(TEHRAN)
    return jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M")
