"""The case page renders the details contract: findings in plain words, rows stored before the contract,
and a detail that did not fit."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.test import Client
from django.urls import reverse

from liveness.models import Case, Check
from tests.console_support import frame_images, pipeline_case, scripted_result, selfie_details
from tests.test_provider_details import RISET_ROW

pytestmark = pytest.mark.django_db


def _page(client: Client, case: Case) -> str:
    response = client.get(reverse("case_detail", args=[case.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def _findings(html: str) -> list[str]:
    return [
        html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item))).strip()
        for item in re.findall(r'<li class="finding.*?</li>', html, re.S)
    ]


def test_the_case_page_lists_each_finding_with_its_code_in_plain_words(operator_client: Client, scripted) -> None:
    findings = [
        {"code": "face_mismatch", "message": "the selfie is not the document's holder"},
        {"code": "challenge_failed", "message": "2 of 5 frames matched, 5 required", "images": ["frame 1", "frame 4"]},
    ]
    case = pipeline_case(scripted, results=[scripted_result(0.2, details={**selfie_details(), "findings": findings})])
    html = _page(operator_client, case)
    assert _findings(html) == [
        "Mismatch: the selfie and the document portrait are different people face_mismatch — the selfie is not "
        "the document's holder",
        "Challenge failed: too few frames showed what was asked challenge_failed — 2 of 5 frames matched, 5 "
        "required (frame 1, frame 4)",
    ]
    assert 'class="finding mismatch" data-code="face_mismatch"' in html
    assert "spoof" not in _findings(html)[0].lower()  # a mismatch is not called a spoof


def test_a_check_without_findings_shows_no_findings_list(operator_client: Client, scripted) -> None:
    case = pipeline_case(scripted, results=[scripted_result(0.9)])
    assert 'class="findings"' not in _page(operator_client, case)


def test_a_riset_row_stored_before_the_contract_still_renders_beside_its_frames(
    operator_client: Client, scripted
) -> None:
    frames = frame_images("left", "right")
    case = pipeline_case(scripted, kind="active", images=frames, results=[scripted_result(0.5)])
    Check.objects.filter(case=case).update(details=RISET_ROW)  # as an older version stored it
    html = _page(operator_client, case)
    assert html.count('class="badge oc-pass">matches</span>') == 1
    assert html.count('class="badge oc-fail">does not match</span>') == 1
    assert "yaw +21.0°, pitch +1.0°, roll -2.0°" in html
    assert "left open (score 0.99), right open (score 1.0)" in html
    assert "real (0.930)" in html


def test_a_detail_that_did_not_fit_is_flagged_on_the_check_and_the_rest_still_shows(
    operator_client: Client, scripted
) -> None:
    details = {**selfie_details(), "findings": [{"code": "looks_odd", "message": "?"}]}
    case = pipeline_case(scripted, results=[scripted_result(0.9, details=details)])
    html = _page(operator_client, case)
    assert "Detail did not fit the contract (1)" in html
    assert "details.findings[0].code &#x27;looks_odd&#x27; is not one of" in html
    assert "left: 31.25%; top: 25.0%; width: 31.25%; height: 50.0%" in html  # the face box still drawn
