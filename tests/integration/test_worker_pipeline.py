"""A case submitted through the services is decided by a real Celery worker process, on:
- the embedded defaults: SQLite file + kombu's SQLAlchemy/SQLite broker;
- PostgreSQL + Redis;
- PostgreSQL + RabbitMQ.
Each test also publishes the check's task a second time: the duplicate must not settle it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.helpers import LIVE_SAMPLE, TESTDATA_DIR
from tests.integration.conftest import AMQP_URL, REDIS_URL, Stack, base_env, postgres_database, require_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SUBMIT = """
import sys
from django.db import transaction
from liveness import services, tasks
from liveness.models import Check
data = open({path!r}, 'rb').read()
case = services.case_create(kind='selfie', images=[services.IncomingImage('selfie', data)], external_ref='it').case
check = Check.objects.get(case=case)
# A duplicate delivery of the same task, as a broker may do after a connection loss.
tasks.run_check.apply_async(args=(check.pk,))
print(case.public_id.hex, check.pk)
"""


def sample_image(tmp_path: Path) -> tuple[str, str]:
    """A real face when the shared test images are here (expect 'live'), else a synthetic image
    with no face (the policy then routes it to review: still a decision reached by the worker)."""
    real = TESTDATA_DIR / LIVE_SAMPLE
    if real.is_file():
        return str(real), "live"
    from tests.helpers import image_bytes

    path = tmp_path / "synthetic.jpg"
    path.write_bytes(image_bytes(320, 320))
    return str(path), "needs_review"


@pytest.fixture(params=["sqlite+embedded", "postgres+redis", "postgres+rabbitmq"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    with ExitStack() as cleanup:
        if request.param == "sqlite+embedded":
            db_file = tmp_path / "portal.sqlite3"
            env = base_env(
                tmp_path,
                database_url=f"sqlite:///{db_file}",
                broker_url=f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
            )
            s = Stack(env=env, db_kind="sqlite", db_target=str(db_file))
        else:
            require_server("PostgreSQL", 5432)
            if request.param.endswith("redis"):
                require_server("Redis", 6379)
                broker = REDIS_URL
            else:
                require_server("RabbitMQ", 5672)
                broker = AMQP_URL
            db_url = cleanup.enter_context(postgres_database())
            s = Stack(
                env=base_env(tmp_path, database_url=db_url, broker_url=broker), db_kind="postgres", db_target=db_url
            )
        cleanup.callback(s.stop)
        s.manage("migrate", "--noinput", "-v", "0", "--skip-checks")
        yield s


def test_a_real_worker_decides_the_case_once(stack: Stack, tmp_path: Path) -> None:
    image, expected = sample_image(tmp_path)
    stack.start_worker(concurrency=2)
    out = stack.manage("shell", "-c", SUBMIT.format(path=image)).split()
    public_hex, check_id = out[-2], int(out[-1])

    rows = stack.wait_for(
        "SELECT status, auto_verdict FROM liveness_case WHERE public_id = ?",
        (public_hex if stack.db_kind == "sqlite" else _uuid(public_hex),),
        lambda r: bool(r) and r[0][0] in ("decided", "needs_review"),
    )
    status, verdict = rows[0]
    assert verdict == expected
    assert status == ("decided" if expected == "live" else "needs_review")
    check = stack.query("SELECT status, attempts, score FROM liveness_check WHERE id = ?", (check_id,))[0]
    assert check[0] == "succeeded"
    assert check[1] == 1  # the duplicate delivery did not run the provider again
    if expected == "live":
        assert check[2] is not None
        assert check[2] >= 0.5
    settled = stack.query(
        "SELECT COUNT(*) FROM liveness_auditevent WHERE action = 'check.succeeded' AND case_id = "
        "(SELECT id FROM liveness_case WHERE public_id = ?)",
        (public_hex if stack.db_kind == "sqlite" else _uuid(public_hex),),
    )
    assert settled[0][0] == 1
    # The face step ran in the worker too (templates + repeat search) before the verdict.
    face = stack.query(
        "SELECT face_search_state, (SELECT COUNT(*) FROM liveness_facetemplate WHERE case_id = liveness_case.id) "
        "FROM liveness_case WHERE public_id = ?",
        (public_hex if stack.db_kind == "sqlite" else _uuid(public_hex),),
    )[0]
    assert face == ("done", 1 if expected == "live" else 0)
    # The duplicate message was consumed and found nothing to do.
    stack.wait_for("SELECT 1", (), lambda _: "'not_claimed'" in stack.worker_log(), timeout=30)


def _uuid(hex_: str) -> str:
    import uuid

    return str(uuid.UUID(hex_))
