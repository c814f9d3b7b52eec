"""Passive attack detection on ../shared/testdata, by preprocessing and fusion (the README's passive table).

    python -m bench.passive [--json] [--box haar]

For every genuine and attack image (labels: genuine, spoof-print, spoof-screen), the real-probability of
the main face with:
  (a) the previous preprocessing: the contract's box, the crop shrunk by Pillow's filtered bilinear resize;
  (b) the models' contract: the authors' CropImage box and OpenCV's INTER_LINEAR (liveness.engine.passive);
  (c) (b) fused with MiniFAS-128 by the mean of the two families' values (the shipped fusion);
  (d) the mean of the three models' values, and (e) MiniFAS-128 alone, for comparison.
Then BPCER and APCER (per attack type) at 0.5 and at the threshold where BPCER is 5 % (the highest
threshold refusing at most 5 % of the genuine photos). The box is the engine's own main face (the current
detector) unless ``--box haar`` takes OpenCV's frontal Haar cascade (needs opencv-python-headless).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyc_portal.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image  # noqa: E402

from liveness.engine import passive  # noqa: E402
from liveness.engine.analysis import analyze_rgb, load_rgb  # noqa: E402

TESTDATA = Path(settings.BASE_DIR).parent / "shared" / "testdata"
LABELS = ("genuine", "spoof-print", "spoof-screen")
METHODS = {
    "a": "(a) Pillow-filtered crop (before)",
    "b": "(b) contract crop + OpenCV bilinear",
    "c": "(c) (b) + MiniFAS-128, mean of the two",
    "d": "(d) mean of the three models",
    "e": "(e) MiniFAS-128 alone",
}


def pillow_crop(rgb: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """The engine's previous crop: same growth rule, then Pillow's BILINEAR (which filters when shrinking)."""
    height, width = rgb.shape[:2]
    box_w, box_h = max(1, box[2] - box[0]), max(1, box[3] - box[1])
    used = max(0.0, min(scale, (height - 1) / box_h, (width - 1) / box_w))
    new_w, new_h = box_w * used, box_h * used
    centre_x, centre_y = box[0] + box_w / 2, box[1] + box_h / 2
    left = min(max(0.0, centre_x - new_w / 2), width - 1 - new_w)
    top = min(max(0.0, centre_y - new_h / 2), height - 1 - new_h)
    crop = rgb[int(top) : int(top + new_h) + 1, int(left) : int(left + new_w) + 1]
    return np.asarray(Image.fromarray(crop).resize((80, 80), Image.Resampling.BILINEAR))


def minifasnet_on(crop: np.ndarray, model: passive.PassiveModel) -> float:
    tensor = np.ascontiguousarray(crop[..., ::-1].astype(np.float32).transpose(2, 0, 1)[np.newaxis])
    logits = model.session.run(None, {model.input_name: tensor})[0][0]
    return float(passive._softmax(np.asarray(logits, dtype=np.float64))[1])


def haar_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    import cv2

    cascades = cv2.data.haarcascades  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(cascades + "haarcascade_frontalface_default.xml")
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    found = cascade.detectMultiScale(grey, 1.1, 5, minSize=(40, 40))
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda f: f[2] * f[3])
    return int(x), int(y), int(x + w), int(y + h)


def engine_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    main = analyze_rgb(rgb, with_passive=False).main_face
    return main.box if main else None


def score_images(find_box: Callable[[np.ndarray], tuple[int, int, int, int] | None]) -> list[dict[str, Any]]:
    settings.LOCAL_ENGINE_MINIFAS128 = True
    passive.reset_passive_models()
    models = passive.load_passive_models()
    assert models.minifas128 is not None
    assert len(models.minifasnet) == 2
    rows = []
    with (TESTDATA / "labels.csv").open(newline="") as handle:
        items = [row for row in csv.DictReader(handle) if row["label"] in LABELS]
    for item in items:
        rgb = load_rgb((TESTDATA / item["file"]).read_bytes())
        box = find_box(rgb)
        if box is None:
            rows.append({"file": item["file"], "label": item["label"], "box": None})
            continue
        before = float(np.mean([minifasnet_on(pillow_crop(rgb, box, m.crop_scale), m) for m in models.minifasnet]))
        contract = [passive.minifasnet_real_probability(rgb, box, m) for m in models.minifasnet]
        mini128 = passive.minifas128_real_probability(rgb, box, models.minifas128)
        ensemble = float(np.mean(contract))
        rows.append(
            {
                "file": item["file"],
                "label": item["label"],
                "box": list(box),
                "a": before,
                "b": ensemble,
                "c": (ensemble + mini128) / 2,
                "d": float(np.mean([*contract, mini128])),
                "e": mini128,
                "assess": passive.assess_passive(rgb, box)["real_probability"],
            }
        )
    return rows


def rates(rows: list[dict[str, Any]], method: str, threshold: float) -> dict[str, Any]:
    out: dict[str, Any] = {"threshold": round(threshold, 4)}
    for label in LABELS:
        values = [r[method] for r in rows if r["label"] == label and r.get("box")]
        wrong = [v for v in values if (v < threshold if label == "genuine" else v >= threshold)]
        name = "BPCER" if label == "genuine" else f"APCER {label}"
        out[name] = f"{len(wrong)}/{len(values)}"
    return out


def threshold_at_bpcer(rows: list[dict[str, Any]], method: str, bpcer: float = 0.05) -> float:
    genuine = sorted(r[method] for r in rows if r["label"] == "genuine" and r.get("box"))
    allowed = math.floor(bpcer * len(genuine))  # refused: strictly below the threshold
    return genuine[allowed]


def report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for method in METHODS:
        per_label = {}
        for label in LABELS:
            values = sorted(r[method] for r in rows if r["label"] == label and r.get("box"))
            per_label[label] = {
                "n": len(values),
                "min": round(values[0], 3),
                "median": round(float(np.median(values)), 3),
                "max": round(values[-1], 3),
            }
        summary[method] = {
            "scores": per_label,
            "at_0.5": rates(rows, method, 0.5),
            "at_bpcer_5": rates(rows, method, threshold_at_bpcer(rows, method)),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--box", choices=("engine", "haar"), default="engine")
    args = parser.parse_args()
    if not (TESTDATA / "labels.csv").is_file():
        sys.exit(f"needs the shared test images at {TESTDATA}")
    rows = score_images(haar_box if args.box == "haar" else engine_box)
    summary = report(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=1))
        return
    missed = [r["file"] for r in rows if not r.get("box")]
    print(f"box: {args.box}; no face: {missed or 'none'}")
    for r in rows:
        if r.get("box") and r["label"] != "genuine":
            print(r["label"], r["file"], {m: round(r[m], 3) for m in METHODS})
    for method, title in METHODS.items():
        s = summary[method]
        scores = "; ".join(
            f"{k} n={v['n']} min {v['min']} med {v['median']} max {v['max']}" for k, v in s["scores"].items()
        )
        print(f"{title}\n  {scores}\n  at 0.5: {s['at_0.5']}\n  at BPCER 5 %: {s['at_bpcer_5']}")


if __name__ == "__main__":
    main()
