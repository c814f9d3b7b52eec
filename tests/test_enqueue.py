"""The enqueue seam: services send work by task name, and the router puts each message on its kind's queue."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings

from liveness import enqueue

SERVICES = Path(enqueue.__file__).parent / "services"


def routed_queue(task: str, args: tuple[object, ...], kwargs: dict[str, object] | None = None) -> str:
    # The router of the configured Celery app, as apply_async / send_task use it.
    options = current_app.amqp.router.route({}, task, args, kwargs or {})
    return str(options["queue"].name)


@pytest.mark.parametrize(
    ("provider", "queue"),
    [("kairos", "io"), ("riset", "io"), ("accura_face", "io"), ("accura_id", "io"), ("local", "cpu")],
)
def test_a_check_lands_on_the_queue_of_its_providers_kind(provider, queue):
    expected = settings.CELERY_IO_QUEUE if queue == "io" else settings.CELERY_CPU_QUEUE
    assert routed_queue(enqueue.RUN_CHECK, (1,), {"provider": provider}) == expected


def test_webhooks_and_sweepers_go_to_the_io_queue_and_the_face_step_to_the_cpu_queue():
    assert routed_queue(enqueue.DELIVER_WEBHOOK, (1,)) == settings.CELERY_IO_QUEUE
    assert routed_queue("liveness.tasks.requeue_stale_checks", ()) == settings.CELERY_IO_QUEUE
    assert routed_queue(enqueue.BUILD_FACE_TEMPLATES, (1, 1)) == settings.CELERY_CPU_QUEUE
    assert settings.CELERY_IO_QUEUE != settings.CELERY_CPU_QUEUE


def test_a_worker_without_dash_q_serves_both_queues():
    assert {q.name for q in current_app.amqp.queues.values()} >= {
        settings.CELERY_IO_QUEUE,
        settings.CELERY_CPU_QUEUE,
    }


def test_the_task_names_of_the_seam_are_registered_tasks():
    for name in (enqueue.RUN_CHECK, enqueue.BUILD_FACE_TEMPLATES, enqueue.DELIVER_WEBHOOK):
        assert name in current_app.tasks


@pytest.mark.django_db
def test_nothing_is_sent_before_commit_and_a_check_carries_its_provider(django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("liveness.enqueue.publish") as publish:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            enqueue.check(7, "local", countdown=3)
            publish.assert_not_called()
        assert len(callbacks) == 1
    publish.assert_called_once_with(enqueue.RUN_CHECK, (7,), {"provider": "local"}, countdown=3)


def test_the_services_never_import_the_tasks():
    """The services -> tasks import cycle stays broken: only the seam (liveness.enqueue) is imported."""
    offenders = []
    for path in sorted(SERVICES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module or ''}.{a.name}".strip(".") for a in node.names]
                if any(n.split(".")[-1] == "tasks" or n.endswith(".tasks") for n in names):
                    offenders.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.Import) and any(a.name.endswith("tasks") for a in node.names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


@pytest.mark.django_db
def test_a_batch_sends_its_messages_with_one_callback_after_commit(django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("liveness.enqueue.publish") as publish:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with enqueue.batch():
                enqueue.check(7, "local")
                enqueue.after_commit(enqueue.BUILD_FACE_TEMPLATES, (3, 1))
                with enqueue.batch():  # an inner batch adds to the outer one
                    enqueue.check(8, "riset", countdown=2)
            publish.assert_not_called()
        assert len(callbacks) == 1
    assert publish.call_args_list == [
        mock.call(enqueue.RUN_CHECK, (7,), {"provider": "local"}, countdown=0),
        mock.call(enqueue.BUILD_FACE_TEMPLATES, (3, 1), None, countdown=0),
        mock.call(enqueue.RUN_CHECK, (8,), {"provider": "riset"}, countdown=2),
    ]


def _batch_that_fails() -> None:
    with enqueue.batch():
        enqueue.check(7, "local")
        raise RuntimeError("the rows were not written")


@pytest.mark.django_db
def test_a_batch_whose_block_raises_sends_nothing(django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("liveness.enqueue.publish") as publish:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError):
                _batch_that_fails()
            enqueue.check(9, "local")  # the batch is closed: a message of its own again
        assert len(callbacks) == 1
    publish.assert_called_once_with(enqueue.RUN_CHECK, (9,), {"provider": "local"}, countdown=0)


def test_one_failing_message_of_a_batch_does_not_stop_the_others(caplog):
    from unittest import mock

    with mock.patch("liveness.enqueue.publish", side_effect=[ConnectionError("broker gone"), None]) as publish:
        enqueue.publish_many([(enqueue.RUN_CHECK, (1,), {"provider": "riset"}, 0), (enqueue.RUN_CHECK, (2,), None, 0)])
    assert publish.call_count == 2
    assert "publishing liveness.tasks.run_check failed" in caplog.text


def test_a_batch_sends_over_one_producer():
    from unittest import mock

    producers = []
    with mock.patch("liveness.enqueue.publish", side_effect=lambda *a, **k: producers.append(enqueue._producer.get())):
        enqueue.publish_many([(enqueue.RUN_CHECK, (1,), None, 0), (enqueue.DELIVER_WEBHOOK, (2,), None, 0)])
    assert len(producers) == 2
    assert producers[0] is not None
    assert producers[0] is producers[1]
    assert enqueue._producer.get() is None  # reset after the batch
