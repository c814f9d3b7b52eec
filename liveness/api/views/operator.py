"""Operator endpoints (personal API key or console session): the review queue and decisions.

The same services as the console decide; their rules (reason for overrides, four-eyes, states, the case
version a decision names) are not repeated here, and their refusals are translated once, by the API's
exception handler.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...models import Case, Decision
from ...services import decision_approve, decision_record, decision_refuse
from .. import selectors
from ..exceptions import ProblemError, field_problem
from ..filters import ReviewQueueFilter
from ..pagination import OldestFirstCursorPagination
from ..parsers import LimitedJSONParser, LimitedMultiPartParser
from ..permissions import IsOperator, IsSupervisor
from ..serializers import (
    ApprovalInputSerializer,
    DecisionInputSerializer,
    DecisionSerializer,
    OperatorCaseSerializer,
    RefusalInputSerializer,
)

_CONFLICT = OpenApiResponse(description="The case or decision is not in a state that allows this.")
_ETAG = re.compile(r'^"v([1-9][0-9]{0,9})"$')

_DECISION_CONFLICT = OpenApiResponse(
    description="Refused, nothing changed. `code` says why: `conflict` — the case moved on since the version "
    "you named (the body's `current` holds its status, final verdict, who decided or claims it, when, and "
    "the current `version`: re-read and decide again); `claimed` — another operator holds the case; "
    "`invalid_state`, `no_change`, `resubmission_limit`.",
    examples=[
        OpenApiExample(
            "the case moved on",
            value={
                "type": "urn:kyc-portal:problem:conflict",
                "title": "Conflict",
                "status": 409,
                "detail": "the case changed since you looked at it (your version 3, now 4, changed at "
                "2026-01-05T10:02:03+00:00): status decided; final verdict spoof (decided by op1 at "
                "2026-01-05T10:02:03+00:00); not claimed. Reload it and decide again.",
                "code": "conflict",
                "instance": "/api/v1/operator/cases/6f1c.../decisions/",
                "expected_version": 3,
                "current": {
                    "version": 4,
                    "status": "decided",
                    "final_verdict": "spoof",
                    "decided_by": "op1",
                    "decided_at": "2026-01-05T10:02:03+00:00",
                    "claimed_by": None,
                    "claim_expires_at": None,
                    "updated_at": "2026-01-05T10:02:03+00:00",
                },
            },
            response_only=True,
            status_codes=["409"],
        )
    ],
)


def case_etag(case: Case) -> str:
    """The ETag of an operator case: its version, which every change a decision depends on bumps."""
    return f'"v{case.version}"'


def _expected_version(request: Request, body_version: int | None) -> int:
    """The case version a decision names: ``expected_version`` in the body or ``If-Match: "v<version>"``.

    Required: a decision that names no state could silently overwrite one made meanwhile.
    """
    header = request.headers.get("If-Match", "").strip()
    header_version: int | None = None
    if header:
        match = _ETAG.match(header)
        if match is None:
            raise field_problem(
                field="If-Match",
                message='send the ETag of the case as GET returned it, e.g. "v3" (one strong ETag; not * or W/)',
                code="invalid_if_match",
            )
        header_version = int(match.group(1))
    if body_version is not None and header_version is not None and body_version != header_version:
        raise field_problem(
            field="expected_version",
            message=f"expected_version {body_version} and If-Match {header} name different versions",
            code="invalid",
        )
    version = body_version if body_version is not None else header_version
    if version is None:
        raise ProblemError(
            status_code=status.HTTP_428_PRECONDITION_REQUIRED,
            code="precondition_required",
            detail="name the case version you decided on: expected_version in the body, or If-Match with the "
            "ETag of GET /api/v1/operator/cases/{id}/ (the case's `version`)",
            errors={"expected_version": ["required (or the If-Match header)"]},
        )
    return version


def _operator(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # guaranteed by IsOperator
    return user


class ReviewQueueApi(ListAPIView[Case]):
    permission_classes = (IsAuthenticated, IsOperator)
    filterset_class = ReviewQueueFilter
    pagination_class = OldestFirstCursorPagination
    serializer_class = OperatorCaseSerializer

    def get_queryset(self) -> Any:
        return selectors.review_queue()

    @extend_schema(
        operation_id="operator_review_queue",
        summary="The review queue",
        description="Cases waiting for an operator (needs_review) or a second approval (pending_approval), "
        "oldest first. No images: operators look at those in the console, where each look is audited.",
        tags=["operator"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class OperatorCaseDetailApi(APIView):
    permission_classes = (IsAuthenticated, IsOperator)

    @extend_schema(
        operation_id="operator_case_retrieve",
        summary="Get any case (operator)",
        description="With its `version` (also the `ETag` header): name it when deciding.",
        tags=["operator"],
        responses=OperatorCaseSerializer,
        parameters=[
            OpenApiParameter(
                "ETag",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                description='The case version as an entity tag, e.g. "v3": send it back as If-Match when deciding.',
            )
        ],
    )
    def get(self, request: Request, public_id: str) -> Response:
        try:
            case = selectors.operator_case_get(public_id=public_id)
        except Case.DoesNotExist:
            raise NotFound("no such case") from None
        return Response(
            OperatorCaseSerializer(case, context={"request": request}).data, headers={"ETag": case_etag(case)}
        )


class DecisionCreateApi(APIView):
    permission_classes = (IsAuthenticated, IsOperator)
    parser_classes = (LimitedJSONParser, LimitedMultiPartParser)

    @extend_schema(
        operation_id="operator_decision_create",
        summary="Decide a case",
        description="live, spoof or resubmit, made on the case **version** you looked at: send it as "
        "`expected_version` (the `version` of GET /api/v1/operator/cases/{id}/) or as `If-Match` with that "
        "GET's ETag. Required: without either the answer is 428. If the case moved on since (another decision, "
        "a claim, an approval), the answer is 409 `conflict` saying what changed, and nothing is recorded; of "
        "two decisions on the same version exactly one succeeds.\n\n"
        "Changing a standing live/spoof verdict — the policy's or an operator's — is an override: it needs a "
        "`reason`. A resubmission needs a `reason` and `resubmission_reasons` (codes the partner receives with "
        "the reason); a missing or unknown code is a 400. An override under the four-eyes rules "
        "(`FOUR_EYES_RULES`, from the current final verdict) waits for a supervisor (`approval_status: "
        "pending`). A case another operator has claimed answers 409 `claimed`.",
        tags=["operator"],
        request=DecisionInputSerializer,
        parameters=[
            OpenApiParameter(
                "If-Match",
                {"type": "string", "pattern": _ETAG.pattern},
                OpenApiParameter.HEADER,
                description='The ETag of GET /api/v1/operator/cases/{id}/, e.g. "v3": an alternative to '
                "`expected_version` (when both are sent they must agree).",
            )
        ],
        responses={
            201: DecisionSerializer,
            409: _DECISION_CONFLICT,
            428: OpenApiResponse(description="Neither `expected_version` nor `If-Match` was sent."),
        },
    )
    def post(self, request: Request, public_id: str) -> Response:
        try:
            case = Case.objects.get(public_id=public_id)
        except Case.DoesNotExist:
            raise NotFound("no such case") from None
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = decision_record(
            case=case,
            actor=_operator(request),
            verdict=serializer.validated_data["verdict"],
            reason=serializer.validated_data["reason"],
            expected_version=_expected_version(request, serializer.validated_data.get("expected_version")),
            resubmission_reasons=serializer.validated_data["resubmission_reasons"],
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class _DecisionReviewApi(APIView):
    permission_classes = (IsAuthenticated, IsSupervisor)
    parser_classes = (LimitedJSONParser, LimitedMultiPartParser)

    def review(self, request: Request, decision_id: int, *, approve: bool) -> Response:
        try:
            decision = selectors.decision_get(decision_id=decision_id)
        except Decision.DoesNotExist:
            raise NotFound("no such decision") from None
        serializer = (ApprovalInputSerializer if approve else RefusalInputSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = decision_approve if approve else decision_refuse
        decision = service(decision=decision, approver=_operator(request), note=serializer.validated_data["note"])
        return Response(DecisionSerializer(decision).data)


class DecisionApproveApi(_DecisionReviewApi):
    @extend_schema(
        operation_id="operator_decision_approve",
        summary="Approve a pending override (four-eyes)",
        description="A supervisor other than the one who asked. The case takes the override's verdict.",
        tags=["operator"],
        request=ApprovalInputSerializer,
        responses={200: DecisionSerializer, 409: _CONFLICT},
    )
    def post(self, request: Request, decision_id: int) -> Response:
        return self.review(request, decision_id, approve=True)


class DecisionRefuseApi(_DecisionReviewApi):
    @extend_schema(
        operation_id="operator_decision_refuse",
        summary="Refuse a pending override (four-eyes)",
        description="Needs a `note`. The case returns to the review queue.",
        tags=["operator"],
        request=RefusalInputSerializer,
        responses={200: DecisionSerializer, 409: _CONFLICT},
    )
    def post(self, request: Request, decision_id: int) -> Response:
        return self.review(request, decision_id, approve=False)
