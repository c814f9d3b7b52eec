"""The portal's 500 handler: an outage (database, broker, evidence store) is a 503 with Retry-After, as a
problem+json document under /api/ and a page elsewhere; anything else is the ordinary 500.

Django calls this for every exception no view or middleware turned into a response (the session saved after
the view, the authentication lookup …), from inside its ``except`` block, so the exception is at hand.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from liveness.outages import outage_detail, outage_of, retry_after_seconds


def server_error(request: HttpRequest) -> HttpResponse:
    which = outage_of(sys.exc_info()[1])
    api = request.path_info.startswith("/api/")
    if which is None:
        if api:
            return JsonResponse(
                {
                    "type": "urn:kyc-portal:problem:internal_error",
                    "title": "Internal Server Error",
                    "status": 500,
                    "detail": "an unexpected error occurred; it has been logged",
                    "code": "internal_error",
                },
                status=500,
                content_type="application/problem+json",
            )
        return HttpResponse(loader.render_to_string("500.html"), status=500)
    detail = outage_detail(which)
    if api:
        response: HttpResponse = JsonResponse(
            {
                "type": "urn:kyc-portal:problem:service_unavailable",
                "title": "Service Unavailable",
                "status": 503,
                "detail": detail,
                "code": "service_unavailable",
            },
            status=503,
            content_type="application/problem+json",
        )
    else:
        # Rendered without the request: its session and user live in the database that is gone.
        response = HttpResponse(loader.render_to_string("503.html", {"detail": detail}), status=503)
    response["Retry-After"] = str(retry_after_seconds())
    response["Cache-Control"] = "no-store"
    return response
