"""The applicant's page and its JSON endpoints. No login: the link's token is the credential, and it
reaches exactly one session. Nothing here shows partner data, other cases, scores or verdicts.

Every response carries ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (the token is in
the path: it must not leak to the partner's redirect target); the page itself a strict CSP (scripts
and styles from this origin only, no inline code) and the only ``Permissions-Policy`` of the portal that
allows the camera. The endpoints are CSRF-exempt because the unguessable token in their path already
proves the caller holds the link (a cross-site form cannot know it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..models import VerificationSession
from ..services import sessions as svc
from ..vocabulary import FACE_PARAMETERS
from .ratelimit import over_limit

#: The capture page's Permissions-Policy: the camera for this origin, nothing else. Every other response gets
#: the portal's default (everything off) from kyc_portal.middleware.SecurityHeadersMiddleware.
CAPTURE_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _problem(code: str, detail: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, **extra}, status=status)


def redirect_target(session: VerificationSession) -> str:
    """The partner's redirect URL with ``session_id`` added to its query, or "" when none was given."""
    if not session.redirect_url:
        return ""
    parts = urlsplit(session.redirect_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("session_id", str(session.public_id))]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _session_or_problem(request: HttpRequest, token: str) -> VerificationSession | JsonResponse:
    session = svc.session_by_token(token)
    wait = over_limit(request, str(session.pk) if session else None)
    if wait is not None:
        response = _problem("rate_limited", _("Too many requests. Wait a moment and try again."), 429)
        response["Retry-After"] = str(wait)
        return response
    if session is None:
        return _problem("not_found", _("This link is not valid."), 404)
    return session


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, "hosted/session.html", context, status=status)
    response["Content-Security-Policy"] = PAGE_CSP
    response["Permissions-Policy"] = CAPTURE_POLICY
    return _private(response)


@require_GET
def session_page(request: HttpRequest, token: str) -> HttpResponse:
    session = svc.session_by_token(token)
    wait = over_limit(request, str(session.pk) if session else None)
    if wait is not None:
        response = _page(request, {"ended": "rate_limited"}, status=429)
        response["Retry-After"] = str(wait)
        return response
    if session is None:
        return _page(request, {"ended": "not_found"}, status=404)
    with translation.override(session.locale):
        if not session.is_open:
            return _page(request, {"ended": session.status, "session": session}, status=410)
        svc.session_open(session)
        base = reverse("hosted_session", kwargs={"token": token})
        context = {
            "session": session,
            "base": base,
            "consent_version": svc.CONSENT_VERSION,
            "consented": session.consent_accepted_at is not None,
            "needs_document": session.kind == "id_document",
            "has_document": session.frames.filter(role="id_front").exists(),
            "redirect": redirect_target(session),
            "burst": settings.HOSTED_BURST_FRAMES,
            "seconds": settings.HOSTED_PROMPT_SECONDS,
            "parameters": FACE_PARAMETERS,
            "LANGUAGE_CODE": session.locale,
            "retention_days": settings.EVIDENCE_RETENTION_DAYS,
        }
        return _page(request, context)


def _endpoint(handler: Any) -> Any:
    """POST only, CSRF-exempt (see the module's docstring), rate-limited, errors as JSON with a reason."""

    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, token: str) -> HttpResponse:
        found = _session_or_problem(request, token)
        if isinstance(found, JsonResponse):
            return _private(found)
        with translation.override(found.locale):
            try:
                response = handler(request, found)
            except svc.SessionError as exc:
                response = _problem(exc.code, exc.message, exc.status)
        return _private(response)

    view.__name__ = handler.__name__
    return view


def _state(session: VerificationSession) -> dict[str, Any]:
    session.refresh_from_db()
    return {
        "status": session.status,
        "prompt": svc.prompt_view(session),
        "total": len(session.prompts),
        "complete": bool(session.prompts) and svc.prompt_view(session) is None,
    }


@_endpoint
def consent(request: HttpRequest, session: VerificationSession) -> HttpResponse:
    svc.session_consent(session, version=request.POST.get("version", ""))
    return JsonResponse({"consented": True})


@_endpoint
def start(request: HttpRequest, session: VerificationSession) -> HttpResponse:
    svc.challenge_start(session)
    return JsonResponse(_state(session))


def _int(request: HttpRequest, name: str) -> int:
    try:
        return int(request.POST.get(name, ""))
    except ValueError:
        raise svc.SessionError("invalid", f"{name} must be an integer", status=400, field=name) from None


def _image(request: HttpRequest) -> bytes:
    upload = request.FILES.get("image")
    if upload is None:
        raise svc.SessionError("required", "send the image as the multipart field 'image'", status=400)
    return upload.read()


@_endpoint
def frame(request: HttpRequest, session: VerificationSession) -> HttpResponse:
    accepted = svc.frame_accept(
        session,
        prompt_index=_int(request, "prompt"),
        burst_index=_int(request, "burst"),
        data=_image(request),
        captured_at=request.POST.get("captured_at"),
    )
    return JsonResponse({"accepted": True, **_state(accepted.session)})


@_endpoint
def document(request: HttpRequest, session: VerificationSession) -> HttpResponse:
    svc.document_accept(session, data=_image(request))
    return JsonResponse({"accepted": True})


@_endpoint
def submit(request: HttpRequest, session: VerificationSession) -> HttpResponse:
    done = svc.session_submit(session)
    return JsonResponse({"status": done.status, "redirect": redirect_target(done)})
