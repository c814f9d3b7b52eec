"""A partner's webhook without the Django admin: the set_webhook command and the console page (admin only),
both audited; the README's partner commands as written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from liveness.models import ApiKey, AuditEvent, Partner
from liveness.services.webhooks import webhook_signing_secrets
from tests.api_helpers import make_partner

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- set_webhook -----------------------------------------------------------------------------------------


def test_set_webhook_sets_the_url_and_prints_a_first_secret_once():
    partner = make_partner(slug="demo-bank", webhook_secret="")
    out, err = run("set_webhook", "--partner", "demo-bank", "--url", "https://partner.example/hooks")
    partner.refresh_from_db()
    assert partner.webhook_url == "https://partner.example/hooks"
    assert out.strip() == partner.webhook_secret
    assert out.startswith("whsec_")
    assert "shown only now" in err
    changed = AuditEvent.objects.get(action="partner.webhook_url_changed")
    assert changed.data == {"partner": "demo-bank", "before": "", "after": "https://partner.example/hooks"}
    assert changed.actor_label == "command"
    assert partner.webhook_secret not in str(changed.data)

    # Run again with another URL: the secret is kept (not printed), the change audited.
    out, err = run("set_webhook", "--partner", "demo-bank", "--url", "https://partner.example/v2")
    assert out == ""
    assert "signing secret set (not shown)" in err
    assert Partner.objects.get(pk=partner.pk).webhook_secret == partner.webhook_secret
    assert AuditEvent.objects.filter(action="partner.webhook_url_changed").count() == 2


def test_set_webhook_new_secret_rotates_with_the_grace_period():
    partner = make_partner(slug="demo-bank", webhook_secret="whsec_old", webhook_url="https://p.example/h")
    out, _ = run("set_webhook", "--partner", "demo-bank", "--new-secret")
    partner.refresh_from_db()
    assert webhook_signing_secrets(partner) == [out.strip(), "whsec_old"]
    assert AuditEvent.objects.filter(action="partner.webhook_secret_rotated").count() == 1


def test_set_webhook_refuses_a_bad_url_and_an_unknown_partner_with_the_reason(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    make_partner(slug="demo-bank", webhook_url="https://p.example/h")
    with pytest.raises(CommandError, match="--url: the webhook URL must use https"):
        run("set_webhook", "--partner", "demo-bank", "--url", "http://p.example/h")
    with pytest.raises(CommandError, match="not a public address"):
        run("set_webhook", "--partner", "demo-bank", "--url", "https://127.0.0.1/h")
    with pytest.raises(CommandError, match="not a valid http"):
        run("set_webhook", "--partner", "demo-bank", "--url", "https://")
    assert Partner.objects.get(slug="demo-bank").webhook_url == "https://p.example/h"
    assert not AuditEvent.objects.filter(action="partner.webhook_url_changed").exists()
    with pytest.raises(CommandError, match=r"no partner with slug 'acme' \(partners: demo-bank\)"):
        run("set_webhook", "--partner", "acme", "--url", "https://p.example/h")


# --- the README's partner commands ----------------------------------------------------------------------


def test_the_api_key_commands_work_on_the_demo_partner_and_list_every_key_without_arguments(role_user):
    make_partner(slug="demo-bank")
    make_partner(slug="other-bank")
    role_user("operator", "alice")
    key, _ = run("create_api_key", "--partner", "demo-bank", "--name", "production backend")
    run("create_api_key", "--partner", "other-bank", "--name", "staging")
    run("create_api_key", "--user", "alice", "--name", "cli")
    listed, _ = run("list_api_keys")
    lines = listed.strip().splitlines()
    assert len(lines) == ApiKey.objects.count() == 3
    assert {line.split("\t")[1] for line in lines} == {"partner:demo-bank", "partner:other-bank", "user:alice"}
    assert key.strip() not in listed  # never the key itself
    only, _ = run("list_api_keys", "--partner", "demo-bank")
    assert len(only.strip().splitlines()) == 1


# --- the console page ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client, role_user) -> Client:
    client.force_login(role_user("admin", "ada"))
    return client


def test_only_admins_may_open_the_page(client: Client, role_user):
    for role in ("operator", "supervisor"):
        client.force_login(role_user(role, f"{role}-1"))
        assert client.get(reverse("partner_webhooks")).status_code == 403
        assert client.post(reverse("partner_webhook_secret", args=["demo-bank"])).status_code == 403


def test_an_admin_sets_the_url_and_gets_a_secret_once(admin_client: Client):
    partner = make_partner(slug="demo-bank", name="Demo Bank", webhook_secret="")
    page = admin_client.get(reverse("partner_webhooks")).content.decode()
    assert "Demo Bank" in page
    assert "no webhook URL: no events sent" in page

    response = admin_client.post(
        reverse("partner_webhook_url", args=["demo-bank"]),
        {"demo-bank-webhook_url": "https://partner.example/hooks"},
        follow=True,
    )
    assert "Demo Bank: webhook URL saved." in response.content.decode()
    assert "no signing secret: deliveries fail" in response.content.decode()
    assert Partner.objects.get(pk=partner.pk).webhook_url == "https://partner.example/hooks"
    assert AuditEvent.objects.get(action="partner.webhook_url_changed").actor_id == User.objects.get(username="ada").pk

    shown = admin_client.post(reverse("partner_webhook_secret", args=["demo-bank"]))
    secret = Partner.objects.get(pk=partner.pk).webhook_secret
    assert shown.status_code == 200
    assert secret in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    assert (
        AuditEvent.objects.get(action="partner.webhook_secret_rotated").actor_id == User.objects.get(username="ada").pk
    )
    again = admin_client.get(reverse("partner_webhooks")).content.decode()
    assert secret not in again  # shown once
    assert "sending events" in again
    assert "Rotate secret" in again


def test_a_bad_url_is_refused_in_words_and_nothing_changes(admin_client: Client, settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = False
    make_partner(slug="demo-bank", webhook_url="https://p.example/h")
    response = admin_client.post(
        reverse("partner_webhook_url", args=["demo-bank"]), {"demo-bank-webhook_url": "https://10.0.0.5/hook"}
    )
    assert response.status_code == 400
    assert "10.0.0.5 is not a public address" in response.content.decode()
    assert Partner.objects.get(slug="demo-bank").webhook_url == "https://p.example/h"
    assert not AuditEvent.objects.filter(action="partner.webhook_url_changed").exists()


def test_the_page_never_shows_a_stored_secret(admin_client: Client):
    make_partner(slug="demo-bank", webhook_secret="whsec_stored_one", webhook_url="https://p.example/h")
    page = admin_client.get(reverse("partner_webhooks")).content.decode()
    assert "whsec_stored_one" not in page
    assert "set (never shown again)" in page
