"""Per-partner throttling: 429 with Retry-After, one bucket per partner shared by all its keys."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.api_helpers import CASES_URL, PROBLEM, client_for, make_partner, partner_key, submission, user_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def low_rates(settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": "3/minute", "partner_submit": "2/minute", "operator": "2/minute"},
    }
    yield
    cache.clear()


def test_a_partner_over_its_rate_gets_429_with_retry_after():
    client = client_for(partner_key(make_partner(slug="busy")))
    assert [client.get(CASES_URL).status_code for _ in range(3)] == [200, 200, 200]

    response = client.get(CASES_URL)

    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_all_keys_of_a_partner_share_one_bucket():
    partner = make_partner(slug="two-keys")
    first, second = client_for(partner_key(partner, "a")), client_for(partner_key(partner, "b"))
    statuses = [first.get(CASES_URL).status_code, second.get(CASES_URL).status_code, first.get(CASES_URL).status_code]
    assert statuses == [200, 200, 200]
    assert second.get(CASES_URL).status_code == 429


def test_partners_are_throttled_independently():
    busy = client_for(partner_key(make_partner(slug="busy")))
    calm = client_for(partner_key(make_partner(slug="calm")))
    for _ in range(3):
        busy.get(CASES_URL)
    assert busy.get(CASES_URL).status_code == 429
    assert calm.get(CASES_URL).status_code == 200


def test_submits_have_their_own_lower_rate(scripted):
    client = client_for(partner_key(make_partner(slug="submitter")))
    statuses = [client.post(CASES_URL, *submission("selfie", "json")).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]


def test_operators_are_throttled_per_user(operator, supervisor):
    one, other = client_for(user_key(operator)), client_for(user_key(supervisor))
    queue = "/api/v1/operator/review-queue/"
    assert [one.get(queue).status_code for _ in range(3)] == [200, 200, 429]
    assert other.get(queue).status_code == 200


def test_health_is_throttled_per_client_ip_not_by_the_partner_rates(monkeypatch, settings):
    from liveness.api import health

    monkeypatch.setattr(health, "PROBES", {"database": health.probe_database})
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "health": "4/minute"}}
    client = client_for(partner_key(make_partner(slug="prober")))  # a key changes nothing: health has no auth
    assert [client.get("/api/v1/health").status_code for _ in range(5)] == [200] * 4 + [429]
    assert {client.get("/api/v1/health/live").status_code for _ in range(5)} == {200}
    assert client.get(CASES_URL).status_code == 200  # the partner's own bucket is untouched


def test_an_unreachable_throttle_cache_lets_requests_through(monkeypatch):
    client = client_for(partner_key(make_partner(slug="cacheless")))

    def broken_get(*args, **kwargs):
        raise RedisConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken_get)
    assert [client.get(CASES_URL).status_code for _ in range(5)] == [200] * 5
