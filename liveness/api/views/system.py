"""Health, and the problem+json 404 for any path under /api/v1/ that matches no endpoint."""

from __future__ import annotations

from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..health import health_report
from ..serializers import HealthLiveSerializer, HealthSerializer
from ..throttling import HealthRateThrottle

NO_STORE = {"Cache-Control": "no-store"}


class HealthApi(APIView):
    """Readiness: may this instance take traffic? Every dependency is probed, so it costs real work."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (HealthRateThrottle,)

    @extend_schema(
        operation_id="health",
        summary="Readiness: the portal and all its dependencies",
        description="For a load balancer's readiness check: 200 when the database, broker, cache, evidence "
        "storage and the local engine's models all answer, else 503. No authentication. Throttled per "
        "client IP (`API_RATE_HEALTH`, 60/minute): probe it every few seconds, not in a loop.",
        tags=["system"],
        auth=[],
        responses={
            200: HealthSerializer,
            429: OpenApiResponse(description="Too many health checks from this address: retry after `Retry-After`."),
            503: HealthSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        return Response(report, status=200 if report["status"] == "ok" else 503, headers=NO_STORE)


class HealthLiveApi(APIView):
    """Liveness: does the process answer? Touches no database, broker, cache or storage, and is not
    throttled (throttle counters live in the cache), so a dependency outage never gets a healthy
    process restarted."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        operation_id="health_live",
        summary="Liveness: the process answers",
        description="For a load balancer's or orchestrator's liveness check: 200 whenever the application "
        "process can answer a request. Checks no dependency (use `/api/v1/health` for readiness). "
        "No authentication, not throttled.",
        tags=["system"],
        auth=[],
        responses={200: HealthLiveSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"}, headers=NO_STORE)


class ApiNotFound(APIView):
    """Any method on an unknown API path: a problem+json 404 (with a hint for a missing slash)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()
    schema = None  # not an endpoint

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        path = request.path
        if not path.endswith("/"):
            try:
                match = resolve(path + "/")
            except Resolver404:
                match = None
            if match is not None and match.url_name != "not-found":
                raise NotFound(f"no endpoint at {path}; did you mean {path}/ ?")
        raise NotFound(f"no endpoint at {path}")
