"""What the municipal browser tests share: Chromium for a test whose screenshots go to one
folder, a page carrying a citizen's municipal login, and a camera that shoots a page at
390×844 and 1366×768 and, with JavaScript on, has axe-core check it (issue 10)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_account_browser import axe_source, serious_violations
from test_journey_browser import CHROMIUM, launch_chromium

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


def browser_fixture(artifacts: Path):
    """A test module's ``browser`` fixture: Chromium, its screenshots going to ``artifacts``
    (made if missing)."""

    @pytest.fixture
    def browser() -> Iterator:
        artifacts.mkdir(parents=True, exist_ok=True)
        with launch_chromium() as chromium:
            yield chromium

    return browser


def logged_in_page(browser, sites, http, javascript: bool, **options):
    """A page at phone size carrying the municipal login of ``http`` (a ``requests`` session
    that walked through the provider); ``options`` go to the browser context."""
    # axe is injected as an inline script, which the app's CSP refuses.
    context = browser.new_context(viewport=SIZES["phone"], locale="fa-IR",
                                  java_script_enabled=javascript, bypass_csp=javascript,
                                  **options)
    context.add_cookies([{"name": "municipal_session", "value": http.cookies["municipal_session"],
                          "url": sites["municipal"]}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


class Camera:
    """Shoots pages into ``artifacts`` as ``<name>-<size>.png`` at both sizes (full length);
    ``shoot`` also checks the page is RTL and, with JavaScript, has axe-core check it, keeping
    the serious and critical violations in ``violations``."""

    def __init__(self, artifacts: Path, javascript: bool) -> None:
        self.artifacts = artifacts
        self.axe = axe_source() if javascript else ""
        self.violations: list[str] = []

    def screens(self, page, name: str) -> None:
        """The page at phone and desktop size, then back to the phone."""
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.screenshot(path=str(self.artifacts / f"{name}-{size}.png"), full_page=True)
        page.set_viewport_size(SIZES["phone"])

    def shoot(self, page, name: str) -> None:
        assert page.locator("html").get_attribute("dir") == "rtl"
        self.screens(page, name)
        if self.axe:
            self.violations += serious_violations(page, self.axe)
