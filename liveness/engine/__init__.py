"""The local liveness engine: MediaPipe face detection and mesh, dlib descriptors, MiniFASNet passive models.

Entry points: :func:`liveness.engine.analysis.analyze_image` (one image), :func:`liveness.engine.scoring.score_case`
(one case), :func:`engine_health` (model files present and loadable), ``manage.py evaluate_engine``.
"""

from .models import EngineConfigurationError, engine_health

__all__ = ["EngineConfigurationError", "engine_health"]
