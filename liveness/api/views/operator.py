"""Operator endpoints (personal API key or console session): the review queue and decisions.

The same services as the console decide; their rules (reason for overrides, four-eyes, states) are
not repeated here, only their refusals translated into HTTP.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...models import Case, Decision
from ...services import DecisionError, decision_approve, decision_record, decision_refuse
from .. import selectors
from ..exceptions import ProblemError
from ..filters import ReviewQueueFilter
from ..pagination import OldestFirstCursorPagination
from ..parsers import LimitedJSONParser, LimitedMultiPartParser
from ..permissions import IsOperator, IsSupervisor
from ..serializers import (
    ApprovalInputSerializer,
    DecisionInputSerializer,
    DecisionSerializer,
    OperatorCaseSerializer,
)

# DecisionError codes that are not "your input is wrong" (400).
_DECISION_STATUS = {
    "permission_denied": status.HTTP_403_FORBIDDEN,
    "own_override": status.HTTP_403_FORBIDDEN,
    "invalid_state": status.HTTP_409_CONFLICT,
    "no_change": status.HTTP_409_CONFLICT,
    "resubmission_limit": status.HTTP_409_CONFLICT,
}
_CONFLICT = OpenApiResponse(description="The case or decision is not in a state that allows this.")


def _problem(exc: DecisionError) -> ProblemError:
    return ProblemError(
        status_code=_DECISION_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST),
        code=exc.code,
        detail=exc.message,
        errors={exc.field: [exc.message]} if exc.field else None,
    )


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
        tags=["operator"],
        responses=OperatorCaseSerializer,
    )
    def get(self, request: Request, public_id: str) -> Response:
        try:
            case = selectors.operator_case_get(public_id=public_id)
        except Case.DoesNotExist:
            raise NotFound("no such case") from None
        return Response(OperatorCaseSerializer(case, context={"request": request}).data)


class DecisionCreateApi(APIView):
    permission_classes = (IsAuthenticated, IsOperator)
    parser_classes = (LimitedJSONParser, LimitedMultiPartParser)

    @extend_schema(
        operation_id="operator_decision_create",
        summary="Decide a case",
        description="live, spoof or resubmit. Overriding the automatic verdict needs a `reason`; an override "
        "under the four-eyes rules waits for a supervisor (`approval_status: pending`).",
        tags=["operator"],
        request=DecisionInputSerializer,
        responses={201: DecisionSerializer, 409: _CONFLICT},
    )
    def post(self, request: Request, public_id: str) -> Response:
        try:
            case = Case.objects.get(public_id=public_id)
        except Case.DoesNotExist:
            raise NotFound("no such case") from None
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            decision = decision_record(
                case=case,
                actor=_operator(request),
                verdict=serializer.validated_data["verdict"],
                reason=serializer.validated_data["reason"],
            )
        except DecisionError as exc:
            raise _problem(exc) from exc
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class _DecisionReviewApi(APIView):
    permission_classes = (IsAuthenticated, IsSupervisor)
    parser_classes = (LimitedJSONParser, LimitedMultiPartParser)

    def review(self, request: Request, decision_id: int, *, approve: bool) -> Response:
        try:
            decision = selectors.decision_get(decision_id=decision_id)
        except Decision.DoesNotExist:
            raise NotFound("no such decision") from None
        serializer = ApprovalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = decision_approve if approve else decision_refuse
        try:
            decision = service(decision=decision, approver=_operator(request), note=serializer.validated_data["note"])
        except DecisionError as exc:
            raise _problem(exc) from exc
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
        request=ApprovalInputSerializer,
        responses={200: DecisionSerializer, 409: _CONFLICT},
    )
    def post(self, request: Request, decision_id: int) -> Response:
        return self.review(request, decision_id, approve=False)
