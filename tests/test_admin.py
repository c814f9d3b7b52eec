"""The Django admin: every model is registered and its list, filters and search work."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from liveness import models, services
from liveness.models import AuditEvent, ProviderSetting
from tests.factories import CaseFactory, CheckFactory, UserFactory

pytestmark = pytest.mark.django_db

CORE_MODELS = [
    models.Partner,
    models.Case,
    models.Evidence,
    models.Check,
    models.Decision,
    models.AuditEvent,
    models.ProviderSetting,
]


@pytest.fixture
def admin_client(client):
    user = UserFactory.create(username="root-admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", CORE_MODELS, ids=lambda m: m.__name__)
def test_every_core_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.mark.parametrize("model", CORE_MODELS, ids=lambda m: m.__name__)
def test_changelists_load_with_search_and_filters(admin_client, model):
    case = CaseFactory.create(external_ref="ref-42")
    CheckFactory.create(case=case)
    services.audit_record(action="case.created", case=case)
    services.provider_setting_get("local")
    url = reverse(f"admin:liveness_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "ref-42"}).status_code == 200


def test_case_search_finds_by_partner_reference(admin_client):
    wanted = CaseFactory.create(external_ref="needle-7")
    CaseFactory.create(external_ref="haystack")
    response = admin_client.get(reverse("admin:liveness_case_changelist"), {"q": "needle-7"})
    assert str(wanted.public_id) in response.content.decode()
    assert "haystack" not in response.content.decode()


def test_audit_events_cannot_be_changed_or_deleted_in_the_admin(admin_client):
    event = services.audit_record(action="case.created", case=CaseFactory.create())
    change = reverse("admin:liveness_auditevent_change", args=[event.pk])
    assert admin_client.post(change, {"action": "tampered"}).status_code == 403
    delete = reverse("admin:liveness_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "case.created"


def test_changing_a_threshold_in_the_admin_is_audited_with_before_and_after(admin_client):
    setting = services.provider_setting_get("local")
    url = reverse("admin:liveness_providersetting_change", args=[setting.pk])
    response = admin_client.post(url, {
        "provider": "local", "enabled": "on", "threshold": "0.7", "review_margin": str(setting.review_margin),
        "timeout_seconds": str(setting.timeout_seconds), "max_attempts": str(setting.max_attempts),
    })  # fmt: skip
    assert response.status_code == 302
    assert ProviderSetting.objects.get(pk=setting.pk).threshold == 0.7
    event = AuditEvent.objects.get(action="provider_setting.changed")
    assert event.data == {"provider": "local", "before": {"threshold": setting.threshold}, "after": {"threshold": 0.7}}
