"""The case page shows what each real vendor adapter stored, not only the local engine's shape.

Cases go through the real pipeline against the sandbox simulators over HTTP, so these tests break when an
adapter's stored details and what the console reads drift apart.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from liveness import services
from liveness.models import Case, Check, CheckStatus
from tests.vendor_fixtures import OBAMA_FRONT, OBAMA_TURNED, face_bytes, mirrored

pytestmark = [pytest.mark.usefixtures("sandbox", "no_broker", "fresh_judge"), pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def vendor_workflows(settings):
    settings.LIVENESS_WORKFLOWS = {
        "selfie": ["local", "kairos", "riset", "accura_face"],
        "id_document": ["local", "accura_id"],
        "active": ["local", "riset"],
    }


def _checked(case: Case) -> Case:
    for check in Check.objects.filter(case=case):
        services.check_execute(check_id=check.pk)
    assert set(Check.objects.filter(case=case).values_list("status", flat=True)) == {CheckStatus.SUCCEEDED}
    return Case.objects.get(pk=case.pk)


def _page(client: Client, role_user, case: Case):
    client.force_login(role_user("operator", "olga"))
    response = client.get(reverse("case_detail", args=[case.public_id]))
    assert response.status_code == 200
    return response


def _facts(view, provider: str) -> dict[str, str]:
    (obs,) = [o for o in view.observations if o.provider == provider]
    return dict(obs.facts)


def test_it_draws_kairos_face_boxes_and_shows_every_vendors_observations_on_a_selfie(client: Client, role_user) -> None:
    case = services.case_create(kind="selfie", images=[services.IncomingImage("selfie", face_bytes(OBAMA_FRONT))]).case
    response = _page(client, role_user, _checked(case))
    (view,) = response.context["images"]
    by_provider = {box.provider: box for box in view.boxes}
    assert set(by_provider) == {"local", "kairos"}  # the two that report where the face is
    # Kairos measured the same face as the engine: its box lands on it, within a few percent.
    local, kairos = by_provider["local"], by_provider["kairos"]
    assert abs(kairos.left - local.left) < 5
    assert abs(kairos.top - local.top) < 5
    assert abs(kairos.width - local.width) < 5
    assert "face found by kairos" in response.content.decode()

    assert _facts(view, "kairos") == {"faces": "1"}
    riset = _facts(view, "riset")
    assert riset["pose"].startswith("yaw ")
    assert riset["eyes"].startswith("left open")
    assert ", right open" in riset["eyes"]
    assert riset["mouth"]
    assert riset["label"].startswith("real")
    assert _facts(view, "accura_face") == {"faces": "found", "quality": "good"}


def test_it_shows_what_riset_saw_beside_each_frame_of_an_active_case(client: Client, role_user) -> None:
    turned = face_bytes(OBAMA_TURNED)
    asked = [(face_bytes(OBAMA_FRONT), "front"), (mirrored(turned), "left"), (turned, "right")]
    frames = [
        services.IncomingImage("frame", content, index=i, face_parameter=parameter)
        for i, (content, parameter) in enumerate(asked)
    ]
    case = services.case_create(kind="active", images=frames, face_parameters=[p for _, p in asked]).case
    response = _page(client, role_user, _checked(case))
    views = response.context["images"]
    assert [v.parameter for v in views] == ["front", "left", "right"]
    for view in views:
        (riset,) = [o for o in view.observations if o.provider == "riset"]
        facts = dict(riset.facts)
        assert riset.matched is True, view.parameter
        assert {"pose", "eyes", "mouth"} <= set(facts), facts
    # Turned left and right, Riset's yaw has opposite signs, as the engine's does.
    yaws = [dict(o.facts)["pose"].split(",")[0] for v in views[1:] for o in v.observations if o.provider == "riset"]
    assert yaws[0].startswith("yaw +")
    assert yaws[1].startswith("yaw -")
    html = response.content.decode()
    assert html.count("<strong>riset</strong>") == 3
