"""End to end over real HTTP: cases created through the service, every check run by the pipeline against
the simulators (and the local engine), each case decided by the policy."""

from __future__ import annotations

import pytest

from liveness import services
from liveness.models import AuditEvent, Case, CaseStatus, Check, CheckOutcome, CheckStatus, Verdict
from liveness.providers.details import load as load_details
from liveness.sandbox.recorder import recording
from liveness.vendors.accura import ACCURA_MAX_UPLOAD_BYTES
from tests.vendor_fixtures import (
    ID_WITH_PORTRAIT,
    OBAMA_480,
    OBAMA_FRONT,
    OBAMA_TURNED,
    OBAMA_UP,
    face_bytes,
    large_face_jpeg,
    mirrored,
)

pytestmark = pytest.mark.usefixtures("sandbox", "no_broker", "fresh_judge")

SELFIE_PROVIDERS = ["local", "accura_face", "kairos", "riset"]


@pytest.fixture(autouse=True)
def dev_workflows(settings):
    # The development workflows (kyc_portal/settings/dev.py), vendors pointed at the live server.
    settings.LIVENESS_WORKFLOWS = {
        "selfie": SELFIE_PROVIDERS,
        "id_document": ["local", "accura_id"],
        "active": ["local", "riset"],
    }


def run_all(case: Case) -> dict[str, Check]:
    for check in Check.objects.filter(case=case):
        assert services.check_execute(check_id=check.pk).state == "settled"
    case.refresh_from_db()
    return {check.provider: check for check in Check.objects.filter(case=case)}


def test_a_selfie_goes_through_every_selfie_provider_and_is_decided_live():
    # Over 1 MB as stored, so the Accura call also proves its re-encoding end to end.
    selfie = large_face_jpeg(2 * ACCURA_MAX_UPLOAD_BYTES)
    case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", selfie)]).case
    assert case.providers == SELFIE_PROVIDERS
    with recording() as calls:
        checks = run_all(case)
    assert sorted(call.vendor for call in calls) == ["accura", "kairos", "riset"]
    assert all(call.status == 200 for call in calls)
    for provider, check in checks.items():
        assert check.status == CheckStatus.SUCCEEDED, (provider, check.error_code, check.error_message)
        assert check.outcome == CheckOutcome.PASS, (provider, check.score, check.threshold)
    assert checks["accura_face"].details["request"]["liveness_image"]["bytes"] <= ACCURA_MAX_UPLOAD_BYTES
    assert checks["accura_face"].threshold == 0.55
    assert checks["kairos"].vendor_request_id
    assert checks["kairos"].threshold == 0.6
    assert load_details(checks["riset"].details).images[0].face_parameter == "front"
    assert (case.status, case.auto_verdict, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE, Verdict.LIVE)
    assert AuditEvent.objects.filter(case=case, action="case.auto_decided").count() == 1


def test_an_id_document_goes_through_local_and_accura_id_and_is_decided():
    case = services.case_create(
        kind="id_document",
        images=[services.IncomingImage("id_front", face_bytes(ID_WITH_PORTRAIT))],
        country_code="rou",
        card_code="P",
    ).case
    with recording() as calls:
        checks = run_all(case)
    [call] = calls
    assert call.path == "/sandbox/accura/v2/api/id-liveness"
    assert call.form == {"country_code": "ROU", "card_code": "P"}  # as stored on the case
    accura = checks["accura_id"]
    assert accura.status == CheckStatus.SUCCEEDED
    assert accura.score == pytest.approx(call.response["data"]["score"] / 100)
    assert checks["local"].status == CheckStatus.SUCCEEDED
    # A specimen scan is a reproduction, not a live document: the portrait's recapture cues say so.
    assert accura.outcome == CheckOutcome.FAIL
    assert checks["local"].outcome != CheckOutcome.PASS  # the local engine does not clear documents alone
    assert (case.status, case.auto_verdict) == (CaseStatus.DECIDED, Verdict.SPOOF)
    assert "accura_id: below threshold" in case.auto_reasons


ACTIVE_PARAMETERS = ["left", "right", "up", "front", "eyes open", "mouth closed", "front", "eyes open"]


def eight_frames() -> list[bytes]:
    turned = face_bytes(OBAMA_TURNED)  # the subject turned to their own right; mirrored = to their left
    front, up = face_bytes(OBAMA_FRONT), face_bytes(OBAMA_UP)
    return [mirrored(turned), turned, up, front, front, up, face_bytes(OBAMA_480), front]


def test_an_active_series_of_eight_frames_goes_through_local_and_riset_and_its_copies_go_to_review():
    """Riset (as simulated) judges every frame; the local engine also sees that the eight frames are four
    pictures, one of them mirrored: a repeated_frame finding, which sends the case to a person."""
    frames = [
        services.IncomingImage("frame", content, index=i, face_parameter=parameter)
        for i, (content, parameter) in enumerate(zip(eight_frames(), ACTIVE_PARAMETERS, strict=True))
    ]
    case = services.case_create(
        kind="active", images=frames, face_parameters=ACTIVE_PARAMETERS, success_threshold=7
    ).case
    with recording() as calls:
        checks = run_all(case)
    [call] = calls
    body = call.json_body or {}
    assert body["face_parameters"] == ACTIVE_PARAMETERS
    assert body["success_threshold"] == 7
    assert body["trx_id"] == str(checks["riset"].pk)
    riset = checks["riset"]
    assert riset.status == CheckStatus.SUCCEEDED
    assert riset.threshold == pytest.approx(7 / 8)
    # Every frame shows what it was asked for, by the same person, and is judged real.
    assert load_details(riset.details).vendor_fields["frames_passed"] == 8
    assert riset.score == 1.0
    assert riset.outcome == CheckOutcome.PASS
    assert riset.vendor_label == "passed: 8/8 frames (needs 7)"
    local = checks["local"]
    assert local.outcome == CheckOutcome.FINDING
    assert [f["code"] for f in local.findings] == ["repeated_frame"]
    kinds = {pair["kind"] for pair in local.details["repeated_frames"]["pairs"]}
    assert kinds == {"identical", "mirrored"}
    case.refresh_from_db()
    assert (case.status, case.auto_verdict, case.reason_codes) == (
        CaseStatus.NEEDS_REVIEW, Verdict.NEEDS_REVIEW, ["repeated_frame"],
    )  # fmt: skip
