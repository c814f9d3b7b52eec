"""Kairos liveness verification (vendor-docs/kairos-liveness.md).

Contract: ``POST {KAIROS_BASE_URL}/v0.2/liveness-verification``, multipart ``selfie`` (file) and
``threshold`` (0..1), headers ``app_id`` / ``app_key`` (the form of every code sample; one table says
``app-id`` / ``app-key``). The selfie must be 300..5000 px: smaller is an input error found before any
call, larger is downscaled. ``response_data.faces_liveness`` is the score (live when >= threshold).
403 means a usage limit was reached: retried later, never read as a spoof.
"""

from __future__ import annotations

from typing import Any

from ..providers import details as contract
from ..providers.base import CheckRequest, ProviderError, ProviderInputError, ProviderResult, RetryableProviderError
from ..providers.http import HttpResponse, OutboundRequest
from ..providers.registry import register
from .common import VendorProvider, mapping, number, require_image
from .imaging import fit_max_side

KAIROS_MIN_SIDE = 300
KAIROS_MAX_SIDE = 5000


def _face(face: Any) -> contract.Face | None:
    """One ``faces_predicted`` entry as a face: ``top_left`` is the corner, ``delta`` the extent."""
    face = mapping(face)
    if face is None:
        return None
    top_left, delta = mapping(face.get("top_left")), mapping(face.get("delta"))
    if top_left is None or delta is None:
        return None
    values = [number(top_left.get("x")), number(top_left.get("y")), number(delta.get("x")), number(delta.get("y"))]
    if any(v is None for v in values):
        return None
    left, top, width, height = (float(v) for v in values if v is not None)
    return contract.Face(
        box=contract.Box(left, top, left + width, top + height) if width > 0 and height > 0 else None,
        detection_score=number(face.get("confidence")),
        width=width,
        height=height,
    )


@register
class KairosProvider(VendorProvider):
    key = "kairos"
    label = "Kairos liveness"
    kinds = frozenset({"selfie"})
    default_threshold = 0.60
    base_url_setting = "KAIROS_BASE_URL"
    credential_settings = ("KAIROS_APP_ID", "KAIROS_APP_KEY")
    path = "/v0.2/liveness-verification"
    score_meaning = "Kairos' faces_liveness value, 0..1 as Kairos reports it (live at or above the threshold)"
    secret_headers = ("app_id", "app_key")
    request_id_header = "X-Request-ID"

    def build(self, request: CheckRequest) -> OutboundRequest:
        image = require_image(request.images_with_role("selfie"), role="selfie", provider=self.label)
        if min(image.width, image.height) < KAIROS_MIN_SIDE:
            raise ProviderInputError(
                f"Kairos needs a selfie of at least {KAIROS_MIN_SIDE} px; this one is {image.width}x{image.height}",
                code="image_too_small",
            )
        prepared = fit_max_side(image.content, image.content_type, max_side=KAIROS_MAX_SIDE)
        if min(prepared.width, prepared.height) < KAIROS_MIN_SIDE:
            # A very elongated image falls under the minimum once its long side is brought to 5000 px.
            raise ProviderInputError(
                f"a {image.width}x{image.height} selfie cannot fit Kairos' {KAIROS_MIN_SIDE}..{KAIROS_MAX_SIDE} px",
                code="image_out_of_bounds",
            )
        threshold = f"{request.threshold:g}"
        return OutboundRequest(
            method="POST",
            url=self.url(),
            headers={
                "app_id": self.credential("KAIROS_APP_ID"),
                "app_key": self.credential("KAIROS_APP_KEY"),
                "Accept": "application/json",
            },
            data={"threshold": threshold},
            files=[("selfie", (f"selfie.{prepared.extension}", prepared.content, prepared.content_type))],
            notes={"endpoint": self.path, "fields": {"threshold": threshold}, "selfie": prepared.describe()},
        )

    def classify(self, response: HttpResponse) -> ProviderError | None:
        if response.status_code == 403:
            return RetryableProviderError(
                "Kairos usage limit reached (403); retried later",
                code="usage_limit",
                raw_body=self.redacted_text(response),
                status_code=403,
                vendor_request_id=response.headers.get(self.request_id_header, ""),
                latency_ms=response.latency_ms,
            )
        return super().classify(response)

    def parse(self, response: HttpResponse, request: CheckRequest) -> ProviderResult:
        payload = self.json_object(response)
        data = mapping(payload.get("response_data"))
        if data is None:
            raise self.unparseable(response, "'response_data' object missing")
        predicted = data.get("faces_predicted")
        if not isinstance(predicted, list):
            raise self.unparseable(response, "'response_data.faces_predicted' is not a list")
        faces = [_face(face) for face in predicted]
        if any(face is None for face in faces):
            raise self.unparseable(response, "a 'faces_predicted' entry lacks top_left/delta coordinates")
        img = mapping(data.get("img")) or {}
        request_uid = str(payload.get("api_req_uid") or "")
        header_id = response.headers.get(self.request_id_header, "")
        image = contract.ImageDetail(
            role="selfie",
            index=0,
            # The size Kairos measured its boxes in (it may have got a downscaled copy).
            image=contract.Size(number(img.get("width")), number(img.get("height"))),
            faces=[face for face in faces if face is not None],
            face_count=len(faces),
        )
        detail = contract.CheckDetail(
            vendor="kairos",
            kind=request.kind,
            images=[image],
            vendor_fields={
                "api_req_uid": request_uid,
                "x_request_id": header_id,
                "response_code": payload.get("response_code"),
                "requested_at": payload.get("requested_at"),
                "processed_at": payload.get("processed_at"),
                "threshold_sent": request.threshold,
            },
        )
        raw = self.redacted_json(payload)
        vendor_request_id = request_uid or header_id
        if not faces:
            return ProviderResult(
                score=None,
                reason="no_face",
                vendor_label="no face predicted",
                details=contract.dump(detail),
                raw_response=raw,
                vendor_request_id=vendor_request_id,
            )
        liveness = number(data.get("faces_liveness"))
        if liveness is None or not 0.0 <= liveness <= 1.0:
            raise self.unparseable(response, f"'faces_liveness' is not within 0..1: {data.get('faces_liveness')!r}")
        detail.score_method = "response_data.faces_liveness"
        detail.vendor_fields["faces_liveness"] = liveness
        return ProviderResult(
            score=liveness,
            vendor_label=f"faces_liveness {liveness:.3f}" + (f" ({len(faces)} faces)" if len(faces) > 1 else ""),
            details=contract.dump(detail),
            raw_response=raw,
            vendor_request_id=vendor_request_id,
        )
