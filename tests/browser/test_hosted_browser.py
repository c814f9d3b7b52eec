"""Hosted verification in Debian's Chromium with a fake camera (a .y4m made here from ../shared/testdata).

What the fake camera shows is one still photo, looped: exactly the attack the server-side challenge is
for. The challenge is fixed for the test (HOSTED_FIXED_CHALLENGE) to front, left, eyes closed; a still,
frontal photo answers ``front`` and cannot turn left or close its eyes, so the local engine finds the
challenge failed (1 of 3 frames) and the policy decides spoof. The test asserts that real outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from liveness.models import Case, CaseStatus, CheckOutcome, Verdict, VerificationSession
from liveness.services.sessions import session_create
from tests.browser.conftest import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
PHOTO = TESTDATA / "genuine" / "deepface__tests_unit_dataset_img1.jpg"
WIDTH, HEIGHT = 640, 480


def write_y4m(photo: Path, target: Path, *, frames: int = 10) -> Path:
    """A YUV4MPEG2 (4:2:0) clip of ``frames`` copies of the photo, letterboxed to 640x480."""
    with Image.open(photo) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    image = ImageOps.pad(image, (WIDTH, HEIGHT), color=(32, 32, 32))
    y, cb, cr = image.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    plane = (
        y.tobytes() + cb.resize(half, Image.Resampling.BOX).tobytes() + cr.resize(half, Image.Resampling.BOX).tobytes()
    )
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + plane)
    return target


def _shot(tab: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def chromium(live_server, monkeypatch, tmp_path) -> Iterator[Any]:
    """A launcher: ``chromium(camera=True)`` is a browser with the fake camera (granted), else none."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM}")
    if not PHOTO.exists():
        pytest.skip(f"needs {PHOTO} (../shared/testdata) for the fake camera's picture")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    clip = write_y4m(PHOTO, tmp_path / "camera.y4m")
    browsers: list[Any] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:

        def launch(*, camera: bool, width: int = 390, height: int = 844) -> Any:
            args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]
            if camera:
                args += ["--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip}"]
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
            browsers.append(browser)
            context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
            if camera:
                context.grant_permissions(["camera"])
            tab = context.new_page()
            tab.set_default_timeout(30_000)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            return tab

        yield launch
        for browser in browsers:
            browser.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def _link(live_server: Any, **fields: Any) -> tuple[VerificationSession, str]:
    created = session_create(kind=fields.pop("kind", "active"), **fields)
    return created.session, f"{live_server.url}/v/{created.token}/"


def test_applicant_follows_the_challenge_with_a_fake_camera_and_the_case_is_settled(chromium, live_server, settings):
    settings.HOSTED_FIXED_CHALLENGE = ["front", "left", "eyes closed"]
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the check runs when the case is created: settled at once
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    session, url = _link(live_server, external_ref="browser-1", redirect_url=f"{live_server.url}/login/")
    tab = chromium(camera=True)
    tab.goto(url)
    assert tab.locator("#consent-title").is_visible()
    _shot(tab, "hosted-consent-390")
    tab.set_viewport_size({"width": 1440, "height": 900})
    _shot(tab, "hosted-consent-1440")
    tab.set_viewport_size({"width": 390, "height": 844})
    # Nothing was captured before consent, and consent is recorded with its version.
    session.refresh_from_db()
    assert session.consent_accepted_at is None
    assert not session.frames.exists()
    tab.get_by_role("button", name="I agree, continue").click()
    tab.locator("#screen-challenge").wait_for(state="visible")
    wait_until(tab, "document.getElementById('face-video').videoWidth > 0", what="the fake camera's video")
    session.refresh_from_db()
    assert session.consent_accepted_at is not None
    assert session.consent_version
    tab.get_by_role("button", name="Start").click()
    tab.locator("#prompt").filter(has_text="Look straight at the camera").wait_for()
    assert not tab.get_by_role("button", name="Start").is_visible()  # no second start while it runs
    _shot(tab, "hosted-challenge-390")
    try:
        tab.locator("#screen-done").wait_for(state="visible", timeout=90_000)
    except Exception:
        _shot(tab, "hosted-challenge-failed")
        raise
    assert tab.locator("#done-title").inner_text() == "Received, you can close this page"
    _shot(tab, "hosted-done-390")
    tab.wait_for_url("**/login/?session_id=*", timeout=15_000)
    assert f"session_id={session.public_id}" in tab.url

    session.refresh_from_db()
    assert session.status == "submitted"
    assert [p["parameter"] for p in session.prompts] == ["front", "left", "eyes closed"]
    assert session.frames.filter(chosen=True).count() == 3
    case = Case.objects.get(pk=session.case_id)
    assert case.kind == "active"
    assert case.face_parameters == ["front", "left", "eyes closed"]
    assert case.evidence.count() == 3
    # Settled by the ordinary checks and policy; the page never showed the verdict.
    local = case.checks.get(provider="local")
    assert local.is_settled
    # Measured outcome: a still photo fed for every prompt fails the challenge (only "front" is answered) and
    # its frames are copies of one picture: two findings, never a pass whatever the passive score; the copies
    # send the case to a person.
    assert local.reason.startswith("challenge_failed"), local.reason
    assert local.outcome == CheckOutcome.FINDING
    assert {f["code"] for f in local.findings} == {"challenge_failed", "repeated_frame"}
    assert case.status == CaseStatus.NEEDS_REVIEW
    assert set(case.reason_codes) >= {"challenge_failed", "repeated_frame"}
    # A still photo answers "front" only: the challenge fails, so the case is not live.
    frames = local.details.get("images") or local.details.get("frames") or []
    matched = [bool(f.get("parameter_check", {}).get("matched")) for f in frames]
    assert matched[1:] == [False, False], local.details
    assert case.auto_verdict != Verdict.LIVE
    assert "Live" not in tab.content()
    outcome = {
        "status": case.status,
        "auto_verdict": case.auto_verdict,
        "auto_reasons": case.auto_reasons,
        "local": {"score": local.score, "outcome": local.outcome, "reason": local.reason},
        "chosen": list(session.frames.filter(chosen=True).values("prompt_index", "burst_index", "measures")),
    }
    (ARTEFACTS / "hosted-outcome.json").write_text(json.dumps(outcome, indent=2, default=str))


def test_camera_denied_shows_what_to_do_and_the_document_file_fallback(chromium, live_server, settings):
    session, url = _link(live_server, kind="id_document", country_code="DE", card_code="ID")
    tab = chromium(camera=False)
    tab.goto(url)
    # Keyboard only: the consent heading has focus; Tab reaches the button, Enter accepts.
    assert tab.evaluate("document.activeElement.id") == "consent-title"
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.id") == "consent-accept"
    tab.keyboard.press("Enter")
    tab.locator("#screen-denied").wait_for(state="visible")
    assert tab.evaluate("document.activeElement.id") == "denied-title"  # screen readers hear the new screen
    assert tab.locator("#denied-title").inner_text() == "Camera access was blocked"
    assert tab.get_by_role("button", name="Try again").is_visible()
    fallback = tab.locator("#denied-document-fallback input[type=file]")
    _shot(tab, "hosted-denied-390")
    tab.set_viewport_size({"width": 1440, "height": 900})
    _shot(tab, "hosted-denied-1440")
    # The file picker takes the document front; the face check still needs the camera.
    document = TESTDATA / "id-documents" / "PassportEye__tests_data_passport-td3.jpg"
    if document.exists():
        fallback.set_input_files(str(document))
        tab.locator("#screen-denied").wait_for(state="visible")
        tab.locator("#status").filter(has_text="Document received.").wait_for()
        session.refresh_from_db()
        assert session.frames.filter(role="id_front").count() == 1
    session.refresh_from_db()
    assert session.status == "opened"
    assert not session.frames.filter(role="frame").exists()
