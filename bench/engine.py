"""Local-engine benchmarks, as ratios against a baseline measured in the same run (nothing asserts a time).

    python -m bench.engine [--repeat 5] [--json]

The baseline is one selfie-sized analysis (the 480x640 live sample: detect, landmarks, quality, pose,
eyes, mouth, passive models). Against it:
- model loading: what loading the models costs, i.e. what loading them per image instead of once per
  process would add to every image;
- detection on a 1024-px copy against detection at full resolution on a 4352x2903 photo (why the engine
  detects on a downscaled copy and maps the boxes back);
- the 128-d face descriptor (only ID cases with a selfie and active cases pay it);
- a local-provider check of each case kind: selfie, ID document + selfie, a 7-frame active series.

It reads the images from ../shared/testdata and the passive models from ../shared/models (the dev
settings), and exits with a message when they are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import timed

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

from django.conf import settings  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from liveness.engine.analysis import analyze_image, analyze_rgb, detect_faces, load_rgb  # noqa: E402
from liveness.engine.models import load_models, reset_models  # noqa: E402
from liveness.providers import CheckRequest, EvidenceImage, get_provider  # noqa: E402

TESTDATA = Path(settings.BASE_DIR).parent / "shared" / "testdata"
LIVE = "genuine/Silent-Face-Anti-Spoofing__images_sample_image_T1.jpg"
LARGE = "genuine/deepface__tests_unit_dataset_img49.jpg"
OBAMA = "genuine/face_recognition__"
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


def image(relative: str, role: str, index: int = 0, parameter: str = "") -> EvidenceImage:
    content = (TESTDATA / relative).read_bytes()
    with Image.open(TESTDATA / relative) as opened:
        width, height = ImageOps.exif_transpose(opened).size
    return EvidenceImage(role, index, content, "image/jpeg", width, height, parameter)


def provider_check(kind: str, images: list[EvidenceImage]) -> Callable[[], object]:
    provider = get_provider("local")
    request = CheckRequest(check_id=0, case_id="bench", kind=kind, images=images, threshold=0.5, timeout=60)
    return lambda: provider.check(request)


def run(repeat: int) -> list[dict[str, object]]:
    load_models()
    live = (TESTDATA / LIVE).read_bytes()
    baseline = timed(lambda: analyze_image(live), repeat)

    def load_once() -> None:
        reset_models()
        load_models()

    loading = timed(load_once, max(1, repeat // 2))
    large_rgb = load_rgb((TESTDATA / LARGE).read_bytes())
    full_side = max(large_rgb.shape[:2])
    downscaled = timed(lambda: detect_faces(large_rgb, max_side=1024), repeat)
    full = timed(lambda: detect_faces(large_rgb, max_side=full_side), max(1, repeat // 2))
    analysis = analyze_rgb(load_rgb(live), with_passive=False)

    def descriptor() -> None:
        analysis.descriptor = None
        analysis.face_descriptor()

    describe = timed(descriptor, repeat)
    results: list[dict[str, object]] = [
        {"bench": "baseline: one selfie-sized analysis", "ms": round(baseline * 1000, 1)},
        {"bench": "model loading", "ms": round(loading * 1000, 1), "vs_baseline": round(loading / baseline, 2)},
        {
            "bench": f"detection on a {large_rgb.shape[1]}x{large_rgb.shape[0]} photo",
            "downscaled_1024_ms": round(downscaled * 1000, 1),
            "full_resolution_ms": round(full * 1000, 1),
            "full_vs_downscaled": round(full / downscaled, 2),
        },
        {"bench": "face descriptor", "ms": round(describe * 1000, 1), "vs_baseline": round(describe / baseline, 2)},
    ]
    cases = {
        "selfie check": provider_check("selfie", [image(LIVE, "selfie")]),
        "id_document + selfie check": provider_check(
            "id_document", [image(DOCUMENT, "id_front"), image(OBAMA + "examples_obama-720p.jpg", "selfie")]
        ),
        "active check, 7 frames": provider_check(
            "active", [image(path, "frame", i, parameter) for i, (path, parameter) in enumerate(ACTIVE)]
        ),
    }
    for name, func in cases.items():
        seconds = timed(func, max(1, repeat // 2))
        results.append({"bench": name, "ms": round(seconds * 1000, 1), "vs_baseline": round(seconds / baseline, 2)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (TESTDATA / "labels.csv").is_file():
        sys.exit(f"needs the shared test images at {TESTDATA}")
    results = run(args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        name = result.pop("bench")
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
