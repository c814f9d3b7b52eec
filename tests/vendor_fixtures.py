"""Fixtures and helpers for the vendor adapter, simulator and fallback tests (registered in conftest).

Everything talks real HTTP: the ``sandbox`` fixture points every vendor setting at pytest-django's
``live_server``, where the portal serves its own simulators under ``/sandbox/<vendor>/``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from liveness import enqueue
from liveness.providers import CheckRequest, EvidenceImage
from liveness.sandbox import judge
from liveness.sandbox.conventions import fault_budget
from liveness.sandbox.server import install_on_live_server
from tests.helpers import SHARED_DIR, enqueued, testdata_bytes

VENDOR_DOCS = SHARED_DIR / "vendor-docs"

#: Frontal, clearly live, one face (engine: passive ~1.0, "front", eyes open, mouth closed); 1536x2048.
FRONTAL_FACE = "genuine/deepface__tests_unit_dataset_img3.jpg"
#: One person (Obama) in several poses, for active series that must verify as the same face.
OBAMA_FRONT = "genuine/face_recognition__examples_knn_examples_train_obama_obama.jpg"
OBAMA_TURNED = "genuine/face_recognition__examples_knn_examples_train_obama_obama2.jpg"  # subject's right
OBAMA_UP = "genuine/face_recognition__tests_test_images_obama3.jpg"
OBAMA_480 = "genuine/face_recognition__examples_obama-480p.jpg"
ID_WITH_PORTRAIT = "id-documents/PassportEye__passporteye_mrz_testdata_100_id-rou.jpg"  # ID card, portrait


@dataclass(frozen=True)
class Sandbox:
    base: str  # e.g. http://localhost:41234/sandbox

    def url(self, vendor: str, path: str) -> str:
        return f"{self.base}/{vendor}{path}"


@pytest.fixture
def sandbox(live_server, settings) -> Iterator[Sandbox]:
    """All four vendors configured against the live server's simulators, with sandbox credentials."""
    previous = install_on_live_server(live_server)
    base = f"{live_server.url}/sandbox"
    settings.ACCURA_BASE_URL = f"{base}/accura"
    settings.ACCURA_API_KEY = "test-accura-api-key"
    settings.KAIROS_BASE_URL = f"{base}/kairos"
    settings.KAIROS_APP_ID = "test-kairos-app-id"
    settings.KAIROS_APP_KEY = "test-kairos-app-key"
    settings.RISET_BASE_URL = f"{base}/riset"
    settings.RISET_ACCESS_TOKEN = "test-riset-access-token"
    settings.SANDBOX_FAULTS = {}
    settings.SANDBOX_OUTCOMES = {}
    fault_budget.reset()
    yield Sandbox(base)
    live_server.thread.httpd.RequestHandlerClass = previous
    fault_budget.reset()


@pytest.fixture
def no_broker() -> Iterator[mock.MagicMock]:
    """Tests drive ``check_execute`` themselves; nothing is sent to a broker."""
    with enqueued(enqueue.RUN_CHECK) as apply_async:
        yield apply_async


@pytest.fixture
def fresh_judge() -> Iterator[None]:
    judge.clear_cache()
    yield
    judge.clear_cache()


def jpeg(image: Image.Image, *, quality: int = 95) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, subsampling=0)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def open_image(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def face_bytes(relative: str = FRONTAL_FACE) -> bytes:
    return testdata_bytes(relative)


def mirrored(content: bytes) -> bytes:
    return jpeg(open_image(content).transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def brightened(content: bytes, factor: float) -> bytes:
    array = np.asarray(open_image(content).convert("RGB"), dtype=np.float64) * factor
    return jpeg(Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)))


def rescaled(content: bytes, scale: float) -> bytes:
    image = open_image(content)
    size = (round(image.size[0] * scale), round(image.size[1] * scale))
    return jpeg(image.resize(size, Image.Resampling.LANCZOS))


def noisy_large_jpeg(width: int, height: int, *, seed: int = 7) -> bytes:
    """A photo-sized JPEG that does not compress well (several MB), with no face in it."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, width, dtype=np.float64)[np.newaxis, :, np.newaxis]
    noise = rng.normal(0, 40, size=(height, width, 3))
    return jpeg(Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)))


def large_face_jpeg(min_bytes: int, *, relative: str = FRONTAL_FACE) -> bytes:
    """A real face photo made bigger (upscaled, fine grain added) until it is over ``min_bytes``."""
    image = open_image(face_bytes(relative)).convert("RGB")
    rng = np.random.default_rng(3)
    scale = 1.0
    while True:
        size = (round(image.size[0] * scale), round(image.size[1] * scale))
        array = np.asarray(image.resize(size, Image.Resampling.BICUBIC), dtype=np.float64)
        grainy = np.clip(array + rng.normal(0, 6, size=array.shape), 0, 255).astype(np.uint8)
        content = jpeg(Image.fromarray(grainy))
        if len(content) > min_bytes:
            return content
        scale *= 1.3


def evidence(role: str, content: bytes, *, index: int = 0, face_parameter: str = "") -> EvidenceImage:
    image = open_image(content)
    content_type = "image/png" if image.format == "PNG" else "image/jpeg"
    return EvidenceImage(role, index, content, content_type, image.size[0], image.size[1], face_parameter)


def check_request(kind: str, images: list[EvidenceImage], **fields: object) -> CheckRequest:
    values: dict[str, object] = {"check_id": 4242, "case_id": "case-under-test", "threshold": 0.5, "timeout": 20.0}
    values.update(fields)
    return CheckRequest(kind=kind, images=images, **values)  # type: ignore[arg-type]


def vendor_doc(name: str) -> str:
    path = VENDOR_DOCS / name
    if not path.is_file():
        pytest.skip(f"needs the vendor documents at {VENDOR_DOCS} (absent in this checkout)")
    return path.read_text()


def code_blocks(markdown: str, language: str) -> list[str]:
    """The fenced code blocks of one language in a vendor document, as published."""
    return re.findall(rf"```{language}\n(.*?)```", markdown, flags=re.DOTALL)


def write_file(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.write_bytes(content)
    return path
