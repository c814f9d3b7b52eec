"""Test helpers: synthetic images, the shared test data, a scripted provider for service tests."""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from PIL import Image

from liveness import enqueue
from liveness.providers import CheckRequest, Provider, ProviderResult
from liveness.providers.registry import _REGISTRY

SHARED_DIR = Path(settings.BASE_DIR).parent / "shared"
TESTDATA_DIR = SHARED_DIR / "testdata"
MODELS_DIR = SHARED_DIR / "models"


def require_testdata() -> Path:
    if not (TESTDATA_DIR / "labels.csv").is_file():
        pytest.skip(f"needs the shared test images at {TESTDATA_DIR} (absent in this checkout)")
    return TESTDATA_DIR


def testdata_bytes(relative: str) -> bytes:
    return (require_testdata() / relative).read_bytes()


LIVE_SAMPLE = "genuine/Silent-Face-Anti-Spoofing__images_sample_image_T1.jpg"
PRINT_ATTACK = "spoof/Silent-Face-Anti-Spoofing__images_sample_image_F1.jpg"
SCREEN_ATTACK = "spoof/Silent-Face-Anti-Spoofing__images_sample_image_F2.jpg"
TWO_PEOPLE = "multi-face/face_recognition__examples_two_people.jpg"


def image_bytes(
    width: int = 320,
    height: int = 240,
    *,
    fmt: str = "JPEG",
    color: tuple[int, int, int] = (120, 140, 160),
    exif: Image.Exif | None = None,
) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), color)
    # A gradient so the bytes differ by size and re-encoding is meaningful.
    for x in range(0, width, 8):
        for y in range(0, height, 8):
            image.putpixel((x, y), ((x * 7) % 256, (y * 5) % 256, 90))
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


class ScriptedProvider(Provider):
    """A provider double for service tests: answers from a queue of scripted results or errors.

    Each item is a ProviderResult to return, an exception to raise, or a callable taking the request.
    """

    key = "scripted"
    label = "Scripted (tests)"
    kinds = frozenset({"selfie", "id_document", "active"})
    default_threshold = 0.5
    default_review_margin = 0.1

    def __init__(self) -> None:
        self.script: deque[ProviderResult | Exception | Callable[[CheckRequest], ProviderResult]] = deque()
        self.requests: list[CheckRequest] = []

    def check(self, request: CheckRequest) -> ProviderResult:
        self.requests.append(request)
        if not self.script:
            raise AssertionError("ScriptedProvider called more often than scripted")
        item = self.script.popleft()
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item


def install_provider(provider: Provider) -> Callable[[], None]:
    previous = _REGISTRY.get(provider.key)
    _REGISTRY[provider.key] = provider

    def restore() -> None:
        if previous is None:
            _REGISTRY.pop(provider.key, None)
        else:
            _REGISTRY[provider.key] = previous

    return restore


@contextmanager
def enqueued(*tasks: str, side_effect: BaseException | None = None) -> Iterator[mock.Mock]:
    """Catch what the services publish for ``tasks`` (names from ``liveness.enqueue``) at the enqueue seam.

    The returned mock is called once per message as ``(args=..., countdown=...)``, plus ``kwargs=...`` when the
    message has keyword arguments (a check carries its provider, which routes it). Messages for other tasks go
    through as usual (eager mode runs them). ``side_effect`` makes each caught publish raise (a broker outage).
    """
    real = enqueue.publish
    caught = mock.Mock(side_effect=side_effect)

    def publish(task: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None, *, countdown: float = 0):
        if task not in tasks:
            return real(task, args, kwargs, countdown=countdown)
        return caught(args=args, countdown=countdown, **({"kwargs": kwargs} if kwargs else {}))

    with mock.patch("liveness.enqueue.publish", side_effect=publish):
        yield caught
