"""OpenAPI details drf-spectacular cannot infer: the API-key scheme and the shared problem responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from .exceptions import PROBLEM_CONTENT_TYPE
from .problem_codes import ProblemCode


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "liveness.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer kyc_…` with a partner API key or an operator's personal key "
            "(or the same key in an `X-API-Key` header).",
        }


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; the shape of every 4xx and 5xx answer.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "urn:kyc-portal:problem:validation_error"},
        "title": {"type": "string", "example": "Bad Request"},
        "status": {"type": "integer", "example": 400},
        "detail": {"type": "string", "example": "1 field is invalid: kind"},
        "code": {
            "type": "string",
            "description": 'Machine-readable reason, from a closed list (README, "Errors").',
            "enum": list(ProblemCode.values),
            "example": "validation_error",
        },
        "instance": {"type": "string", "example": "/api/v1/cases/"},
        "errors": {
            "type": "object",
            "description": "Validation errors: field name -> messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}

_COMMON = {
    "400": "Invalid input (field errors in `errors`).",
    "401": "No, or an invalid, API key.",
    "403": "The key may not use this endpoint.",
    "404": "No such resource (or not yours).",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "415": "Unsupported media type.",
    "429": "Throttled: retry after `Retry-After` seconds.",
    "500": "Unexpected error (logged).",
}
_PUBLIC = ("404", "405", "406", "500")  # what an endpoint without authentication can still answer


def add_problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOK: every operation documents the problem+json error responses it can give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            authenticated = operation.get("security") != [] and {} not in operation.get("security", [{}])
            for code, description in _COMMON.items():
                if not authenticated and code not in _PUBLIC and code not in responses:
                    continue  # a public endpoint documents only what it declares (the throttled health check: 429)
                response = responses.setdefault(code, {"description": description})
                if code == "429":
                    response.setdefault("headers", {})["Retry-After"] = {
                        "schema": {"type": "integer"},
                        "description": "Seconds to wait.",
                    }
            for code, response in responses.items():
                if code.startswith(("4", "5")) and not (code == "503" and "content" in response):
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": ref}}
    return result


def document_empty_query_values(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOK: an optional single-valued query parameter sent empty (`?kind=`) means "not given"
    (django-filter, the cursor and the accuracy filters read it so): say so with `allowEmptyValue`. Not for
    `page_size` (an integer from 1 to 200, refused when empty) nor for list filters (each value is checked)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if (
                    parameter.get("in") == "query"
                    and not parameter.get("required")
                    and parameter.get("name") != "page_size"
                    and parameter.get("schema", {}).get("type") != "array"
                ):
                    parameter["allowEmptyValue"] = True
    return result
