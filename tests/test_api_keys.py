"""API keys: shown once, stored hashed, rotatable, revocable; in the admin and as management commands."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from liveness.models import ApiKey, AuditEvent
from liveness.services.api_keys import (
    ApiKeyError,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    api_key_rotate,
)
from tests.api_helpers import CASES_URL, client_for

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_its_sha256_with_a_visible_prefix(partner):
    issued = api_key_create(name="prod", partner=partner)
    key = ApiKey.objects.get()
    assert issued.secret.startswith(key.prefix + "_")
    assert len(issued.secret) > 50
    assert key.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in {str(getattr(key, f.attname)) for f in ApiKey._meta.concrete_fields}
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.data == {"prefix": key.prefix, "name": "prod", "partner": "acme"}
    assert issued.secret not in str(event.data)


def test_a_partner_may_hold_several_keys(partner):
    first = api_key_create(name="a", partner=partner).secret
    second = api_key_create(name="b", partner=partner).secret
    assert api_key_authenticate(first).partner == partner  # type: ignore[union-attr]
    assert api_key_authenticate(second).partner == partner  # type: ignore[union-attr]
    assert first != second
    assert partner.api_keys.count() == 2


def test_a_key_belongs_to_exactly_one_owner(partner, operator):
    with pytest.raises(ApiKeyError):
        api_key_create(name="both", partner=partner, user=operator)
    with pytest.raises(ApiKeyError):
        api_key_create(name="none")
    with pytest.raises(IntegrityError):
        ApiKey.objects.create(name="raw", prefix="kyc_x", key_hash="0" * 64)


def test_authentication_refuses_lookalikes(partner):
    secret = api_key_create(name="a", partner=partner).secret
    assert api_key_authenticate(secret) is not None
    assert api_key_authenticate(secret[:-1]) is None
    assert api_key_authenticate(secret + "x") is None
    assert api_key_authenticate(secret.replace("kyc_", "xyz_", 1)) is None
    assert api_key_authenticate("") is None


def test_rotation_links_the_successor_and_ends_the_old_key_after_the_grace(partner, settings):
    settings.API_KEY_ROTATION_GRACE_HOURS = 2
    old_secret = api_key_create(name="prod", partner=partner).secret
    old = ApiKey.objects.get()
    issued = api_key_rotate(api_key=old)
    old.refresh_from_db()
    assert old.replaced_by == issued.api_key
    assert issued.api_key.name == "prod"
    assert old.expires_at is not None
    assert timedelta(hours=1, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=2)
    assert api_key_authenticate(old_secret) is not None
    assert AuditEvent.objects.filter(action="api_key.rotated", data__prefix=old.prefix).exists()


def test_a_revoked_key_cannot_be_rotated(partner):
    api_key_create(name="prod", partner=partner)
    key = api_key_revoke(api_key=ApiKey.objects.get())
    with pytest.raises(ApiKeyError):
        api_key_rotate(api_key=key)


def test_revoking_twice_records_one_event(partner):
    api_key_create(name="prod", partner=partner)
    key = ApiKey.objects.get()
    api_key_revoke(api_key=key)
    api_key_revoke(api_key=key)
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


# --- management commands ------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_api_key_prints_the_key_once_and_it_works(partner):
    key, note = run("create_api_key", "--partner", "acme", "--name", "backend")
    assert client_for(key).get(CASES_URL).status_code == 200
    assert ApiKey.objects.get().prefix in note
    assert key not in note


def test_create_api_key_for_an_operator(operator):
    key, _ = run("create_api_key", "--user", operator.username, "--name", "cli")
    assert api_key_authenticate(key).user == operator  # type: ignore[union-attr]


def test_create_api_key_with_an_expiry(partner):
    run("create_api_key", "--partner", "acme", "--name", "temp", "--expires-in-days", "7")
    expires_at = ApiKey.objects.get().expires_at
    assert expires_at is not None
    assert timedelta(days=6) < expires_at - timezone.now() <= timedelta(days=7)


def test_create_api_key_refuses_an_unknown_owner():
    with pytest.raises(CommandError, match="no partner"):
        run("create_api_key", "--partner", "ghost", "--name", "x")
    with pytest.raises(CommandError, match="no user"):
        run("create_api_key", "--user", "ghost", "--name", "x")


def test_rotate_and_revoke_commands(partner):
    old, _ = run("create_api_key", "--partner", "acme", "--name", "backend")
    prefix = ApiKey.objects.get().prefix
    new, note = run("rotate_api_key", prefix, "--grace-hours", "0")
    assert prefix in note
    assert new != old
    assert client_for(old).get(CASES_URL).status_code == 401  # no grace asked
    assert client_for(new).get(CASES_URL).status_code == 200

    run("revoke_api_key", ApiKey.objects.get(replaced_by__isnull=True).prefix)
    assert client_for(new).get(CASES_URL).status_code == 401
    with pytest.raises(CommandError):
        run("revoke_api_key", "kyc_nothere")


def test_list_api_keys_shows_prefixes_and_state_never_secrets(partner):
    key, _ = run("create_api_key", "--partner", "acme", "--name", "backend")
    client_for(key).get(CASES_URL)
    listing, _ = run("list_api_keys", "--partner", "acme")
    assert ApiKey.objects.get().prefix in listing
    assert "active" in listing
    assert key not in listing
    assert "last used never" not in listing


def test_rotate_webhook_secret_prints_a_new_secret(partner):
    secret, _ = run("rotate_webhook_secret", "--partner", "acme")
    partner.refresh_from_db()
    assert partner.webhook_secret == secret
    assert secret.startswith("whsec_")
    assert len(secret) > 40


# --- admin ----------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client):
    admin = User.objects.create_superuser("root", "root@example.test", "correct horse battery staple")
    client.force_login(admin)
    return client


def test_the_admin_creates_a_key_and_shows_it_once(admin_client_, partner):
    response = admin_client_.post(
        "/admin/liveness/apikey/add/", {"name": "from admin", "partner": partner.pk}, follow=True
    )
    assert response.status_code == 200
    key = ApiKey.objects.get()
    [message] = [str(m) for m in response.context["messages"] if "Copy it now" in str(m)]
    secret = message.rsplit(" ", 1)[-1]
    assert key.prefix in message
    assert api_key_authenticate(secret) == key
    assert key.created_by.username == "root"  # type: ignore[union-attr]
    page = admin_client_.get(f"/admin/liveness/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page
    assert secret not in page
    assert key.key_hash not in page


def test_the_admin_refuses_a_key_without_an_owner(admin_client_):
    response = admin_client_.post("/admin/liveness/apikey/add/", {"name": "orphan"})
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    assert "Choose a partner" in response.content.decode()


def test_the_admin_revokes_and_rotates_keys(admin_client_, partner):
    api_key_create(name="one", partner=partner)
    key = ApiKey.objects.get()
    response = admin_client_.post(
        "/admin/liveness/apikey/",
        {"action": "rotate_keys", "_selected_action": [key.pk]},
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"] if "successor" in str(m)]
    successor = ApiKey.objects.get(replaced_by__isnull=True)
    assert api_key_authenticate(message.rsplit(" ", 1)[-1]) == successor
    key.refresh_from_db()
    assert key.replaced_by == successor
    assert key.expires_at is not None
    admin_client_.post("/admin/liveness/apikey/", {"action": "revoke_keys", "_selected_action": [successor.pk]})
    successor.refresh_from_db()
    assert successor.revoked_at is not None
