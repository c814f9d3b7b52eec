"""Rotating a partner's webhook signing secret with an overlap: both signatures during the grace period
(checked with the README's own verification code), only the new one after it; audited, never shown."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from liveness import enqueue
from liveness.models import AuditEvent, Case, CaseStatus, Partner, Verdict
from liveness.services.api_keys import webhook_secret_rotate
from liveness.services.webhooks import webhook_deliver, webhook_enqueue
from tests.api_helpers import Received, make_partner, webhook_receiver
from tests.factories import CaseFactory
from tests.helpers import enqueued
from tests.test_webhooks_readme import readme_example

pytestmark = pytest.mark.django_db

OLD = "whsec_old-secret-the-partner-has-deployed"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True  # the receiver is http://127.0.0.1
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def partner(receiver) -> Partner:
    return make_partner(slug="acme", webhook_url=receiver.url, webhook_secret=OLD)


@pytest.fixture
def verify():
    return readme_example()["verify_kyc_webhook"]


def deliver_one(partner: Partner, receiver) -> Received:
    case: Case = CaseFactory.create(
        partner=partner, status=CaseStatus.DECIDED, auto_verdict=Verdict.LIVE, final_verdict=Verdict.LIVE
    )
    with enqueued(enqueue.DELIVER_WEBHOOK):
        delivery = webhook_enqueue(case=case, event="case.decided")
    assert delivery is not None
    assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"
    return receiver.received[-1]


def accepts(verify, secret: str, hit: Received) -> bool:
    return verify(secret, hit.body, hit.headers["Kyc-Timestamp"], hit.headers["Kyc-Signature"])


def end_grace(partner: Partner) -> None:
    Partner.objects.filter(pk=partner.pk).update(
        webhook_secret_previous_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_it_signs_with_both_secrets_new_first_during_the_grace_period(partner, receiver, verify):
    new = webhook_secret_rotate(partner=partner)

    hit = deliver_one(partner, receiver)

    signatures = hit.headers["Kyc-Signature"].split(",")
    assert len(signatures) == 2
    assert accepts(verify, new, hit)
    assert accepts(verify, OLD, hit)  # the partner has not deployed the new secret yet: still fine
    timestamp = hit.headers["Kyc-Timestamp"]
    assert verify(new, hit.body, timestamp, signatures[0])
    assert verify(OLD, hit.body, timestamp, signatures[1])
    assert not accepts(verify, "whsec_someone-else", hit)


def test_it_signs_with_the_new_secret_only_after_the_grace_period(partner, receiver, verify):
    new = webhook_secret_rotate(partner=partner)
    end_grace(partner)

    hit = deliver_one(partner, receiver)

    assert "," not in hit.headers["Kyc-Signature"]
    assert accepts(verify, new, hit)
    assert not accepts(verify, OLD, hit)


def test_the_grace_period_comes_from_the_setting(partner, settings):
    settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS = 2
    before = timezone.now()
    webhook_secret_rotate(partner=partner)
    after = timezone.now()

    partner.refresh_from_db()
    assert partner.webhook_secret_previous == OLD
    expires_at = partner.webhook_secret_previous_expires_at
    assert expires_at is not None
    assert before + timedelta(hours=2) <= expires_at <= after + timedelta(hours=2)


def test_a_rotation_without_grace_stops_the_old_secret_at_once(partner, receiver, verify):
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_webhook_secret", "--partner", "acme", "--grace-hours", "0", stdout=out, stderr=err)
    new = out.getvalue().strip()

    hit = deliver_one(partner, receiver)

    assert accepts(verify, new, hit)
    assert not accepts(verify, OLD, hit)
    partner.refresh_from_db()
    assert partner.webhook_secret_previous == ""
    assert "also signed" not in err.getvalue()


def test_rotating_again_within_the_grace_period_keeps_only_the_secret_just_replaced(partner, receiver, verify):
    second = webhook_secret_rotate(partner=partner)
    third = webhook_secret_rotate(partner=partner)

    hit = deliver_one(partner, receiver)

    assert len(hit.headers["Kyc-Signature"].split(",")) == 2
    assert accepts(verify, third, hit)
    assert accepts(verify, second, hit)
    assert not accepts(verify, OLD, hit)


def test_a_first_secret_has_nothing_to_overlap_with(receiver, verify):
    partner = make_partner(slug="fresh", webhook_url=receiver.url, webhook_secret="")
    secret = webhook_secret_rotate(partner=partner)

    hit = deliver_one(partner, receiver)

    assert "," not in hit.headers["Kyc-Signature"]
    assert accepts(verify, secret, hit)
    partner.refresh_from_db()
    assert partner.webhook_secret_previous_expires_at is None


def test_the_rotation_is_audited_with_its_overlap_but_without_either_secret(partner, supervisor):
    new = webhook_secret_rotate(partner=partner, actor=supervisor)

    event = AuditEvent.objects.get(action="partner.webhook_secret_rotated")
    partner.refresh_from_db()
    assert event.actor == supervisor
    assert event.data["partner"] == "acme"
    assert event.data["previous_secret_valid_until"] == partner.webhook_secret_previous_expires_at.isoformat()
    assert new not in str(event.data)
    assert OLD not in str(event.data)


def test_the_command_prints_only_the_new_secret_and_says_until_when_the_old_one_signs(partner):
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_webhook_secret", "--partner", "acme", stdout=out, stderr=err)

    partner.refresh_from_db()
    assert out.getvalue().strip() == partner.webhook_secret
    assert "also signed with the previous secret until" in err.getvalue()
    assert OLD not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize("hours", ["-1", "100000", "nan"])
def test_the_command_refuses_a_grace_period_out_of_range(partner, hours):
    with pytest.raises(CommandError, match="--grace-hours must be between 0 and 720"):
        call_command("rotate_webhook_secret", "--partner", "acme", "--grace-hours", hours)
    partner.refresh_from_db()
    assert partner.webhook_secret == OLD


def test_neither_secret_reaches_the_logs(partner, receiver, caplog, client):
    caplog.set_level("DEBUG")
    call_command("rotate_webhook_secret", "--partner", "acme", stdout=io.StringIO(), stderr=io.StringIO())
    deliver_one(partner, receiver)
    client.force_login(User.objects.create_superuser("root", "root@example.test", "correct horse battery staple"))
    client.post("/admin/liveness/partner/", {"action": "rotate_webhook_secret", "_selected_action": [partner.pk]})
    deliver_one(partner, receiver)

    partner.refresh_from_db()
    assert partner.webhook_secret_previous not in ("", OLD)  # two rotations: three secrets in play
    for secret in (OLD, partner.webhook_secret_previous, partner.webhook_secret):
        assert secret not in caplog.text


def test_the_admin_never_renders_the_previous_secret(partner, client):
    client.force_login(User.objects.create_superuser("root", "root@example.test", "correct horse battery staple"))

    rotated = client.post(
        "/admin/liveness/partner/", {"action": "rotate_webhook_secret", "_selected_action": [partner.pk]}, follow=True
    )
    partner.refresh_from_db()
    [message] = [str(m) for m in rotated.context["messages"]]
    assert message.endswith(partner.webhook_secret)  # the new one, shown once
    assert "also signed with the previous one until" in message
    assert OLD not in rotated.content.decode()

    pages = [
        "/admin/liveness/partner/",
        f"/admin/liveness/partner/{partner.pk}/change/",
        f"/admin/liveness/partner/{partner.pk}/history/",
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert OLD not in html, url
        assert partner.webhook_secret not in html, url
    change_page = client.get(f"/admin/liveness/partner/{partner.pk}/change/").content.decode()
    assert "field-webhook_secret_previous_expires_at" in change_page  # when, shown read-only
    assert 'name="webhook_secret_previous"' not in change_page
