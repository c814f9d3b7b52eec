"""The partners' webhook page in a real browser, at 1440 and 390 px: an admin sets the URL, creates the
signing secret (shown once), and nothing on the page is wider than the screen."""

from __future__ import annotations

import pytest

from liveness.models import AuditEvent, Partner
from tests.browser.conftest import ARTEFACTS, screenshot
from tests.console_support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: How wide the whole document is (no sideways scroll: the navigation folds at 390 px).
CONTENT_RIGHT = "() => document.documentElement.scrollWidth"


def open_partners(page, width: int) -> None:
    """Through the navigation, as an admin would: on a phone it is folded behind the Menu button."""
    if width < 760:
        page.wait_for_load_state("load")
        page.click("[data-nav-toggle]")
    page.click("nav.mainnav >> text=Partners")


@pytest.mark.parametrize("width", [1440, 390])
def test_an_admin_sets_a_partners_webhook_and_gets_its_secret_once(page, log_in, role_user, width) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    role_user("admin", "ada")
    Partner.objects.create(name="Demo Bank", slug="demo-bank")
    log_in("ada", PASSWORD)
    open_partners(page, width)
    page.wait_for_selector("#partner-demo-bank")
    assert "no webhook URL: no events sent" in page.inner_text("#partner-demo-bank")

    page.fill("#id_demo-bank-webhook_url", "https://partner.example/kyc-webhooks")
    page.click("#partner-demo-bank >> text=Save URL")
    page.wait_for_selector("text=Demo Bank: webhook URL saved.")
    assert "no signing secret: deliveries fail" in page.inner_text("#partner-demo-bank")

    page.click("#partner-demo-bank >> text=Create secret")
    page.wait_for_selector("#new-secret")
    shown = page.inner_text("[data-secret]").strip()
    assert shown == Partner.objects.get(slug="demo-bank").webhook_secret
    assert shown.startswith("whsec_")
    assert page.evaluate(CONTENT_RIGHT) <= width
    screenshot(page, f"30-partner-webhooks-secret-{width}")

    open_partners(page, width)
    page.wait_for_selector("#partner-demo-bank")
    text = page.inner_text("#partner-demo-bank")
    assert shown not in page.content()  # shown once
    assert "sending events" in text
    assert "Rotate secret" in text
    assert "URL (none) → https://partner.example/kyc-webhooks" in page.inner_text("main")
    assert page.evaluate(CONTENT_RIGHT) <= width
    screenshot(page, f"31-partner-webhooks-{width}")
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "partner.webhook_url_changed",
        "partner.webhook_secret_rotated",
    }


@pytest.mark.parametrize(
    ("path", "shot"), [("/api/v1/docs/", "32-api-docs-webhooks"), ("/api/v1/redoc/", "33-redoc-webhooks")]
)
def test_swagger_and_redoc_show_the_webhooks(page, path: str, shot: str) -> None:
    page.expected_csp_blocks.append("https://cdn.redoc.ly/redoc/logo-mini.svg")  # ReDoc's badge (see console test)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(path)
    page.get_by_text("case.resubmission_requested", exact=False).first.wait_for(timeout=30_000)
    page.get_by_text("case.resubmission_requested", exact=False).first.scroll_into_view_if_needed()
    text = page.locator("body").inner_text()
    for event in ("case.decided", "verification_session.submitted", "verification_session.expired"):
        assert event in text, event
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{shot}.png"))  # the viewport: the whole document is too tall
