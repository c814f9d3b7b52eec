"""Local-engine benchmarks, measured in one run against baselines measured in the same run.

    python -m bench.engine [--repeat 9] [--json] [--all-cores]

Pinned to one CPU core unless --all-cores (the engine's targets are per core; the thread comparison runs on
every core). Measured:
- **selfie path on a 1280-px photo** (obama-720p, 1280x720, decoded once): the engine's analysis with the
  passive models (MediaPipe detection + face mesh, quality, pose, eyes, mouth, passive) against the
  former dlib path, kept here as the baseline only: HOG detection on the same 1024-px copy (upsampled once
  when it finds nothing), the 68-point shape predictor, the same quality and passive steps on its box;
- the same on the 480x640 live sample and on a 4352x2903 photo (detection on a 1024-px copy);
- a local-provider check of each case kind: selfie, ID document + selfie, a 7-frame active series (once on the
  0.8-3.3 MP photos themselves, once on the same photos as the hosted page captures frames: within 1280x720,
  JPEG quality 0.92); those that compute face descriptors (ID + selfie, active) also with the former
  descriptor path — dlib's own network on the same chip, kept here as the baseline only — swapped in for the
  same run;
- model loading; the 128-d face descriptor (onnxruntime) against dlib's network on the same face, and the
  chip dlib cuts for it;
- threads: two threads finding faces at once with the engine's pool of interpreter sets against one
  shared set behind a lock (wall time: meaningful only on an otherwise idle machine).

Times are medians, as CPU time of this process and as wall time: on a machine shared with other work the
CPU time of these single-threaded paths is what an idle core would take.

It reads the images from ../shared/testdata and exits with a message when they are absent; the baselines
need the dev requirements (dlib's models from face-recognition-models).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from bench.convert_dlib_descriptor import dat_path, dlib_network  # noqa: E402
from liveness.engine import analysis, mediapipe  # noqa: E402
from liveness.engine.analysis import Face, analyze_rgb, assess_passive, load_rgb, measure_quality  # noqa: E402
from liveness.engine.match import alignment_shape, face_chip  # noqa: E402
from liveness.engine.models import load_models, reset_models  # noqa: E402
from liveness.providers import CheckRequest, EvidenceImage, get_provider  # noqa: E402

TESTDATA = Path(settings.BASE_DIR).parent / "shared" / "testdata"
LIVE = "genuine/Silent-Face-Anti-Spoofing__images_sample_image_T1.jpg"
LARGE = "genuine/deepface__tests_unit_dataset_img49.jpg"
OBAMA = "genuine/face_recognition__"
PHOTO_1280 = OBAMA + "examples_obama-720p.jpg"
ACTIVE = [
    (OBAMA + "examples_knn_examples_test_obama1.jpg", "left"),
    (OBAMA + "examples_knn_examples_train_obama_obama2.jpg", "right"),
    (OBAMA + "tests_test_images_obama3.jpg", "up"),
    (OBAMA + "examples_obama-720p.jpg", "front"),
    (OBAMA + "examples_knn_examples_train_obama_obama2.jpg", "mouth open"),
    (OBAMA + "tests_test_images_obama3.jpg", "mouth closed"),
    (OBAMA + "examples_obama-720p.jpg", "eyes open"),
]
DOCUMENT = "id-documents/PassportEye__tests_data_passport-td3.jpg"


def p50(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in milliseconds. Every path measured with it
    runs in one thread, so on a machine shared with other work the CPU time is what an idle core would take
    (the wall time then also counts the waits for a core)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def _ms(measured: tuple[float, float]) -> dict[str, float]:
    return {"cpu_ms": round(measured[1], 1), "wall_ms": round(measured[0], 1)}


class DlibBaseline:
    """The former detection path (dlib HOG + 68 landmarks), for comparison only: not used by the product."""

    def __init__(self) -> None:
        import dlib

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(dat_path().parent / "shape_predictor_68_face_landmarks.dat"))

    def selfie(self, rgb: np.ndarray, max_side: int = 1024) -> dict[str, Any] | None:
        height, width = rgb.shape[:2]
        scale = min(1.0, max_side / max(height, width))
        small = rgb
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
        rects, scores, _ = self.detector.run(small, 0, 0.0)
        if len(rects) == 0:
            rects, scores, _ = self.detector.run(small, 1, 0.0)
        if len(rects) == 0:
            return None
        rect = max(rects, key=lambda r: r.area())
        box = (
            max(0, round(rect.left() / scale)),
            max(0, round(rect.top() / scale)),
            min(width, round(rect.right() / scale)),
            min(height, round(rect.bottom() / scale)),
        )
        face = Face(box=box, detection_score=float(scores[0]))
        shape = self.predictor(rgb, self.dlib.rectangle(*box))
        face.landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        return {"quality": measure_quality(rgb, face), "passive": assess_passive(rgb, face.box)}


class DlibDescriptor:
    """The former descriptor path (dlib's own network, no BLAS in this build, on the chip dlib cuts from the
    same five mesh points), for comparison only: not used by the product."""

    def __init__(self) -> None:
        self.network = dlib_network()

    def __call__(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        return np.asarray(self.network.compute_face_descriptor(rgb, alignment_shape(face), 0), dtype=np.float64)


@contextmanager
def descriptor_path(compute: Callable[[np.ndarray, Face], np.ndarray]) -> Iterator[None]:
    """Every analysis in the block computes its descriptor with ``compute``."""
    with mock.patch.object(analysis, "face_descriptor", compute):
        yield


def decoded(relative: str) -> np.ndarray:
    with Image.open(TESTDATA / relative) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def image(relative: str, role: str, index: int = 0, parameter: str = "") -> EvidenceImage:
    content = (TESTDATA / relative).read_bytes()
    with Image.open(TESTDATA / relative) as opened:
        width, height = ImageOps.exif_transpose(opened).size
    return EvidenceImage(role, index, content, "image/jpeg", width, height, parameter)


def camera_frame(relative: str, index: int, parameter: str) -> EvidenceImage:
    """``relative`` as the hosted page captures a frame: within 1280x720 (its ``getUserMedia`` ideal), JPEG
    quality 0.92 (its ``canvas.toBlob``), upright (a canvas has no EXIF)."""
    import io

    with Image.open(TESTDATA / relative) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    bound = (1280, 720) if upright.width >= upright.height else (720, 1280)
    upright.thumbnail(bound, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    upright.save(buffer, "JPEG", quality=92)
    return EvidenceImage("frame", index, buffer.getvalue(), "image/jpeg", upright.width, upright.height, parameter)


def provider_check(kind: str, images: list[EvidenceImage]) -> Callable[[], object]:
    provider = get_provider("local")
    request = CheckRequest(check_id=0, case_id="bench", kind=kind, images=images, threshold=0.5, timeout=60)
    return lambda: provider.check(request)


class SharedLockedFaceModels(mediapipe.FaceModels):
    """One interpreter set shared by every thread behind one lock (the alternative measured)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.lock = threading.Lock()
        self.shared = self._build()

    @contextmanager
    def _lease(self) -> Iterator[dict[str, Any]]:
        with self.lock:
            yield self.shared


def threaded(models: mediapipe.FaceModels, rgb: np.ndarray, threads: int, per_thread: int) -> float:
    """Wall time (ms) for ``threads`` threads each finding the faces of ``rgb`` ``per_thread`` times."""
    start = threading.Barrier(threads + 1)

    def work() -> None:
        start.wait()
        for _ in range(per_thread):
            mediapipe.find_faces(models, rgb, max_side=1024)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    return (time.perf_counter() - started) * 1000


def run(repeat: int, all_cores: set[int] | None = None) -> list[dict[str, object]]:
    models = load_models()
    baseline = DlibBaseline()
    results: list[dict[str, object]] = []
    for name, relative in (("1280-px photo", PHOTO_1280), ("480x640 selfie", LIVE), ("4352x2903 photo", LARGE)):
        rgb = decoded(relative)
        analyze_rgb(rgb)  # warm up
        baseline.selfie(rgb)
        new = p50(partial(analyze_rgb, rgb), repeat)
        old = p50(partial(baseline.selfie, rgb), max(3, repeat // 2))
        detect = p50(partial(mediapipe.find_faces, models.faces, rgb, max_side=1024), repeat)
        results.append(
            {
                "bench": f"selfie path, {name}",
                "mediapipe_cpu_ms": round(new[1], 1),
                "dlib_hog_68_cpu_ms": round(old[1], 1),
                "dlib_vs_mediapipe": round(old[1] / new[1], 2),
                "mediapipe_detection_and_mesh_cpu_ms": round(detect[1], 1),
                "mediapipe_wall_ms": round(new[0], 1),
                "dlib_hog_68_wall_ms": round(old[0], 1),
            }
        )
    with_decode = p50(lambda: analyze_rgb(load_rgb((TESTDATA / PHOTO_1280).read_bytes())), repeat)
    results.append({"bench": "selfie path, 1280-px photo, JPEG decode included", **_ms(with_decode)})

    def load_once() -> None:
        reset_models()
        load_models()

    results.append({"bench": "model loading", **_ms(p50(load_once, 3))})
    live = analyze_rgb(decoded(LIVE), with_passive=False)
    dlib_descriptor = DlibDescriptor()
    assert live.main_face is not None

    def descriptor() -> None:
        live.descriptor = None
        live.face_descriptor()

    onnx_ms = p50(descriptor, repeat)
    dlib_ms = p50(partial(dlib_descriptor, live.rgb, live.main_face), max(3, repeat // 2))
    chip_ms = p50(partial(face_chip, live.rgb, live.main_face), repeat)
    results.append(
        {
            "bench": "face descriptor (one face, 480x640 selfie)",
            "onnx_cpu_ms": round(onnx_ms[1], 1),
            "dlib_network_cpu_ms": round(dlib_ms[1], 1),
            "dlib_vs_onnx": round(dlib_ms[1] / onnx_ms[1], 2),
            "of_which_dlib_chip_cpu_ms": round(chip_ms[1], 1),
            "onnx_wall_ms": round(onnx_ms[0], 1),
            "dlib_network_wall_ms": round(dlib_ms[0], 1),
        }
    )
    cases = {
        "selfie check (local provider, 480x640)": provider_check("selfie", [image(LIVE, "selfie")]),
        "id_document + selfie check": provider_check(
            "id_document", [image(DOCUMENT, "id_front"), image(PHOTO_1280, "selfie")]
        ),
        "active check, 7 frames": provider_check(
            "active", [image(path, "frame", i, parameter) for i, (path, parameter) in enumerate(ACTIVE)]
        ),
        "active check, 7 camera frames (within 1280x720, as the hosted page captures)": provider_check(
            "active", [camera_frame(path, i, parameter) for i, (path, parameter) in enumerate(ACTIVE)]
        ),
    }
    with_descriptors = set(cases) - {"selfie check (local provider, 480x640)"}
    for name, func in cases.items():
        func()  # warm up
        new = p50(func, max(3, repeat // 2))
        if name not in with_descriptors:
            results.append({"bench": name, **_ms(new)})
            continue
        with descriptor_path(dlib_descriptor):
            func()
            old = p50(func, max(3, repeat // 2))
        results.append(
            {
                "bench": name,
                "onnx_descriptor_cpu_ms": round(new[1], 1),
                "dlib_descriptor_cpu_ms": round(old[1], 1),
                "dlib_vs_onnx": round(old[1] / new[1], 2),
                "onnx_descriptor_wall_ms": round(new[0], 1),
                "dlib_descriptor_wall_ms": round(old[0], 1),
            }
        )
    if all_cores is not None:  # two threads need two cores to show what a lock costs
        os.sched_setaffinity(0, all_cores)
    rgb = decoded(PHOTO_1280)
    per_thread = max(10, repeat * 2)
    directory = models.faces.directory
    local = threaded(mediapipe.FaceModels(directory), rgb, 2, per_thread)
    locked = threaded(SharedLockedFaceModels(directory), rgb, 2, per_thread)
    results.append(
        {
            "bench": f"2 threads x {per_thread} detections + meshes",
            "pool_of_sets_ms": round(local, 1),
            "one_set_behind_a_lock_ms": round(locked, 1),
            "lock_vs_pool": round(locked / local, 2),
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU core")
    args = parser.parse_args()
    if not (TESTDATA / "labels.csv").is_file():
        sys.exit(f"needs the shared test images at {TESTDATA}")
    cores = None
    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        cores = set(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {min(cores)})
    results = run(args.repeat, cores)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        name = result.pop("bench")
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
