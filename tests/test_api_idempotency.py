"""Idempotency-Key on submit: replay, conflict, per-partner scope, concurrent duplicates, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from liveness.models import Case, Check, Evidence
from liveness.services import cases as case_services
from liveness.services.idempotency import idempotency_keys_expire
from liveness.services.providers import provider_config
from tests.api_helpers import CASES_URL, b64, client_for, jpeg, live_result, make_partner, partner_key, submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(partner):
    return partner_key(partner)


def post(key: str, data: dict, fmt: str = "json", idempotency_key: str | None = "order-42"):
    # An empty Idempotency-Key header counts as none.
    return client_for(key).post(CASES_URL, data, format=fmt, HTTP_IDEMPOTENCY_KEY=idempotency_key or "")


def test_a_replay_returns_the_same_case_and_calls_no_vendor_again(
    key, scripted, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    scripted.script.append(live_result())
    data = {"kind": "selfie", "selfie": b64(jpeg(1)), "external_ref": "r1"}

    with django_capture_on_commit_callbacks(execute=True):
        first = post(key, data)
    with django_capture_on_commit_callbacks(execute=True):
        second = post(key, data)

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["replayed"], second.json()["replayed"]) == (False, True)
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Case.objects.count() == 1
    assert Check.objects.count() == 1
    assert Evidence.objects.count() == 1
    assert len(scripted.requests) == 1  # one vendor call in all
    assert second.json()["status"] == "decided"  # the replay reports the case as it is now


def test_a_replay_in_the_other_encoding_is_still_the_same_request(key, scripted):
    raw = jpeg(3)
    from django.core.files.uploadedfile import SimpleUploadedFile

    first = post(key, {"kind": "selfie", "selfie": b64(raw)})
    second = post(key, {"kind": "selfie", "selfie": SimpleUploadedFile("s.jpg", raw, "image/jpeg")}, "multipart")
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    "change",
    [{"external_ref": "other"}, {"selfie": "OTHER-IMAGE"}, {"providers": ["scripted"]}],
)
def test_the_same_key_with_a_different_request_is_422(key, scripted, change):
    data = {"kind": "selfie", "selfie": b64(jpeg(1)), "external_ref": "r1"}
    first = post(key, data)
    changed = {**data, **change}
    if changed["selfie"] == "OTHER-IMAGE":
        changed["selfie"] = b64(jpeg(2))

    response = post(key, changed)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "idempotency_conflict"
    assert list(body["errors"]) == ["Idempotency-Key"]
    assert "different request" in body["detail"]
    assert [str(pk) for pk in Case.objects.values_list("public_id", flat=True)] == [first.json()["id"]]


def test_keys_are_scoped_to_the_partner(key, scripted):
    other = partner_key(make_partner(slug="other"))
    data, _ = submission("selfie", "json")
    mine, theirs = post(key, data), post(other, data)
    assert mine.json()["id"] != theirs.json()["id"]
    assert Case.objects.count() == 2


def test_without_a_key_every_submit_is_a_new_case(key, scripted):
    data, _ = submission("selfie", "json")
    post(key, data, idempotency_key=None)
    post(key, data, idempotency_key=None)
    assert Case.objects.count() == 2


@pytest.mark.parametrize("bad", ["x" * 201, "has space", "naïve"])
def test_a_malformed_idempotency_key_is_400(key, bad):
    data, _ = submission("selfie", "json")
    client = client_for(key)
    response = client.post(CASES_URL, data, format="json", HTTP_IDEMPOTENCY_KEY=bad.encode().decode("latin-1"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


def test_an_expired_key_may_be_used_for_a_new_case(key, scripted, settings):
    settings.IDEMPOTENCY_KEY_RETENTION_HOURS = 24
    data, _ = submission("selfie", "json")
    first = post(key, data).json()["id"]
    assert idempotency_keys_expire() == 0  # still inside the retention period
    Case.objects.update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_keys_expire() == 1
    second = post(key, data).json()["id"]

    assert second != first
    assert Case.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_submits_make_one_case(scripted, monkeypatch):
    """Two requests with the same key are in flight together and both pass the "already there?"
    lookup before either has written. The database's unique constraint then lets one insert win, and
    case_create answers the other with the winner's case.

    The writes are ordered (the second waits until the first request is done): the test database is
    an in-memory SQLite that cannot hold two open write transactions, and the ordering makes the
    loser hit the constraint every run instead of by chance. On PostgreSQL the test runs unchanged.
    """
    key = partner_key(make_partner(slug="racer"))
    # Do the first-use writes now (the key's last use, the provider's settings row), so the racing
    # requests write nothing before the insert.
    client_for(key).get(CASES_URL)
    provider_config("scripted")
    data = {"kind": "selfie", "selfie": b64(jpeg(9)), "external_ref": "race"}
    both_looked_up = threading.Barrier(2, timeout=30)
    first_done = threading.Event()
    real_put = case_services.storage.put
    looked_up_before_any_write: list[bool] = []

    def put_after_both_looked_up(content: bytes, *, prefix: str) -> str:
        # storage.put runs after the idempotency lookup and before the insert.
        looked_up_before_any_write.append(not Case.objects.exists())
        order = both_looked_up.wait()
        if order == 1:
            assert first_done.wait(timeout=30)
        return real_put(content, prefix=prefix)

    monkeypatch.setattr(case_services.storage, "put", put_after_both_looked_up)
    responses: list = [None, None]
    order_of: dict[int, int] = {}

    def submit(slot: int) -> None:
        try:
            responses[slot] = post(key, data)
        finally:
            connection.close()
            order_of[slot] = len(order_of)
            first_done.set()

    threads = [threading.Thread(target=submit, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [r.status_code for r in responses] == [202, 202], [r.content for r in responses]
    assert looked_up_before_any_write == [True, True]  # both really raced past the lookup
    assert len({r.json()["id"] for r in responses}) == 1
    assert Case.objects.count() == 1
    assert sorted(r.json()["replayed"] for r in responses) == [False, True]
    assert Evidence.objects.count() == 1
    assert stored_file_count() == 1  # the loser's encrypted image was removed again


def stored_file_count() -> int:
    root = case_services.storage.evidence_storage()

    def count(path: str) -> int:
        dirs, files = root.listdir(path)
        return len(files) + sum(count(f"{path}/{d}" if path else d) for d in dirs)

    return count("")
