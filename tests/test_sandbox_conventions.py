"""The sandbox's own conventions: forcing an outcome, fault specs and their counting, the basis header,
and the vendor headers with underscores that reach the simulators."""

from __future__ import annotations

import base64

import pytest
import requests

from liveness.engine.models import reset_models
from liveness.providers import get_provider
from liveness.sandbox import judge
from liveness.sandbox.conventions import ConventionError, Fault, parse_faults
from liveness.sandbox.recorder import recording
from tests.vendor_fixtures import FRONTAL_FACE, OBAMA_FRONT, check_request, evidence, face_bytes

ACCURA = ("accura", "/v2/api/liveness")
KAIROS = ("kairos", "/v0.2/liveness-verification")
RISET = ("riset", "/liveness-api/verify-face-liveness")


def accura(sandbox, *, filename: str = "selfie.jpg", headers: dict | None = None) -> requests.Response:
    return requests.post(
        sandbox.url(*ACCURA),
        headers={"Api-Key": "k", **(headers or {})},
        files={"liveness_image": (filename, face_bytes(OBAMA_FRONT), "image/jpeg")},
        timeout=60,
    )


def kairos(sandbox, *, filename: str = "selfie.jpg", headers: dict | None = None) -> requests.Response:
    return requests.post(
        sandbox.url(*KAIROS),
        headers={"app_id": "a", "app_key": "b", **(headers or {})},
        data={"threshold": "0.6"},
        files={"selfie": (filename, face_bytes(OBAMA_FRONT), "image/jpeg")},
        timeout=60,
    )


def riset(sandbox, *, trx_id: str = "trx1", headers: dict | None = None) -> requests.Response:
    frame = base64.b64encode(face_bytes(OBAMA_FRONT)).decode()
    return requests.post(
        sandbox.url(*RISET),
        headers={"Accesstoken": "t", **(headers or {})},
        json={"trx_id": trx_id, "images": [frame, frame], "face_parameters": ["front", "left"]},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("how", "kwargs"),
    [("header", {"headers": {"X-Sandbox-Outcome": "spoof"}}), ("file name", {"filename": "me.sandbox-spoof.jpg"})],
)
def test_a_live_face_can_be_forced_to_spoof(sandbox, how, kwargs):
    natural = accura(sandbox).json()["data"]["score"]
    forced = accura(sandbox, **kwargs)
    assert natural > 90
    assert forced.json()["data"]["score"] == 3.0
    assert forced.headers["X-Sandbox-Basis"] == "forced"
    assert kairos(sandbox, **kwargs).json()["response_data"]["faces_liveness"] == 0.03


def test_no_face_can_be_forced_on_every_vendor(sandbox):
    noface = {"X-Sandbox-Outcome": "noface"}
    assert accura(sandbox, headers=noface).json() == {"status": False, "message": "Face not detected"}
    data = kairos(sandbox, headers=noface).json()["response_data"]
    assert (data["faces_predicted"], data["faces_liveness"]) == ([], 0.0)
    results = riset(sandbox, headers=noface).json()["results"]
    assert [r["match"] for r in results.values()] == [False, False]
    assert results["image1"]["yaw"] is None


def test_riset_outcomes_are_forced_through_trx_id_and_answer_the_parameters_asked(sandbox):
    natural = riset(sandbox).json()
    live = riset(sandbox, trx_id="case-42-sandbox-live").json()
    assert natural["liveness"] == "failed"  # a frontal photo cannot answer "left"
    assert live["liveness"] == "passed"
    assert live["results"]["image2"]["yaw"] == 25.0  # "left": the subject turned to their own left
    spoof = riset(sandbox, trx_id="t-sandbox-spoof").json()
    assert [r["spoof"] for r in spoof["results"].values()] == ["spoof", "spoof"]
    assert spoof["liveness"] == "failed"


def test_an_outcome_can_be_forced_per_vendor_in_settings(sandbox, settings):
    settings.SANDBOX_OUTCOMES = {"kairos": "spoof"}
    assert kairos(sandbox).json()["response_data"]["faces_liveness"] == 0.03
    assert accura(sandbox).json()["data"]["score"] > 90  # other vendors are unaffected


def test_a_counted_fault_fires_that_many_times_then_the_vendor_answers(sandbox, settings):
    settings.SANDBOX_FAULTS = {"kairos": "5xx*2", "accura": "403"}
    statuses = [kairos(sandbox).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [accura(sandbox).status_code for _ in range(2)] == [403, 403]


def test_the_header_fault_wins_over_the_setting(sandbox, settings):
    settings.SANDBOX_FAULTS = {"accura": "5xx"}
    response = accura(sandbox, headers={"X-Sandbox-Fault": "429"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


def test_latency_combines_with_a_following_fault(sandbox):
    response = accura(sandbox, headers={"X-Sandbox-Fault": "latency=0.2,malformed"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == b'{"status": true, "data": {"score": 9'


@pytest.mark.parametrize(
    ("spec", "faults"),
    [
        ("5xx", [Fault("5xx")]),
        ("5xx=502*3", [Fault("5xx", 502.0, 3)]),
        (" latency=1.5 , timeout=3 ", [Fault("latency", 1.5), Fault("timeout", 3.0)]),
        ("403*1,malformed", [Fault("403", None, 1), Fault("malformed")]),
        ("content-type", [Fault("content-type")]),
        ("", []),
    ],
)
def test_fault_specs_are_read(spec, faults):
    assert parse_faults(spec) == faults


@pytest.mark.parametrize("spec", ["boom", "5xx=404", "latency=abc", "timeout*x", "5xx**2"])
def test_unreadable_fault_specs_are_refused(spec):
    with pytest.raises(ConventionError):
        parse_faults(spec)


@pytest.fixture
def without_passive_models(settings):
    settings.LOCAL_ENGINE_PASSIVE_MODELS = []
    reset_models()
    yield
    reset_models()


def test_without_a_passive_model_the_sandbox_says_it_scores_on_quality_only(
    sandbox, without_passive_models, fresh_judge
):
    response = accura(sandbox)
    assert response.headers["X-Sandbox-Basis"] == "quality-only"
    assert response.json()["data"]["score"] == 80.0  # a usable face, but no attack model looked at it


def test_the_vendor_underscore_headers_reach_the_simulators_and_no_others(sandbox):
    with recording() as calls:
        kairos(sandbox, headers={"x_forwarded_for": "10.0.0.1", "X-Forwarded-For": "127.0.0.1"})
    [call] = calls
    assert (call.headers["app_id"], call.headers["app_key"]) == ("a", "b")
    assert "x_forwarded_for" not in call.headers
    assert call.header("X-Forwarded-For") == "127.0.0.1"


def test_the_same_face_gets_the_same_score_from_the_cache_and_from_a_fresh_look(sandbox, fresh_judge):
    first = requests.post(
        sandbox.url(*ACCURA),
        headers={"Api-Key": "k"},
        files={"liveness_image": ("a.jpg", face_bytes(FRONTAL_FACE), "image/jpeg")},
        timeout=60,
    ).json()
    judge.clear_cache()
    second = requests.post(
        sandbox.url(*ACCURA),
        headers={"Api-Key": "k"},
        files={"liveness_image": ("b.jpg", face_bytes(FRONTAL_FACE), "image/jpeg")},
        timeout=60,
    ).json()
    assert first == second


def test_it_labels_a_vendor_check_the_sandbox_scored_on_quality_alone_as_heuristic(
    sandbox, without_passive_models, fresh_judge
):
    request = check_request("selfie", [evidence("selfie", face_bytes(OBAMA_FRONT))])
    result = get_provider("kairos").check(request)
    assert result.score == 0.8  # QUALITY_ONLY_LIVE: no attack model looked at the face
    assert result.details["sandbox_basis"] == "quality-only"
    assert result.details["heuristic"] is True
    assert "quality" in result.details["heuristic_label"]


def test_it_records_the_sandbox_basis_without_a_heuristic_label_when_a_model_scored(sandbox, fresh_judge):
    request = check_request("selfie", [evidence("selfie", face_bytes(OBAMA_FRONT))])
    result = get_provider("accura_face").check(request)
    assert result.details["sandbox_basis"] == "passive-model"
    assert "heuristic" not in result.details
