"""The Celery application. Tasks live in ``liveness.tasks``; configuration comes from Django settings."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.dev")

app = Celery("kyc_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_process_init.connect
def _preload_engine_models(**_: Any) -> None:
    """Load the local engine's models when a worker process starts, not inside its first task
    (that would eat into the first check's time limit). A broken model file is logged loudly here;
    the checks that need it then fail with the same clear message."""
    from liveness.engine.models import EngineConfigurationError, load_models

    try:
        load_models()
    except EngineConfigurationError as exc:
        logger.error("local engine unavailable: %s", exc)
