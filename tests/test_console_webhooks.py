"""Webhook deliveries in the console: the supervisor list and detail, redelivery, the case page's panel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from liveness import enqueue
from liveness.console.selectors import DeliveryCursor, DeliveryFilters, webhook_delivery_page
from liveness.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Check,
    CheckStatus,
    Partner,
    Verdict,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
)
from liveness.roles import ADMIN, OPERATOR, SUPERVISOR
from liveness.services import decision_record
from liveness.services.webhooks import webhook_claim, webhook_deliver
from tests.api_helpers import Receiver, make_partner, webhook_receiver
from tests.factories import CaseFactory
from tests.helpers import enqueued

pytestmark = pytest.mark.django_db

SECRET = "whsec_console-must-never-show-this-0123456789"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True  # the receiver is http://127.0.0.1
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0


@pytest.fixture
def receiver():
    with webhook_receiver() as running:
        yield running


def _partner(slug: str = "acme", url: str = "https://hooks.acme.example/kyc") -> Partner:
    return make_partner(slug=slug, name=slug.title(), webhook_url=url, webhook_secret=SECRET)


def _delivery(
    partner: Partner,
    *,
    status: str = WebhookDeliveryStatus.PENDING,
    minutes_ago: float = 0,
    event: str = "case.decided",
    case: Case | None = None,
    attempts: int = 0,
    **fields,
) -> WebhookDelivery:
    """A delivery row as the webhook service leaves it, created ``minutes_ago``."""
    case = case or CaseFactory.create(partner=partner, status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        event=event,
        partner=partner,
        case=case,
        url=partner.webhook_url,
        payload={"type": event, "data": {"case": {"id": str(case.public_id)}}},
        status=status,
        attempts=attempts,
        attempt_limit=max(attempts, 1),
        retry_until=now + timedelta(days=1),
        next_attempt_at=now if status == WebhookDeliveryStatus.PENDING else None,
        **fields,
    )
    for number in range(1, attempts + 1):
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            url=delivery.url,
            started_at=now,
            status_code=503,
            latency_ms=20 + number,
            error="the receiver answered 503",
        )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=now - timedelta(minutes=minutes_ago))
    delivery.refresh_from_db()
    return delivery


def _failed_delivery(receiver: Receiver, operator: User) -> WebhookDelivery:
    """A real one: an operator's decision queued it, the receiver answered 500, the budget (1) ran out."""
    partner = _partner(url=receiver.url)
    case: Case = CaseFactory.create(
        partner=partner, status=CaseStatus.NEEDS_REVIEW, auto_verdict=Verdict.NEEDS_REVIEW, external_ref="user-42"
    )
    Check.objects.create(case=case, provider="local", status=CheckStatus.SUCCEEDED, score=0.52, threshold=0.5)
    receiver.script.append(500)
    with enqueued(enqueue.DELIVER_WEBHOOK):
        decision_record(case=case, actor=operator, verdict=Verdict.LIVE)
    delivery = WebhookDelivery.objects.get(case=case)
    assert webhook_deliver(delivery_id=delivery.pk).state == "failed"
    delivery.refresh_from_db()
    return delivery


def _ids(response) -> list[int]:
    return [d.pk for d in response.context["page"].deliveries]


# --- access --------------------------------------------------------------------------------------


def test_supervisors_see_the_deliveries_page_and_its_nav_link(supervisor_client: Client) -> None:
    delivery = _delivery(_partner(), status=WebhookDeliveryStatus.FAILED, attempts=1, last_status_code=503)
    response = supervisor_client.get(reverse("webhook_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("webhook_list")}" aria-current="page">Webhooks</a>' in html
    assert reverse("webhook_detail", args=[delivery.pk]) in html
    assert reverse("case_detail", args=[_case_id(delivery)]) in html
    assert '<span class="badge wh-failed">Failed (gave up)</span>' in html
    assert "<code>503</code>" in html
    assert "Acme" in html


def test_operators_get_403_and_no_nav_link(operator_client: Client) -> None:
    delivery = _delivery(_partner())
    assert operator_client.get(reverse("webhook_list")).status_code == 403
    assert operator_client.get(reverse("webhook_detail", args=[delivery.pk])).status_code == 403
    assert reverse("webhook_list") not in operator_client.get(reverse("case_list")).content.decode()


def test_operators_cannot_redeliver(operator_client: Client) -> None:
    delivery = _delivery(_partner(), status=WebhookDeliveryStatus.FAILED, attempts=1)
    with enqueued(enqueue.DELIVER_WEBHOOK) as sent:
        response = operator_client.post(reverse("webhook_redeliver", args=[delivery.pk]))
    assert response.status_code == 403
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDeliveryStatus.FAILED
    assert not AuditEvent.objects.filter(action="webhook.redelivery_requested").exists()
    sent.assert_not_called()


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("webhook_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_the_supervisor_and_admin_roles_may_view_and_redeliver_operators_may_not() -> None:
    def perms(role: str) -> set[str]:
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    wanted = {"view_webhookdelivery", "change_webhookdelivery"}
    assert wanted <= perms(SUPERVISOR)
    assert wanted <= perms(ADMIN)
    assert not wanted & perms(OPERATOR)


def test_a_user_who_may_only_view_gets_no_redeliver_button(client: Client) -> None:
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    delivery = _delivery(_partner(), status=WebhookDeliveryStatus.FAILED, attempts=1)
    client.force_login(viewer)
    assert client.get(reverse("webhook_list")).context["can_redeliver"] is False
    html = client.get(reverse("webhook_detail", args=[delivery.pk])).content.decode()
    assert reverse("webhook_redeliver", args=[delivery.pk]) not in html
    assert client.post(reverse("webhook_redeliver", args=[delivery.pk])).status_code == 403


# --- the list ------------------------------------------------------------------------------------


def test_deliveries_are_listed_newest_first(supervisor_client: Client) -> None:
    partner = _partner()
    old = _delivery(partner, minutes_ago=90)
    new = _delivery(partner, minutes_ago=1)
    middle = _delivery(partner, minutes_ago=30)
    assert _ids(supervisor_client.get(reverse("webhook_list"))) == [new.pk, middle.pk, old.pk]


def test_the_status_filter_keeps_only_that_status(supervisor_client: Client) -> None:
    partner = _partner()
    failed = _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=2)
    _delivery(partner, status=WebhookDeliveryStatus.DELIVERED, attempts=1)
    _delivery(partner)
    assert _ids(supervisor_client.get(reverse("webhook_list"), {"status": "failed"})) == [failed.pk]


def test_the_partner_and_event_filters_combine(supervisor_client: Client) -> None:
    acme, bank = _partner("acme"), _partner("bank")
    wanted = _delivery(bank, event="case.resubmission_requested")
    _delivery(bank, event="case.decided")
    _delivery(acme, event="case.resubmission_requested")
    response = supervisor_client.get(
        reverse("webhook_list"), {"partner": str(bank.pk), "event": "case.resubmission_requested"}
    )
    assert _ids(response) == [wanted.pk]


def test_invalid_filter_values_are_ignored_not_an_error(supervisor_client: Client) -> None:
    delivery = _delivery(_partner())
    response = supervisor_client.get(
        reverse("webhook_list"), {"status": "bogus", "partner": "999999", "event": "x", "after": "not-a-cursor"}
    )
    assert response.status_code == 200
    assert _ids(response) == [delivery.pk]


def test_the_header_counts_waiting_and_given_up_deliveries(supervisor_client: Client) -> None:
    partner = _partner()
    _delivery(partner)
    _delivery(partner, status=WebhookDeliveryStatus.SENDING, attempts=1)
    _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=1)
    _delivery(partner, status=WebhookDeliveryStatus.DELIVERED, attempts=1)
    counts = supervisor_client.get(reverse("webhook_list")).context["counts"]
    assert (counts.waiting, counts.failed) == (2, 1)


def test_keyset_pages_walk_every_delivery_once_newest_first() -> None:
    partner = _partner()
    made = [_delivery(partner, minutes_ago=50 - i) for i in range(7)]
    twin = _delivery(partner)
    # Same created_at for two deliveries: the id breaks the tie, none is skipped or repeated.
    WebhookDelivery.objects.filter(pk=twin.pk).update(created_at=made[3].created_at)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = webhook_delivery_page(DeliveryFilters(), cursor=cursor, size=3)
        seen += [d.pk for d in page.deliveries]
        pages += 1
        if not page.next_cursor:
            break
        cursor = DeliveryCursor.decode(page.next_cursor)
    assert len(seen) == len(set(seen)) == 8
    assert seen[:3] == [made[6].pk, made[5].pk, made[4].pk]
    assert seen[3:5] == [twin.pk, made[3].pk]  # the twin has the higher id: it comes first
    assert pages == 3


def test_the_next_page_link_keeps_the_filters(supervisor_client: Client, settings) -> None:
    settings.CONSOLE_PAGE_SIZE = 2
    partner = _partner()
    for i in range(3):
        _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=1, minutes_ago=10 - i)
    _delivery(partner, status=WebhookDeliveryStatus.DELIVERED, attempts=1)
    first = supervisor_client.get(reverse("webhook_list"), {"status": "failed"})
    assert "status=failed" in first.context["next_url"]
    second = supervisor_client.get(reverse("webhook_list") + first.context["next_url"])
    assert len(_ids(first)) == 2
    assert len(_ids(second)) == 1
    assert not set(_ids(first)) & set(_ids(second))
    assert second.context["next_url"] == ""


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _seed(n: int, partners: list[Partner]) -> None:
    statuses = list(WebhookDeliveryStatus.values)
    for i in range(n):
        status = statuses[i % len(statuses)]
        _delivery(partners[i % 2], status=status, attempts=0 if status == "pending" else 1 + i % 3, minutes_ago=i)


def test_the_list_query_count_does_not_grow_with_the_number_of_deliveries(supervisor_client: Client) -> None:
    url = reverse("webhook_list")
    partners = [_partner("acme"), _partner("bank")]
    _seed(10, partners)
    with_10 = _count_queries(supervisor_client, url)
    _seed(90, partners)
    with_100 = _count_queries(supervisor_client, url)
    assert with_10 == with_100
    assert _count_queries(supervisor_client, url + "?status=failed") == with_10


def test_the_detail_query_count_does_not_grow_with_the_number_of_attempts(supervisor_client: Client) -> None:
    partner = _partner()
    one = _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=1)
    many = _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=12)
    assert _count_queries(supervisor_client, reverse("webhook_detail", args=[one.pk])) == _count_queries(
        supervisor_client, reverse("webhook_detail", args=[many.pk])
    )


# --- the detail ----------------------------------------------------------------------------------


def test_the_detail_shows_every_attempt(supervisor_client: Client, receiver: Receiver, olga: User) -> None:
    delivery = _failed_delivery(receiver, olga)
    response = supervisor_client.get(reverse("webhook_detail", args=[delivery.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    [attempt] = response.context["attempts"]
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 500, "the receiver answered 500")
    html = response.content.decode()
    assert '<tr data-attempt="1">' in html
    assert '<span class="badge oc-fail">500</span>' in html
    assert f"{attempt.latency_ms} ms" in html
    assert "the receiver answered 500" in html
    assert "answered 500" in html  # the start of the receiver's answer
    assert str(delivery.event_id) in html
    assert "user-42" in html  # the body sent, folded away


def test_an_unknown_delivery_is_not_found(supervisor_client: Client) -> None:
    assert supervisor_client.get(reverse("webhook_detail", args=[987654])).status_code == 404
    assert supervisor_client.post(reverse("webhook_redeliver", args=[987654])).status_code == 404


def test_the_signing_secret_is_never_rendered_nor_loaded(
    supervisor_client: Client, receiver: Receiver, olga: User
) -> None:
    delivery = _failed_delivery(receiver, olga)
    pages = [
        reverse("webhook_list"),
        reverse("webhook_detail", args=[delivery.pk]),
        reverse("case_detail", args=[_case_id(delivery)]),
    ]
    for url in pages:
        html = supervisor_client.get(url).content.decode()
        assert SECRET not in html, url
        assert SECRET[:16] not in html, url
    # The console's own reads do not even fetch it.
    listed = supervisor_client.get(reverse("webhook_list")).context["page"].deliveries[0]
    detailed = supervisor_client.get(reverse("webhook_detail", args=[delivery.pk])).context["delivery"]
    assert "webhook_secret" in listed.partner.get_deferred_fields()
    assert "webhook_secret" in detailed.partner.get_deferred_fields()


# --- redelivery ----------------------------------------------------------------------------------


def test_redeliver_sends_the_event_again_and_records_the_new_attempt(
    supervisor_client: Client, sam: User, olga: User, receiver: Receiver, settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    delivery = _failed_delivery(receiver, olga)
    assert delivery.status == WebhookDeliveryStatus.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor_client.post(reverse("webhook_redeliver", args=[delivery.pk]), follow=True)

    assert f"Event {str(delivery.event_id)[:8]} queued for redelivery to {receiver.url}." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("webhook_detail", args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "status_code"))
    assert attempts == [(1, 500), (2, 200)]
    first, second = receiver.received
    assert first.json()["id"] == second.json()["id"] == str(delivery.event_id)  # same event id
    event = AuditEvent.objects.get(action="webhook.redelivery_requested")
    assert (event.actor, event.case_id, event.data["delivery"]) == (sam, delivery.case_id, delivery.pk)


def test_redeliver_resets_the_budget_and_enqueues_after_commit(
    supervisor_client: Client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    delivery = _delivery(_partner(), status=WebhookDeliveryStatus.FAILED, attempts=3, failed_at=timezone.now())
    with enqueued(enqueue.DELIVER_WEBHOOK) as sent:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            supervisor_client.post(reverse("webhook_redeliver", args=[delivery.pk]))
        sent.assert_not_called()  # nothing leaves before the transaction commits
        for callback in callbacks:
            callback()
    sent.assert_called_once_with(args=(delivery.pk,), countdown=0)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.PENDING
    assert delivery.attempt_limit == 3 + 5
    assert delivery.failed_at is None
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at <= timezone.now()


def test_redeliver_is_refused_while_an_attempt_is_in_flight(supervisor_client: Client) -> None:
    delivery = _delivery(_partner())
    assert webhook_claim(delivery_id=delivery.pk) is not None
    with enqueued(enqueue.DELIVER_WEBHOOK) as sent:
        response = supervisor_client.post(reverse("webhook_redeliver", args=[delivery.pk]), follow=True)
    assert "was not sent again: an attempt of this delivery is in progress." in response.content.decode()
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDeliveryStatus.SENDING
    assert not AuditEvent.objects.filter(action="webhook.redelivery_requested").exists()
    sent.assert_not_called()


def test_redeliver_is_refused_when_the_partner_has_no_url_any_more(supervisor_client: Client) -> None:
    partner = _partner()
    delivery = _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=1)
    Partner.objects.filter(pk=partner.pk).update(webhook_url="")
    response = supervisor_client.post(reverse("webhook_redeliver", args=[delivery.pk]), follow=True)
    assert "the partner has no webhook URL configured" in response.content.decode()
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDeliveryStatus.FAILED


def test_redeliver_needs_a_post_with_a_csrf_token(sam: User) -> None:
    delivery = _delivery(_partner(), status=WebhookDeliveryStatus.FAILED, attempts=1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)
    assert client.get(reverse("webhook_redeliver", args=[delivery.pk])).status_code == 405
    assert client.post(reverse("webhook_redeliver", args=[delivery.pk])).status_code == 403
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDeliveryStatus.FAILED


def test_redeliver_returns_to_a_local_next_url_only(supervisor_client: Client) -> None:
    delivery = _delivery(_partner(), status=WebhookDeliveryStatus.FAILED, attempts=1)
    url = reverse("webhook_redeliver", args=[delivery.pk])
    case_page = reverse("case_detail", args=[_case_id(delivery)])
    with enqueued(enqueue.DELIVER_WEBHOOK):
        back_home = supervisor_client.post(url, {"next": case_page})
        elsewhere = supervisor_client.post(url, {"next": "https://evil.example/"})
    assert back_home["Location"] == case_page
    assert elsewhere["Location"] == reverse("webhook_detail", args=[delivery.pk])


# --- the case page's panel -----------------------------------------------------------------------


def test_the_case_page_lists_its_deliveries_with_a_redeliver_button_for_supervisors(
    supervisor_client: Client,
) -> None:
    partner = _partner()
    case: Case = CaseFactory.create(partner=partner, status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)
    failed = _delivery(partner, case=case, status=WebhookDeliveryStatus.FAILED, attempts=2, minutes_ago=30)
    resent = _delivery(
        partner, case=case, event="case.resubmission_requested", status=WebhookDeliveryStatus.DELIVERED, attempts=1
    )
    _delivery(partner)  # another case's delivery is not listed
    response = supervisor_client.get(reverse("case_detail", args=[case.public_id]))
    assert [d.pk for d in response.context["deliveries"]] == [resent.pk, failed.pk]
    html = response.content.decode()
    assert 'id="partner-notifications"' in html
    assert '<span class="badge wh-failed"' in html
    assert '<span class="badge wh-delivered"' in html
    assert f'<a href="{reverse("webhook_detail", args=[failed.pk])}">case.decided</a>' in html
    assert reverse("webhook_redeliver", args=[failed.pk]) in html
    assert reverse("webhook_redeliver", args=[resent.pk]) in html


def test_operators_see_the_case_panel_status_but_no_link_or_button(operator_client: Client) -> None:
    partner = _partner()
    delivery = _delivery(partner, status=WebhookDeliveryStatus.FAILED, attempts=1)
    html = operator_client.get(reverse("case_detail", args=[_case_id(delivery)])).content.decode()
    assert 'id="partner-notifications"' in html
    assert '<span class="badge wh-failed"' in html
    assert reverse("webhook_detail", args=[delivery.pk]) not in html
    assert reverse("webhook_redeliver", args=[delivery.pk]) not in html


def test_the_case_panel_says_when_nothing_was_sent_and_is_absent_for_console_uploads(
    supervisor_client: Client,
) -> None:
    partner_case: Case = CaseFactory.create(partner=_partner(), status=CaseStatus.NEEDS_REVIEW)
    uploaded: Case = CaseFactory.create(partner=None, status=CaseStatus.NEEDS_REVIEW)
    html = supervisor_client.get(reverse("case_detail", args=[partner_case.public_id])).content.decode()
    assert "None yet: the partner is notified" in html
    html = supervisor_client.get(reverse("case_detail", args=[uploaded.public_id])).content.decode()
    assert 'id="partner-notifications"' not in html


def test_the_case_page_query_count_does_not_grow_with_deliveries(supervisor_client: Client) -> None:
    partner = _partner()
    counts = []
    for n in (1, 6):
        case: Case = CaseFactory.create(partner=partner, status=CaseStatus.DECIDED, final_verdict=Verdict.LIVE)
        for i in range(n):
            _delivery(partner, case=case, status=WebhookDeliveryStatus.FAILED, attempts=1, minutes_ago=i)
        counts.append(_count_queries(supervisor_client, reverse("case_detail", args=[case.public_id])))
    assert counts[0] == counts[1]


def _case_id(delivery: WebhookDelivery) -> Any:
    assert delivery.case is not None  # a case event's delivery always has its case
    return delivery.case.public_id
