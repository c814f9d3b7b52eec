"""What one vendor check costs the database, locked in: claim -> call -> settle -> decide, one Riset check over
real HTTP (the simulators on the live server). The I/O queue's worker spends most of its CPU building and
reading these statements (bench.load, "I/O queue: CPU per check"), so the count may not grow unnoticed."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from liveness import services
from liveness.models import Check, CheckStatus
from tests.vendor_fixtures import face_bytes

pytestmark = pytest.mark.usefixtures("sandbox", "no_broker", "fresh_judge")

#: claim (update), the claimed row with its case, provider settings (one read), the thresholds kept at the first
#: claim, case -> processing, evidence; settle (update), audit, circuit, case locked, the round's checks, case
#: decided, its new version, two audit events: 15 (before: 19, the claimed row read back three times and the
#: settings twice).
MAX_STATEMENTS = 15
TRANSACTION_CONTROL = ("begin", "commit", "rollback", "savepoint", "release")


def test_one_vendor_check_costs_a_bounded_number_of_statements(settings):
    settings.LIVENESS_WORKFLOWS = {**settings.LIVENESS_WORKFLOWS, "selfie": ["riset"]}
    case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", face_bytes())]).case
    check = Check.objects.get(case=case)
    with CaptureQueriesContext(connection) as captured:
        assert services.check_execute(check_id=check.pk).state == "settled"
    check.refresh_from_db()
    case.refresh_from_db()
    assert check.status == CheckStatus.SUCCEEDED
    assert case.status == "decided"
    sql = [q["sql"].lower().lstrip() for q in captured.captured_queries]
    statements = [s for s in sql if not s.startswith(TRANSACTION_CONTROL)]
    assert len(statements) <= MAX_STATEMENTS, "\n".join(s[:120] for s in statements)
    selects = [s for s in statements if s.startswith("select")]
    # The provider settings once; the check row once after the claim (and the round's checks when deciding).
    assert sum('from "liveness_providersetting"' in s for s in selects) == 1
    assert sum(s.split(" from ", 1)[1].startswith('"liveness_check"') for s in selects) == 2
    # The circuit breaker keeps its own row: the audit log is written, never read.
    assert not [s for s in selects if "liveness_auditevent" in s]


def test_a_retried_check_reads_its_thresholds_from_the_claim_not_the_settings(settings):
    """A later attempt (thresholds already fixed) reads the settings once, for the request's timeout only."""
    settings.LIVENESS_WORKFLOWS = {**settings.LIVENESS_WORKFLOWS, "selfie": ["riset"]}
    case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", face_bytes())]).case
    check = Check.objects.get(case=case)
    Check.objects.filter(pk=check.pk).update(threshold=0.5, review_margin=0.0)
    with CaptureQueriesContext(connection) as captured:
        assert services.check_execute(check_id=check.pk).state == "settled"
    sql = [q["sql"].lower() for q in captured.captured_queries]
    assert sum('from "liveness_providersetting"' in s for s in sql) == 1
    assert not [s for s in sql if s.startswith('update "liveness_check" set "threshold"')]
    check.refresh_from_db()
    assert check.status == CheckStatus.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_is_given_back_before_the_vendor_call_never_inside_a_transaction():
    """With DATABASE_POOL_MAX_SIZE (PostgreSQL) a thread holds a connection only while it talks to the database:
    the check gives it back to the pool before the vendor call. Without a pool, or inside a transaction, nothing
    is closed (a reconnect would only cost; a transaction must not be cut)."""
    from django.db import transaction

    from liveness.services.checks import release_connection_if_pooled

    Check.objects.count()
    release_connection_if_pooled()
    assert connection.connection is not None  # no pool: kept
    if connection.vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's (the CI's PostgreSQL pass runs the rest)")

    postgresql: Any = connection  # the PostgreSQL wrapper: its pool and close_pool()
    options = connection.settings_dict.get("OPTIONS", {})
    connection.close()
    connection.settings_dict["OPTIONS"] = {**options, "pool": {"min_size": 1, "max_size": 2}}
    try:
        with transaction.atomic():
            Check.objects.count()  # a connection taken from the pool
            release_connection_if_pooled()
            assert connection.connection is not None  # never mid-transaction
        pool = postgresql.pool
        assert pool is not None
        in_use = pool.get_stats()["pool_size"] - pool.get_stats()["pool_available"]
        release_connection_if_pooled()
        assert connection.connection is None
        assert pool.get_stats()["pool_size"] - pool.get_stats()["pool_available"] == in_use - 1  # back in the pool
        assert Check.objects.count() == 0  # and the next query takes one again
    finally:
        connection.close()
        postgresql.close_pool()
        connection.settings_dict["OPTIONS"] = options
