"""Every provider's real details fit the contract: the local engine in-process, each vendor adapter against its
simulator over HTTP. What they store is already the contract's own form (``dump(load(d)) == d``), with no
misfit, and every image names the evidence it describes."""

from __future__ import annotations

import json

import pytest

from liveness.providers import CheckRequest, get_provider
from liveness.providers.details import dump, load
from tests.vendor_fixtures import (
    ID_WITH_PORTRAIT,
    OBAMA_FRONT,
    OBAMA_TURNED,
    check_request,
    evidence,
    face_bytes,
    mirrored,
)

pytestmark = pytest.mark.usefixtures("sandbox", "fresh_judge")


def selfie() -> CheckRequest:
    return check_request("selfie", [evidence("selfie", face_bytes(OBAMA_FRONT))])


def id_document() -> CheckRequest:
    images = [evidence("id_front", face_bytes(ID_WITH_PORTRAIT)), evidence("selfie", face_bytes(OBAMA_FRONT))]
    return check_request("id_document", images, country_code="ROU", card_code="P")


def active() -> CheckRequest:
    turned = face_bytes(OBAMA_TURNED)
    asked = [(face_bytes(OBAMA_FRONT), "front"), (mirrored(turned), "left"), (turned, "right")]
    frames = [evidence("frame", content, index=i, face_parameter=p) for i, (content, p) in enumerate(asked)]
    return check_request("active", frames, face_parameters=[p for _, p in asked])


@pytest.mark.parametrize(
    ("provider", "request_for"),
    [
        ("local", selfie),
        ("local", id_document),
        ("local", active),
        ("kairos", selfie),
        ("accura_face", selfie),
        ("accura_id", id_document),
        ("riset", selfie),
        ("riset", active),
    ],
)
def test_every_providers_details_fit_the_contract_and_round_trip(provider: str, request_for) -> None:
    request = request_for()
    stored = get_provider(provider).check(request).details
    detail = load(stored, kind=request.kind)
    assert detail.problems == []
    assert dump(detail) == stored  # the adapter stored the contract's own form: nothing to reshape
    assert load(dump(detail), kind=request.kind) == detail
    json.dumps(stored, allow_nan=False)
    assert detail.engine == "local" or detail.vendor in ("kairos", "accura", "riset")
    assert detail.images, "every provider describes the image(s) it assessed"
    sent = {(image.role, image.index) for image in request.images}
    assert {(image.role, image.index) for image in detail.images} <= sent
    if provider in ("local", "kairos"):  # the two that say where the face is
        assert any(face.box is not None for image in detail.images for face in image.faces or [])
