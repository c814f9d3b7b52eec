"""Partner endpoints: submit a case (multipart or JSON), list own cases, get one case."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from ...intake import ImageRejected
from ...models import Case, CaseKind, EvidenceRole, Partner
from ...services import (
    CaseInputError,
    IncomingImage,
    Submission,
    case_create,
    case_resubmit,
    idempotency,
)
from ...services.webhooks import callback_url_check
from .. import selectors
from ..authentication import ApiKeyAuthentication, PartnerClient
from ..exceptions import ProblemError, field_problem
from ..filters import CaseFilter
from ..pagination import NewestFirstCursorPagination
from ..parsers import LimitedJSONParser, LimitedMultiPartParser
from ..permissions import IsPartner
from ..serializers import (
    CaseAcceptedSerializer,
    CaseDetailSerializer,
    CaseResubmitJsonSerializer,
    CaseResubmitMultipartSerializer,
    CaseSubmitJsonSerializer,
    CaseSubmitMultipartSerializer,
    CaseSummarySerializer,
)
from ..throttling import ClientRateThrottle, SubmitRateThrottle

IDEMPOTENCY_HEADER = idempotency.HEADER
# Where a case-level image complaint of the service points in the API's own field names.
_IMAGE_FIELD = {CaseKind.SELFIE: "selfie", CaseKind.ID_DOCUMENT: "id_front", CaseKind.ACTIVE: "frames"}
# Multipart fields that may repeat (one value per part); any other field sent twice is ambiguous.
_REPEATABLE_FIELDS = frozenset({"frames", "face_parameters", "providers"})


#: A real 64x64 JPEG (a grey oval), so that the schema's examples are requests the API accepts.
_EXAMPLE_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxO"
    "UlNSMj5aYVpQYEpRUk//wAALCABAAEABAREA/8QAGQABAAMBAQAAAAAAAAAAAAAAAAIFBgEE/8QAKBAAAgIBAQcDBQAAAAAAAAAA"
    "AAECAxEFBBITITFRYRRBcSMygcHR/9oACAEBAAA/AAAAAAOpOTSim2+SS9ywo0m6yKlbNVprOMZf5RK3R7YrNVsZ+GsFbOEoScZx"
    "cZLqmsM4AC40bZUo+pn1eVBeO/6LQHg1bZVdRxo/fWs/K9yiABqqYcKmFec7kVHPfBIAy10OFdOvOdyTjnvggAaquasrjZHOJJNZ"
    "8kgDLXzVl9lkc4lJtZ8sgAXej7VxKeBJvfhzXmJYg8mp7V6fZmotqyzlHx3ZngASrsnVYp1ycZR5potKNYSio7RW20uco+7+CVus"
    "wS+jVJvvPlj+lVddZfZv2ycpdMkAAAAAf//Z"
)


def _partner(request: Request) -> Partner:
    client = request.user
    assert isinstance(client, PartnerClient)  # guaranteed by IsPartner
    return client.partner


def _image_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    value.seek(0)
    data: bytes = value.read()
    return data


def _incoming_images(data: dict[str, Any]) -> tuple[list[IncomingImage], list[str]]:
    """The images of a submission, and the API field each came from (for error messages)."""
    images: list[IncomingImage] = []
    fields: list[str] = []
    if data.get("selfie") is not None:
        images.append(IncomingImage(role=EvidenceRole.SELFIE, data=_image_bytes(data["selfie"]), label="selfie"))
        fields.append("selfie")
    if data.get("id_front") is not None:
        images.append(IncomingImage(role=EvidenceRole.ID_FRONT, data=_image_bytes(data["id_front"]), label="id_front"))
        fields.append("id_front")
    for index, frame in enumerate(data.get("frames") or []):
        images.append(
            IncomingImage(role=EvidenceRole.FRAME, data=_image_bytes(frame), index=index, label=f"frames[{index}]")
        )
        fields.append(f"frames[{index}]")
    return images, fields


def _check_single_values(data: Any) -> None:
    """Refuse a multipart field sent more than once where one value is expected (DRF would keep the last)."""
    getlist = getattr(data, "getlist", None)
    if getlist is None:  # JSON: an object holds each name once
        return
    for name in data:
        if name not in _REPEATABLE_FIELDS and len(getlist(name)) > 1:
            raise field_problem(field=name, message="sent more than once; send this field once", code="repeated_field")


def _status_url(request: Request, case: Case) -> str:
    return request.build_absolute_uri(reverse("api:case-detail", kwargs={"public_id": case.public_id}))


_SUBMIT_DESCRIPTION = """Submit a case. Send **either** `multipart/form-data` (image files) **or**
`application/json` (images as base64 strings); the fields are the same in both.

* `selfie`: one `selfie` image.
* `id_document`: one `id_front` image (optionally a `selfie` too), plus `country_code` and `card_code`.
* `active`: `frames` (several images, in order) and `face_parameters` (one per frame, same order).

Images must be JPEG or PNG. The case is checked asynchronously: poll the `status_url`, or wait for the
webhook. With an `Idempotency-Key` header, repeating the same request returns the same case
(`replayed: true`, header `Idempotent-Replayed: true`); the same key with a different request is 422."""


class CaseCollectionApi(ListAPIView[Case]):
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (IsAuthenticated, IsPartner)
    parser_classes = (LimitedJSONParser, LimitedMultiPartParser)
    throttle_classes = (ClientRateThrottle, SubmitRateThrottle)
    filterset_class = CaseFilter
    pagination_class = NewestFirstCursorPagination
    serializer_class = CaseSummarySerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no partner to scope by
            return Case.objects.none()
        return selectors.partner_cases(partner=_partner(self.request))

    @extend_schema(
        operation_id="cases_list",
        summary="List your cases",
        description="Newest first, cursor-paginated (follow `next`). Filters combine with AND.",
        tags=["cases"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        operation_id="cases_submit",
        summary="Submit a case",
        description=_SUBMIT_DESCRIPTION,
        tags=["cases"],
        request={
            "multipart/form-data": CaseSubmitMultipartSerializer,
            "application/json": CaseSubmitJsonSerializer,
        },
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Makes a retried submit safe: 1-200 visible ASCII characters, e.g. a UUID.",
            )
        ],
        responses={
            202: CaseAcceptedSerializer,
            413: OpenApiResponse(description="The body is over the size limit."),
            422: OpenApiResponse(description="An image was refused, or the Idempotency-Key was reused."),
        },
        examples=[
            OpenApiExample(
                "selfie (JSON)",
                request_only=True,
                media_type="application/json",
                value={"kind": "selfie", "external_ref": "user-42", "selfie": _EXAMPLE_JPEG_B64},
            ),
            OpenApiExample(
                "active (JSON)",
                request_only=True,
                media_type="application/json",
                value={
                    "kind": "active",
                    "frames": [_EXAMPLE_JPEG_B64, _EXAMPLE_JPEG_B64],
                    "face_parameters": ["left", "right"],
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        partner = _partner(request)
        multipart = (request.content_type or "").startswith("multipart/")
        serializer_class = CaseSubmitMultipartSerializer if multipart else CaseSubmitJsonSerializer
        _check_single_values(request.data)
        serializer: BaseSerializer[Any] = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        images, image_fields = _incoming_images(data)
        submission = Submission.of(key=request.headers.get(IDEMPOTENCY_HEADER, ""), fields=data, images=images)
        callback_url_check(partner=partner, url=data["callback_url"])
        if data["kind"] == CaseKind.ACTIVE and images and not data["face_parameters"]:
            raise field_problem(
                field="face_parameters", message="required for active cases: one per frame", code="required"
            )
        try:
            created = case_create(
                kind=data["kind"],
                images=images,
                partner=partner,
                external_ref=data["external_ref"],
                country_code=data["country_code"],
                card_code=data["card_code"],
                face_parameters=data["face_parameters"],
                success_threshold=data["success_threshold"],
                subject_id=data["subject_id"],
                face_gallery_id=data["face_gallery_id"],
                providers=data["providers"],
                callback_url=data["callback_url"],
                idempotency_key=submission.key,
                fingerprint=submission.fingerprint,
                actor_label=f"partner:{partner.slug}",
            )
        except CaseInputError as exc:
            _name_image_field(exc, data["kind"])
            raise
        except ImageRejected as exc:
            raise _image_problem(exc, image_fields) from exc
        return _accepted(request, created.case, replayed=not created.created)


def _accepted(request: Request, case: Case, *, replayed: bool) -> Response:
    status_url = _status_url(request, case)
    body = CaseAcceptedSerializer(
        {
            "public_id": case.public_id,
            "status": case.status,
            "kind": case.kind,
            "external_ref": case.external_ref,
            "created_at": case.created_at,
            "status_url": status_url,
            "replayed": replayed,
        }
    ).data
    headers = {"Location": status_url}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


def _rejected_field(exc: ImageRejected, image_fields: list[str]) -> str:
    position = str(getattr(exc, "field", ""))
    match = re.fullmatch(r"images\[(\d+)\]", position)
    if match and int(match.group(1)) < len(image_fields):
        return image_fields[int(match.group(1))]
    return position or "images"


def _name_image_field(exc: CaseInputError, kind: str) -> None:
    """A service complaint about "images" names the API's own image field (selfie, id_front, frames);
    the exception handler translates the error itself."""
    if exc.field == "images":
        exc.field = _IMAGE_FIELD.get(CaseKind(kind), exc.field)


def _image_problem(exc: ImageRejected, image_fields: list[str]) -> ProblemError:
    # ImageRejected comes from liveness.intake (the decoder), not a service: 422 naming the request's field.
    return field_problem(field=_rejected_field(exc, image_fields), message=exc.message, code=exc.code, status_code=422)


class CaseDetailApi(APIView):
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (IsAuthenticated, IsPartner)

    @extend_schema(
        operation_id="cases_retrieve",
        summary="Get one of your cases",
        description="Status, verdicts and per-check scores and thresholds. Never images. "
        "Another partner's case id answers 404, exactly like an unknown one.",
        tags=["cases"],
        responses=CaseDetailSerializer,
    )
    def get(self, request: Request, public_id: str) -> Response:
        try:
            case = selectors.partner_case_get(partner=_partner(request), public_id=public_id)
        except Case.DoesNotExist:
            raise NotFound("no such case") from None
        return Response(CaseDetailSerializer(case, context={"request": request}).data)


class CaseResubmitApi(APIView):
    """New images for a case an operator sent back (status ``resubmission_requested``)."""

    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (IsAuthenticated, IsPartner)
    parser_classes = (LimitedJSONParser, LimitedMultiPartParser)
    throttle_classes = (ClientRateThrottle, SubmitRateThrottle)

    @extend_schema(
        operation_id="cases_resubmit",
        summary="Resubmit images for a case sent back to you",
        description="When an operator asks for a resubmission (webhook `case.resubmission_requested`, status "
        "`resubmission_requested`), post new images of the same kind here, as multipart or JSON exactly as "
        "on submit. They become the case's next round and are checked again; the case id stays. "
        "A case in any other status answers 409 (also a repeated resubmit: the first one moved it on).",
        tags=["cases"],
        request={
            "multipart/form-data": CaseResubmitMultipartSerializer,
            "application/json": CaseResubmitJsonSerializer,
        },
        responses={
            202: CaseAcceptedSerializer,
            409: OpenApiResponse(description="The case is not waiting for a resubmission."),
            413: OpenApiResponse(description="The body is over the size limit."),
            422: OpenApiResponse(description="An image was refused."),
        },
    )
    def post(self, request: Request, public_id: str) -> Response:
        partner = _partner(request)
        try:
            case = selectors.partner_case_get(partner=partner, public_id=public_id)
        except Case.DoesNotExist:
            raise NotFound("no such case") from None
        multipart = (request.content_type or "").startswith("multipart/")
        serializer_class = CaseResubmitMultipartSerializer if multipart else CaseResubmitJsonSerializer
        _check_single_values(request.data)
        serializer: BaseSerializer[Any] = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        images, image_fields = _incoming_images(data)
        try:
            case = case_resubmit(
                case=case,
                images=images,
                face_parameters=data["face_parameters"],
                actor_label=f"partner:{partner.slug}",
            )
        except CaseInputError as exc:
            _name_image_field(exc, case.kind)
            raise
        except ImageRejected as exc:
            raise _image_problem(exc, image_fields) from exc
        return _accepted(request, case, replayed=False)
