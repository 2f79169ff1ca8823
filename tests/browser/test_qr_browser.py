"""QR login in a real browser, approved with the phone app ``idp-phone`` (issue 7).

The QR page is photographed at phone width; the code is decoded from that screenshot with
zxing-cpp and handed to ``idp-phone scan --yes``; the browser then arrives at the municipal app
logged in — with JavaScript (event stream) and without it (the page reloads itself).
"""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from live import demo_person, free_port, serve, write_config
from test_journey_browser import (
    ARTIFACTS,
    CHROMIUM,
    MUNICIPAL_NAME,
    Recorder,
    assert_provider_page,
    fa,
    launch_chromium,
)

PHONE_SCOPE = "openid profile national_id offline_access device:register qr:approve"
IDP_PHONE = Path(sys.executable).parent / "idp-phone"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


def idp_phone(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(IDP_PHONE), "--state", str(state), *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def qr_sites(tmp_path):
    """The provider, the municipal app, and a phone paired with ``idp-phone pair``."""
    from clients.demo import DEMO_APPS
    from clients.phone.app import DEFAULT_REDIRECT_URI
    from idp import create_app
    from idp.settings import load_settings

    municipal_app = next(app for app in DEMO_APPS if app.name == "municipal")
    provider_port, municipal_port = free_port(), free_port()
    municipal_url = f"http://127.0.0.1:{municipal_port}"
    secret = secrets.token_urlsafe(24)
    config = write_config(tmp_path, port=provider_port, clients=[
        # Not first-party here: the consent page shows after the QR approval.
        {**municipal_app.registration(municipal_url, secret), "first_party": False,
         "name": MUNICIPAL_NAME},
        {"client_id": "phone", "name": "دولت همراه", "public": True, "first_party": True,
         "redirect_uris": [DEFAULT_REDIRECT_URI], "scope": PHONE_SCOPE}])
    settings = load_settings(config, environ={})
    provider = create_app(settings)
    issuer = settings.server.issuer
    municipal = municipal_app.create(issuer, secret, municipal_url,
                                     f"sqlite:///{tmp_path / 'municipal.sqlite'}")
    state = tmp_path / "phone" / "state.json"
    state.parent.mkdir(mode=0o700)
    year, month, day = demo_person["birth"]
    with serve(provider, provider_port), serve(municipal, municipal_port):
        paired = idp_phone(state, "pair", "--issuer", issuer, "--client-id", "phone",
                           "--mobile", demo_person["mobile"],
                           "--national-code", demo_person["national_code"],
                           "--birth-date", f"{year}/{month:02d}/{day:02d}",
                           "--outbox", str(settings.path(settings.sms.outbox_path)))
        assert paired.returncode == 0, paired.stdout + paired.stderr
        yield {"issuer": issuer, "municipal": municipal_url, "phone_state": state}
    provider.extensions["idp"].db.engine.dispose()


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def qr_page(request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844},
                                      device_scale_factor=2, is_mobile=True, has_touch=True,
                                      locale="fa-IR", java_script_enabled=request.param)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page, request.param
        finally:
            context.close()
            browser.close()


def decode(png: Path) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [found.text for found in zxingcpp.read_barcodes(Image.open(png))
            if found.format == zxingcpp.BarcodeFormat.QRCode]


def test_the_phone_app_approves_a_code_read_from_the_browser_screenshot(qr_sites, qr_page):
    page, javascript = qr_page
    sites = qr_sites
    record = Recorder(page, prefix=f"qr-{'js' if javascript else 'nojs'}-")
    page.goto(sites["municipal"] + "/")
    page.get_by_role("link", name="ورود با پنجره ملی").click()
    page.wait_for_url(re.compile(r".*/login/mobile(\?.*)?$"))
    tab = page.get_by_role("button", name="ورود با کد QR")
    assert tab.is_visible()
    with page.expect_navigation():
        tab.click()
    page.wait_for_url(re.compile(r".*/login/qr(\?.*)?$"))
    assert_provider_page(page, sites["issuer"], "ورود به سامانه از طریق کد QR")
    assert "دولت همراه" in page.locator("main").inner_text()
    shown = page.locator("#qr-code").get_attribute("data-url")
    record.shot("qr-page")
    screenshot = ARTIFACTS / f"{record.prefix}{record.count:02d}-qr-page.png"

    # The code is what the screen shows, read as a phone camera would read it.
    codes = decode(screenshot)
    assert codes == [shown], codes
    assert re.fullmatch(re.escape(sites["issuer"]) + r"/q/1/[A-Za-z0-9_-]{22}", codes[0])

    approved = idp_phone(sites["phone_state"], "scan", str(screenshot), "--yes")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert MUNICIPAL_NAME in approved.stdout  # the phone showed which service asks

    # With JavaScript the event stream says so at once; without it, the next reload does.
    page.wait_for_url(re.compile(r".*/login/consent(\?.*)?$"), timeout=30_000)
    assert_provider_page(page, sites["issuer"], "اجازه دسترسی")
    record.shot("consent")
    with page.expect_navigation():
        page.get_by_role("button", name="اجازه می‌دهم").click()
    # The service asks, once, for what the provider does not release: the e-mail (seed 000).
    page.wait_for_url(sites["municipal"] + "/email")
    page.get_by_label("پست الکترونیک").fill("ali@example.ir")
    page.get_by_role("button", name="ثبت").click()
    page.wait_for_url(sites["municipal"] + "/")
    name = page.locator("#citizen-name").inner_text()
    assert demo_person["given_name"] in name
    page.get_by_role("link", name="اطلاعات شهروندی").click()
    assert fa(demo_person["national_code"]) in page.locator("main").inner_text()
    record.shot("municipal-account")

    # The provider's own account page, «دستگاه‌ها» tab: the phone is listed and can be removed.
    page.goto(sites["issuer"] + "/account/devices")
    assert page.locator("html").get_attribute("dir") == "rtl"
    listed_here = page.locator("main .device-list").inner_text()
    assert "خط فرمان" in listed_here
    record.shot("account-devices")
    if javascript:
        with page.expect_navigation():
            page.locator("main .device-list button").first.click()
        assert "دستگاه حذف شد" in page.locator("main").inner_text()
        assert page.locator("main .device-list").count() == 0
        record.shot("account-device-removed")
        listed = idp_phone(sites["phone_state"], "devices")
        assert listed.returncode != 0  # its tokens were revoked with the device
    assert record.problems == []
