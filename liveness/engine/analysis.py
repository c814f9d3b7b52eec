"""What the local engine sees in one image: faces, boxes, landmarks, quality, pose, eye and mouth state,
the face descriptor and the passive attack score.

All numbers are measured from the pixels; nothing here invents a score. Bounds are module constants so
the documentation and the details shown to operators quote the same values.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from .face_state import EyeState, MouthState, measure_eyes, measure_mouth
from .match import face_descriptor
from .mediapipe import find_faces
from .models import load_models
from .parameters import ParameterAnswer, answer_parameters
from .passive import assess_passive
from .pose import HeadPose, estimate_head_pose

# --- Quality bounds (documented in the README's engine section) -----------------------------------
MIN_FACE_PX = 80  # shorter side of the face box, in original pixels
# Variance of the Laplacian on the face, grey levels² (on a 160-px face crop). Measured on MediaPipe's face
# box (forehead to chin, more plain skin than dlib's box had, hence lower than the former 60): the genuine
# photos of shared/testdata downscaled to 800 px measure >= 58 except one soft portrait (28); the same
# photos blurred (Gaussian, radius 4) <= 11.
MIN_SHARPNESS = 40.0
DARK_MEAN = 60.0  # mean face luminance below this is "too dark"
BRIGHT_MEAN = 200.0  # above this "too bright"
CLIPPED_FRACTION = 0.25  # more than this share of face pixels at 0-5 or 250-255 is "clipped"
SHARPNESS_FACE_SIDE = 160  # the face is resized to this side before measuring sharpness
JPEG_END = b"\xff\xd9"  # a JPEG stream's end-of-image marker


@dataclass
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in original image pixels
    #: BlazeFace's score (a probability, 0..1) of the detection this face came from.
    detection_score: float
    #: The 468-point MediaPipe face mesh, x and y in original pixels (mesh index order).
    landmarks: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: The mesh's depth per point, in the same pixel scale (smaller = nearer the camera).
    depth: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: BlazeFace's six keypoints (subject's right eye, left eye, nose tip, mouth, right ear, left ear).
    keypoints: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: The mesh model's face-presence probability (faces below 0.5 are dropped).
    mesh_presence: float = 1.0

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def as_dict(self) -> dict[str, Any]:
        left, top, right, bottom = self.box
        return {
            "box": {"left": left, "top": top, "right": right, "bottom": bottom},
            "width": self.width,
            "height": self.height,
            "detection_score": round(self.detection_score, 3),
        }


@dataclass
class Quality:
    face_px: int
    sharpness: float
    brightness: float
    clipped_fraction: float
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return all(c["passed"] for c in self.checks.values())

    @property
    def reasons(self) -> list[str]:
        return [c["reason"] for c in self.checks.values() if not c["passed"]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "face_px": self.face_px,
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "clipped_fraction": round(self.clipped_fraction, 3),
            "checks": self.checks,
            "usable": self.usable,
            "reasons": self.reasons,
        }


@dataclass
class ImageAnalysis:
    width: int
    height: int
    faces: list[Face]
    rgb: np.ndarray  # HxWx3 uint8, EXIF-oriented, original resolution
    quality: Quality | None = None
    passive: dict[str, Any] | None = None
    pose: HeadPose | None = None
    pose_error: str = ""
    eyes: EyeState | None = None
    mouth: MouthState | None = None
    descriptor: np.ndarray | None = field(default=None, repr=False)

    @property
    def main_face(self) -> Face | None:
        return max(self.faces, key=lambda f: f.area) if self.faces else None

    @property
    def parameters(self) -> dict[str, ParameterAnswer] | None:
        """Every active-liveness parameter answered for the main face (None without pose and landmarks)."""
        if self.pose is None or self.eyes is None or self.mouth is None:
            return None
        return answer_parameters(self.pose, self.eyes, self.mouth)

    def face_descriptor(self) -> np.ndarray | None:
        """The main face's 128-d descriptor, computed on first use (about as costly as detection)."""
        main = self.main_face
        if self.descriptor is None and main is not None and main.landmarks is not None:
            self.descriptor = face_descriptor(self.rgb, main)
        return self.descriptor

    def details(self) -> dict[str, Any]:
        """The normalised detail of this image, as providers, the console and the API show it."""
        main = self.main_face
        parameters = self.parameters
        return {
            "image": {"width": self.width, "height": self.height},
            "face_outcome": self.face_outcome,
            "face_count": len(self.faces),
            "faces": [face.as_dict() for face in self.faces],
            "main_face": main.as_dict() if main else None,
            "quality": self.quality.as_dict() if self.quality else None,
            "pose": self.pose.as_dict() if self.pose else None,
            **({"pose_error": self.pose_error} if self.pose_error else {}),
            "eyes": self.eyes.as_dict() if self.eyes else None,
            "mouth": self.mouth.as_dict() if self.mouth else None,
            "parameters": (
                {name: {k: v for k, v in a.as_dict().items() if k != "parameter"} for name, a in parameters.items()}
                if parameters
                else None
            ),
            "passive": self.passive,
        }

    @property
    def face_outcome(self) -> str:
        if not self.faces:
            return "no_face"
        if len(self.faces) > 1:
            return "multiple_faces"
        return "one_face"


def load_rgb(content: bytes) -> np.ndarray:
    """The EXIF-oriented RGB pixels of an image file.

    A complete colour JPEG (the frames and selfies the hosted page and most phones send) is decoded by
    OpenCV straight into the array, turned upright by its EXIF orientation as Pillow's ``exif_transpose``
    does: the same libjpeg-turbo decoding, pixel for pixel the same array on every JPEG of shared/testdata
    (tests/test_engine_analysis.py), without the two full copies ``np.asarray`` of a Pillow image makes
    (a 7-frame active check of multi-megapixel photos spent a third of its decoding time on them). Everything
    else, and any JPEG OpenCV cannot read or that does not end in its end-of-image marker (a truncated file,
    which OpenCV would pad with grey where Pillow refuses it), is decoded by Pillow; its pixels are copied
    only where they change (a rotation the EXIF asks for, a mode that is not RGB)."""
    with Image.open(io.BytesIO(content)) as image:
        if image.format == "JPEG" and image.mode == "RGB" and content[-64:].rstrip(b"\0").endswith(JPEG_END):
            decoded = cv2.imdecode(np.frombuffer(content, dtype=np.uint8), cv2.IMREAD_COLOR_RGB)
            if decoded is not None:
                return np.asarray(decoded)
        ImageOps.exif_transpose(image, in_place=True)
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def detect_faces(rgb: np.ndarray, *, max_side: int) -> list[Face]:
    """Faces with their 468-point mesh, found on a copy downscaled to ``max_side`` (mediapipe.find_faces);
    boxes and landmarks in original pixels."""
    height, width = rgb.shape[:2]
    faces = []
    for found in find_faces(load_models().faces, rgb, max_side=max_side):
        left, top, right, bottom = found.detection.box
        box = (
            max(0, round(left)),
            max(0, round(top)),
            min(width, round(right)),
            min(height, round(bottom)),
        )
        mesh = found.mesh.landmarks
        faces.append(
            Face(
                box=box,
                detection_score=found.detection.score,
                landmarks=mesh[:, :2],
                depth=mesh[:, 2],
                keypoints=found.detection.keypoints,
                mesh_presence=found.mesh.presence,
            )
        )
    return faces


def _grey(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float64)


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low on blurred images."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


def face_crop(rgb: np.ndarray, face: Face) -> np.ndarray:
    left, top, right, bottom = face.box
    return rgb[max(0, top) : max(top + 1, bottom), max(0, left) : max(left + 1, right)]


def measure_quality(rgb: np.ndarray, face: Face) -> Quality:
    crop = face_crop(rgb, face)
    face_px = min(face.width, face.height)
    side = SHARPNESS_FACE_SIDE
    # Sharpness is measured at a fixed face size so it does not depend on the photo's resolution.
    normalised = np.asarray(Image.fromarray(crop).resize((side, side), Image.Resampling.BILINEAR))
    grey = _grey(normalised)
    sharpness = laplacian_variance(grey)
    brightness = float(grey.mean())
    clipped = float(((grey <= 5) | (grey >= 250)).mean())
    checks = {
        "face_size": {
            "value": face_px,
            "bound": f">= {MIN_FACE_PX} px",
            "passed": face_px >= MIN_FACE_PX,
            "reason": "face_too_small",
        },
        "sharpness": {
            "value": round(sharpness, 1),
            "bound": f">= {MIN_SHARPNESS}",
            "passed": sharpness >= MIN_SHARPNESS,
            "reason": "blurred",
        },
        "exposure_dark": {
            "value": round(brightness, 1),
            "bound": f">= {DARK_MEAN}",
            "passed": brightness >= DARK_MEAN,
            "reason": "too_dark",
        },
        "exposure_bright": {
            "value": round(brightness, 1),
            "bound": f"<= {BRIGHT_MEAN}",
            "passed": brightness <= BRIGHT_MEAN,
            "reason": "too_bright",
        },
        "exposure_clipped": {
            "value": round(clipped, 3),
            "bound": f"<= {CLIPPED_FRACTION}",
            "passed": clipped <= CLIPPED_FRACTION,
            "reason": "clipped",
        },
    }
    return Quality(face_px, sharpness, brightness, clipped, checks)


def analyze_image(
    content: bytes, *, max_side: int = 1024, with_passive: bool = True, with_descriptor: bool = False
) -> ImageAnalysis:
    """Detect faces and measure the main face: quality, pose, eyes, mouth, passive score, descriptor."""
    return analyze_rgb(load_rgb(content), max_side=max_side, with_passive=with_passive, with_descriptor=with_descriptor)


def analyze_rgb(
    rgb: np.ndarray, *, max_side: int = 1024, with_passive: bool = True, with_descriptor: bool = False
) -> ImageAnalysis:
    """:func:`analyze_image` on decoded, oriented pixels (HxWx3 uint8 RGB)."""
    faces = detect_faces(rgb, max_side=max_side)
    analysis = ImageAnalysis(width=rgb.shape[1], height=rgb.shape[0], faces=faces, rgb=rgb)
    main = analysis.main_face
    if main is None or main.landmarks is None:
        return analysis
    analysis.quality = measure_quality(rgb, main)
    try:
        analysis.pose = estimate_head_pose(main.landmarks, (analysis.width, analysis.height))
    except (ValueError, np.linalg.LinAlgError) as exc:
        analysis.pose_error = str(exc)
    analysis.eyes = measure_eyes(main.landmarks)
    analysis.mouth = measure_mouth(main.landmarks)
    if with_passive:
        analysis.passive = assess_passive(rgb, main.box)
    if with_descriptor:
        analysis.face_descriptor()
    return analysis
