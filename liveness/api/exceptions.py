"""One error format for every 4xx and 5xx of the API: ``application/problem+json`` (RFC 9457).

    {"type": "urn:kyc-portal:problem:validation_error", "title": "Bad Request", "status": 400,
     "detail": "1 field is invalid: kind", "code": "validation_error", "instance": "/api/v1/cases/",
     "errors": {"kind": ["\"x\" is not a valid choice."]}}

``code`` is the machine-readable reason, one of the closed list ``problem_codes.ProblemCode``; ``errors``
(field -> messages) appears on validation errors.

A service's refusal (``liveness.services.errors.ServiceError``) is translated here and only here: its
``code`` and message, ``errors`` for its field, any structured ``extra`` (e.g. ``current`` on a 409
``conflict``), and the status of its kind: PermissionDenied 403, NotFound 404, Conflict 409,
Unprocessable 422, anything else 400.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..outages import outage_detail, outage_of, retry_after_seconds
from ..services import errors as service_errors
from .problem_codes import ProblemCode

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:kyc-portal:problem:"


class ProblemError(exceptions.APIException):
    """An API error with an explicit status, machine code and optional field errors."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        detail: str,
        errors: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.errors = {field: list(messages) for field, messages in (errors or {}).items()}
        self.extra = dict(extra or {})


#: A service error's kind -> HTTP status, most specific first (a class may be two kinds, e.g. an input
#: error that is also a conflict: the first match wins). Anything else is the caller's input: 400.
SERVICE_ERROR_STATUS: tuple[tuple[type[service_errors.ServiceError], int], ...] = (
    (service_errors.PermissionDenied, status.HTTP_403_FORBIDDEN),
    (service_errors.NotFound, status.HTTP_404_NOT_FOUND),
    (service_errors.Conflict, status.HTTP_409_CONFLICT),
    (service_errors.Unprocessable, status.HTTP_422_UNPROCESSABLE_ENTITY),
)


def service_problem(exc: service_errors.ServiceError) -> ProblemError:
    """The one translation of a service's refusal into an API problem."""
    status_code = next(
        (code for kind, code in SERVICE_ERROR_STATUS if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST
    )
    return ProblemError(
        status_code=status_code,
        code=exc.code,
        detail=exc.message,
        errors={exc.field: [exc.message]} if exc.field else None,
        extra=exc.extra,
    )


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is too large"
    default_code = "payload_too_large"


def field_problem(*, field: str, message: str, code: str, status_code: int = 400) -> ProblemError:
    return ProblemError(status_code=status_code, code=code, detail=message, errors={field: [message]})


def problem_body(
    *,
    status_code: int,
    code: str,
    detail: str,
    instance: str = "",
    errors: Mapping[str, list[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if code not in ProblemCode.values:
        # A new code belongs in ProblemCode (and the README): development and tests refuse it, production
        # answers with it anyway and warns, rather than turn a refusal into a 500.
        if settings.PROBLEM_CODES_STRICT:
            raise ValueError(f"unknown problem code {code!r}: add it to liveness.api.problem_codes.ProblemCode")
        logger.warning("problem code %r is not in ProblemCode", code)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = dict(errors)
    for key, value in (extra or {}).items():
        body.setdefault(key, value)  # context members never replace the standard ones
    return body


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"field": [...], "frames[1]": [...], "nested.field": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            # ListField errors are keyed by position: frames[1]; nested fields by name: a.b
            name = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
            for field, messages in _flatten(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        for index, value in enumerate(detail):
            if value:
                for field, messages in _flatten(value, f"{prefix}[{index}]").items():
                    out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        out[prefix or "non_field_errors"] = [str(item) for item in detail]
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _describe(exc: exceptions.APIException) -> tuple[str, str, dict[str, list[str]]]:
    if isinstance(exc, ProblemError):
        return exc.problem_code, str(exc.detail), exc.errors
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        fields = sorted(errors)
        noun = "field is" if len(fields) == 1 else "fields are"
        return "validation_error", f"{len(fields)} {noun} invalid: {', '.join(fields)}", errors
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    if isinstance(detail, Mapping | list):
        return str(code), str(exc.default_detail), _flatten(detail)
    return str(code), str(detail), {}


def _suspicious_problem(exc: SuspiciousOperation) -> ProblemError:
    # The exception's own text can quote the request (a header, a file name): it goes nowhere.
    logger.warning("suspicious request refused: %s", type(exc).__name__)
    if isinstance(exc, TooManyFieldsSent):
        code = "too_many_fields"
        detail = f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query or form parameters in one request"
    elif isinstance(exc, TooManyFilesSent):
        code = "too_many_files"
        detail = f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files in one request"
    else:
        code, detail = "bad_request", "the request was refused as malformed"
    return ProblemError(status_code=status.HTTP_400_BAD_REQUEST, code=code, detail=detail)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception of an API view becomes a problem response."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, service_errors.ServiceError):
        exc = service_problem(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # Django answers these 400 outside DRF; inside a view they would otherwise become a 500.
        exc = _suspicious_problem(exc)
    outage = outage_of(exc)
    if outage is not None:
        logger.warning(
            "%s unreachable during %s %s: %s", outage, getattr(request, "method", "?"), instance, type(exc).__name__
        )
        set_rollback()
        response = Response(
            problem_body(status_code=503, code="service_unavailable", detail=outage_detail(outage), instance=instance),
            status=503,
            headers={"Retry-After": str(retry_after_seconds())},
        )
        response.content_type = PROBLEM_CONTENT_TYPE
        return response
    if not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error in %s %s", getattr(request, "method", "?"), instance)
        set_rollback()
        response = Response(
            problem_body(
                status_code=500,
                code="internal_error",
                detail="an unexpected error occurred; it has been logged",
                instance=instance,
            ),
            status=500,
        )
        response.content_type = PROBLEM_CONTENT_TYPE
        return response
    handled = drf_exception_handler(exc, dict(context))  # keeps WWW-Authenticate, Retry-After; rolls back
    response = handled if handled is not None else Response(status=exc.status_code)
    code, detail, errors = _describe(exc)
    response.data = problem_body(
        status_code=response.status_code,
        code=code,
        detail=detail,
        instance=instance,
        errors=errors,
        extra=exc.extra if isinstance(exc, ProblemError) else None,
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(
    *, status_code: int, code: str, detail: str, instance: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    response = Response(
        problem_body(status_code=status_code, code=code, detail=detail, instance=instance),
        status=status_code,
        headers=dict(headers or {}),
    )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
