"""The vendor simulators: each speaks its vendor's documented contract (vendor-docs/) over real HTTP.

Every view is CSRF-exempt (vendors' clients send no cookies), answers any input with the vendor's own
kind of JSON error (4xx), never a 500, and never touches the database. The sandbox conventions (forced
outcomes, fault modes) are in :mod:`liveness.sandbox.conventions`.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt

from . import recorder, riset
from .conventions import MAX_FAULT_SECONDS, ConventionError, Fault, faults_for, forced_outcome, timeout_seconds
from .errors import Reject
from .images import DecodedImage, UnreadableImage, decode
from .judge import FaceBox, look
from .recorder import RecordedImage, RecordedRequest
from .server import UNDERSCORE_HEADERS_KEY

ACCURA_MAX_UPLOAD_BYTES = 1_000_000  # "Max file upload size is 1 MB" (decimal, the stricter reading)
KAIROS_MIN_SIDE, KAIROS_MAX_SIDE = 300, 5000
#: The forced outcomes' scores: clearly on either side of every vendor's threshold.
FORCED_LIVE, FORCED_SPOOF = 0.97, 0.03


Handler = Callable[[HttpRequest, RecordedRequest], HttpResponse]


def error_response(vendor: str, status: int, message: str) -> JsonResponse:
    """Each vendor's error body. None of the documents shows one; these follow each vendor's envelope."""
    body: dict[str, Any]
    if vendor == "accura":
        body = {"status": False, "message": message}
    elif vendor == "riset":
        body = {"status": str(status), "status_message": message}
    else:
        body = {"error": message, "status": status}
    return JsonResponse(body, status=status)


def _fault_response(vendor: str, fault: Fault) -> HttpResponse:
    if fault.mode == "5xx":
        return error_response(vendor, int(fault.value or 503), "sandbox fault: simulated server error")
    if fault.mode == "403":
        return error_response(vendor, 403, "usage limit exceeded for this account (sandbox fault)")
    if fault.mode == "429":
        response = error_response(vendor, 429, "too many requests (sandbox fault)")
        response["Retry-After"] = "1"
        return response
    if fault.mode == "timeout":
        time.sleep(timeout_seconds(fault))
        return error_response(vendor, 504, "sandbox fault: the client should have stopped waiting")
    if fault.mode == "malformed":
        return HttpResponse(b'{"status": true, "data": {"score": 9', content_type="application/json", status=200)
    # content-type: what a misconfigured proxy in front of a vendor answers.
    return HttpResponse(
        b"<html><head><title>Service</title></head><body><h1>Temporarily unavailable</h1></body></html>",
        content_type="text/html; charset=utf-8",
        status=200,
    )


def _received_headers(request: HttpRequest) -> dict[str, str]:
    headers = dict(request.headers.items())
    headers.update(request.META.get(UNDERSCORE_HEADERS_KEY, {}))
    return headers


def _recorded_body(response: HttpResponse) -> Any:
    if "json" in response.get("Content-Type", ""):
        try:
            return json.loads(response.content)
        except ValueError:
            pass
    return response.content.decode("utf-8", errors="replace")


def simulator(vendor: str) -> Callable[[Handler], Callable[[HttpRequest], HttpResponse]]:
    """Wrap a vendor handler: method check, fault modes, body cap, errors as vendor JSON, recording."""

    def decorate(handler: Handler) -> Callable[[HttpRequest], HttpResponse]:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest) -> HttpResponse:
            entry = RecordedRequest(
                vendor=vendor,
                method=request.method or "",
                path=request.path,
                content_type=request.content_type or "",
                headers=_received_headers(request),
            )
            response = _dispatch(vendor, handler, request, entry)
            if recorder.is_recording():
                entry.status = response.status_code
                entry.response = _recorded_body(response)
                recorder.record(entry)
            return response

        return view

    return decorate


def _dispatch(vendor: str, handler: Handler, request: HttpRequest, entry: RecordedRequest) -> HttpResponse:
    if request.method != "POST":
        response = error_response(vendor, 405, f"method {request.method} not allowed; use POST")
        response["Allow"] = "POST"
        return response
    try:
        faults = faults_for(request, vendor)
    except ConventionError as exc:
        return error_response(vendor, 400, f"sandbox: {exc}")
    for fault in faults:
        if fault.mode == "latency":
            time.sleep(min(MAX_FAULT_SECONDS, 1.0 if fault.value is None else fault.value))
    for fault in faults:
        if fault.mode != "latency":
            return _fault_response(vendor, fault)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return error_response(vendor, 400, "invalid Content-Length")
    if length > settings.SANDBOX_MAX_BODY_BYTES:
        return error_response(vendor, 413, f"request body of {length} bytes is too large")
    try:
        return handler(request, entry)
    except Reject as exc:
        return error_response(vendor, exc.status, exc.message)
    except ConventionError as exc:
        return error_response(vendor, 400, f"sandbox: {exc}")


def _multipart(request: HttpRequest) -> tuple[QueryDict, MultiValueDict[str, Any]]:
    try:
        return request.POST, request.FILES
    except (MultiPartParserError, TooManyFieldsSent, RequestDataTooBig, SuspiciousOperation, BadRequest) as exc:
        raise Reject(400, f"the multipart/form-data body could not be read ({type(exc).__name__})") from exc


def _upload(
    request: HttpRequest, entry: RecordedRequest, name: str, *, max_bytes: int | None = None
) -> tuple[str, bytes]:
    form, files = _multipart(request)
    entry.form = {key: form.get(key, "") for key in form}
    for key in files:
        for item in files.getlist(key):
            entry.files.append(
                RecordedImage(key, item.name or "", item.content_type or "", item.size or 0, None, None, None)
            )
    uploaded = files.get(name)
    if uploaded is None:
        if name in form:
            raise Reject(400, f"{name} must be sent as a file (multipart/form-data), not as text")
        raise Reject(400, f"{name} is required")
    if max_bytes is not None and (uploaded.size or 0) > max_bytes:
        raise Reject(413, f"{name} is {uploaded.size} bytes; the maximum upload size is 1 MB")
    return uploaded.name or "", uploaded.read()


def _decoded(entry: RecordedRequest, name: str, content: bytes) -> DecodedImage:
    try:
        image = decode(content, label=name)
    except UnreadableImage as exc:
        raise Reject(400, str(exc)) from exc
    for index, recorded in enumerate(entry.files):
        if recorded.field == name:
            entry.files[index] = RecordedImage(
                recorded.field,
                recorded.filename,
                recorded.content_type,
                recorded.size,
                image.width,
                image.height,
                image.format,
            )
    return image


def _with_basis(response: HttpResponse, basis: str) -> HttpResponse:
    response["X-Sandbox-Basis"] = basis
    return response


# --- Accura -------------------------------------------------------------------------------------------


def _accura(request: HttpRequest, entry: RecordedRequest, *, id_document: bool) -> HttpResponse:
    if not request.headers.get("Api-Key", "").strip():
        raise Reject(401, "Api-Key header is required")
    filename, content = _upload(request, entry, "liveness_image", max_bytes=ACCURA_MAX_UPLOAD_BYTES)
    if id_document:
        for field in ("country_code", "card_code"):
            if not request.POST.get(field, "").strip():
                raise Reject(400, f"{field} is required")
    _decoded(entry, "liveness_image", content)
    outcome = forced_outcome(request, "accura", marker_source=filename)
    if outcome == "noface":
        return _with_basis(JsonResponse({"status": False, "message": "Face not detected"}), "forced")
    if outcome is not None:
        forced = FORCED_LIVE if outcome == "live" else FORCED_SPOOF
        body = {"status": True, "message": "Success", "data": {"score": round(forced * 100, 2), "quality": "good"}}
        return _with_basis(JsonResponse(body), "forced")
    # For an ID document the face is the portrait printed on it: a photocopy or a screen shows the same
    # recapture cues there as a presentation attack does on a selfie.
    seen = look(content)
    probability = seen.live_probability
    if probability is None:
        return _with_basis(JsonResponse({"status": False, "message": "Face not detected"}), seen.basis)
    quality = "good" if seen.quality_usable else "poor"
    body = {"status": True, "message": "Success", "data": {"score": round(probability * 100, 2), "quality": quality}}
    return _with_basis(JsonResponse(body), seen.basis)


@simulator("accura")
def accura_face_liveness(request: HttpRequest, entry: RecordedRequest) -> HttpResponse:
    return _accura(request, entry, id_document=False)


@simulator("accura")
def accura_id_liveness(request: HttpRequest, entry: RecordedRequest) -> HttpResponse:
    return _accura(request, entry, id_document=True)


# --- Kairos -------------------------------------------------------------------------------------------


def _kairos_credential(request: HttpRequest, name: str) -> str:
    # The code samples send app_id / app_key, one table says app-id / app-key: both are accepted.
    underscored: dict[str, str] = request.META.get(UNDERSCORE_HEADERS_KEY, {})
    return (underscored.get(name) or request.headers.get(name.replace("_", "-"), "")).strip()


def _kairos_face(face: FaceBox) -> dict[str, Any]:
    return {
        "confidence": round(face.confidence, 4),
        "delta": {"x": float(face.width), "y": float(face.height)},
        "top_left": {"x": float(face.left), "y": float(face.top)},
    }


@simulator("kairos")
def kairos_liveness_verification(request: HttpRequest, entry: RecordedRequest) -> HttpResponse:
    if not (_kairos_credential(request, "app_id") and _kairos_credential(request, "app_key")):
        raise Reject(401, "authentication failed: app_id and app_key headers are required")
    requested_at = timezone.now()
    filename, content = _upload(request, entry, "selfie")
    raw_threshold = request.POST.get("threshold", "").strip()
    if not raw_threshold:
        raise Reject(400, "threshold is required (a number between 0 and 1)")
    try:
        threshold = float(raw_threshold)
    except ValueError as exc:
        raise Reject(400, "threshold must be a number between 0 and 1") from exc
    if not 0.0 <= threshold <= 1.0:
        raise Reject(400, "threshold must be a number between 0 and 1")
    image = _decoded(entry, "selfie", content)
    if min(image.width, image.height) < KAIROS_MIN_SIDE:
        raise Reject(400, f"selfie is {image.width}x{image.height}; the minimum is {KAIROS_MIN_SIDE} px")
    if max(image.width, image.height) > KAIROS_MAX_SIDE:
        raise Reject(400, f"selfie is {image.width}x{image.height}; the maximum is {KAIROS_MAX_SIDE} px")

    outcome = forced_outcome(request, "kairos", marker_source=filename)
    faces: list[FaceBox]
    if outcome is None:
        seen = look(content)
        basis, faces, probability = seen.basis, list(seen.faces), seen.live_probability or 0.0
    else:
        basis, probability = "forced", FORCED_LIVE if outcome == "live" else FORCED_SPOOF
        # A forced outcome needs no face in the picture: the middle of the image stands in for one.
        centre = FaceBox(image.width // 4, image.height // 4, 3 * image.width // 4, 3 * image.height // 4, 2.0)
        faces = [] if outcome == "noface" else [centre]
    if not faces:
        probability = 0.0
    # response_code is undocumented; the sandbox's reading: 1 live, 2 not live, 3 no face.
    code = 3 if not faces else (1 if probability >= threshold else 2)
    body = {
        "api_req_uid": str(uuid.uuid4()),
        "processed_at": timezone.now().strftime("%Y-%m-%d %H:%M:%S"),
        "requested_at": requested_at.strftime("%Y-%m-%d %H:%M:%S"),
        "response_code": code,
        "response_data": {
            "faces_liveness": round(probability, 4),
            "faces_predicted": [_kairos_face(face) for face in faces],
            "img": {"height": image.height, "width": image.width},
        },
    }
    response = _with_basis(JsonResponse(body), basis)
    response["X-Request-ID"] = str(uuid.uuid4())
    response["Strict-Transport-Security"] = "max-age=86400; includeSubDomains"
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Frame-Options"] = "DENY"
    return response


# --- Riset --------------------------------------------------------------------------------------------


@simulator("riset")
def riset_verify_face_liveness(request: HttpRequest, entry: RecordedRequest) -> HttpResponse:
    if not request.headers.get("Accesstoken", "").strip():
        raise Reject(401, "Accesstoken header is required")
    try:
        payload = json.loads(request.body)
    except (RequestDataTooBig, SuspiciousOperation) as exc:
        raise Reject(413, "the request body is too large") from exc
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Reject(400, "the body must be a JSON object") from exc
    if not isinstance(payload, dict):
        raise Reject(400, "the body must be a JSON object")
    entry.json_body = {key: value for key, value in payload.items() if key != "images"}
    call = riset.parse_call(payload)
    entry.json_body["images"] = call.recorded
    outcome = forced_outcome(request, "riset", marker_source=call.trx_id)
    body, basis = riset.answer(call, forced=outcome)
    return _with_basis(JsonResponse(body), basis)
