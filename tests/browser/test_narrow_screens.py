"""Narrow screens (issue 11): at 390 px no console page scrolls sideways, the navigation folds behind a
Menu button, the queue becomes cards; the same pages at 1440 px. Screenshots of every page at both widths
go to test-artefacts/browser/ (narrow-390-*.png, wide-1440-*.png).

The pages are those of liveness/urls.py that answer a GET with HTML (the CSV export, image and face-crop
views and the polled live panel are not pages).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from liveness.models import Case, WebhookDelivery, WebhookDeliveryStatus
from tests.browser.conftest import screenshot, wait_until
from tests.console_support import PASSWORD, pipeline_case, scripted_result
from tests.factories import PartnerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _pages(case: Case, delivery: WebhookDelivery) -> list[tuple[str, str]]:
    return [
        ("queue", reverse("case_list")),
        ("queue-filtered", reverse("case_list") + "?status=needs_review&q=NARROW"),
        ("case", reverse("case_detail", args=[case.public_id])),
        ("upload", reverse("case_upload")),
        ("verification-link", reverse("session_link_create")),
        ("approvals", reverse("approval_list")),
        ("dashboard", reverse("dashboard")),
        ("accuracy", reverse("accuracy")),
        ("providers", reverse("provider_settings")),
        ("blocklist", reverse("blocklist")),
        ("webhooks", reverse("webhook_list")),
        ("webhook", reverse("webhook_detail", args=[delivery.pk])),
        ("partners", reverse("partner_webhooks")),
    ]


def _data(scripted) -> tuple[Case, WebhookDelivery]:
    partner = PartnerFactory.create(webhook_url="https://partner.example.test/hooks/kyc/with/a/rather/long/path")
    case = pipeline_case(
        scripted,
        results=[scripted_result(0.45)],
        external_ref="NARROW-0001-a-partner-reference-that-is-long",
        partner=partner,
    )
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        event="case.decided",
        partner=partner,
        case=case,
        url=partner.webhook_url,
        payload={"type": "case.decided", "data": {"case": {"id": str(case.public_id)}}},
        status=WebhookDeliveryStatus.FAILED,
        attempts=1,
        attempt_limit=1,
        retry_until=now + timedelta(days=1),
        last_error="connection refused by https://partner.example.test/hooks/kyc/with/a/rather/long/path",
    )
    return case, delivery


def _no_sideways_scroll(page, name: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name} is {width[0]} px wide in a {width[1]} px window"


def test_no_console_page_scrolls_sideways_at_390_or_1440(page, log_in, role_user, scripted, settings) -> None:
    from django.contrib.auth.models import User

    admin = role_user("supervisor", "sam")
    User.objects.filter(pk=admin.pk).update(is_superuser=True, is_staff=True)  # every link in the navigation
    case, delivery = _data(scripted)
    log_in("sam", PASSWORD)
    pages = _pages(case, delivery)
    for width, prefix in ((390, "narrow-390"), (1440, "wide-1440")):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages:
            response = page.goto(url)
            assert response is not None
            assert response.status == 200, f"{name}: {response.status}"
            page.wait_for_load_state("load")
            _no_sideways_scroll(page, f"{name} at {width}")
            screenshot(page, f"{prefix}-{name}")


def test_at_390_the_navigation_folds_and_the_queue_is_cards(page, log_in, role_user, scripted) -> None:
    role_user("supervisor", "sam")
    _data(scripted)
    log_in("sam", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(reverse("case_list"))
    toggle = page.locator("[data-nav-toggle]")
    nav = page.locator("#mainnav")
    assert toggle.is_visible()
    assert not nav.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    wait_until(page, "document.querySelector('#mainnav').offsetHeight > 0", what="the menu to open")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert nav.locator("a", has_text="Dashboard").is_visible()
    screenshot(page, "narrow-390-menu-open")
    _no_sideways_scroll(page, "queue with the menu open")
    toggle.click()
    wait_until(page, "document.querySelector('#mainnav').offsetHeight === 0", what="the menu to close")

    # The queue: no header row, each case a card with labelled cells.
    assert page.evaluate("() => getComputedStyle(document.querySelector('table.queue thead')).display") == "none"
    row = page.locator("table.queue tbody tr").first
    assert page.evaluate("() => getComputedStyle(document.querySelector('table.queue tbody tr')).display") == "grid"
    label = page.evaluate(
        "() => getComputedStyle(document.querySelector('table.queue tbody td[data-label=Status]'), '::before').content"
    )
    assert label == '"Status"'  # each cell says what it is, the header row being gone
    assert "NARROW-0001" in row.inner_text()

    # At 1440 the navigation is a row of links and the queue a table again.
    page.set_viewport_size({"width": 1440, "height": 900})
    assert not toggle.is_visible()
    assert nav.is_visible()
    assert page.evaluate("() => getComputedStyle(document.querySelector('table.queue thead')).display") != "none"
