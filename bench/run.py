"""Benchmarks, reported as ratios against a baseline measured in the same run.

    .venv/bin/python -m bench.run [--repeat N] [--only intake|jpeg|engine] [--json]

- intake: `validate_image` (decode, orient, strip, re-encode, hash) against a bare Pillow decode of the
  same bytes — the cost of making an upload safe, per image size.
- intake memory: peak RSS growth of `validate_image` against the bare decode (fresh process each).
- jpeg decode: the intake's strict JPEG decode (libjpeg-turbo through simplejpeg, a warning is an error) against
  Pillow's decode of the same bytes: what the check that the data fills the header costs.
- engine: the local engine's full analysis (detect, landmarks, quality, passive) against MediaPipe detection
  alone on the same image — what the extra stages cost.
Nothing here asserts a time; compare ratios between commits.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from functools import partial
from pathlib import Path

import django

from bench.common import print_rows, timed

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from PIL import Image  # noqa: E402

from liveness.intake import validate_image  # noqa: E402

_CHILD = """
import io, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
import django; django.setup()
from PIL import Image
from liveness.intake import validate_image
data = open(sys.argv[1], "rb").read()
mode = sys.argv[2]
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak-RSS counter: measure only what follows
before = status("VmRSS:")
if mode == "decode":
    Image.open(io.BytesIO(data)).load()
elif mode == "validate":
    validate_image(data)
print(status("VmHWM:") - before)
"""


def peak_rss_kib(data: bytes, mode: str) -> int:
    """Peak RSS growth of a fresh interpreter doing one operation, in KiB (Linux: the peak counter is
    reset first). Pillow's pixel buffers are invisible to tracemalloc, so this is measured per process."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".jpg") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, handle.name, mode], capture_output=True, text=True, check=True,
            cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
    return int(out.stdout.split()[-1])


def synthetic_jpeg(width: int, height: int, *, orientation: int = 1, progressive: bool = False) -> bytes:
    import numpy as np

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation  # a phone held upright: the intake rotates and re-encodes
    Image.fromarray(pixels).save(out, format="JPEG", quality=90, exif=exif, progressive=progressive)
    return out.getvalue()


def bare_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


INTAKE_CASES = [
    (640, 480, 1), (1280, 960, 1), (1280, 960, 6), (1920, 1080, 1), (4000, 3000, 1), (4000, 3000, 6),
]  # fmt: skip


def bench_intake(repeat: int) -> list[dict[str, object]]:
    rows = []
    for width, height, orientation in INTAKE_CASES:
        data = synthetic_jpeg(width, height, orientation=orientation)
        baseline = timed(partial(bare_decode, data), repeat)
        measured = timed(partial(validate_image, data), repeat)
        base_mem = peak_rss_kib(data, "decode")
        mem = peak_rss_kib(data, "validate")
        rows.append({
            "bench": f"intake {width}x{height}" + (" rotated" if orientation != 1 else ""),
            "baseline_ms": round(baseline * 1000, 2),
            "measured_ms": round(measured * 1000, 2), "time_ratio": round(measured / baseline, 2),
            "memory_ratio": round(mem / max(1, base_mem), 2),
        })  # fmt: skip
    return rows


def bench_jpeg_decode(repeat: int) -> list[dict[str, object]]:
    import simplejpeg

    rows = []
    for width, height in ((1280, 960), (4000, 3000)):
        for progressive in (False, True):
            data = synthetic_jpeg(width, height, progressive=progressive)
            baseline = timed(partial(bare_decode, data), repeat)
            measured = timed(partial(simplejpeg.decode_jpeg, data, strict=True), repeat)
            rows.append({
                "bench": f"jpeg decode {width}x{height}" + (" progressive" if progressive else ""),
                "baseline_ms": round(baseline * 1000, 2), "measured_ms": round(measured * 1000, 2),
                "time_ratio": round(measured / baseline, 2),
            })  # fmt: skip
    return rows


def bench_engine(repeat: int) -> list[dict[str, object]]:
    shared = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "genuine"
    sample = shared / "Silent-Face-Anti-Spoofing__images_sample_image_T1.jpg"
    if not sample.is_file():
        return [{"bench": "engine", "skipped": f"no test image at {sample}"}]
    from liveness.engine.analysis import analyze_image, detect_faces, load_rgb
    from liveness.engine.models import load_models

    load_models()
    data = validate_image(sample.read_bytes()).content
    rgb = load_rgb(data)
    analyze_image(data)  # warm up
    baseline = timed(lambda: detect_faces(rgb, max_side=1024), repeat)
    measured = timed(lambda: analyze_image(data), repeat)
    return [{
        "bench": "engine analyse vs detect", "baseline_ms": round(baseline * 1000, 2),
        "measured_ms": round(measured * 1000, 2), "time_ratio": round(measured / baseline, 2),
    }]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=["intake", "jpeg", "engine"], help="run one group of rows")
    args = parser.parse_args()
    groups = {"intake": bench_intake, "jpeg": bench_jpeg_decode, "engine": bench_engine}
    rows = [row for name, bench in groups.items() if args.only in (None, name) for row in bench(args.repeat)]
    print_rows(rows, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
