"""The review loop in a real browser (issue 11): what a reviewer sees first, faces side by side, the image
viewer, keyboard shortcuts, decide-and-open-next over ten cases, approvals, the timeline, claims.

Every test writes screenshots at 1440 and 390 px wide under test-artefacts/browser/ (review-*.png).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from liveness.models import Case, CaseStatus, Verdict
from tests.browser.conftest import screenshot, wait_until
from tests.console_support import PASSWORD
from tests.review_support import id_document_case, waiting_cases

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1440, "height": 900}
NARROW = {"width": 390, "height": 844}


def _both_widths(page: Any, name: str) -> None:
    """Screenshots at 1440 and 390 px wide; the page is left at 1440 x 900."""
    page.set_viewport_size(NARROW)
    screenshot(page, f"review-{name}-390")
    page.set_viewport_size(WIDE)
    screenshot(page, f"review-{name}-1440")


def _top(page: Any, selector: str) -> float:
    """Where the bottom of the first ``selector`` is, in px from the top of the page at the scroll origin."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not drawn"
    return box["y"] + box["height"]


def test_at_1440_the_verdict_reasons_scores_and_decision_form_need_no_scrolling(page, log_in, role_user, scripted):
    role_user("operator", "olga")
    case = id_document_case(scripted, similarity=0.31)
    assert case.status == CaseStatus.NEEDS_REVIEW
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    assert page.evaluate("window.scrollY") == 0
    for selector in ("#live-panel .livehead", "#headline", ".reasoncodes", "article.check .scorebar", "#decide-button"):
        assert _top(page, selector) <= WIDE["height"], f"{selector} is below the fold"
    _both_widths(page, "01-above-the-fold")
