"""The outbound HTTP seam: classification of vendor answers, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from liveness.providers.http import HttpResponse, retry_after


def answer(headers: dict[str, str]) -> HttpResponse:
    return HttpResponse(status_code=429, headers=headers, body=b"", latency_ms=1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [({"Retry-After": "30"}, 30.0), ({}, None), ({"Retry-After": "soon"}, None), ({"Retry-After": ""}, None)],
)
def test_it_reads_retry_after_in_seconds(header: dict[str, str], expected: float | None) -> None:
    assert retry_after(answer(header)) == expected


def test_it_reads_retry_after_as_an_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    seconds = retry_after(answer({"Retry-After": format_datetime(when, usegmt=True)}))
    assert seconds is not None
    assert 100 <= seconds <= 121


def test_a_retry_after_date_in_the_past_means_now() -> None:
    when = datetime.now(UTC) - timedelta(hours=1)
    assert retry_after(answer({"Retry-After": format_datetime(when, usegmt=True)})) == 0.0
