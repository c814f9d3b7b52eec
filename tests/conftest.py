from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from liveness.models import Partner
from tests.factories import UserFactory
from tests.helpers import ScriptedProvider, install_provider

# Vendor adapter / sandbox simulator fixtures (sandbox, no_broker, fresh_judge); the S3 evidence store
# on a local moto server (s3_server, s3_evidence).
pytest_plugins = ["tests.vendor_fixtures", "tests.storage_support"]


@pytest.fixture
def scripted(settings) -> Iterator[ScriptedProvider]:
    """A scripted provider that is every kind's whole workflow for the test."""
    provider = ScriptedProvider()
    restore = install_provider(provider)
    settings.LIVENESS_WORKFLOWS = {"selfie": ["scripted"], "id_document": ["scripted"], "active": ["scripted"]}
    yield provider
    restore()


def _user_with(*codenames: str, username: str) -> User:
    user = UserFactory.create(username=username)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="liveness"))
    return User.objects.get(pk=user.pk)  # drop the permission cache


@pytest.fixture
def operator(db):
    return _user_with("decide_case", "view_evidence", username="olivia-operator")


@pytest.fixture
def supervisor(db):
    return _user_with("decide_case", "view_evidence", "approve_override", username="sam-supervisor")


@pytest.fixture
def supervisor2(db):
    return _user_with("decide_case", "view_evidence", "approve_override", username="sue-supervisor")


@pytest.fixture(autouse=True)
def _isolated_evidence_storage(settings, tmp_path):
    """Every test gets its own empty evidence store."""
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {**settings.STORAGES["evidence"], "OPTIONS": {"location": str(tmp_path / "evidence")}},
    }


# --- partner API ---
@pytest.fixture
def partner(db) -> Partner:
    """The partner "acme" (no webhook). Webhook tests override it with one that has a receiver."""
    from tests.api_helpers import make_partner

    return make_partner(slug="acme")


# --- operator console ---
@pytest.fixture
def role_user(db):
    """Factory: ``role_user("supervisor", "sam")`` is a user in that console role group."""
    from tests.console_support import user_in_role

    return user_in_role


@pytest.fixture
def olga(role_user) -> User:
    """An operator."""
    return role_user("operator", "olga")


@pytest.fixture
def sam(role_user) -> User:
    """A supervisor."""
    return role_user("supervisor", "sam")


@pytest.fixture
def operator_client(client: Client, olga: User) -> Client:
    client.force_login(olga)
    return client


@pytest.fixture
def supervisor_client(client: Client, sam: User) -> Client:
    client.force_login(sam)
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; ids repeat across tests, so each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
