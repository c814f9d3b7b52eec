"""Uploading a case from the console: selfie, ID document, active frames; errors land on their field."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from liveness.models import Case, CaseStatus, Verdict
from tests.console_support import scripted_result
from tests.helpers import image_bytes

pytestmark = pytest.mark.django_db


def _jpeg(name: str = "selfie.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")


def test_the_upload_page_names_the_providers_per_kind(operator_client: Client, scripted) -> None:
    response = operator_client.get(reverse("case_upload"))
    assert response.status_code == 200
    assert response.context["available"]["selfie"] == ["scripted"]
    assert "Providers: scripted" in response.content.decode()


def test_an_uploaded_selfie_becomes_a_case_and_is_decided(
    operator_client: Client, olga, scripted, settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    scripted.script.append(scripted_result(0.93))
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("case_upload"), {"kind": "selfie", "external_ref": "walk-in-7", "selfie": _jpeg()}
        )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[case.public_id])
    assert (case.created_by, case.external_ref, case.partner) == (olga, "walk-in-7", None)
    assert (case.status, case.final_verdict) == (CaseStatus.DECIDED, Verdict.LIVE)
    html = operator_client.get(response["Location"]).content.decode()
    assert "Case created: its checks are running." in html
    assert 'id="final-verdict">Live<' in html


def test_an_id_document_needs_country_and_card_code(operator_client: Client, scripted) -> None:
    response = operator_client.post(
        reverse("case_upload"), {"kind": "id_document", "id_front": _jpeg("id.jpg"), "card_code": "passport"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["country_code"] == [
        "enter the country that issued the document, e.g. DE or DEU"
    ]
    assert not Case.objects.exists()


def test_an_id_document_with_a_selfie_is_stored_with_both_images(operator_client: Client, scripted) -> None:
    response = operator_client.post(
        reverse("case_upload"),
        {
            "kind": "id_document",
            "id_front": _jpeg("id.jpg", width=400, height=260),
            "id_selfie": _jpeg(),
            "country_code": "uto",
            "card_code": "passport",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.kind, case.country_code, case.card_code) == ("id_document", "UTO", "passport")
    assert sorted(case.evidence.values_list("role", flat=True)) == ["id_front", "selfie"]


def test_active_frames_keep_their_order_and_parameters(operator_client: Client, scripted) -> None:
    response = operator_client.post(
        reverse("case_upload"),
        {
            "kind": "active",
            "frame_0": _jpeg("a.jpg", color=(10, 20, 30)),
            "parameter_0": "left",
            "frame_2": _jpeg("b.jpg", color=(40, 50, 60)),
            "parameter_2": "mouth open",
            "success_threshold": 1,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.face_parameters == ["left", "mouth open"]
    assert case.success_threshold == 1
    assert list(case.evidence.order_by("index").values_list("index", "face_parameter")) == [
        (0, "left"),
        (1, "mouth open"),
    ]


def test_a_frame_without_its_parameter_is_refused(operator_client: Client, scripted) -> None:
    response = operator_client.post(reverse("case_upload"), {"kind": "active", "frame_0": _jpeg()})
    assert response.status_code == 400
    assert response.context["form"].errors["parameter_0"] == ["say which parameter this frame answers"]
    assert not Case.objects.exists()


def test_a_file_that_is_not_an_image_is_reported_on_its_own_field(operator_client: Client, scripted) -> None:
    response = operator_client.post(
        reverse("case_upload"),
        {
            "kind": "active",
            "frame_0": _jpeg(),
            "parameter_0": "front",
            "frame_1": SimpleUploadedFile("notes.jpg", b"%PDF-1.7 not a picture", content_type="image/jpeg"),
            "parameter_1": "left",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["frame_1"] == ["frame 2: the content is not a readable image"]
    assert not Case.objects.exists()


def test_a_missing_selfie_is_asked_for(operator_client: Client, scripted) -> None:
    response = operator_client.post(reverse("case_upload"), {"kind": "selfie"})
    assert response.status_code == 400
    assert response.context["form"].errors["selfie"] == ["choose the selfie image"]


def test_uploading_needs_the_add_case_permission(client: Client, scripted) -> None:
    viewer = User.objects.create_user("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_case"))
    client.force_login(viewer)
    assert client.get(reverse("case_upload")).status_code == 403
    assert client.post(reverse("case_upload"), {"kind": "selfie", "selfie": _jpeg()}).status_code == 403
    assert not Case.objects.exists()


def test_an_oversized_upload_is_refused_from_its_content_length_before_anything_reads_it(
    operator_client: Client, scripted, monkeypatch
) -> None:
    from django.http.request import HttpRequest

    def never_read(self):  # the body must not be parsed (the CSRF check would otherwise read it all)
        raise AssertionError("the oversized body was read")

    monkeypatch.setattr(HttpRequest, "_load_post_and_files", never_read)
    response = operator_client.post(
        reverse("case_upload"),
        data=b"x" * 16,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH="400000000",
    )
    assert response.status_code == 413
    assert "Nothing was read or stored" in response.content.decode()
    assert Case.objects.count() == 0


def test_an_oversized_api_body_is_a_problem_413_before_parsing(client: Client) -> None:
    response = client.post("/api/v1/cases/", data=b"{}", content_type="application/json", CONTENT_LENGTH="400000000")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


def test_an_image_over_the_per_image_limit_is_refused_by_its_size(operator_client: Client, scripted, settings) -> None:
    settings.INTAKE_MAX_BYTES = 1000
    big = SimpleUploadedFile("selfie.jpg", image_bytes(width=400, height=300), content_type="image/jpeg")
    assert (big.size or 0) > 1000
    response = operator_client.post(reverse("case_upload"), {"kind": "selfie", "selfie": big})
    assert response.status_code == 400
    assert "over the limit of 1000 bytes per image" in response.content.decode()
    assert Case.objects.count() == 0
