"""Shared by the face-search tests: the step switched on, fake descriptors, cases decided with a face."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import numpy as np
import pytest

from liveness import enqueue, services
from liveness.models import Case, Check
from liveness.providers import ProviderResult
from liveness.services import faces
from tests.helpers import enqueued, image_bytes


@pytest.fixture(autouse=True)
def face_search_on(settings):
    settings.FACE_SEARCH_ENABLED = True
    settings.FACE_SEARCH_ACROSS_PARTNERS = False
    faces.face_index_reset()
    with (
        enqueued(enqueue.RUN_CHECK),
        enqueued(enqueue.BUILD_FACE_TEMPLATES) as face_tasks,
        enqueued(enqueue.DELIVER_WEBHOOK),
    ):
        yield face_tasks
    faces.face_index_reset()


@dataclass
class FakeFace:
    box: tuple[int, int, int, int] = (10, 10, 110, 130)

    @property
    def area(self) -> int:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


@dataclass
class FakeAnalysis:
    descriptor: np.ndarray | None
    main_face: FakeFace | None = field(default_factory=FakeFace)
    quality: Any = None


@pytest.fixture
def fake_faces():
    """Descriptors the face step sees, in the order it analyses images (for synthetic images with no face)."""
    queue: deque[np.ndarray | None] = deque()

    def analyze(content: bytes, *, with_descriptor: bool) -> FakeAnalysis:
        vector = queue.popleft()
        return FakeAnalysis(vector, None if vector is None else FakeFace())

    with mock.patch("liveness.services.faces._analyze", side_effect=analyze):
        yield queue


def vector(seed: int) -> np.ndarray:
    """A unit-scale 128-d vector; different seeds are far apart (distance about 1.4), like two people."""
    v = np.random.default_rng(seed).normal(size=128)
    return v / np.linalg.norm(v)


def near(v: np.ndarray, by: float = 0.2, seed: int = 99) -> np.ndarray:
    step = np.random.default_rng(seed).normal(size=128)
    return v + by * step / np.linalg.norm(step)


def new_case(*, partner=None, external_ref: str = "", data: bytes | None = None) -> Case:
    return services.case_create(
        kind="selfie",
        images=[services.IncomingImage("selfie", data or image_bytes())],
        partner=partner,
        external_ref=external_ref,
    ).case


def settle_checks(scripted, case: Case, score: float = 0.95) -> None:
    for check in Check.objects.filter(case=case, round=case.round):
        scripted.script.append(ProviderResult(score=score))
        services.check_execute(check_id=check.pk)


def face_step(case: Case) -> str:
    case.refresh_from_db()
    return faces.face_search_execute(case_id=case.pk, round_=case.round)


def decided(scripted, fake_faces, face: np.ndarray | None, **kwargs: Any) -> Case:
    """A selfie case whose checks pass clearly and whose face step has run with ``face``."""
    case = new_case(**kwargs)
    settle_checks(scripted, case)
    fake_faces.append(face)
    face_step(case)
    case.refresh_from_db()
    return case
