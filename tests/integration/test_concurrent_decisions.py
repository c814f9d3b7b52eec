"""Two operators deciding the same case at the same instant on PostgreSQL: real threads, real connections.

Each round, two operators read the same case version, then post opposite verdicts (`live`, `spoof`) with that
version, released together by a barrier. Exactly one decision may be recorded: one 201, one 409 `conflict`,
one decision row, one `case.decided` webhook delivery. Repeated over several fresh cases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Stack, base_env, postgres_database, require_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROUNDS = 6

RACE = r"""
import json, threading
from django.contrib.auth.models import User
from django.test import Client
from liveness.models import Case, CaseStatus, Partner, Verdict
from liveness.roles import role_assign
from liveness.services.api_keys import api_key_create

partner = Partner.objects.create(name="Racer", slug="racer", webhook_url="https://hooks.example.com/kyc")
keys = {}
for name in ("olga", "omar"):
    user = User.objects.create_user(name)
    role_assign(user=user, role="operator")
    keys[name] = api_key_create(name="race", user=User.objects.get(pk=user.pk)).secret

results = []
for round_no in range(ROUNDS):
    case = Case.objects.create(kind="selfie", partner=partner, status=CaseStatus.NEEDS_REVIEW,
                               auto_verdict=Verdict.NEEDS_REVIEW)
    url = f"/api/v1/operator/cases/{case.public_id}/"
    # Both read the case first (this also does the keys' first-use writes before the race).
    etags = {name: Client().get(url, HTTP_AUTHORIZATION=f"Bearer {key}")["ETag"] for name, key in keys.items()}
    gate = threading.Barrier(2)
    answers = {}

    def decide(name, verdict):
        from django.db import connection
        client = Client()
        gate.wait()
        try:
            r = client.post(url + "decisions/", {"verdict": verdict, "reason": "race"},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {keys[name]}",
                            HTTP_IF_MATCH=etags[name])
            answers[name] = [r.status_code, r.json().get("code") or r.json().get("verdict")]
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=("olga", "live")),
               threading.Thread(target=decide, args=("omar", "spoof"))]
    for t in threads: t.start()
    for t in threads: t.join()
    results.append({"case": case.pk, "etags": etags, "answers": answers})
print("RESULT " + json.dumps(results))
""".replace("ROUNDS", str(ROUNDS))


@pytest.fixture
def pg_stack(tmp_path: Path) -> Iterator[Stack]:
    require_server("PostgreSQL", 5432)
    with postgres_database() as db_url:
        env = base_env(tmp_path, database_url=db_url, broker_url="memory://")
        env["ALLOWED_HOSTS"] = "testserver,localhost"
        stack = Stack(env=env, db_kind="postgres", db_target=db_url)
        stack.manage("migrate", "--noinput", "-v", "0", "--skip-checks")
        yield stack


def test_two_operators_deciding_at_once_make_exactly_one_decision(pg_stack: Stack) -> None:
    out = pg_stack.manage("shell", "-c", RACE)
    rounds = json.loads(out.split("RESULT ", 1)[1])
    assert len(rounds) == ROUNDS
    winners = set()
    for result in rounds:
        answers = result["answers"]
        assert result["etags"]["olga"] == result["etags"]["omar"], result  # the same version, read by both
        statuses = sorted(a[0] for a in answers.values())
        assert statuses == [201, 409], result
        loser = next(a for a in answers.values() if a[0] == 409)
        assert loser[1] == "conflict", result
        winner = next(name for name, a in answers.items() if a[0] == 201)
        winners.add(winner)
        verdict = {"olga": "live", "omar": "spoof"}[winner]
        case_id = result["case"]
        assert pg_stack.query("SELECT COUNT(*) FROM liveness_decision WHERE case_id = ?", (case_id,))[0][0] == 1
        assert pg_stack.query("SELECT final_verdict FROM liveness_case WHERE id = ?", (case_id,))[0][0] == verdict
        deliveries = pg_stack.query(
            "SELECT COUNT(*) FROM liveness_webhookdelivery WHERE case_id = ? AND event = 'case.decided'", (case_id,)
        )
        assert deliveries[0][0] == 1, result
    print(f"{ROUNDS} rounds: 201+409 every time; winners {sorted(winners)}")
