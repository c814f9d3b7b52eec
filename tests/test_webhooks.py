"""Signed webhooks against a real local HTTP receiver: signing, retries, giving up, redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from liveness import enqueue
from liveness.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Check,
    CheckStatus,
    Verdict,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from liveness.services import decision_record
from liveness.services.webhooks import (
    WebhookError,
    webhook_claim,
    webhook_deliver,
    webhook_enqueue,
    webhook_redeliver,
    webhooks_requeue_due,
)
from tests.api_helpers import make_partner, webhook_receiver
from tests.factories import CaseFactory
from tests.helpers import enqueued

pytestmark = pytest.mark.django_db

SECRET = "whsec_test-secret-0123456789"


@pytest.fixture
def receiver():
    with webhook_receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True  # the receiver is http://127.0.0.1
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60.0
    settings.WEBHOOK_MAX_ATTEMPTS = 20
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0


@pytest.fixture
def partner(receiver):
    return make_partner(slug="acme", webhook_url=receiver.url, webhook_secret=SECRET)


def review_case(partner, **fields) -> Case:
    case: Case = CaseFactory.create(
        partner=partner,
        status=CaseStatus.NEEDS_REVIEW,
        auto_verdict=Verdict.NEEDS_REVIEW,
        external_ref="user-42",
        **fields,
    )
    Check.objects.create(
        case=case,
        provider="local",
        status=CheckStatus.SUCCEEDED,
        score=0.52,
        threshold=0.5,
        passed=True,
        outcome="borderline",
    )
    return case


def queued(partner, event: str = "case.decided") -> WebhookDelivery:
    case = review_case(partner)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)
    case.refresh_from_db()
    with enqueued(enqueue.DELIVER_WEBHOOK):
        delivery = webhook_enqueue(case=case, event=event)
    assert delivery is not None
    return delivery


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def expected_signature(timestamp: str, body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# --- from decision to delivery --------------------------------------------------------------------


def test_a_decision_queues_a_delivery_that_is_sent_only_after_commit(
    partner, operator, receiver, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    case = review_case(partner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision_record(case=case, actor=operator, verdict=Verdict.LIVE)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDeliveryStatus.PENDING
        assert delivery.event == "case.decided"
    assert receiver.received == []  # nothing is sent inside the deciding transaction

    for callback in callbacks:
        callback()

    [hit] = receiver.received
    assert hit.json()["data"]["case"]["id"] == str(case.public_id)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert delivery.attempts == 1


def test_a_resubmission_request_is_its_own_event(partner, operator):
    case = review_case(partner)
    with enqueued(enqueue.DELIVER_WEBHOOK):
        decision_record(
            case=case,
            actor=operator,
            verdict=Verdict.RESUBMIT,
            reason="too dark",
            resubmission_reasons=["blurry", "glare"],
        )
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "case.resubmission_requested"
    body = delivery.payload["data"]["case"]
    assert body["verdict"] == "resubmit"
    assert body["status"] == "resubmission_requested"
    request = body["resubmission_request"]
    assert request["reasons"] == ["blurry", "glare"]
    assert request["message"] == "too dark"
    assert request["round"] == 1
    decided_at = case.decisions.get().decided_at
    assert decided_at is not None
    assert request["requested_at"] == decided_at.isoformat()


def test_the_signature_verifies_and_the_headers_are_as_documented(partner, receiver):
    delivery = queued(partner)
    before = int(time.time())

    assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"

    [hit] = receiver.received
    headers = {k.lower(): v for k, v in hit.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["kyc-event-id"] == str(delivery.event_id)
    assert headers["kyc-event"] == "case.decided"
    assert headers["kyc-delivery-attempt"] == "1"
    assert before <= int(headers["kyc-timestamp"]) <= int(time.time())
    assert headers["kyc-signature"] == expected_signature(headers["kyc-timestamp"], hit.body)
    assert headers["kyc-signature"] != expected_signature(headers["kyc-timestamp"], hit.body + b" ")


def test_the_body_has_ids_status_verdict_and_scores_but_no_images(partner, receiver):
    delivery = queued(partner)
    webhook_deliver(delivery_id=delivery.pk)
    body = receiver.received[0].json()
    assert body["id"] == str(delivery.event_id)
    assert body["type"] == "case.decided"
    case = body["data"]["case"]
    assert (case["status"], case["verdict"], case["external_ref"]) == ("decided", "live", "user-42")
    assert case["decision_source"] == "automatic"
    assert case["checks"] == [
        {
            "provider": "local",
            "round": 1,
            "status": "succeeded",
            "score": 0.52,
            "threshold": 0.5,
            "passed": True,
            "outcome": "borderline",
            "findings": [],
        }
    ]
    assert case["reason_codes"] == []
    text = receiver.received[0].body.decode()
    assert "storage_key" not in text
    assert "sha256" not in text
    assert "evidence" not in text


def test_it_retries_after_a_500_with_backoff_and_logs_each_attempt(partner, receiver):
    receiver.script.extend([500, 200])
    delivery = queued(partner)

    first = webhook_deliver(delivery_id=delivery.pk)

    assert first.state == "retry"
    assert first.retry_in is not None
    assert 30.0 <= first.retry_in <= 60.0
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.last_status_code == 500
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=25)
    assert webhook_deliver(delivery_id=delivery.pk).state == "not_claimed"  # not due yet

    make_due(delivery)
    assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"

    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).values("number", "status_code", "succeeded"))
    assert attempts == [
        {"number": 1, "status_code": 500, "succeeded": False},
        {"number": 2, "status_code": 200, "succeeded": True},
    ]
    first_attempt = WebhookAttempt.objects.get(delivery=delivery, number=1)
    assert first_attempt.error == "the receiver answered 500"
    assert first_attempt.latency_ms is not None
    assert first_attempt.response_excerpt == "answered 500"
    headers = [r.headers["Kyc-Delivery-Attempt"] for r in receiver.received]
    assert headers == ["1", "2"]


def test_it_retries_after_a_timeout(partner, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.script.extend([("sleep", 1.5, 200), 200])
    delivery = queued(partner)

    assert webhook_deliver(delivery_id=delivery.pk).state == "retry"

    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error.startswith("timeout")
    make_due(delivery)
    assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"


def test_it_retries_when_the_receiver_is_down(partner):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    partner.webhook_url = f"http://127.0.0.1:{closed_port}/hooks"
    partner.save()
    delivery = queued(partner)
    assert webhook_deliver(delivery_id=delivery.pk).state == "retry"
    assert WebhookAttempt.objects.get().error.startswith("connection_error")


def test_it_gives_up_after_the_attempt_limit_and_records_it(partner, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.default_status = 503
    delivery = queued(partner)

    states = []
    for _ in range(3):
        make_due(delivery)
        states.append(webhook_deliver(delivery_id=delivery.pk).state)

    assert states == ["retry", "retry", "failed"]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.FAILED
    assert delivery.failed_at is not None
    assert delivery.next_attempt_at is None
    assert delivery.last_error == "the receiver answered 503"
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3 == len(receiver.received)
    event = AuditEvent.objects.get(action="webhook.failed")
    assert event.case_id == delivery.case_id
    assert event.data["attempts"] == 3
    make_due(delivery)
    assert webhook_deliver(delivery_id=delivery.pk).state == "not_claimed"  # nothing more is sent


def test_it_gives_up_when_the_next_try_would_fall_outside_the_day(partner, receiver):
    receiver.default_status = 500
    delivery = queued(partner)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(retry_until=timezone.now() + timedelta(seconds=10))
    assert webhook_deliver(delivery_id=delivery.pk).state == "failed"


def test_the_default_schedule_retries_for_about_a_day(settings):
    from liveness.services.webhooks import webhook_backoff_seconds

    settings.WEBHOOK_RETRY_BASE_SECONDS = 60.0
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3 * 3600.0
    ceilings = [min(3 * 3600.0, 60.0 * 2 ** (n - 1)) for n in range(1, 20)]
    assert all(c / 2 <= webhook_backoff_seconds(n) <= c for n, c in enumerate(ceilings, start=1))
    # Even with the shortest jitter, the 19 retries the default limit allows span more than a day.
    assert sum(c / 2 for c in ceilings) > 12 * 3600
    assert sum(ceilings) > 24 * 3600


def test_410_gone_stops_at_once(partner, receiver):
    receiver.script.append(410)
    delivery = queued(partner)
    assert webhook_deliver(delivery_id=delivery.pk).state == "failed"
    assert len(receiver.received) == 1


def test_redelivery_sends_the_same_event_again_with_a_fresh_budget(partner, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script.extend([500, 200])
    delivery = queued(partner)
    assert webhook_deliver(delivery_id=delivery.pk).state == "failed"
    admin = User.objects.create_user("ada")

    with enqueued(enqueue.DELIVER_WEBHOOK):
        webhook_redeliver(delivery=delivery, actor=admin)

    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.attempt_limit == 2
    assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"
    first, second = receiver.received
    assert first.json()["id"] == second.json()["id"] == str(delivery.event_id)
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", flat=True)) == [1, 2]
    assert AuditEvent.objects.get(action="webhook.redelivery_requested").actor == admin


def test_redelivery_goes_to_the_partners_current_url(partner, receiver):
    receiver.script.append(404)
    partner.webhook_url = receiver.url.replace("/hooks/kyc", "/old")
    partner.save()
    delivery = queued(partner)
    webhook_deliver(delivery_id=delivery.pk)
    partner.webhook_url = receiver.url
    partner.save()
    with enqueued(enqueue.DELIVER_WEBHOOK):
        webhook_redeliver(delivery=delivery)
    webhook_deliver(delivery_id=delivery.pk)
    assert [r.path for r in receiver.received] == ["/old", "/hooks/kyc"]


def test_redelivery_is_refused_while_an_attempt_is_in_flight(partner):
    delivery = queued(partner)
    assert webhook_claim(delivery_id=delivery.pk) is not None
    with pytest.raises(WebhookError) as info:
        webhook_redeliver(delivery=delivery)
    assert info.value.code == "in_progress"


def test_a_late_worker_whose_claim_was_taken_over_records_its_attempt_but_settles_nothing(partner, receiver):
    from liveness.services import webhooks

    delivery = queued(partner)
    real_post = webhooks._post

    def slow_post(claimed, token):
        result = real_post(claimed, token)
        # Meanwhile the lease ran out and another worker claimed the delivery.
        WebhookDelivery.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        assert webhook_claim(delivery_id=claimed.pk) is not None
        return result

    with mock.patch.object(webhooks, "_post", slow_post):
        assert webhook_deliver(delivery_id=delivery.pk).state == "dropped"
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.SENDING
    assert delivery.attempts == 2
    assert WebhookAttempt.objects.get(delivery=delivery).number == 1


def test_the_per_case_callback_url_is_used_only_if_the_partner_may_override(partner, receiver):
    override = receiver.url.replace("/hooks/kyc", "/per-case")
    case = review_case(partner, callback_url=override)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)
    with enqueued(enqueue.DELIVER_WEBHOOK):
        not_allowed = webhook_enqueue(case=case, event="case.decided")
        partner.allow_callback_override = True
        partner.save()
        case.refresh_from_db()
        allowed = webhook_enqueue(case=case, event="case.decided")
    assert not_allowed is not None
    assert allowed is not None
    assert (not_allowed.url, allowed.url) == (receiver.url, override)


def test_without_a_webhook_url_nothing_is_queued(operator):
    partner = make_partner(slug="poller", webhook_url="")
    decision_record(case=review_case(partner), actor=operator, verdict=Verdict.SPOOF)
    internal: Case = CaseFactory.create(partner=None, status=CaseStatus.NEEDS_REVIEW, auto_verdict="needs_review")
    decision_record(case=internal, actor=operator, verdict=Verdict.SPOOF)
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"webhook_secret": ""}, "the partner has no webhook signing secret"),
        ({"is_active": False}, "the partner is disabled"),
    ],
)
def test_it_gives_up_without_sending_when_it_cannot_sign_or_the_partner_is_off(partner, receiver, change, error):
    delivery = queued(partner)
    for field, value in change.items():
        setattr(partner, field, value)
    partner.save()
    assert webhook_deliver(delivery_id=delivery.pk).state == "failed"
    assert receiver.received == []
    assert WebhookAttempt.objects.get().error == error


def test_private_and_plain_http_targets_are_refused_in_production(partner, receiver, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    delivery = queued(partner)
    assert webhook_deliver(delivery_id=delivery.pk).state == "failed"
    assert receiver.received == []
    assert "https" in WebhookAttempt.objects.get().error

    from liveness.services.webhooks import webhook_url_problem

    assert "non-public" in webhook_url_problem("https://localhost/hook")
    assert "not a public address" in webhook_url_problem("https://169.254.169.254/latest")
    assert webhook_url_problem("https://93.184.216.34/hook") == ""


def test_a_broker_outage_neither_fails_nor_rolls_back_the_decision(
    partner, operator, django_capture_on_commit_callbacks
):
    case = review_case(partner)
    with (
        enqueued(enqueue.DELIVER_WEBHOOK, side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        decision_record(case=case, actor=operator, verdict=Verdict.LIVE)
    case.refresh_from_db()
    assert case.final_verdict == Verdict.LIVE
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDeliveryStatus.PENDING

    # The sweeper finds it once it is overdue and sends the task again.
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    with (
        enqueued(enqueue.DELIVER_WEBHOOK) as sent,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert webhooks_requeue_due() == 1
    sent.assert_called_once_with(args=(delivery.pk,), countdown=0)


def test_the_sweeper_leaves_deliveries_that_are_not_overdue_alone(partner):
    delivery = queued(partner)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert webhooks_requeue_due() == 0
    make_due(delivery)
    assert webhook_claim(delivery_id=delivery.pk) is not None  # and never settled: the worker died
    WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert webhooks_requeue_due() == 1


def test_the_celery_task_retries_until_delivered(partner, receiver, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.0  # eager tasks run retries at once; the countdown is the backoff
    receiver.script.extend([500, 502, 200])
    case = review_case(partner)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.DECIDED, final_verdict=Verdict.SPOOF)
    case.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_enqueue(case=case, event="case.decided")

    assert delivery is not None
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 502, 200]


def test_neither_the_secret_nor_the_body_is_logged(partner, receiver, caplog):
    caplog.set_level("DEBUG")
    receiver.script.append(500)
    delivery = queued(partner)
    webhook_deliver(delivery_id=delivery.pk)
    assert SECRET not in caplog.text
    assert "user-42" not in caplog.text
    assert json.dumps(delivery.payload)[:40] not in caplog.text
    assert str(delivery.event_id) in caplog.text  # but the event is traceable


def test_the_admin_redelivers_selected_deliveries(partner, receiver, client, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script.extend([500, 200])
    delivery = queued(partner)
    webhook_deliver(delivery_id=delivery.pk)
    admin = User.objects.create_superuser("root", "root@example.test", "correct horse battery staple")
    client.force_login(admin)

    page = client.get(f"/admin/liveness/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert "the receiver answered 500" in page.content.decode()

    client.post("/admin/liveness/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})

    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert AuditEvent.objects.get(action="webhook.redelivery_requested").actor == admin
    assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"


def test_the_admin_sets_a_new_webhook_secret_and_shows_it_once(partner, client):
    admin = User.objects.create_superuser("root", "root@example.test", "correct horse battery staple")
    client.force_login(admin)
    response = client.post(
        "/admin/liveness/partner/", {"action": "rotate_webhook_secret", "_selected_action": [partner.pk]}, follow=True
    )
    [message] = [str(m) for m in response.context["messages"]]
    partner.refresh_from_db()
    assert partner.webhook_secret != SECRET
    assert message.endswith(partner.webhook_secret)
    assert AuditEvent.objects.filter(action="partner.webhook_secret_rotated").count() == 1
    assert partner.webhook_secret not in str(AuditEvent.objects.get(action="partner.webhook_secret_rotated").data)
