"""The operator console in a real browser: review, override with four-eyes, upload, live updates, dashboard."""

from __future__ import annotations

import re

import pytest

from liveness.models import ApprovalStatus, Case, CaseStatus, Verdict
from liveness.services import IncomingImage, case_create, check_execute
from tests.browser.conftest import screenshot, wait_until
from tests.console_support import PASSWORD, pipeline_case, scripted_result
from tests.helpers import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _expect(page, selector: str, text: str) -> None:
    """Wait until ``selector`` shows ``text`` (Playwright polls; nothing here measures time)."""
    page.wait_for_selector(f"{selector}:has-text({text!r})")


def _image_loaded(page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0"))


def test_an_operator_overrides_a_spoof_and_another_supervisor_approves_it(
    page, log_in, log_out, role_user, scripted
) -> None:
    role_user("operator", "olga")
    role_user("supervisor", "sam")
    pipeline_case(scripted, results=[scripted_result(0.45)], external_ref="APP-borderline")
    spoofed = pipeline_case(scripted, results=[scripted_result(0.12)], external_ref="APP-1001")
    assert spoofed.auto_verdict == Verdict.SPOOF

    # The operator finds the case in the queue by its partner reference and opens it.
    log_in("olga", PASSWORD)
    assert page.locator("table.queue tbody tr").count() == 2
    page.fill("#id_q", "APP-1001")
    page.click("#queue-filters button[type=submit]")
    page.wait_for_url(re.compile(r"q=APP-1001"))
    assert page.locator("table.queue tbody tr").count() == 1
    screenshot(page, "01-queue-search")
    page.click(f"a.caseid:has-text('{str(spoofed.public_id)[:8]}')")
    page.wait_for_url(f"**/cases/{spoofed.public_id}/")

    # Images come through the authenticated view with the face box drawn; the score bar shows the threshold.
    page.wait_for_selector("figure.evidence img")
    wait_until(page, "document.querySelector('figure.evidence img')?.naturalWidth > 0")
    assert _image_loaded(page, "figure.evidence img")
    assert page.locator("figure.evidence .facebox").count() == 1
    bar = page.locator("article.check[data-provider=scripted] .scorebar")
    assert bar.is_visible()
    assert bar.locator(".threshold").is_visible()
    assert bar.locator(".band").is_visible()
    assert "0.120" in page.inner_text("article.check[data-provider=scripted] .scorevalue")
    screenshot(page, "02-case-page")

    # Overriding without a reason is refused; with a reason it waits for a supervisor.
    page.check("input[name=verdict][value=live]")
    page.click("#decide-button")
    _expect(page, "#decide .error", "a reason is required")
    page.check("input[name=verdict][value=live]")
    page.fill("#decision-form textarea[name=reason]", "Customer re-verified on a video call; print artefacts absent.")
    page.uncheck("input[name=open_next]")  # stay on the case to see it wait (the default opens the next one)
    page.click("#decide-button")
    _expect(page, "#pending-approval", "Override awaiting approval")
    assert page.locator("#approve-button").count() == 0  # an operator cannot approve
    screenshot(page, "03-override-pending")
    assert Case.objects.get(pk=spoofed.pk).status == CaseStatus.PENDING_APPROVAL
    log_out()

    # A supervisor approves it from the four-eyes page.
    log_in("sam", PASSWORD)
    page.click("nav.mainnav >> text=Approvals")
    _expect(page, "table.approvals", "Customer re-verified")
    screenshot(page, "04-approvals")
    page.click("table.approvals button:has-text('Approve')")
    _expect(page, ".messages", "approved: the case is now live")
    page.goto(f"/cases/{spoofed.public_id}/")
    _expect(page, "#final-verdict", "Live")
    _expect(page, "ol.decisions", "Approved")
    screenshot(page, "05-approved")
    spoofed.refresh_from_db()
    assert (spoofed.status, spoofed.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
    assert spoofed.decisions.get().approval_status == ApprovalStatus.APPROVED


def test_an_uploaded_selfie_is_checked_and_decided(page, log_in, role_user, scripted, settings, tmp_path) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the upload is checked in-process, by the scripted provider
    scripted.script.append(scripted_result(0.91))
    role_user("operator", "olga")
    selfie = tmp_path / "selfie.jpg"
    selfie.write_bytes(image_bytes())

    log_in("olga", PASSWORD)
    page.click("nav.mainnav >> text=Upload")
    assert page.locator("fieldset[data-kind=id_document]").is_hidden()  # only the chosen kind's fields
    page.fill("#id_external_ref", "walk-in-42")
    page.set_input_files("#id_selfie", str(selfie))
    screenshot(page, "06-upload-form")
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"/cases/[0-9a-f-]{36}/$"))
    _expect(page, "#case-status", "Decided")
    _expect(page, "#final-verdict", "Live")
    wait_until(page, "document.querySelector('figure.evidence img')?.naturalWidth > 0")
    screenshot(page, "07-uploaded-case-decided")
    case = Case.objects.get(external_ref="walk-in-42")
    assert case.created_by is not None
    assert (case.status, case.final_verdict, case.created_by.username) == (CaseStatus.DECIDED, Verdict.LIVE, "olga")


def test_the_case_page_follows_running_checks_without_a_reload(page, log_in, role_user, scripted) -> None:
    role_user("operator", "olga")
    case = case_create(kind="selfie", images=[IncomingImage(role="selfie", data=image_bytes())]).case
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    _expect(page, "#live-panel", "0 of 1 check finished")
    screenshot(page, "08-checks-running")

    scripted.script.append(scripted_result(0.2))
    check_execute(check_id=case.checks.get().pk)

    # htmx polls the panel, sees the status move on and refreshes the page itself.
    _expect(page, "#final-verdict", "Spoof")
    _expect(page, "#case-status", "Decided")
    screenshot(page, "09-checks-settled")
    assert page.locator("#live-panel[hx-get]").count() == 0  # polling stops once settled


def test_a_supervisor_sees_the_dashboard_charts(page, log_in, role_user, scripted) -> None:
    role_user("supervisor", "sam")
    for score in (0.9, 0.1, 0.45):
        pipeline_case(scripted, results=[scripted_result(score)])
    log_in("sam", PASSWORD)
    page.click("nav.mainnav >> text=Dashboard")
    page.wait_for_selector("body[data-charts-drawn=true]")
    _expect(page, "#kpi-cases", "3")
    _expect(page, "#provider-stats", "scripted")
    for chart in ("chart-outcomes", "chart-deciders", "chart-latency"):
        assert page.eval_on_selector(f"#{chart}", "c => c.width > 0 && c.height > 0")
    screenshot(page, "10-dashboard")


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_api_documentation_renders_under_the_strict_csp(page, path: str) -> None:
    # ReDoc's bundle hard-codes one image from its vendor's CDN (the "API docs by Redocly" badge): the CSP
    # blocks it, as it should; nothing else may be refused.
    page.expected_csp_blocks.append("https://cdn.redoc.ly/redoc/logo-mini.svg")
    page.goto(path)
    # Swagger UI and ReDoc both render the schema's title once their scripts have run.
    page.get_by_text("KYC", exact=False).first.wait_for(timeout=20_000)
    assert page.locator("body").inner_text().strip()
