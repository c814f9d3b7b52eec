"""The one seam between the services and Celery: work is enqueued by task name, and routed to its queue.

Services call :func:`after_commit` (never ``liveness.tasks``): the tasks import the services, the services
import only this module, so there is no import cycle and no lazy import to keep one away.

Always after commit: a worker must never look for a row not yet written. If the broker is unreachable at that
moment the work is still safely stored (a queued check, a pending delivery row): the error is logged by
``on_commit(robust=True)``, the request still succeeds, and the periodic sweepers send the message again.

**Two kinds of work, two queues** (``CELERY_IO_QUEUE`` and ``CELERY_CPU_QUEUE``). Vendor checks and webhook
deliveries wait on the network: they go to the I/O queue, served by a thread pool with high concurrency.
Local-engine checks and the face step spend CPU: they go to the CPU queue, served by prefork with one process
per core. :func:`route_task` is the router (``CELERY_TASK_ROUTES``); a check's queue follows its provider's
kind (``Provider.is_remote``), carried in the message as the ``provider`` keyword so a retry lands on the
same queue. Anything not named here goes to the I/O queue (the default queue): the sweepers are a few queries.

**One send per submission.** Inside :func:`batch` (a case's creation opens one) the messages are collected and
sent by one after-commit callback over one broker connection, instead of one callback and one connection
checkout per message. Each check stays its own message (its own task, retries and queue).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

RUN_CHECK = "liveness.tasks.run_check"
BUILD_FACE_TEMPLATES = "liveness.tasks.build_face_templates"
DELIVER_WEBHOOK = "liveness.tasks.deliver_webhook"

#: Tasks whose queue does not depend on their arguments.
_CPU_TASKS = frozenset({BUILD_FACE_TEMPLATES})

#: (task, args, kwargs, countdown): one message.
Message = tuple[str, tuple[Any, ...], dict[str, Any] | None, float]

#: The messages of the batch open in this thread (None: no batch open).
_local = threading.local()
#: The producer a batch sends with (None: each publish takes one from the pool).
_producer: contextvars.ContextVar[Any] = contextvars.ContextVar("enqueue_producer", default=None)


def publish(task: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None, *, countdown: float = 0) -> None:
    """Send one message now (the router picks the queue). Tests patch this function to see what is sent."""
    # A signature resolves to the registered task where there is one (eager mode in tests runs it in
    # process), and to send_task by name otherwise: the web process never needs to import the tasks.
    current_app.signature(task, args=args, kwargs=kwargs or {}).apply_async(
        countdown=countdown, producer=_producer.get()
    )


def publish_many(messages: Sequence[Message]) -> None:
    """Send ``messages`` over one broker connection. A message that fails is logged (by task name only) and does
    not stop the others: its row is stored, and the periodic sweepers send it again."""
    with current_app.producer_or_acquire() as producer:
        token = _producer.set(producer)
        try:
            for task, args, kwargs, countdown in messages:
                try:
                    publish(task, args, kwargs, countdown=countdown)
                except Exception:
                    logger.exception("publishing %s failed; the sweeper will send it again", task)
        finally:
            _producer.reset(token)


@contextmanager
def batch() -> Iterator[None]:
    """Collect what is enqueued inside and send it all after commit with one callback (:func:`publish_many`).

    Open it inside the transaction that writes the rows, around everything that enqueues; nothing is sent if the
    block raises. A batch opened inside another adds to the outer one.
    """
    if getattr(_local, "pending", None) is not None:
        yield
        return
    pending: list[Message] = []
    _local.pending = pending
    try:
        yield
    finally:
        _local.pending = None
    if pending:

        def send_batch() -> None:  # named: on_commit logs a failing callback by its __qualname__
            publish_many(pending)

        transaction.on_commit(send_batch, robust=True)


def after_commit(
    task: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None, *, countdown: float = 0
) -> None:
    """Publish when the current transaction commits (at once outside one). A broker error is logged, not raised.
    Inside :func:`batch` the message joins the batch."""
    pending: list[Message] | None = getattr(_local, "pending", None)
    if pending is not None:
        pending.append((task, args, kwargs, countdown))
        return

    def send() -> None:  # a named function: on_commit logs a failing callback by its __qualname__
        publish(task, args, kwargs, countdown=countdown)

    transaction.on_commit(send, robust=True)


def check(check_id: int, provider: str, *, countdown: float = 0) -> None:
    """Enqueue a check's run after commit, on the queue of its provider's kind."""
    after_commit(RUN_CHECK, (check_id,), {"provider": provider}, countdown=countdown)


def queue_for_provider(provider: str) -> str:
    """The queue a check of ``provider`` runs on: I/O for a vendor, CPU for the local engine."""
    from .providers import UnknownProvider, get_provider

    try:
        remote = get_provider(provider).is_remote
    except UnknownProvider:
        remote = True  # the task fails it as an unknown provider: no CPU to spend on that
    return settings.CELERY_IO_QUEUE if remote else settings.CELERY_CPU_QUEUE


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any) -> dict[str, str]:
    """Celery router (``CELERY_TASK_ROUTES``): the queue of every task this portal sends."""
    if name == RUN_CHECK:
        provider = (kwargs or {}).get("provider", "")
        if provider:
            return {"queue": queue_for_provider(provider)}
        return {"queue": settings.CELERY_IO_QUEUE}
    if name in _CPU_TASKS:
        return {"queue": settings.CELERY_CPU_QUEUE}
    return {"queue": settings.CELERY_IO_QUEUE}
