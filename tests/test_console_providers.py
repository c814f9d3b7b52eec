"""Provider settings page (supervisor): edits go through the audited service; bad values change nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from liveness.models import AuditEvent, ProviderSetting

pytestmark = pytest.mark.django_db


def _form(**values) -> dict[str, object]:
    data = {"threshold": 0.5, "review_margin": 0.1, "timeout_seconds": 20.0, "max_attempts": 5, "enabled": "on"}
    data.update(values)
    return {f"local-{k}": v for k, v in data.items() if v is not None}


def test_the_page_lists_every_provider_with_its_settings(supervisor_client: Client) -> None:
    response = supervisor_client.get(reverse("provider_settings"))
    assert response.status_code == 200
    keys = [row["provider"].key for row in response.context["rows"]]
    assert "local" in keys
    assert 'id="provider-local"' in response.content.decode()


def test_a_change_is_saved_and_audited_with_before_and_after(supervisor_client: Client) -> None:
    response = supervisor_client.post(
        reverse("provider_setting_change", args=["local"]), _form(threshold=0.62, review_margin=0.04)
    )
    assert response.status_code == 302
    setting = ProviderSetting.objects.get(provider="local")
    assert setting.updated_by is not None
    assert (setting.threshold, setting.review_margin, setting.updated_by.username) == (0.62, 0.04, "sam")
    event = AuditEvent.objects.get(action="provider_setting.changed")
    assert event.data["before"]["threshold"] == 0.5
    assert event.data["after"] == {
        "enabled": True,
        "threshold": 0.62,
        "review_margin": 0.04,
        "timeout_seconds": 20.0,
        "max_attempts": 5,
    }
    history = supervisor_client.get(reverse("provider_settings")).content.decode()
    assert "threshold=0.62" in history


def test_disabling_a_provider_is_a_change_too(supervisor_client: Client) -> None:
    supervisor_client.post(reverse("provider_setting_change", args=["local"]), _form(enabled=None))
    assert ProviderSetting.objects.get(provider="local").enabled is False
    assert AuditEvent.objects.get(action="provider_setting.changed").data["after"]["enabled"] is False


@pytest.mark.parametrize(("field", "value"), [("threshold", 1.5), ("review_margin", 0.9), ("timeout_seconds", 0)])
def test_values_outside_the_models_bounds_are_refused(supervisor_client: Client, field: str, value: float) -> None:
    response = supervisor_client.post(reverse("provider_setting_change", args=["local"]), _form(**{field: value}))
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    setting = ProviderSetting.objects.get(provider="local")
    assert (setting.threshold, setting.review_margin, setting.timeout_seconds) == (0.5, 0.1, 20.0)
    assert not AuditEvent.objects.filter(action="provider_setting.changed").exists()


def test_an_unknown_provider_is_not_found(supervisor_client: Client) -> None:
    assert supervisor_client.post(reverse("provider_setting_change", args=["nope"]), _form()).status_code == 404


def test_operators_cannot_see_or_change_provider_settings(client: Client, role_user) -> None:
    client.force_login(role_user("operator", "olga"))
    assert client.get(reverse("provider_settings")).status_code == 403
    response = client.post(reverse("provider_setting_change", args=["local"]), _form(threshold=0.1))
    assert response.status_code == 403
    assert not ProviderSetting.objects.filter(provider="local", threshold=0.1).exists()
