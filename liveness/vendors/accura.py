"""Accura Scan face liveness and ID-document liveness (vendor-docs/accura-*-liveness.md).

Contract: ``POST {ACCURA_BASE_URL}/v2/api/liveness`` (face) or ``/v2/api/id-liveness`` (ID, plus the text
fields ``country_code`` and ``card_code``), multipart with the image as the file ``liveness_image``, header
``Api-Key``. Max upload 1 MB: larger images are re-encoded to fit, never refused for size alone.

The response body is documented only as a picture; the reading taken (vendor-docs/README.md) is
``{"status": true, "data": {"score": <0-100>, "quality": ...}}`` with ``status: false`` when no face is
found. ``score`` is a percentage (the documented threshold is 55 %). Any other shape is a vendor error
with the raw body kept, never a silent zero.
"""

from __future__ import annotations

from typing import ClassVar

from ..providers import details as contract
from ..providers.base import CheckRequest, EvidenceImage, ProviderInputError, ProviderResult
from ..providers.http import HttpResponse, OutboundRequest
from ..providers.registry import register
from .common import VendorProvider, mapping, number, require_image
from .imaging import ImageFitError, PreparedImage, fit_max_bytes

#: "Max file upload size is 1 MB": read as 1,000,000 bytes, the stricter of the two readings.
ACCURA_MAX_UPLOAD_BYTES = 1_000_000


class _AccuraProvider(VendorProvider):
    base_url_setting = "ACCURA_BASE_URL"
    credential_settings = ("ACCURA_API_KEY",)
    secret_headers = ("Api-Key",)
    default_threshold = 0.55
    #: The evidence role this call sends.
    image_role: ClassVar[str]

    def prepare(self, request: CheckRequest) -> tuple[EvidenceImage, PreparedImage]:
        image: EvidenceImage = require_image(
            request.images_with_role(self.image_role), role=self.image_role, provider=self.label
        )
        try:
            prepared = fit_max_bytes(image.content, image.content_type, max_bytes=ACCURA_MAX_UPLOAD_BYTES)
        except ImageFitError as exc:
            raise ProviderInputError(str(exc), code="image_too_large") from exc
        return image, prepared

    def form_fields(self, request: CheckRequest) -> dict[str, str]:
        return {}

    def build(self, request: CheckRequest) -> OutboundRequest:
        fields = self.form_fields(request)  # validates before any image work
        image, prepared = self.prepare(request)
        return OutboundRequest(
            method="POST",
            url=self.url(),
            headers={"Api-Key": self.credential("ACCURA_API_KEY"), "Accept": "application/json"},
            data=fields,
            files=[("liveness_image", (f"{image.role}.{prepared.extension}", prepared.content, prepared.content_type))],
            notes={"endpoint": self.path, "fields": fields, "liveness_image": prepared.describe()},
        )

    def parse(self, response: HttpResponse, request: CheckRequest) -> ProviderResult:
        payload = self.json_object(response)
        status = payload.get("status")
        raw = self.redacted_json(payload)
        image = contract.ImageDetail(role=self.image_role, index=0)
        detail = contract.CheckDetail(
            vendor="accura", kind=request.kind, images=[image], vendor_fields={"message": payload.get("message", "")}
        )
        if status is False:
            # Accura's "no face found". The policy sends a not-assessed check to review.
            image.face_found = False
            return ProviderResult(
                score=None,
                reason="no_face",
                vendor_label="no face found",
                details=contract.dump(detail),
                raw_response=raw,
            )
        if status is not True:
            raise self.unparseable(response, "'status' is neither true nor false")
        data = mapping(payload.get("data"))
        if data is None:
            raise self.unparseable(response, "'data' object missing")
        percent = number(data.get("score"))
        if percent is None or not 0.0 <= percent <= 100.0:
            raise self.unparseable(response, f"'data.score' is not a percentage: {data.get('score')!r}")
        image.face_found = True
        quality = data.get("quality")
        if isinstance(quality, str) and quality:
            image.quality = contract.Quality(label=quality)  # Accura's own word ("good", "poor")
        elif quality is not None:
            image.vendor_fields["quality"] = quality
        detail.score_method = "data.score / 100"
        detail.vendor_fields["score_percent"] = percent
        return ProviderResult(
            score=percent / 100.0,
            vendor_label=f"score {percent:g}%",
            details=contract.dump(detail),
            raw_response=raw,
        )


@register
class AccuraFaceProvider(_AccuraProvider):
    key = "accura_face"
    label = "Accura face liveness"
    kinds = frozenset({"selfie"})
    path = "/v2/api/liveness"
    image_role = "selfie"
    score_meaning = "Accura's liveness percentage divided by 100 (Accura documents 55 % as its threshold)"


@register
class AccuraIdProvider(_AccuraProvider):
    key = "accura_id"
    label = "Accura ID liveness"
    kinds = frozenset({"id_document"})
    path = "/v2/api/id-liveness"
    image_role = "id_front"
    score_meaning = (
        "Accura's liveness percentage for the document photo divided by 100 (Accura documents 55 % as its threshold)"
    )

    def form_fields(self, request: CheckRequest) -> dict[str, str]:
        missing = [name for name in ("country_code", "card_code") if not getattr(request, name).strip()]
        if missing:
            raise ProviderInputError(
                f"Accura ID liveness needs {' and '.join(missing)} from the case", code="missing_field"
            )
        return {"country_code": request.country_code.strip(), "card_code": request.card_code.strip()}
