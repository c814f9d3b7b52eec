"""Outages of the database, the broker and the evidence store answer 503 with Retry-After, never 500, and
leave nothing half-written."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from liveness import enqueue, services
from liveness.models import Case, Check, CheckStatus, Evidence
from liveness.outages import outage_of
from liveness.storage import StorageUnavailable
from tests.api_helpers import CASES_URL, PROBLEM, client_for, make_partner, partner_key, submission
from tests.helpers import enqueued

pytestmark = pytest.mark.django_db


def test_outages_are_told_apart_from_bugs():
    from kombu.exceptions import OperationalError as BrokerDown

    assert outage_of(OperationalError("server closed the connection")) == "database"
    assert outage_of(BrokerDown("connection refused")) == "broker"
    assert outage_of(StorageUnavailable("disk full")) == "storage"
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = OperationalError("gone")
    assert outage_of(wrapped) == "database"
    assert outage_of(ValueError("a bug")) is None


def test_an_unreachable_database_is_a_problem_503_with_retry_after(settings):
    client = client_for(partner_key(make_partner(slug="acme")))
    with mock.patch("liveness.api.authentication.api_key_authenticate", side_effect=OperationalError("down")):
        response = client.get(CASES_URL)
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER_SECONDS)
    body = response.json()
    assert (body["code"], body["status"]) == ("service_unavailable", 503)
    assert "database" in body["detail"]


def test_a_storage_outage_at_intake_is_a_503_and_stores_nothing(scripted, tmp_path):
    client = client_for(partner_key(make_partner(slug="acme")))
    with mock.patch("django.core.files.storage.FileSystemStorage._save", side_effect=OSError(28, "No space left")):
        response = client.post(CASES_URL, *submission("selfie", "json"))
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "evidence store" in response.json()["detail"]
    assert (Case.objects.count(), Evidence.objects.count()) == (0, 0)


def test_the_console_shows_a_503_page_when_the_database_is_gone(role_user, settings):
    client = Client(raise_request_exception=False)
    client.force_login(role_user("operator", "olga"))
    with mock.patch("liveness.console.selectors.queue_page", side_effect=OperationalError("down")):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER_SECONDS)
    assert "Temporarily unavailable" in response.content.decode()


def test_a_bug_is_still_a_500_not_a_503(role_user):
    client = Client(raise_request_exception=False)
    client.force_login(role_user("operator", "olga"))
    with mock.patch("liveness.console.selectors.queue_page", side_effect=ValueError("a bug")):
        response = client.get("/")
    assert response.status_code == 500
    assert "Retry-After" not in response


def test_a_worker_retries_a_check_while_the_evidence_store_is_down(scripted):
    from tests.helpers import image_bytes

    with enqueued(enqueue.RUN_CHECK):
        case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", image_bytes())]).case
        check = Check.objects.get(case=case)
        with mock.patch("liveness.storage.get", side_effect=StorageUnavailable("store down")):
            outcome = services.check_execute(check_id=check.pk)
    check.refresh_from_db()
    assert outcome.state == "retry"
    assert (check.status, check.error_code) == (CheckStatus.QUEUED, "storage_unavailable")
