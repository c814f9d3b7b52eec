"""The portal's URLs plus the intake baseline of ``bench.load``: what a submission must cost (read the upload,
check its bounds from the header, decode it fully once, one INSERT)."""

from __future__ import annotations

import hashlib
import io

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from PIL import Image

from kyc_portal.urls import urlpatterns as portal_urlpatterns


@csrf_exempt
def intake_baseline(request: HttpRequest) -> HttpResponse:
    from liveness.intake import read_header
    from liveness.models import AuditEvent

    upload = request.FILES.get("selfie")
    if upload is None:
        return JsonResponse({"error": "selfie missing"}, status=400)
    data = upload.read()
    read_header(data)  # size, format and pixel bounds, before any pixel is decoded
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # the one full decode
    AuditEvent.objects.create(
        action="case.created", actor_label="bench", data={"sha256": hashlib.sha256(data).hexdigest()}
    )
    return JsonResponse({"ok": True}, status=202)


urlpatterns = [path("bench/intake-baseline/", intake_baseline), *portal_urlpatterns]
