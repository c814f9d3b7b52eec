"""What the simulators "see" in an image: the portal's local engine, run on the bytes received.

The same bytes always give the same answer (the engine is deterministic; answers are also cached by the
image's sha256 so a demo's repeated uploads stay cheap). The live probability a simulator turns into its
vendor's score is the engine's passive attack model (MiniFASNet) on the main face. Without a configured
model the sandbox cannot see attacks at all; it then scores on image quality alone (a usable face gets
:data:`QUALITY_ONLY_LIVE`, an unusable one :data:`QUALITY_ONLY_POOR`) and says so in the
``X-Sandbox-Basis`` response header, so nobody mistakes that for a liveness measurement.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings

from ..engine.analysis import analyze_image
from ..vendors.imaging import image_size

QUALITY_ONLY_LIVE = 0.80
QUALITY_ONLY_POOR = 0.30
#: Below this shorter side, as the detector sees the image (after its downscale to
#: LOCAL_ENGINE_DETECT_MAX_SIDE), no face is looked for: the engine is not asked, so slivers such as
#: 2x5000 px are answered "no face" at once.
MIN_SIDE_FOR_FACES = 32
_CACHE_SIZE = 256


@dataclass(frozen=True)
class FaceBox:
    left: int
    top: int
    right: int
    bottom: int
    detection_score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def confidence(self) -> float:
        """The detector's score: BlazeFace's own probability, 0..1, for vendors that report a confidence."""
        return min(1.0, max(0.0, self.detection_score))


@dataclass(frozen=True)
class Look:
    width: int
    height: int
    faces: tuple[FaceBox, ...]
    quality_usable: bool | None
    quality_reasons: tuple[str, ...]
    passive_probability: float | None
    #: Main face only, from the engine's landmarks; None where the face or the fit is missing.
    pose: tuple[float, float, float] | None = None  # yaw, pitch, roll in degrees (engine.pose conventions)
    #: Eye aspect ratios of the subject's own left and right eye, and the inner-mouth aspect ratio.
    ear_subject_left: float | None = None
    ear_subject_right: float | None = None
    mar: float | None = None
    #: The engine's yes/no per active-liveness parameter ("left", "eyes open", ...).
    parameters: dict[str, bool] | None = None
    descriptor: tuple[float, ...] | None = None

    @property
    def main_face(self) -> FaceBox | None:
        return max(self.faces, key=lambda f: f.width * f.height) if self.faces else None

    @property
    def basis(self) -> str:
        return "passive-model" if self.passive_probability is not None else "quality-only"

    @property
    def live_probability(self) -> float | None:
        """Probability that the main face is a live person; None without a face."""
        if not self.faces:
            return None
        if self.passive_probability is not None:
            return self.passive_probability
        return QUALITY_ONLY_LIVE if self.quality_usable else QUALITY_ONLY_POOR


_cache: OrderedDict[str, Look] = OrderedDict()
_cache_lock = threading.Lock()


def look(content: bytes, *, identity: bool = False) -> Look:
    """What the engine sees in ``content``; ``identity`` adds the face descriptor (about half again the
    cost of the rest, so only the simulator that compares faces asks for it)."""
    digest = hashlib.sha256(content).hexdigest()
    with _cache_lock:
        cached = _cache.get(digest)
        if cached is not None and (cached.descriptor is not None or not identity or not cached.faces):
            _cache.move_to_end(digest)
            return cached
    width, height = image_size(content)
    detect_scale = min(1.0, settings.LOCAL_ENGINE_DETECT_MAX_SIDE / max(width, height))
    if min(width, height) * detect_scale < MIN_SIDE_FOR_FACES:
        return Look(width, height, (), None, (), None)
    analysis = analyze_image(content, max_side=settings.LOCAL_ENGINE_DETECT_MAX_SIDE)
    passive = analysis.passive or {}
    probability = passive.get("real_probability") if passive.get("available") else None
    pose, eyes, mouth, answers = analysis.pose, analysis.eyes, analysis.mouth, analysis.parameters
    descriptor = analysis.face_descriptor() if identity else None
    result = Look(
        width=analysis.width,
        height=analysis.height,
        faces=tuple(FaceBox(*face.box, detection_score=face.detection_score) for face in analysis.faces),
        quality_usable=analysis.quality.usable if analysis.quality else None,
        quality_reasons=tuple(analysis.quality.reasons) if analysis.quality else (),
        passive_probability=float(probability) if probability is not None else None,
        pose=(pose.yaw, pose.pitch, pose.roll) if pose is not None else None,
        # The engine's "image left" eye is the subject's own right eye.
        ear_subject_left=eyes.ear_image_right if eyes is not None else None,
        ear_subject_right=eyes.ear_image_left if eyes is not None else None,
        mar=mouth.mar if mouth is not None else None,
        parameters={name: answer.matched for name, answer in answers.items()} if answers else None,
        descriptor=tuple(float(v) for v in descriptor) if descriptor is not None else None,
    )
    with _cache_lock:
        _cache[digest] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
