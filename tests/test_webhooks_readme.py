"""The README's signature-verification example, run against a real signed delivery."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from liveness import enqueue
from liveness.models import Case, CaseStatus, Verdict
from liveness.services.webhooks import webhook_deliver, webhook_enqueue
from tests.api_helpers import make_partner, webhook_receiver
from tests.factories import CaseFactory
from tests.helpers import enqueued

pytestmark = pytest.mark.django_db

SECRET = "whsec_readme-example-secret"


def readme_example() -> dict[str, Any]:
    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = text.split("<!-- section: api (partner REST API) -->", 1)[1].split("<!-- section:", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    [code] = [block for block in blocks if "def verify_kyc_webhook" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


@pytest.fixture
def delivered(settings):
    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    with webhook_receiver() as receiver:
        partner = make_partner(slug="docs", webhook_url=receiver.url, webhook_secret=SECRET)
        case: Case = CaseFactory.create(
            partner=partner, status=CaseStatus.DECIDED, auto_verdict=Verdict.LIVE, final_verdict=Verdict.LIVE
        )
        with enqueued(enqueue.DELIVER_WEBHOOK):
            delivery = webhook_enqueue(case=case, event="case.decided")
        assert delivery is not None
        assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"
        [hit] = receiver.received
        yield hit


def test_the_readme_example_accepts_a_real_delivery(delivered):
    verify = readme_example()["verify_kyc_webhook"]
    assert verify(SECRET, delivered.body, delivered.headers["Kyc-Timestamp"], delivered.headers["Kyc-Signature"])


def test_the_readme_example_rejects_tampering_wrong_secrets_and_replays(delivered):
    verify = readme_example()["verify_kyc_webhook"]
    body, timestamp, signature = delivered.body, delivered.headers["Kyc-Timestamp"], delivered.headers["Kyc-Signature"]
    assert not verify(SECRET, body.replace(b"live", b"spoof"), timestamp, signature)
    assert not verify("whsec_someone-else", body, timestamp, signature)
    assert not verify(SECRET, body, str(int(timestamp) + 1), signature)  # the timestamp is signed too
    assert not verify(SECRET, body, timestamp, signature, now=int(timestamp) + 301)  # older than 5 minutes
    assert verify(SECRET, body, timestamp, signature, now=int(timestamp) + 299)
    assert not verify(SECRET, body, "yesterday", signature)
    assert verify(SECRET, body, timestamp, f"v0=deadbeef, {signature}")  # several signatures: any v1 may match


def test_the_readme_example_accepts_either_secret_during_a_rotation(settings):
    from liveness.services.api_keys import webhook_secret_rotate

    settings.WEBHOOK_ALLOW_INSECURE_URLS = True
    verify = readme_example()["verify_kyc_webhook"]
    with webhook_receiver() as receiver:
        partner = make_partner(slug="rotating", webhook_url=receiver.url, webhook_secret=SECRET)
        new = webhook_secret_rotate(partner=partner)
        case: Case = CaseFactory.create(
            partner=partner, status=CaseStatus.DECIDED, auto_verdict=Verdict.LIVE, final_verdict=Verdict.LIVE
        )
        with enqueued(enqueue.DELIVER_WEBHOOK):
            delivery = webhook_enqueue(case=case, event="case.decided")
        assert delivery is not None
        assert webhook_deliver(delivery_id=delivery.pk).state == "delivered"
        [hit] = receiver.received
    timestamp, signature = hit.headers["Kyc-Timestamp"], hit.headers["Kyc-Signature"]
    assert signature.count("v1=") == 2
    assert verify(new, hit.body, timestamp, signature)  # a partner that deployed the new secret
    assert verify(SECRET, hit.body, timestamp, signature)  # and one that has not yet
    assert not verify("whsec_someone-else", hit.body, timestamp, signature)
