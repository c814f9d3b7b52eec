"""A Django system check: the local engine's model files exist (shown at start-up of runserver, migrate …).

A warning rather than an error: a web host that never runs the engine (workers do) must still be able to
migrate. The health endpoint reports the same problem as an error, and a check run fails with it.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from .models import model_file_problems


@register()
def engine_model_files_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Warning(
            f"local engine: {problem}",
            hint=(
                "Restore liveness/engine/weights/mediapipe/ (or fix LOCAL_ENGINE_MEDIAPIPE_DIR), restore "
                "liveness/engine/weights/dlib_resnet/ (or fix LOCAL_ENGINE_DLIB_MODEL_DIR), or fix "
                "LOCAL_ENGINE_PASSIVE_MODELS."
            ),
            id="liveness.W101",
        )
        for problem in model_file_problems()
    ]
