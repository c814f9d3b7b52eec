"""The engine shared between threads: models load once, and parallel analyses give the same answers.

The threaded sandbox server, a threaded worker pool and the health probe all call the engine from several
threads of one process. A LiteRT interpreter must not run in two threads at once: each thread has its own
(liveness/engine/mediapipe.py; test_engine_mediapipe checks that each thread builds its own set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from liveness.engine import models as engine_models
from liveness.engine.match import face_descriptor
from tests.engine_support import BIDEN, OBAMA_FRONTAL, synthetic_face
from tests.helpers import require_testdata


@pytest.fixture
def fresh_models() -> Iterator[None]:
    engine_models.reset_models()
    yield
    engine_models.reset_models()


def test_it_loads_the_models_once_when_many_threads_ask_at_the_same_time(
    monkeypatch: pytest.MonkeyPatch, fresh_models: None
):
    from liveness.engine import mediapipe

    loads: list[Path] = []

    class CountingFaceModels(mediapipe.FaceModels):
        def __init__(self, directory: Path) -> None:
            loads.append(directory)
            super().__init__(directory)

    monkeypatch.setattr(mediapipe, "FaceModels", CountingFaceModels)
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


def test_face_descriptors_computed_in_parallel_threads_equal_the_serial_ones():
    # No lock around the descriptor: one onnxruntime session's run() is thread-safe (dlib's network was not).
    faces = [synthetic_face(seed) for seed in range(4)]
    serial = [face_descriptor(image, face) for image, face in faces]
    start = threading.Barrier(4)
    differing: list[int] = []

    def work(k: int) -> None:
        start.wait()
        for turn in range(5):
            index = (k + turn) % len(faces)
            if not (face_descriptor(*faces[index]) == serial[index]).all():
                differing.append(index)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert differing == []


# Run in a child process: an interpreter shared between threads can crash the process, not only err.
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
