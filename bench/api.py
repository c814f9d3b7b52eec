"""Partner API benchmarks, as ratios against a baseline measured in the same run (nothing asserts a time).

    python -m bench.api [--cases 50000] [--repeat 5] [--json]

- key check: authenticating a request's API key (prefix lookup, sha256, constant-time compare) against
  the bare indexed lookup of the key row — what the hashing adds per request.
- last-used writes: 1000 authenticated requests' bookkeeping with "write at most once a minute" against
  an UPDATE per request (what a naive last_used_at would cost).
- case list depth: the partner's case list far down (cursor pagination) against its first page; both
  through the real view, so filters, serializers and pagination are included.
- submit: a selfie case submitted as JSON (base64) against the same case as multipart; and an
  Idempotency-Key replay against a fresh submit (the replay stores nothing).

It builds its own in-memory SQLite database (schema from the models), so it never touches a real one.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
from pathlib import Path

from bench.common import build_schema, timed

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
os.environ["DATABASE_URL"] = "sqlite://:memory:"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402


def row(name: str, baseline: float, measured: float, **extra: object) -> dict[str, object]:
    return {
        "bench": name,
        "baseline_ms": round(baseline * 1000, 3),
        "measured_ms": round(measured * 1000, 3),
        "time_ratio": round(measured / baseline, 4),
        **extra,
    }


def bench_key_check(repeat: int) -> dict[str, object]:
    from liveness.models import ApiKey, Partner
    from liveness.services.api_keys import api_key_authenticate, api_key_create

    partner = Partner.objects.create(name="Bench", slug="bench")
    secret = api_key_create(name="bench", partner=partner).secret
    prefix = ApiKey.objects.get(name="bench").prefix
    api_key_authenticate(secret)  # first use writes last_used_at; measure the steady state
    n = 2000

    def bare() -> None:
        for _ in range(n):
            ApiKey.objects.select_related("partner", "user").filter(prefix=prefix).first()

    def authenticate() -> None:
        for _ in range(n):
            api_key_authenticate(secret)

    return row(f"key check x{n}", timed(bare, repeat), timed(authenticate, repeat))


def bench_last_used(repeat: int) -> dict[str, object]:
    from liveness.models import ApiKey
    from liveness.services.api_keys import api_key_touch

    key = ApiKey.objects.select_related("partner").get(name="bench")
    n = 1000

    def every_request() -> None:
        for _ in range(n):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())

    def at_most_once_a_minute() -> None:
        for _ in range(n):
            api_key_touch(key, now=timezone.now())

    return row(f"last-used bookkeeping x{n}", timed(every_request, repeat), timed(at_most_once_a_minute, repeat))


def bench_list_depth(repeat: int, cases: int) -> dict[str, object]:
    from liveness.models import Case, Partner
    from liveness.services.api_keys import api_key_create
    from tests.api_helpers import client_for

    partner = Partner.objects.create(name="Lister", slug="lister")
    batch = [Case(kind="selfie", partner=partner, status="decided", final_verdict="live") for _ in range(cases)]
    Case.objects.bulk_create(batch, batch_size=5000)
    # Distinct creation times, one second apart (bulk_create cannot set auto_now_add fields).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE liveness_case SET created_at = datetime('now', '-' || id || ' seconds') WHERE partner_id = %s",
            [partner.pk],
        )
    client = client_for(api_key_create(name="lister", partner=partner).secret)
    url = "/api/v1/cases/?page_size=50"
    first = client.get(url).json()
    assert len(first["results"]) == 50
    # A cursor about 80 % down the list (the "next" link of a page starting there), timed against page 1.
    anchor = Case.objects.filter(partner=partner).order_by("-created_at", "-id")[int(cases * 0.8)]
    deep = client.get(f"{url}&created_before={anchor.created_at.isoformat().replace('+', '%2B')}")
    assert deep.status_code == 200
    deep_url = deep.json()["next"]
    baseline = timed(lambda: client.get(url), repeat)
    measured = timed(lambda: client.get(deep_url), repeat)
    return row(f"case list page ~80% down {cases} cases vs first page", baseline, measured)


def bench_submit(repeat: int) -> list[dict[str, object]]:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from liveness.models import Partner
    from liveness.services.api_keys import api_key_create
    from tests.api_helpers import client_for
    from tests.helpers import ScriptedProvider, install_provider

    install_provider(ScriptedProvider())
    settings.LIVENESS_WORKFLOWS = {"selfie": ["scripted"], "id_document": ["scripted"], "active": ["scripted"]}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"partner": None, "partner_submit": None, "operator": None},
    }
    partner = Partner.objects.create(name="Submitter", slug="submitter")
    client = client_for(api_key_create(name="submit", partner=partner).secret)
    out = io.BytesIO()
    Image.new("RGB", (1280, 960), (90, 120, 150)).save(out, format="JPEG", quality=90)
    raw = out.getvalue()
    encoded = base64.b64encode(raw).decode()

    def multipart() -> None:
        upload = SimpleUploadedFile("s.jpg", raw, content_type="image/jpeg")
        assert (
            client.post("/api/v1/cases/", {"kind": "selfie", "selfie": upload}, format="multipart").status_code == 202
        )

    def as_json() -> None:
        assert client.post("/api/v1/cases/", {"kind": "selfie", "selfie": encoded}, format="json").status_code == 202

    counter = iter(range(10**9))

    def fresh_with_key() -> None:
        response = client.post(
            "/api/v1/cases/", {"kind": "selfie", "selfie": encoded}, format="json",
            HTTP_IDEMPOTENCY_KEY=f"k-{next(counter)}",
        )  # fmt: skip
        assert response.status_code == 202

    client.post("/api/v1/cases/", {"kind": "selfie", "selfie": encoded}, format="json", HTTP_IDEMPOTENCY_KEY="same")

    def replay() -> None:
        response = client.post(
            "/api/v1/cases/", {"kind": "selfie", "selfie": encoded}, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )
        assert response["Idempotent-Replayed"] == "true"

    return [
        row("submit 1280x960 selfie: JSON vs multipart", timed(multipart, repeat), timed(as_json, repeat)),
        row("submit: Idempotency-Key replay vs fresh", timed(fresh_with_key, repeat), timed(replay, repeat)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    setup_test_environment()  # the test client's ALLOWED_HOSTS ("testserver")
    build_schema()
    rows = [
        bench_key_check(args.repeat),
        bench_last_used(args.repeat),
        bench_list_depth(args.repeat, args.cases),
        *bench_submit(args.repeat),
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for line in rows:
        print(" · ".join(f"{k}={v}" for k, v in line.items()))


if __name__ == "__main__":
    main()
