"""Hosted verification: the partner API (create, read, list, cancel), the server-side challenge rules and
every refusal, expiry, webhooks, resubmission sessions, and the applicant page's headers."""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from liveness.hosted.logfilter import RedactHostedTokens
from liveness.models import (
    AuditEvent,
    Case,
    CaseKind,
    CaseStatus,
    EvidenceRole,
    VerificationFrame,
    VerificationSession,
    WebhookDelivery,
)
from liveness.services import case_create
from liveness.services.cases import IncomingImage
from liveness.services.sessions import draw_challenge, sessions_expire_due
from liveness.services.webhooks import webhook_deliver
from liveness.vocabulary import FACE_PARAMETERS
from tests.api_helpers import PROBLEM, jpeg, webhook_receiver
from tests.hosted_support import SESSIONS_URL, Applicant, create_session, new_partner, token_of

pytestmark = pytest.mark.django_db

FIXED = ["front", "left", "eyes closed"]


@pytest.fixture(autouse=True)
def _hosted(settings):
    settings.HOSTED_FIXED_CHALLENGE = FIXED
    settings.HOSTED_BURST_FRAMES = 2


def _stored_files() -> list[Path]:
    root = Path(django_settings.STORAGES["evidence"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _session(body: dict) -> VerificationSession:
    return VerificationSession.objects.get(public_id=body["id"])


def _ready(api, **body) -> tuple[dict, Applicant]:
    created = create_session(api, **body)
    applicant = Applicant(created["url"])
    assert applicant.open().status_code == 200
    assert applicant.consent().status_code == 200
    return created, applicant


# --- partner API -------------------------------------------------------------------------------------


def test_create_answers_201_with_a_link_whose_token_is_stored_only_hashed():
    _, api = new_partner()
    response = api.post(SESSIONS_URL, {"kind": "active", "external_ref": "user-7"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "expires_at", "status"}
    assert body["status"] == "created"
    assert response["Location"].endswith(f"{SESSIONS_URL}{body['id']}/")
    token = token_of(body["url"])
    assert len(token) >= 40
    session = _session(body)
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(VerificationSession.objects.filter(pk=session.pk).values().get())
    assert abs((session.expires_at - timezone.now()).total_seconds() - 1800) < 10
    assert AuditEvent.objects.filter(action="session.created", data__session=body["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"kind": "passport"}, "kind", "validation_error"),
        ({}, "kind", "required"),
        ({"kind": "active", "expires_in": 10}, "expires_in", "out_of_range"),
        ({"kind": "active", "expires_in": 10**9}, "expires_in", "out_of_range"),
        ({"kind": "active", "locale": "xx"}, "locale", "unsupported_locale"),
        ({"kind": "id_document"}, "country_code", "required"),
        ({"kind": "selfie", "country_code": "DE"}, "country_code", "not_allowed"),
        ({"kind": "active", "redirect_url": "javascript:alert(1)"}, "redirect_url", "redirect_url_not_allowed"),
    ],
)
def test_create_refuses_bad_input_with_the_field_and_writes_nothing(body, field, code):
    _, api = new_partner()
    response = api.post(SESSIONS_URL, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == code
    assert field in problem["errors"]
    assert not VerificationSession.objects.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/done", "must use https"),
        ("https://10.1.2.3/done", "not a public address"),
        ("https://127.0.0.1/done", "not a public address"),
    ],
)
def test_redirect_url_follows_the_webhook_url_rules_in_production(settings, url, reason):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    _, api = new_partner()
    response = api.post(SESSIONS_URL, {"kind": "active", "redirect_url": url}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["errors"]["redirect_url"][0]
    ok = api.post(SESSIONS_URL, {"kind": "active", "redirect_url": "https://93.184.215.14/done"}, format="json")
    assert ok.status_code == 201


def test_another_partners_session_is_a_404_for_read_and_cancel_and_absent_from_lists():
    _, api = new_partner()
    _, other = new_partner()
    body = create_session(api)
    assert other.get(f"{SESSIONS_URL}{body['id']}/").status_code == 404
    assert other.post(f"{SESSIONS_URL}{body['id']}/cancel/").status_code == 404
    assert other.get(SESSIONS_URL).json()["results"] == []
    assert _session(body).status == "created"


def test_list_filters_by_status_and_external_ref():
    _, api = new_partner()
    first = create_session(api, external_ref="a")
    second = create_session(api, external_ref="b")
    api.post(f"{SESSIONS_URL}{second['id']}/cancel/")
    by_status = api.get(SESSIONS_URL, {"status": "cancelled"}).json()["results"]
    assert [s["id"] for s in by_status] == [second["id"]]
    by_ref = api.get(SESSIONS_URL, {"external_ref": "a"}).json()["results"]
    assert [s["id"] for s in by_ref] == [first["id"]]
    assert api.get(SESSIONS_URL, {"status": "nonsense"}).status_code == 400


def test_cancel_stops_the_link_and_deletes_what_was_captured():
    _, api = new_partner()
    created, applicant = _ready(api)
    applicant.start()
    assert applicant.frame(0, 0).status_code == 200
    assert len(_stored_files()) == 1
    response = api.post(f"{SESSIONS_URL}{created['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert _stored_files() == []
    assert applicant.open().status_code == 410
    assert applicant.frame(0, 1).status_code == 410
    again = api.post(f"{SESSIONS_URL}{created['id']}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"


# --- the whole lifecycle -----------------------------------------------------------------------------


def test_lifecycle_created_opened_submitted_becomes_an_ordinary_active_case(
    settings, django_capture_on_commit_callbacks
):
    partner, api = new_partner(webhook_url="https://hooks.example.com/kyc")
    created = create_session(api, external_ref="user-9", redirect_url="https://example.com/back?x=1")
    applicant = Applicant(created["url"])
    page = applicant.open()
    assert page.status_code == 200
    assert api.get(f"{SESSIONS_URL}{created['id']}/").json()["status"] == "opened"
    assert applicant.consent().status_code == 200

    started = applicant.start().json()
    assert started["total"] == 3
    assert started["prompt"]["parameter"] == "front"
    assert started["prompt"]["index"] == 0
    # The page is told the current prompt only, never the ones to come.
    assert "left" not in str(started)
    assert "eyes closed" not in str(started)
    first = applicant.frame(0, 0).json()
    assert first["prompt"]["index"] == 0
    assert first["prompt"]["received"] == 1
    second = applicant.frame(0, 1).json()
    assert second["prompt"]["parameter"] == "left"  # issued only now
    for prompt, burst in ((1, 0), (1, 1), (2, 0), (2, 1)):
        assert applicant.frame(prompt, burst).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        done = applicant.submit()
    assert done.status_code == 200
    assert done.json()["redirect"] == f"https://example.com/back?x=1&session_id={created['id']}"

    detail = api.get(f"{SESSIONS_URL}{created['id']}/").json()
    assert detail["status"] == "submitted"
    assert [p["parameter"] for p in detail["challenge"]] == FIXED
    assert all(p["issued_at"] and p["completed_at"] for p in detail["challenge"])
    case = Case.objects.get(public_id=detail["case_id"])
    assert case.partner == partner
    assert case.kind == CaseKind.ACTIVE
    assert case.external_ref == "user-9"
    assert case.face_parameters == FIXED
    assert case.status == CaseStatus.RECEIVED
    evidence = list(case.evidence.order_by("index"))
    assert [e.face_parameter for e in evidence] == FIXED
    chosen = VerificationFrame.objects.filter(session__public_id=created["id"], chosen=True).order_by("prompt_index")
    assert [(f.prompt_index, f.parameter) for f in chosen] == list(enumerate(FIXED))
    # The session's own copies are gone; the case's evidence is what stays (encrypted).
    assert len(_stored_files()) == len(evidence)
    assert not VerificationFrame.objects.filter(session__public_id=created["id"], purged_at__isnull=True).exists()
    delivery = WebhookDelivery.objects.get(event="verification_session.submitted")
    assert delivery.payload["data"]["verification_session"]["case_id"] == str(case.public_id)
    assert delivery.case == case
    actions = set(AuditEvent.objects.filter(data__session=created["id"]).values_list("action", flat=True))
    assert {
        "session.created",
        "session.opened",
        "session.consent_accepted",
        "session.challenge_issued",
        "session.frame_received",
        "session.prompt_issued",
        "session.submitted",
    } <= actions


def test_id_document_session_becomes_a_document_and_selfie_case():
    _, api = new_partner()
    created, applicant = _ready(api, kind="id_document", country_code="de", card_code="ID")
    assert applicant.start().json()["total"] == 1
    applicant.answer_all(1, 2)
    refused = applicant.submit()
    assert refused.status_code == 409
    assert refused.json()["code"] == "document_missing"
    assert applicant.document().status_code == 200
    second = applicant.document(jpeg(77))
    assert second.status_code == 409
    assert second.json()["code"] == "repeated_document"
    assert applicant.submit().status_code == 200
    case = Case.objects.get(verification_sessions__public_id=created["id"])
    assert case.kind == CaseKind.ID_DOCUMENT
    assert case.country_code == "DEU"
    assert sorted(case.evidence.values_list("role", flat=True)) == [EvidenceRole.ID_FRONT, EvidenceRole.SELFIE]


def test_a_resubmission_session_feeds_the_next_round_of_the_same_case():
    partner, api = new_partner()
    case = case_create(
        kind="active",
        partner=partner,
        images=[IncomingImage(role="frame", data=jpeg(i), index=i) for i in range(3)],
        face_parameters=["front", "up", "mouth open"],
    ).case
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.RESUBMISSION_REQUESTED)
    created, applicant = _ready(api, case_id=str(case.public_id))
    again = api.post(SESSIONS_URL, {"case_id": str(case.public_id)}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "session_open"
    started = applicant.start().json()
    assert started["prompt"]["parameter"] == "front"
    assert started["total"] == 3  # the case's own parameters: a resubmission answers them again
    applicant.answer_all(3, 2)
    assert applicant.submit().status_code == 200
    case.refresh_from_db()
    assert case.round == 2
    assert case.status == CaseStatus.PROCESSING
    assert list(case.evidence.filter(round=2).values_list("face_parameter", flat=True)) == [
        "front",
        "up",
        "mouth open",
    ]
    assert _session(created).round == 2


def test_a_resubmission_session_needs_a_case_waiting_for_one():
    partner, api = new_partner()
    case = case_create(kind="selfie", partner=partner, images=[IncomingImage(role="selfie", data=jpeg(1))]).case
    response = api.post(SESSIONS_URL, {"case_id": str(case.public_id)}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    _, other = new_partner()
    assert other.post(SESSIONS_URL, {"case_id": str(case.public_id)}, format="json").status_code == 404


# --- refusals: nothing of a refused request is stored ------------------------------------------------


def _refused(response, code: str, status: int = 409) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_nothing_is_accepted_before_consent():
    _, api = new_partner()
    created = create_session(api)
    applicant = Applicant(created["url"])
    applicant.open()
    _refused(applicant.start(), "consent_required")
    _refused(applicant.frame(0, 0), "consent_required")
    _refused(applicant.consent("1999-01-01"), "consent_outdated")
    assert _session(created).consent_accepted_at is None
    assert _stored_files() == []
    assert applicant.consent().status_code == 200
    session = _session(created)
    assert session.consent_version
    assert session.consent_accepted_at is not None


def test_frames_before_the_challenge_is_issued_are_refused():
    _, api = new_partner()
    _, applicant = _ready(api)
    _refused(applicant.frame(0, 0), "challenge_not_started")
    assert _stored_files() == []


def test_out_of_order_frames_and_prompts_are_refused():
    _, api = new_partner()
    _created, applicant = _ready(api)
    applicant.start()
    _refused(applicant.frame(1, 0), "out_of_order")  # the next prompt is not issued yet
    _refused(applicant.frame(0, 1), "out_of_order")  # frame 2 before frame 1
    assert VerificationFrame.objects.count() == 0
    assert _stored_files() == []
    assert AuditEvent.objects.filter(action="session.frame_refused", data__code="out_of_order").count() == 2


def test_repeated_frames_and_prompts_are_refused():
    _, api = new_partner()
    _, applicant = _ready(api)
    applicant.start()
    same = jpeg(42)
    assert applicant.frame(0, 0, same).status_code == 200
    _refused(applicant.frame(0, 0), "repeated_frame")
    # The same picture in the next slot is accepted: copies are the engine's repeated_frame finding.
    assert applicant.frame(0, 1, same).status_code == 200
    _refused(applicant.frame(0, 0), "repeated_prompt")
    assert VerificationFrame.objects.count() == 2
    assert len(_stored_files()) == 2


def test_extra_frames_are_refused():
    _, api = new_partner()
    _, applicant = _ready(api)
    applicant.start()
    assert applicant.frame(0, 0).status_code == 200
    _refused(applicant.frame(0, 2), "extra_frame")  # a burst is 2 frames here
    applicant.frame(0, 1)
    for prompt in (1, 2):
        for burst in (0, 1):
            applicant.frame(prompt, burst)
    _refused(applicant.frame(3, 0), "extra_frame")
    _refused(applicant.frame(2, 0), "extra_frame")
    assert VerificationFrame.objects.count() == 6
    assert len(_stored_files()) == 6


def test_a_late_frame_is_refused_and_the_challenge_can_be_drawn_again(settings):
    _, api = new_partner()
    created, applicant = _ready(api)
    applicant.start()
    assert applicant.frame(0, 0).status_code == 200
    session = _session(created)
    past = (timezone.now() - timedelta(seconds=settings.HOSTED_PROMPT_SECONDS + 1)).isoformat()
    session.prompts = [{**session.prompts[0], "issued_at": past}, *session.prompts[1:]]
    session.save()
    _refused(applicant.frame(0, 1), "late")
    assert VerificationFrame.objects.count() == 1
    restarted = applicant.start()
    assert restarted.status_code == 200
    assert restarted.json()["prompt"]["received"] == 0
    assert VerificationFrame.objects.count() == 0  # the old challenge's frames are gone
    assert _stored_files() == []
    assert _session(created).challenge_attempts == 2


def test_the_challenge_cannot_be_restarted_while_it_runs_nor_beyond_the_attempt_limit(settings):
    settings.HOSTED_CHALLENGE_ATTEMPTS = 1
    _, api = new_partner()
    created, applicant = _ready(api)
    applicant.start()
    _refused(applicant.start(), "challenge_running")
    session = _session(created)
    session.prompts = [{**session.prompts[0], "issued_at": "2000-01-01T00:00:00+00:00"}, *session.prompts[1:]]
    session.save()
    _refused(applicant.start(), "too_many_attempts", status=429)


def test_the_token_is_single_use():
    _, api = new_partner()
    _, applicant = _ready(api)
    applicant.start()
    _refused(applicant.submit(), "challenge_incomplete")
    applicant.answer_all(3, 2)
    assert applicant.submit().status_code == 200
    _refused(applicant.submit(), "submitted", status=410)
    _refused(applicant.frame(0, 0), "submitted", status=410)
    _refused(applicant.start(), "submitted", status=410)
    assert applicant.open().status_code == 410
    assert Case.objects.count() == 1


def test_an_unknown_token_is_a_404():
    applicant = Applicant("http://testserver/v/not-a-real-token/")
    assert applicant.open().status_code == 404
    _refused(applicant.consent(), "not_found", status=404)


def test_a_refused_image_is_422_and_not_stored():
    _, api = new_partner()
    _, applicant = _ready(api)
    applicant.start()
    _refused(applicant.frame(0, 0, b"GIF89a not really"), "not_an_image", status=422)
    assert VerificationFrame.objects.count() == 0


# --- expiry --------------------------------------------------------------------------------------------


def test_expiry_on_read_and_by_the_sweep_is_idempotent_with_one_webhook():
    _, api = new_partner(webhook_url="https://hooks.example.com/kyc")
    first = create_session(api)
    second = create_session(api)
    applicant = Applicant(first["url"])
    VerificationSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"{SESSIONS_URL}{first['id']}/").json()["status"] == "expired"
    assert api.get(f"{SESSIONS_URL}{first['id']}/").json()["status"] == "expired"
    assert sessions_expire_due() == 1  # only the second one was still due
    assert sessions_expire_due() == 0
    assert _session(second).status == "expired"
    deliveries = WebhookDelivery.objects.filter(event="verification_session.expired")
    assert deliveries.count() == 2
    assert {d.payload["data"]["verification_session"]["id"] for d in deliveries} == {first["id"], second["id"]}
    assert all(d.case is None for d in deliveries)
    assert applicant.open().status_code == 410
    _refused(applicant.consent(), "expired", status=410)


def test_an_expired_link_refuses_frames_even_before_the_sweep():
    _, api = new_partner()
    created, applicant = _ready(api)
    applicant.start()
    VerificationSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = applicant.frame(0, 0)
    assert response.status_code == 410
    assert VerificationFrame.objects.count() == 0
    assert _session(created).status == "expired"


# --- the challenge draw --------------------------------------------------------------------------------


def test_the_challenge_is_front_then_two_to_four_distinct_parameters_drawn_at_random(settings):
    settings.HOSTED_FIXED_CHALLENGE = []
    draws = [draw_challenge() for _ in range(200)]
    for draw in draws:
        assert draw[0] == "front"
        assert 3 <= len(draw) <= 5
        assert len(set(draw)) == len(draw)
        assert set(draw) <= set(FACE_PARAMETERS)
    assert {len(d) for d in draws} == {3, 4, 5}
    assert len({tuple(d) for d in draws}) > 100
    # Every action is drawn; the resting states that "front" already shows never are.
    assert {p for d in draws for p in d} == set(FACE_PARAMETERS) - {"eyes open", "mouth closed"}


# --- the page --------------------------------------------------------------------------------------------


def test_the_page_has_a_strict_csp_and_is_the_only_page_allowing_the_camera(client):
    _, api = new_partner()
    applicant = Applicant(create_session(api)["url"])
    page = applicant.open()
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page["Permissions-Policy"].startswith("camera=(self)")
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "<script>" not in html
    assert " on" + "click=" not in html
    assert 'src="/static/hosted/session.js"' in html
    assert "http://" not in html.replace("http://testserver", "")
    login = client.get("/login/")
    assert "camera=()" in login["Permissions-Policy"]
    api_page = api.get(SESSIONS_URL)
    assert "camera=()" in api_page["Permissions-Policy"]


def test_the_page_shows_consent_first_and_nothing_of_the_partner():
    partner, api = new_partner(name="Secret Bank Ltd", webhook_url="https://hooks.example.com/x")
    applicant = Applicant(create_session(api, external_ref="customer-12345")["url"])
    html = applicant.open().content.decode()
    assert html.index('id="screen-consent"') < html.index('id="screen-challenge"')
    assert 'id="screen-consent" aria-labelledby' in html  # the consent screen is the one not hidden
    for secret in ("Secret Bank", "customer-12345", "hooks.example.com", partner.webhook_secret):
        assert secret not in html
    for words in ("What is captured", "Why", "How long it is kept", "Who sees it"):
        assert words in html


def test_rate_limits_per_session_and_per_ip(settings):
    settings.HOSTED_RATE_SESSION = "3/day"
    _, api = new_partner()
    applicant = Applicant(create_session(api)["url"])
    statuses = [applicant.open().status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    settings.HOSTED_RATE_SESSION = "100/minute"
    settings.HOSTED_RATE_IP = "2/day"
    other = Applicant(create_session(api)["url"])
    other.client = applicant.client  # same IP, another session
    assert other.open().status_code == 200
    assert other.consent().status_code == 200
    limited = other.start()
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1


def test_the_schema_documents_the_session_endpoints():
    _, api = new_partner()
    schema = api.get("/api/v1/schema/?format=json").json()
    for path in (
        "/api/v1/verification-sessions/",
        "/api/v1/verification-sessions/{public_id}/",
        "/api/v1/verification-sessions/{public_id}/cancel/",
    ):
        assert path in schema["paths"]
    create = schema["paths"]["/api/v1/verification-sessions/"]["post"]
    assert "201" in create["responses"]
    assert "redirect_url" in str(create["requestBody"])


def test_session_webhooks_are_signed_like_the_others():
    with webhook_receiver() as receiver:
        partner, api = new_partner(webhook_url=receiver.url)
        created = create_session(api)
        VerificationSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert sessions_expire_due() == 1
        delivery = WebhookDelivery.objects.get(event="verification_session.expired")
        assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"
    hit = receiver.received[0]
    headers = {k.lower(): v for k, v in hit.headers.items()}
    assert headers["kyc-event"] == "verification_session.expired"
    mac = hmac.new(
        partner.webhook_secret.encode(), headers["kyc-timestamp"].encode() + b"." + hit.body, hashlib.sha256
    ).hexdigest()
    assert headers["kyc-signature"] == f"v1={mac}"
    body = hit.json()
    assert body["type"] == "verification_session.expired"
    assert body["data"]["verification_session"]["id"] == created["id"]
    assert body["data"]["verification_session"]["status"] == "expired"
    assert "url" not in body["data"]["verification_session"]


def test_link_tokens_are_removed_by_the_log_handler_filter():
    configured = [h for h in logging.getLogger().handlers if any(isinstance(f, RedactHostedTokens) for f in h.filters)]
    assert configured, "the console handler must carry the token filter"
    _, api = new_partner()
    created = create_session(api)
    token = token_of(created["url"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for log_filter in configured[0].filters:
        handler.addFilter(log_filter)
    for message, args in (("Conflict: %s", (f"/v/{token}/frames",)), (f'"GET /v/{token}/ HTTP/1.1" 200', ())):
        handler.handle(logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None))
    output = stream.getvalue()
    assert output.count("/v/[token]/") == 2
    assert token not in output


def test_the_chosen_frames_become_evidence_without_a_second_decode_or_re_encode(django_capture_on_commit_callbacks):
    from unittest import mock

    from liveness import intake

    created, applicant = _ready(new_partner()[1])
    applicant.start()
    for prompt in range(3):
        for burst in range(2):
            assert applicant.frame(prompt, burst).status_code == 200
    chosen_hashes = None
    with (
        mock.patch("liveness.services.cases.validate_image", wraps=intake.validate_image) as validate,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert applicant.submit().status_code == 200
        chosen_hashes = list(
            VerificationFrame.objects.filter(session__public_id=created["id"], chosen=True)
            .order_by("prompt_index")
            .values_list("sha256", flat=True)
        )
    validate.assert_not_called()
    case = _session(created).case
    assert case is not None
    # The evidence is the very bytes the frame intake normalised (same hash), stored once more encrypted.
    assert list(case.evidence.order_by("index").values_list("sha256", flat=True)) == chosen_hashes
