"""Partner endpoints of hosted verification: create a session (the link for the applicant), read, list,
cancel. Another partner's session answers 404, exactly like an unknown id."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...models import Case, CaseKind, VerificationSession, VerificationSessionStatus
from ...services import sessions as svc
from ..authentication import ApiKeyAuthentication, PartnerClient
from ..exceptions import ProblemError, field_problem
from ..filters import UtcIsoDateTimeFilter
from ..pagination import NewestFirstCursorPagination
from ..parsers import LimitedJSONParser
from ..permissions import IsPartner
from ..throttling import ClientRateThrottle, SubmitRateThrottle


class SessionCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=CaseKind.choices,
        required=False,
        help_text="selfie, active (the random challenge) or id_document (document front + selfie). "
        "Required unless case_id is given.",
    )
    external_ref = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    case_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A case of yours in status resubmission_requested: the session's images become its next round.",
    )
    country_code = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    card_code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    redirect_url = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the applicant returns (with ?session_id=…); the same rules as webhook URLs.",
    )
    expires_in = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Seconds until the link expires (default 1800; bounds in the description).",
    )
    locale = serializers.CharField(max_length=16, required=False, allow_blank=True, default="en")


class PromptSerializer(serializers.Serializer):
    parameter = serializers.CharField()
    issued_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class SessionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    case_id = serializers.SerializerMethodField()
    challenge = PromptSerializer(source="prompts", many=True, read_only=True)

    class Meta:
        model = VerificationSession
        fields = (
            "id",
            "status",
            "kind",
            "external_ref",
            "case_id",
            "round",
            "is_resubmission",
            "locale",
            "redirect_url",
            "expires_at",
            "opened_at",
            "consent_accepted_at",
            "consent_version",
            "challenge",
            "submitted_at",
            "ended_at",
            "created_at",
        )

    def get_case_id(self, session: VerificationSession) -> str | None:
        return str(session.case.public_id) if session.case is not None else None


class SessionCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.URLField(help_text="The link for the applicant. Shown once: the portal keeps only a hash.")
    expires_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=VerificationSessionStatus.choices)


class SessionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=VerificationSessionStatus.choices)
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    external_ref = django_filters.CharFilter(max_length=200, help_text="Exact match.")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = VerificationSession
        fields = ("status", "kind", "external_ref", "created_after", "created_before")


def _partner(request: Request) -> Any:
    client = request.user
    assert isinstance(client, PartnerClient)
    return client.partner


def _own(request: Request, public_id: Any) -> VerificationSession:
    try:
        session = VerificationSession.objects.select_related("case").get(partner=_partner(request), public_id=public_id)
    except VerificationSession.DoesNotExist:
        raise NotFound("no such verification session") from None
    return svc.session_expire_if_due(session)


def _problem(exc: svc.SessionError) -> ProblemError:
    if exc.field:
        return field_problem(field=exc.field, message=exc.message, code=exc.code, status_code=exc.status)
    return ProblemError(status_code=exc.status, code=exc.code, detail=exc.message)


_CREATE_DESCRIPTION = """Create a hosted verification session and get the link to send your applicant.

The applicant opens `url` on a phone or computer, accepts the consent, and follows a challenge the server
draws when they start (for `active`: `front` then 2-4 more of the nine face parameters, in random order,
each answered with a short burst of camera frames within a time window). The best frame of each burst
becomes an ordinary case (`active` frames with the issued `face_parameters`; `selfie`; `id_document` =
document front + selfie), checked, decided and reported exactly like a case submitted through
`POST /cases/`. Webhooks: `verification_session.submitted` (with the case id), then the case's own
`case.decided`; `verification_session.expired` when the link runs out unused.

`expires_in` is bounded ({min}..{max} s, default {default} s). `redirect_url` must satisfy the same rules
as webhook URLs (https and a public address in production). With `case_id` (a case of yours waiting for a
resubmission) the session's images become that case's next round; an active case answers its own
parameters again. The link's token is shown once and stored only as a hash."""


class SessionCollectionApi(ListAPIView[VerificationSession]):
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (IsAuthenticated, IsPartner)
    parser_classes = (LimitedJSONParser,)
    throttle_classes = (ClientRateThrottle, SubmitRateThrottle)
    filterset_class = SessionFilter
    pagination_class = NewestFirstCursorPagination
    serializer_class = SessionSerializer

    def get_queryset(self) -> QuerySet[VerificationSession]:
        if getattr(self, "swagger_fake_view", False):
            return VerificationSession.objects.none()
        return VerificationSession.objects.filter(partner=_partner(self.request)).select_related("case")

    @extend_schema(
        operation_id="verification_sessions_list",
        summary="List your verification sessions",
        description="Newest first, cursor-paginated. Filters combine with AND. Sessions past their expiry "
        "are shown expired once the periodic sweep (every minute) or a read of the session reached them.",
        tags=["verification sessions"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        operation_id="verification_sessions_create",
        summary="Create a hosted verification session (a link for your applicant)",
        description=_CREATE_DESCRIPTION.format(
            min=settings.HOSTED_SESSION_MIN_SECONDS,
            max=settings.HOSTED_SESSION_MAX_SECONDS,
            default=settings.HOSTED_SESSION_DEFAULT_SECONDS,
        ),
        tags=["verification sessions"],
        request=SessionCreateSerializer,
        responses={
            201: SessionCreatedSerializer,
            404: OpenApiResponse(description="case_id is not one of your cases."),
            409: OpenApiResponse(description="case_id is not waiting for a resubmission, or has an open session."),
        },
        examples=[
            OpenApiExample(
                "active",
                request_only=True,
                value={"kind": "active", "external_ref": "user-42", "redirect_url": "https://example.com/kyc/done"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        partner = _partner(request)
        serializer = SessionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        case = None
        if data["case_id"] is not None:
            try:
                case = Case.objects.get(partner=partner, public_id=data["case_id"])
            except Case.DoesNotExist:
                raise NotFound("no such case") from None
        elif not data.get("kind"):
            raise field_problem(field="kind", message="required unless case_id is given", code="required")
        try:
            created = svc.session_create(
                kind=data.get("kind") or "",
                partner=partner,
                case=case,
                external_ref=data["external_ref"],
                country_code=data["country_code"],
                card_code=data["card_code"],
                redirect_url=data["redirect_url"],
                expires_in=data["expires_in"],
                locale=data["locale"],
                actor_label=f"partner:{partner.slug}",
            )
        except svc.SessionError as exc:
            raise _problem(exc) from exc
        session = created.session
        url = request.build_absolute_uri(reverse("hosted_session", kwargs={"token": created.token}))
        body = SessionCreatedSerializer(
            {"id": session.public_id, "url": url, "expires_at": session.expires_at, "status": session.status}
        ).data
        location = request.build_absolute_uri(
            reverse("api:verification-session-detail", kwargs={"public_id": session.public_id})
        )
        response = Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})
        response["Cache-Control"] = "no-store"  # the body holds the link's token
        return response


class SessionDetailApi(APIView):
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (IsAuthenticated, IsPartner)

    @extend_schema(
        operation_id="verification_sessions_retrieve",
        summary="Get one of your verification sessions",
        description="Status (`created → opened → submitted | expired | cancelled`), the issued challenge "
        "with its times, and the case id once submitted. Never images, never the link.",
        tags=["verification sessions"],
        responses=SessionSerializer,
    )
    def get(self, request: Request, public_id: str) -> Response:
        return Response(SessionSerializer(_own(request, public_id)).data)


class SessionCancelApi(APIView):
    authentication_classes = (ApiKeyAuthentication,)
    permission_classes = (IsAuthenticated, IsPartner)

    @extend_schema(
        operation_id="verification_sessions_cancel",
        summary="Cancel a verification session",
        description="The link stops working at once and anything captured is deleted. Only a `created` or "
        "`opened` session can be cancelled (409 otherwise).",
        tags=["verification sessions"],
        request=None,
        responses={200: SessionSerializer, 409: OpenApiResponse(description="The session is no longer open.")},
    )
    def post(self, request: Request, public_id: str) -> Response:
        session = _own(request, public_id)
        partner = _partner(request)
        try:
            session = svc.session_cancel(session, actor_label=f"partner:{partner.slug}")
        except svc.SessionError as exc:
            raise _problem(exc) from exc
        return Response(SessionSerializer(session).data)
