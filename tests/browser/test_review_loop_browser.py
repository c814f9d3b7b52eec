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
    # An ID document whose selfie is another person reads "face mismatch", never "spoof", in the verdict area.
    assert "Face mismatch" in page.inner_text("#headline")
    assert "spoof" not in page.inner_text("#live-panel .livehead").lower()


def _short(case: Case) -> str:
    return str(case.public_id)[:8]


def test_ten_cases_are_decided_with_two_actions_and_one_page_load_each(page, log_in, role_user):
    """Decide-and-open-next: from the needs-review queue, a verdict key and Enter decide a case and open the
    next one of that queue. Actions are the key presses the operator makes; page loads are main-frame
    navigations. Live and spoof need no reason here (no standing verdict), so none is typed."""
    role_user("operator", "olga")
    cases = waiting_cases(10)
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto("/?status=needs_review")  # the queue the operator works from
    page.click(f"a.caseid:has-text('{_short(cases[0])}')")
    page.wait_for_url(f"**/cases/{cases[0].public_id}/")

    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    per_case: list[tuple[int, int]] = []
    for number, case in enumerate(cases):
        assert page.url.endswith(f"/cases/{case.public_id}/"), f"case {number + 1} did not open next"
        if number == 0:
            _both_widths(page, "02-decide-next")
        before, actions = len(loads), 0
        page.keyboard.press("l" if number % 2 == 0 else "s")
        actions += 1
        with page.expect_navigation():
            page.keyboard.press("Enter")
            actions += 1
        page.wait_for_load_state()
        per_case.append((actions, len(loads) - before))

    assert all(actions <= 2 for actions, _ in per_case), per_case
    assert all(pages <= 1 for _, pages in per_case), per_case
    assert sum(actions for actions, _ in per_case) == 20
    assert sum(pages for _, pages in per_case) == 10
    # After the tenth, the queue is empty: the operator lands on it.
    assert re.search(r"/(\?.*)?$", page.url)
    assert "Nothing else in your queue" in page.inner_text(".messages")
    decided = {c.public_id: (c.status, c.final_verdict) for c in Case.objects.all()}
    for number, case in enumerate(cases):
        verdict = Verdict.LIVE if number % 2 == 0 else Verdict.SPOOF
        assert decided[case.public_id] == (CaseStatus.DECIDED, verdict)


def test_images_open_large_with_zoom_and_pan_and_close_with_escape(page, log_in, role_user, scripted):
    role_user("operator", "olga")
    case = id_document_case(scripted, similarity=0.82)
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    wait_until(page, "document.querySelector('#images .imgwrap img')?.naturalWidth > 0", what="the first image")
    page.click("#images .imgwrap")
    wait_until(page, "document.getElementById('viewer').open", what="the viewer")
    wait_until(page, "document.getElementById('viewer-image').naturalWidth > 0", what="the large image")

    def scale() -> float:
        return float(page.get_attribute("#viewer", "data-scale") or "0")

    fitted = scale()
    assert fitted > 1, "a 320 px image is shown larger than its size in the viewer"
    page.keyboard.press("+")
    assert scale() == pytest.approx(fitted * 1.25)
    page.click("#viewer [data-zoom=out]")
    assert scale() == pytest.approx(fitted)
    stage = page.locator("#viewer-stage").bounding_box()
    assert stage is not None
    page.mouse.move(stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
    page.mouse.wheel(0, -200)
    wait_until(page, f"Number(document.getElementById('viewer').dataset.scale) > {fitted}", what="wheel zoom")
    before = page.locator("#viewer-image").bounding_box()
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] / 2 + 80, stage["y"] + stage["height"] / 2 + 40, steps=4)
    page.mouse.up()
    after = page.locator("#viewer-image").bounding_box()
    assert before is not None
    assert after is not None
    assert (round(after["x"] - before["x"]), round(after["y"] - before["y"])) == (80, 40)
    _both_widths(page, "03-viewer")
    page.keyboard.press("Escape")
    wait_until(page, "!document.getElementById('viewer').open", what="the viewer to close")
    # The viewer's image came through the audited view like every other look.
    assert case.events.filter(action="evidence.viewed").count() >= 3


def test_faces_side_by_side_with_the_match_in_words_and_measurements_folded_away(page, log_in, role_user, scripted):
    role_user("operator", "olga")
    case = id_document_case(scripted, similarity=0.31)
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    pair = page.locator("#face-pairs figure.facepair").first
    assert "different people: 0.31, threshold 0.50" in pair.inner_text()
    for n in range(2):
        wait_until(page, f"document.querySelectorAll('#face-pairs .crop img')[{n}]?.naturalWidth > 0", what="crop")
    crops = case.events.filter(action="evidence.viewed", data__crop="face")
    assert sorted(e.data["role"] for e in crops) == ["id_front", "selfie"]
    # Engine measurements (EAR …) are behind "details", closed until asked for.
    measures = page.locator("#images details.measures").first
    assert measures.get_attribute("open") is None
    assert not page.locator("#images details.measures dd:has-text('EAR')").first.is_visible()
    measures.locator("summary").click()
    assert page.locator("#images details.measures dd:has-text('EAR')").first.is_visible()
    _both_widths(page, "04-faces-side-by-side")


def test_labels_of_face_boxes_close_together_do_not_overlap(page, log_in, role_user, scripted):
    from tests.console_support import pipeline_case, scripted_result, selfie_details

    role_user("operator", "olga")
    boxes = [
        {"left": 100, "top": 60, "right": 200, "bottom": 180},
        {"left": 104, "top": 62, "right": 196, "bottom": 170},
    ]
    faces = [{"box": b, "detection_score": s} for b, s in zip(boxes, (0.98, 0.61), strict=True)]
    details = selfie_details(faces=faces, main_face=faces[0], face_outcome="multiple_faces", face_count=2)
    case = pipeline_case(scripted, results=[scripted_result(0.4, details=details)])
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    labels = page.locator("#images .facebox span")
    assert labels.count() == 2
    first, second = labels.nth(0).bounding_box(), labels.nth(1).bounding_box()
    assert first is not None
    assert second is not None
    overlap_x = min(first["x"] + first["width"], second["x"] + second["width"]) - max(first["x"], second["x"])
    overlap_y = min(first["y"] + first["height"], second["y"] + second["height"]) - max(first["y"], second["y"])
    assert overlap_x <= 0 or overlap_y <= 0, (first, second)
    _both_widths(page, "05-box-labels")


def test_the_shortcut_list_traps_focus_closes_with_escape_and_keys_are_off_while_typing(
    page, log_in, role_user, scripted
):
    role_user("operator", "olga")
    case = id_document_case(scripted, similarity=0.31)
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    page.keyboard.press("?")
    wait_until(page, "document.getElementById('shortcuts').open", what="the shortcut list")
    inside = "document.getElementById('shortcuts').contains(document.activeElement)"
    assert page.evaluate(inside)
    for _ in range(4):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "focus left the shortcut list"
    _both_widths(page, "06-shortcuts")
    page.keyboard.press("Escape")
    wait_until(page, "!document.getElementById('shortcuts').open", what="the list to close")

    # While typing in the reason, letters are text, not shortcuts.
    page.click("#decision-form textarea[name=reason]")
    page.keyboard.type("s? l")
    assert page.input_value("#decision-form textarea[name=reason]") == "s? l"
    assert not page.evaluate("document.getElementById('shortcuts').open")
    assert page.locator("input[name=verdict]:checked").count() == 0
    # "r" asks for a resubmission: a reason is required, so the reason field gets the focus.
    page.fill("#decision-form textarea[name=reason]", "")
    page.locator("#decision-form textarea[name=reason]").blur()
    page.keyboard.press("r")
    assert page.locator("input[name=verdict][value=resubmit]").is_checked()
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.type("The photo is too blurry to read.")
    # A resubmission also names what to fix: Tab reaches the reason codes, Space ticks one, Enter records.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "blurry"
    page.keyboard.press(" ")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    case.refresh_from_db()
    assert case.final_verdict == Verdict.RESUBMIT
    assert case.decisions.latest("created_at").resubmission_reasons == ["blurry"]


def test_a_case_claimed_by_someone_else_says_so_above_the_form(page, log_in, role_user, scripted):
    from liveness.services import claims

    role_user("operator", "olga")
    other = role_user("operator", "otto")
    case = id_document_case(scripted, similarity=0.31)
    claims.case_claim(case=case, user=other)
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    page.goto(f"/cases/{case.public_id}/")
    notice = page.locator("#decide #claim-notice")
    assert "otto is working on this case" in notice.inner_text()
    assert _top(page, "#claim-notice") < _top(page, "#decision-form fieldset")
    rule = page.inner_text("#reason-rule")
    assert "A reason is required when your verdict changes a standing live or spoof verdict" in rule
    assert "required for: request resubmission." in rule
    _both_widths(page, "07-claimed-by-other")


def test_the_timeline_shows_one_line_per_visit_and_expands(page, log_in, role_user, scripted):
    role_user("operator", "olga")
    case = id_document_case(scripted, similarity=0.82)
    page.set_viewport_size(WIDE)
    log_in("olga", PASSWORD)
    for _ in range(3):  # three loads of the page: 2 images and 2 face crops each
        page.goto(f"/cases/{case.public_id}/")
        wait_until(page, "[...document.images].every(i => i.complete)", what="the images")
    page.reload()
    looks = case.events.filter(action="evidence.viewed").count()
    assert looks >= 12
    visits = page.locator("#timeline li.visit")
    assert visits.count() == 1
    assert int(visits.first.get_attribute("data-views") or 0) >= 12
    assert "images viewed" in visits.first.inner_text()
    assert "olga" in visits.first.inner_text()
    assert not visits.first.locator(".visitviews").is_visible()
    visits.first.locator("summary").click()
    assert visits.first.locator(".visitviews li").first.is_visible()
    _both_widths(page, "08-timeline")


def test_approvals_show_images_scores_and_the_verdict_overridden(page, log_in, role_user, scripted):
    from liveness.services import decision_record

    olga = role_user("operator", "olga")
    role_user("supervisor", "sam")
    case = id_document_case(scripted, similarity=0.82, score=0.12)
    assert case.final_verdict == Verdict.SPOOF
    decision_record(case=case, actor=olga, verdict=Verdict.LIVE, reason="Video call", expected_version=case.version)
    page.set_viewport_size(WIDE)
    log_in("sam", PASSWORD)
    page.goto("/approvals/")
    row = page.locator("table.approvals tbody tr").first
    assert row.locator(".evidence-mini img").count() == 2
    wait_until(page, "[...document.querySelectorAll('.evidence-mini img')].every(i => i.naturalWidth > 0)")
    assert row.locator(".scorebar .threshold").count() == 1
    assert "0.120" in row.locator(".scorevalue").inner_text()
    assert "overrides Spoof" in row.locator("td.change").inner_text()
    assert row.locator("button:has-text('Approve')").is_visible()
    _both_widths(page, "09-approvals")
