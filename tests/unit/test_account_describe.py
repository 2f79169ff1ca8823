"""How the account page describes a browser, an address and a moment (issue 12)."""

from datetime import UTC, datetime

import pytest

from idp.account_tabs.describe import browser_of, jalali, place_of

CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36")


@pytest.fixture
def persian(app):
    with app.test_request_context("/"):
        yield


def test_browser_from_user_agent(persian):
    assert browser_of(CHROME_ANDROID) == "Chrome Mobile 120 روی Android"
    assert browser_of("") == browser_of(None) == browser_of("???") \
        == "مرورگر نامشخص"


def test_place_from_address(persian):
    assert place_of("127.0.0.1") == place_of("::1") == "همین رایانه (نشانی داخلی)"
    assert place_of("192.168.1.20") == place_of("10.0.0.5") == "شبکه خصوصی (اداره یا خانه)"
    assert place_of("5.160.0.1") == "اینترنت (نشانی عمومی)"
    assert place_of("not an address") == place_of(None) == "نامشخص"


def test_jalali_in_iran_time(persian):
    # 2026-11-30 02:00 UTC is 1405/09/09 05:30 in Tehran (UTC+3:30).
    assert jalali(datetime(2026, 11, 30, 2, 0)) == "1405/09/09 05:30"
    assert jalali(datetime(2026, 11, 30, 2, 0, tzinfo=UTC).timestamp()) == "1405/09/09 05:30"
    assert jalali(None) == jalali(0) == "—"
