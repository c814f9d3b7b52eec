"""Browser tests: Playwright for Python driving Debian's headless Chromium against pytest-django's live server.

No browser is ever downloaded (``playwright install`` is never run): the tests use /usr/bin/chromium from
the distribution and skip, saying so, where it is absent. Screenshots go to test-artefacts/browser/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTEFACTS = Path(settings.BASE_DIR) / "test-artefacts" / "browser"


@pytest.fixture
def page(live_server, monkeypatch, request) -> Iterator[Any]:
    """A fresh Chromium page. JavaScript errors and Content-Security-Policy violations on any page fail the test."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are still
    # synchronous code, which Django would otherwise refuse next to a running loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        #: Substrings of CSP reports a test expects (a third-party bundle's hard-coded outbound load, blocked).
        tab.expected_csp_blocks = []
        # The portal's CSP forbids inline script and foreign origins: a page that breaks it logs this.
        tab.on(
            "console",
            lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
        )
        try:
            yield tab
        finally:
            if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
                screenshot(tab, f"{request.node.name}-failed")
            context.close()
            browser.close()
    unexpected = [e for e in errors if not any(allowed in e for allowed in tab.expected_csp_blocks)]
    assert not unexpected, f"JavaScript errors or CSP violations in the page: {unexpected}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets the page fixture know the test failed, to keep a screenshot of where it stood.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def screenshot(tab: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def log_in(page) -> Callable[[str, str], None]:
    def _log_in(username: str, password: str) -> None:
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/")

    return _log_in


@pytest.fixture
def log_out(page) -> Callable[[], None]:
    def _log_out() -> None:
        page.click("text=Log out")
        page.wait_for_url("**/login/")

    return _log_out


def wait_until(page: Any, expression: str, *, timeout_s: float = 15.0, what: str = "") -> None:
    """Poll a JavaScript condition from the test (``page.evaluate`` runs outside the page's CSP).

    Not ``page.wait_for_function``: Playwright's in-page polling evaluates a string, which the portal's
    Content-Security-Policy (no 'unsafe-eval') rightly refuses, so it fails whenever the first try is false.
    """
    steps = max(1, int(timeout_s * 10))
    for _ in range(steps):
        if page.evaluate(f"() => Boolean({expression})"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what or expression}")
