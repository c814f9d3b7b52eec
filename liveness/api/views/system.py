"""Health, and the problem+json 404 for any path under /api/v1/ that matches no endpoint."""

from __future__ import annotations

from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..health import health_report
from ..serializers import HealthSerializer


class HealthApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        operation_id="health",
        summary="Health of the portal and its dependencies",
        description="For load balancers: 200 when the database, broker, cache, evidence storage and the "
        "local engine's models all answer, else 503. No authentication.",
        tags=["system"],
        auth=[],
        responses={200: HealthSerializer, 503: HealthSerializer},
    )
    def get(self, request: Request) -> Response:
        report = health_report()
        return Response(report, status=200 if report["status"] == "ok" else 503, headers={"Cache-Control": "no-store"})


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
