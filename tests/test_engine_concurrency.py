"""The engine shared between threads: models load once, and dlib's face detector never runs twice at once.

The threaded sandbox server, a threaded worker pool and the health probe all call the engine from several
threads of one process. dlib's HOG detector is not thread-safe and releases the GIL while it scans: two
threads in it at once corrupt the heap and kill the process (segfault or abort), not just the answer.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings

from liveness.engine import models as engine_models
from liveness.engine.analysis import detect_faces
from tests.engine_support import BIDEN, OBAMA_FRONTAL
from tests.helpers import require_testdata


class ConcurrencyRecordingDetector:
    """Stands in for dlib's detector: finds no face, and records how many threads were inside at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.calls = 0

    def run(self, image: np.ndarray, upsample: int, threshold: float) -> tuple[list[Any], list[Any], list[Any]]:
        with self._lock:
            self.inside += 1
            self.calls += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.02)  # long enough for another thread to walk in, were it allowed to
        with self._lock:
            self.inside -= 1
        return [], [], []


def test_it_never_runs_the_face_detector_in_two_threads_at_once(monkeypatch: pytest.MonkeyPatch):
    detector = ConcurrencyRecordingDetector()
    monkeypatch.setattr(engine_models, "_loaded", dataclasses.replace(engine_models.load_models(), detector=detector))
    image = np.zeros((120, 160, 3), dtype=np.uint8)
    start = threading.Barrier(4)

    def detect() -> None:
        start.wait()
        for _ in range(3):
            assert detect_faces(image, max_side=1024) == []

    threads = [threading.Thread(target=detect) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert detector.calls == 4 * 3 * 2  # no face: each detection also tries the upsampled pass
    assert detector.most_inside == 1


@pytest.fixture
def fresh_models() -> Iterator[None]:
    engine_models.reset_models()
    yield
    engine_models.reset_models()


def test_it_loads_the_models_once_when_many_threads_ask_at_the_same_time(
    monkeypatch: pytest.MonkeyPatch, fresh_models: None
):
    import dlib

    real_shape_predictor = dlib.shape_predictor
    loads: list[str] = []

    def counting_shape_predictor(path: str) -> Any:
        loads.append(path)
        return real_shape_predictor(path)

    monkeypatch.setattr(dlib, "shape_predictor", counting_shape_predictor)
    start = threading.Barrier(4)
    seen: list[engine_models.LoadedModels] = []

    def load() -> None:
        start.wait()
        seen.append(engine_models.load_models())

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert len(seen) == 4
    assert all(models is seen[0] for models in seen)


# Run in a child process: without the detector lock this does not fail, it kills the interpreter.
_THREADED_ANALYSIS = """
import sys, threading
import django
django.setup()
import numpy as np
from PIL import Image
from liveness.engine.analysis import analyze_rgb

images = [np.asarray(Image.open(path).convert("RGB")) for path in sys.argv[1:]]
expected = [[face.box for face in analyze_rgb(image, with_passive=False).faces] for image in images]
differing = []

def work(k):
    for _ in range(6):
        image = k % len(images)
        boxes = [face.box for face in analyze_rgb(images[image], with_passive=False).faces]
        if boxes != expected[image]:
            differing.append(image)

threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("faces", [len(boxes) for boxes in expected], "differing", len(differing))
"""


def test_it_analyses_images_in_parallel_threads_without_crashing_and_with_the_same_answers():
    shared = require_testdata()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyc_portal.settings.test",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH", "")])),
    }
    completed = subprocess.run(
        [sys.executable, "-c", _THREADED_ANALYSIS, str(shared / OBAMA_FRONTAL), str(shared / BIDEN)],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, f"the process died ({completed.returncode}): {completed.stderr[-2000:]}"
    assert completed.stdout.strip().endswith("faces [1, 1] differing 0")
