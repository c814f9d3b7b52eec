"""What one submission costs the database, locked in: POST /api/v1/cases/ with three providers (two vendors and
the local engine) reads the providers' settings once and the vendors' circuits as small rows in one query (never
the audit log), inserts the checks in one statement, writes the case's face-step state in its INSERT, reads
nothing back, and sends its messages (one per check, plus the face step) in one batch after commit."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from liveness import enqueue
from liveness.models import Case, Check
from tests.api_helpers import CASES_URL, client_for, make_partner, partner_key, submission
from tests.helpers import enqueued

pytestmark = pytest.mark.django_db

#: API key, provider settings (one read), the vendors' circuit rows (one read), savepoint, case (with its face-step
#: state), evidence, checks (one insert), audit event, release: 9 (11 with a circuit read per vendor and an UPDATE
#: for the face-step state; 18 the round before).
MAX_QUERIES = 9


@pytest.fixture
def vendors(settings):
    settings.KAIROS_BASE_URL = "https://kairos.example"
    settings.KAIROS_APP_ID = "id"
    settings.KAIROS_APP_KEY = "key"
    settings.RISET_BASE_URL = "https://riset.example"
    settings.RISET_ACCESS_TOKEN = "token"
    settings.LIVENESS_WORKFLOWS = {**settings.LIVENESS_WORKFLOWS, "selfie": ["kairos", "riset", "local"]}


def test_a_submission_costs_a_bounded_number_of_queries(
    vendors, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    client = client_for(partner_key(make_partner(slug="acme")))
    client.post(CASES_URL, submission("selfie", "multipart")[0], format="multipart")  # warm: key stamp, caches
    data, fmt = submission("selfie", "multipart", external_ref="counted")
    with (
        enqueued(enqueue.RUN_CHECK) as sent,
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as captured,
        django_assert_max_num_queries(MAX_QUERIES),
    ):
        response = client.post(CASES_URL, data, format=fmt)
    assert response.status_code == 202, response.content
    case = Case.objects.get(external_ref="counted")
    assert sorted(Check.objects.filter(case=case).values_list("provider", flat=True)) == ["kairos", "local", "riset"]
    sql = [q["sql"].lower() for q in captured.captured_queries]
    assert sum('from "liveness_providersetting"' in s for s in sql) == 1
    assert sum('from "liveness_providercircuit"' in s for s in sql) == 1
    assert not [s for s in sql if "liveness_auditevent" in s and s.lstrip().startswith("select")]
    assert sum(s.lstrip().startswith('insert into "liveness_check"') for s in sql) == 1
    assert not [s for s in sql if s.lstrip().startswith('update "liveness_case"')]
    # One message per check, each routed by its provider's kind.
    assert sorted(c.kwargs["kwargs"]["provider"] for c in sent.call_args_list) == ["kairos", "local", "riset"]


def test_a_submission_sends_its_messages_in_one_batch_after_commit(
    vendors, settings, django_capture_on_commit_callbacks
):
    settings.FACE_SEARCH_ENABLED = True
    client = client_for(partner_key(make_partner(slug="acme")))
    data, fmt = submission("selfie", "multipart", external_ref="batched")
    with (
        enqueued(enqueue.RUN_CHECK, enqueue.BUILD_FACE_TEMPLATES) as sent,
        mock.patch("liveness.enqueue.publish_many", wraps=enqueue.publish_many) as batches,
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(CASES_URL, data, format=fmt)
        assert response.status_code == 202, response.content
        sent.assert_not_called()  # nothing before commit
        assert len(callbacks) == 1  # one after-commit callback for the whole submission
        callbacks[0]()
    case = Case.objects.get(external_ref="batched")
    assert case.face_search_state == "pending"
    assert case.face_search_queued_at is not None
    batches.assert_called_once()
    # Still one message per check (each its own task and queue) and the face step, all in that one send.
    assert len(batches.call_args.args[0]) == 4
    checks = {c.provider: c.pk for c in Check.objects.filter(case=case)}
    assert sorted(
        (c.kwargs["args"], c.kwargs.get("kwargs", {}).get("provider", "")) for c in sent.call_args_list
    ) == sorted([((case.pk, case.round), "")] + [((pk,), provider) for provider, pk in checks.items()])
